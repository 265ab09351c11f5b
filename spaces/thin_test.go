package spaces

import (
	"errors"
	"fmt"
	"testing"
)

func usedExtents(p *Pool) int64 {
	var n int64
	for _, d := range p.Disks() {
		n += d.UsedExtents
	}
	return n
}

func mustZeros(t *testing.T, v *VirtualDisk, off, n int64) {
	t.Helper()
	mustRead(t, v, make([]byte, n), off)
}

func TestThinVirtualDisk(t *testing.T) {
	mems, devs := memDisks(3, 8*testSlab)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	// Larger than the pool could hold as a thick mirror (3 disks x ~8 slabs / 2 copies).
	v, err := p.CreateThinVirtualDisk("th", 64*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateVirtualDisk("thick", 64*testSlab, Mirror); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("thick disk of the same size: %v, want ErrNoSpace", err)
	}
	if n := usedExtents(p); n != 0 || v.AllocatedSlabs() != 0 {
		t.Fatalf("new thin disk: %d extents used, %d slabs allocated", n, v.AllocatedSlabs())
	}
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("new thin disk: %+v", h)
	}
	mustZeros(t, v, 0, 3*testSlab)

	// A first write allocates its slab (both copies) and nothing else.
	data := pattern(3, 0, 5000)
	off := int64(2*testSlab + 1000)
	mustWrite(t, v, data, off)
	if n := usedExtents(p); n != 2 || v.AllocatedSlabs() != 1 {
		t.Fatalf("after one write: %d extents used, %d slabs allocated", n, v.AllocatedSlabs())
	}
	mustRead(t, v, data, off)
	mustZeros(t, v, 2*testSlab, 1000)
	mustZeros(t, v, off+5000, testSlab-1000-5000)
	mustZeros(t, v, testSlab, testSlab)

	// A write spanning two unallocated slabs allocates both.
	span := pattern(4, 0, 2*testRegion)
	mustWrite(t, v, span, 5*testSlab-testRegion)
	if n := v.AllocatedSlabs(); n != 3 {
		t.Fatalf("after a write across slabs 4 and 5: %d slabs allocated, want 3", n)
	}

	// Survives a crash once flushed: allocation is committed before the write goes ahead.
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, m := range mems {
		m.Crash(nil)
	}
	p, err = OpenPool(asDevices(devs), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if v, err = p.VirtualDisk("th"); err != nil {
		t.Fatal(err)
	}
	if !v.Thin() || v.AllocatedSlabs() != 3 {
		t.Fatalf("reopened: thin %v, %d slabs allocated", v.Thin(), v.AllocatedSlabs())
	}
	mustRead(t, v, data, off)
	mustRead(t, v, span, 5*testSlab-testRegion)
	mustZeros(t, v, 0, 2*testSlab)

	// A trim inside a slab zeroes the range and keeps the slab; a trim covering it frees it.
	if err := v.Trim(2*testSlab, testRegion); err != nil {
		t.Fatal(err)
	}
	mustZeros(t, v, 2*testSlab, testRegion)
	if n := v.AllocatedSlabs(); n != 3 {
		t.Fatalf("after a partial trim: %d slabs allocated, want 3", n)
	}
	if err := v.Trim(2*testSlab, testSlab); err != nil {
		t.Fatal(err)
	}
	if n := v.AllocatedSlabs(); n != 2 || usedExtents(p) != 4 {
		t.Fatalf("after trimming slab 2 whole: %d slabs allocated, %d extents used", n, usedExtents(p))
	}
	mustZeros(t, v, 2*testSlab, testSlab)
	// Trimming unallocated ranges allocates nothing.
	if err := v.Trim(10*testSlab+4096, testSlab); err != nil {
		t.Fatal(err)
	}
	if n := v.AllocatedSlabs(); n != 2 {
		t.Fatalf("after trimming unallocated slabs: %d allocated", n)
	}
	// A freed slab's extents go back to the pool and come back zeroed: a new write there reads
	// as itself and zeros around it, never the old data.
	mustWrite(t, v, data[:BlockSize], 7*testSlab)
	mustRead(t, v, data[:BlockSize], 7*testSlab)
	mustZeros(t, v, 7*testSlab+BlockSize, testSlab-BlockSize)
	if _, err := p.Scrub(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Writes fail cleanly once the pool is full, naming the slab.
	buf := make([]byte, BlockSize)
	var full error
	for s := int64(0); s < 64 && full == nil; s++ {
		_, full = v.WriteAt(buf, s*testSlab+testSlab/2) // clear of the data written above
	}
	if !errors.Is(full, ErrNoSpace) {
		t.Fatalf("filling the pool: %v, want ErrNoSpace", full)
	}
	mustRead(t, v, span, 5*testSlab-testRegion) // earlier data intact
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("full thin disk: %+v", h)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// A degraded pool still allocates a thin slab, with the copies it can place; repair adds the rest.
func TestThinAllocateDegraded(t *testing.T) {
	_, devs := memDisks(2, 8*testSlab)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateThinVirtualDisk("th", 4*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	devs[1].Pull()
	data := pattern(5, 0, testRegion)
	mustWrite(t, v, data, testSlab)
	mustRead(t, v, data, testSlab)
	if h := v.Health(); h.State != Degraded || h.DegradedSlabs != 1 {
		t.Fatalf("thin slab allocated with one disk pulled: %+v", h)
	}
	if _, err := p.AddDisk(NewMemDevice(8 * testSlab)); err != nil {
		t.Fatal(err)
	}
	if err := p.Repair(t.Context(), RepairOptions{}); err != nil {
		t.Fatal(err)
	}
	if h := v.Health(); h.State != Healthy || v.AllocatedSlabs() != 1 {
		t.Fatalf("after repair: %+v, %d slabs allocated", h, v.AllocatedSlabs())
	}
	mustRead(t, v, data, testSlab)
}

// Writers allocate and release their own slabs of a thin disk while others flush and scrub; run
// with -race. Each writer's last data must read back, and released slabs must not leak extents.
func TestThinConcurrent(t *testing.T) {
	_, devs := memDisks(3, 16*testSlab)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateThinVirtualDisk("th", 8*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 4, 12
	errs := make(chan error, writers+1)
	done := make(chan struct{})
	var last [writers][]byte
	for w := 0; w < writers; w++ {
		go func() {
			base := int64(2*w) * testSlab // slabs 2w and 2w+1
			for r := 0; r < rounds; r++ {
				// Two concurrent first writes into the same slab, then a release of it.
				data := pattern(uint64(w*100+r), 0, 3*testRegion)
				off := base + int64(r%3)*testRegion
				half := len(data) / 2 / BlockSize * BlockSize
				ch := make(chan error, 1)
				go func() { _, err := v.WriteAt(data[half:], off+int64(half)); ch <- err }()
				if _, err := v.WriteAt(data[:half], off); err != nil {
					errs <- err
					return
				}
				if err := <-ch; err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(data))
				if _, err := v.ReadAt(got, off); err != nil || string(got) != string(data) {
					errs <- fmt.Errorf("writer %d round %d: read back: %v", w, r, err)
					return
				}
				last[w] = data
				if r < rounds-1 {
					if err := v.Trim(base, 2*testSlab); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			if err := p.Flush(); err != nil {
				errs <- err
				return
			}
			if _, err := p.Scrub(t.Context()); err != nil {
				errs <- err
				return
			}
		}
	}()
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	// The last round's write covers [off, off+3 regions) of each writer's two slabs.
	lastOff := int64((rounds-1)%3) * testRegion
	slabsPerWriter := (lastOff+3*testRegion-1)/testSlab + 1
	for w := 0; w < writers; w++ {
		mustRead(t, v, last[w], int64(2*w)*testSlab+lastOff)
	}
	if n, used := int64(v.AllocatedSlabs()), usedExtents(p); n != writers*slabsPerWriter || used != 2*n {
		t.Fatalf("at the end: %d slabs allocated, %d extents used; want %d and %d", n, used, writers*slabsPerWriter, 2*writers*slabsPerWriter)
	}
}
