package spaces

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// raDisk is a 2-disk mirror of 8 MiB (8 slabs, 32 regions) on memory disks, every byte written
// with pattern(seed, off).
func raDisk(t *testing.T, thin bool, seed uint64) (*Pool, *VirtualDisk, []*FaultyDevice) {
	t.Helper()
	_, devs := memDisks(2, 24<<20)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	create := p.CreateVirtualDisk
	if thin {
		create = p.CreateThinVirtualDisk
	}
	v, err := create("ra", 8<<20, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.WriteAt(pattern(seed, 0, 8<<20), 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, v, devs
}

func readExpect(t *testing.T, v *VirtualDisk, off int64, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := v.ReadAt(got, off); err != nil {
		t.Fatalf("read %d bytes at %d: %v", len(want), off, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes at %d: contents differ from what was written last", len(want), off)
	}
}

// slowStream reads regions 0 and 1 in order with every device read slowed, so the prefetches
// the second read starts are still reading for a while; what a test then asserts holds whichever
// of its action and the prefetch gets to a region first (the delay is latency, not a sync).
func slowStream(t *testing.T, v *VirtualDisk, devs []*FaultyDevice, want []byte) {
	t.Helper()
	readExpect(t, v, 0, want[:testRegion])
	for _, d := range devs {
		d.Inject(Fault{Op: OpRead, Kind: FaultDelay, Delay: 20 * time.Millisecond, Count: -1})
	}
	readExpect(t, v, testRegion, want[testRegion:2*testRegion])
}

func TestReadAheadServesSequentialReader(t *testing.T) {
	p, v, _ := raDisk(t, false, 1)
	want := pattern(1, 0, 8<<20)
	const step = 64 << 10
	for off := int64(0); off < v.Size(); off += step {
		readExpect(t, v, off, want[off:off+step])
	}
	v.ra.inflight.Wait()
	st := p.Stats()
	// The stream is recognised after its first region; every later region is read ahead.
	regions := v.Size() / testRegion
	if st.ReadAheadRegions < regions-2 || st.ReadAheadHits < (regions-2)*(testRegion/step)-1 {
		t.Fatalf("sequential reader of %d regions: %d read ahead, %d reads served from them", regions, st.ReadAheadRegions, st.ReadAheadHits)
	}
}

func TestReadAheadIgnoresRandomReads(t *testing.T) {
	p, v, _ := raDisk(t, false, 1)
	want := pattern(1, 0, 8<<20)
	for _, r := range []int64{5, 1, 7, 3, 20, 9} {
		off := r * testRegion
		readExpect(t, v, off, want[off:off+testRegion])
	}
	if n := p.Stats().ReadAheadRegions; n != 0 {
		t.Fatalf("whole-region reads at random places started %d read-aheads", n)
	}
}

// A write into a region that was read ahead must be what later reads return.
func TestReadAheadDroppedByWrite(t *testing.T) {
	p, v, _ := raDisk(t, false, 1)
	want := pattern(1, 0, 8<<20)
	readExpect(t, v, 0, want[:testRegion]) // regions 0 and 1 in order: the next two are read ahead
	readExpect(t, v, testRegion, want[testRegion:2*testRegion])
	v.ra.inflight.Wait()
	if n := p.Stats().ReadAheadRegions; n != raDepth {
		t.Fatalf("%d regions read ahead after two sequential reads, want %d", n, raDepth)
	}
	small := pattern(2, 0, 4096)
	if _, err := v.WriteAt(small, 2*testRegion+8192); err != nil {
		t.Fatal(err)
	}
	copy(want[2*testRegion+8192:], small)
	whole := pattern(3, 3*testRegion, testRegion)
	if _, err := v.WriteAt(whole, 3*testRegion); err != nil {
		t.Fatal(err)
	}
	copy(want[3*testRegion:], whole)
	for off := int64(2 * testRegion); off < 6*testRegion; off += 32 << 10 {
		readExpect(t, v, off, want[off:off+32<<10])
	}
}

// A write that arrives while the region's prefetch is still reading waits for it and wins.
func TestReadAheadWriteDuringPrefetch(t *testing.T) {
	_, v, devs := raDisk(t, false, 1)
	want := pattern(1, 0, 8<<20)
	slowStream(t, v, devs, want)
	var wg sync.WaitGroup
	for r := int64(2); r < 4; r++ {
		data := pattern(10+uint64(r), r*testRegion, testRegion)
		copy(want[r*testRegion:], data)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.WriteAt(data, r*testRegion); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, d := range devs {
		d.ClearFaults()
	}
	readExpect(t, v, 2*testRegion, want[2*testRegion:4*testRegion])
}

// A thin slab released by a trim reads as zeros, even where its data had been read ahead.
func TestReadAheadDroppedByRelease(t *testing.T) {
	p, v, _ := raDisk(t, true, 1)
	want := pattern(1, 0, 8<<20)
	// Read slab 1 to its end in two reads: the first regions of slab 2 are read ahead.
	readExpect(t, v, testSlab, want[testSlab:testSlab+testSlab/2])
	readExpect(t, v, testSlab+testSlab/2, want[testSlab+testSlab/2:2*testSlab])
	v.ra.inflight.Wait()
	if n := p.Stats().ReadAheadRegions; n < raDepth {
		t.Fatalf("%d regions read ahead, want at least %d", n, raDepth)
	}
	if err := v.Trim(2*testSlab, testSlab); err != nil {
		t.Fatal(err)
	}
	if !v.slabs[2].unallocated() {
		t.Fatal("a trim of the whole thin slab kept its copies")
	}
	readExpect(t, v, 2*testSlab, make([]byte, testSlab))
	// A write to the slab's last region gives it new (zeroed) extents; the regions read ahead
	// before the trim must still read as zeros.
	expect := make([]byte, testSlab)
	small := pattern(4, 0, 4096)
	copy(expect[testSlab-4096:], small)
	if _, err := v.WriteAt(small, 3*testSlab-4096); err != nil {
		t.Fatal(err)
	}
	readExpect(t, v, 2*testSlab, expect)
}

// Deleting a virtual disk waits for its prefetches: none may read or heal extents that another
// virtual disk may be given next.
func TestDeleteWaitsForReadAhead(t *testing.T) {
	p, v, devs := raDisk(t, false, 1)
	want := pattern(1, 0, 8<<20)
	slowStream(t, v, devs, want)
	if err := p.DeleteVirtualDisk("ra"); err != nil {
		t.Fatal(err)
	}
	regions := p.Stats().ReadAheadRegions
	if regions == 0 {
		t.Fatal("the sequential reader started no read-ahead")
	}
	for r := int64(2); r < 2+raDepth; r++ {
		if !v.lock(r).TryLock() {
			t.Fatalf("region %d still held by a prefetch after the delete returned", r)
		}
		v.lock(r).Unlock()
	}
	if len(v.ra.entries) != 0 {
		t.Fatalf("%d read-ahead entries kept after delete", len(v.ra.entries))
	}
}
