package csv

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

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
		if f > 0 {
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
