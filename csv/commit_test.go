package csv

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// gateDevice holds Flush until the test opens the gate, so the test can line operations up
// behind one flush deterministically.
type gateDevice struct {
	*memDevice
	gate    chan struct{}
	mu      sync.Mutex
	flushes int
	hold    bool
}

func (d *gateDevice) Flush() error {
	d.mu.Lock()
	d.flushes++
	hold := d.hold
	d.mu.Unlock()
	if hold {
		<-d.gate
	}
	return nil
}

// TestGroupCommit checks that operations arriving while a flush is in progress share the next
// one: eight concurrent creates cost two journal flushes, not eight.
func TestGroupCommit(t *testing.T) {
	dev := &gateDevice{memDevice: newMemDevice(16 << 20), gate: make(chan struct{})}
	if err := Format(dev, FormatOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := Mount(dev, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	dev.mu.Lock()
	dev.hold = true
	base := dev.flushes // format's flushes
	dev.mu.Unlock()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	create := func(i int) {
		defer wg.Done()
		f, _, err := v.Open(ctx, fmt.Sprintf("f%d", i), vfs.OpenRequest{Disposition: vfs.Create})
		if err == nil {
			f.Close()
		}
		errs <- err
	}
	wg.Add(1)
	go create(0)
	// Wait until the committer is inside the first flush (holding it), then queue the rest.
	for {
		dev.mu.Lock()
		f := dev.flushes
		dev.mu.Unlock()
		if f > base {
			break
		}
		runtime.Gosched()
	}
	for i := 1; i < n; i++ {
		wg.Add(1)
		go create(i)
	}
	for {
		v.c.cmu.Lock()
		queued := len(v.c.pending)
		v.c.cmu.Unlock()
		if queued == n-1 {
			break
		}
		runtime.Gosched()
	}
	close(dev.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := v.c.Stats()
	if st.Flushes != 2 || st.Records != n {
		t.Fatalf("%d creates took %d journal flushes for %d records, want 2 flushes", n, st.Flushes, st.Records)
	}
}

// TestCheckpointUnderLoad runs concurrent creators and writers on a small journal, so
// checkpoints are taken while commits continue and the journal wraps many times; a crash-style
// remount must then show exactly the tree the volume showed.
func TestCheckpointUnderLoad(t *testing.T) {
	dev := newMemDevice(32 << 20)
	if err := Format(dev, FormatOptions{JournalBlocks: minJournalBlocks, CheckpointBlocks: 256}); err != nil {
		t.Fatal(err)
	}
	v, err := Mount(dev, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 150
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				f, _, err := v.Open(ctx, fmt.Sprintf("w%d-%d", w, i%40), vfs.OpenRequest{Disposition: vfs.OverwriteIf, Write: true})
				if err != nil {
					errs <- err
					return
				}
				if _, err := f.WriteAt(patterned(w*1000+i, 1+i*37%9000), int64(i%3)*BlockSize); err != nil {
					errs <- err
					return
				}
				if i%7 == 0 {
					if err := f.Rename(fmt.Sprintf("w%d-r%d", w, i), true); err != nil {
						errs <- err
						return
					}
				}
				f.Close()
			}
			errs <- nil
		}(w)
	}
	wg.Wait()
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	root, _, err := v.Open(ctx, "", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Sync(); err != nil {
		t.Fatal(err)
	}
	want, err := modelFromVolume(v)
	if err != nil {
		t.Fatal(err)
	}
	st := v.c.Stats()
	if st.Checkpoints < 3 {
		t.Fatalf("only %d checkpoints for %d records on a %d-block journal", st.Checkpoints, st.Records, minJournalBlocks)
	}
	v.c.fail(fmt.Errorf("simulated crash"))
	<-v.c.done
	if r := Check(dev); !r.OK() {
		t.Fatalf("check: %q", r.Problems)
	}
	v2, err := Mount(dev, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if err := compareTree(v2, want); err != nil {
		t.Fatalf("after remount: %v", err)
	}
	t.Logf("%d records in %d batches, %d checkpoints", st.Records, st.Batches, st.Checkpoints)
}

// TestCommitDelay checks that writes nobody waits for share one commit after the delay, and that
// a waiter (Sync here; any other operation alike) gets its records and the delayed ones written
// at once, with the data flushed before them.
func TestCommitDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &gateDevice{memDevice: newMemDevice(16 << 20), gate: make(chan struct{})}
		if err := Format(dev, FormatOptions{}); err != nil {
			t.Fatal(err)
		}
		v, err := Mount(dev, MountOptions{CommitDelay: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		f, _, err := v.Open(ctx, "f", vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
		if err != nil {
			t.Fatal(err)
		}
		batches := func() uint64 { return v.c.Stats().Batches }
		base := batches()
		for i := range 10 {
			if _, err := f.WriteAt(patterned(i, 64<<10), int64(i)<<16); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := batches(); got != base {
			t.Fatalf("%d batches written before the delay passed, want none", got-base)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := batches(); got != base+1 {
			t.Fatalf("%d batches after the delay, want the 10 writes in 1", got-base)
		}
		dev.mu.Lock()
		flushes := dev.flushes
		dev.mu.Unlock()
		start := time.Now()
		if _, err := f.WriteAt(patterned(99, 4096), 10<<16); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("Sync waited %v for the commit delay", waited)
		}
		dev.mu.Lock()
		flushes = dev.flushes - flushes
		dev.mu.Unlock()
		if got := batches(); got != base+2 || flushes != 2 {
			t.Fatalf("Sync: %d batches, %d flushes; want 1 batch after 1 data flush and its own", got-base-1, flushes)
		}
	})
}
