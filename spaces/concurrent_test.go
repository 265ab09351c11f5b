package spaces

import (
	"context"
	"sync"
	"testing"
)

// TestConcurrentIOWithRepair runs writers, readers and flushes concurrently while a disk is pulled,
// repaired around and scrubbed; afterwards every writer's last data reads back. Run with -race.
func TestConcurrentIOWithRepair(t *testing.T) {
	_, devs := fileDisks(t, 5, 16<<20)
	p, err := CreatePool(asDevices(devs[:4]), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("m", 8*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	const writers = 4
	const rounds = 40
	span := v.Size() / writers
	last := make([][]byte, writers)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	pulled := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			base := int64(w) * span
			for r := 0; r < rounds; r++ {
				// Unaligned, region-crossing writes within the writer's own span.
				off := base + int64(r*7919)%(span-300000)
				data := pattern(uint64(w*1000+r), off, 300000)
				if _, err := v.WriteAt(data, off); err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(data))
				if _, err := v.ReadAt(got, off); err != nil {
					errs <- err
					return
				}
				if string(got) != string(data) {
					t.Errorf("writer %d round %d: read back differs", w, r)
					return
				}
				if r%10 == 9 {
					if err := v.Flush(); err != nil {
						errs <- err
						return
					}
				}
				if w == 0 && r == rounds/2 {
					close(pulled)
				}
			}
			full := make([]byte, span)
			if _, err := v.ReadAt(full, base); err != nil {
				errs <- err
				return
			}
			last[w] = full
		}(w)
	}
	// Mid-way: pull a disk, add a fresh one, repair while the writers keep going, and scrub.
	<-pulled
	devs[2].Pull()
	if _, err := p.AddDisk(devs[4]); err != nil {
		t.Fatal(err)
	}
	// A repair started before any write noticed the pull has nothing to do; write once to be sure
	// the failure is recorded.
	for off := int64(0); off < v.Size(); off += testSlab {
		buf := make([]byte, 1)
		v.ReadAt(buf, off)
	}
	if err := p.Repair(context.Background(), RepairOptions{RateLimit: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Scrub(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Repair again for any slab the writers degraded after the first repair's plan.
	if err := p.Repair(context.Background(), RepairOptions{}); err != nil {
		t.Fatal(err)
	}
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("health %+v", h)
	}
	if st := p.Disks()[2].State; st != DiskFailed {
		t.Fatalf("pulled disk state %s", st)
	}
	for _, pl := range v.Placement() {
		for _, c := range pl {
			if c.DiskIndex == 2 {
				t.Fatal("a copy is still placed on the pulled disk")
			}
		}
	}
	for w := 0; w < writers; w++ {
		mustRead(t, v, last[w], int64(w)*span)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
