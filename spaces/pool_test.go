package spaces

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestCreateWriteReopenRead(t *testing.T) {
	_, devs := fileDisks(t, 3, 16<<20)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []Resiliency{Simple, Mirror, Mirror3} {
		v, err := p.CreateVirtualDisk("vd-"+string(res), 3*testSlab+5*BlockSize, res)
		if err != nil {
			t.Fatal(err)
		}
		data := pattern(7, 0, int(v.Size()))
		mustWrite(t, v, data, 0)
		mustRead(t, v, data, 0)
		// Unaligned, region- and slab-crossing I/O.
		off := int64(testSlab - 1000)
		chunk := pattern(8, off, 300000)
		mustWrite(t, v, chunk, off)
		copy(data[off:], chunk)
		mustRead(t, v, data[off-77:off+400000], off-77)
		if h := v.Health(); h.State != Healthy {
			t.Fatalf("%s health %+v", res, h)
		}
		// Copies of each slab on distinct disks.
		for i, pl := range v.Placement() {
			if len(pl) != v.copies {
				t.Fatalf("slab %d has %d copies", i, len(pl))
			}
			seen := map[int]bool{}
			for _, c := range pl {
				if seen[c.DiskIndex] {
					t.Fatalf("slab %d: two copies on disk %d", i, c.DiskIndex)
				}
				seen[c.DiskIndex] = true
			}
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	gen := p.Generation()
	// Reopen (without Close) by the same owner.
	p2, err := OpenPool(asDevices(devs), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if p2.Generation() <= gen {
		t.Fatalf("reopen did not advance generation: %d <= %d", p2.Generation(), gen)
	}
	v, err := p2.VirtualDisk("vd-mirror")
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(7, 0, int(v.Size()))
	copy(data[testSlab-1000:], pattern(8, testSlab-1000, 300000))
	mustRead(t, v, data, 0)
	if st := p2.Stats(); st.ResyncRegions != 0 && st.ResyncBytes != 0 {
		t.Logf("resync after clean flush: %+v", st)
	}
}

func TestOwnerEpochFencing(t *testing.T) {
	_, devs := fileDisks(t, 3, 8<<20)
	p1, err := CreatePool(asDevices(devs), testCreateOpts(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPool(asDevices(devs), testOpenOpts(t, "n2", 5)); !errors.Is(err, ErrFenced) {
		t.Fatalf("same epoch, other node: err %v, want ErrFenced", err)
	}
	if _, err := OpenPool(asDevices(devs), testOpenOpts(t, "n2", 4)); !errors.Is(err, ErrFenced) {
		t.Fatalf("lower epoch: err %v, want ErrFenced", err)
	}
	ro, err := OpenPool(asDevices(devs), OpenOptions{ReadOnly: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("read-only open: %v", err)
	}
	if _, err := ro.CreateVirtualDisk("x", testSlab, Simple); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only create: %v", err)
	}
	p2, err := OpenPool(asDevices(devs), testOpenOpts(t, "n2", 6))
	if err != nil {
		t.Fatalf("higher epoch: %v", err)
	}
	if got := p2.Owner(); got.NodeID != "n2" || got.Epoch != 6 {
		t.Fatalf("owner %+v", got)
	}
	// The old owner can no longer change metadata.
	if _, err := p1.CreateVirtualDisk("late", testSlab, Mirror); !errors.Is(err, ErrFenced) {
		t.Fatalf("old owner metadata write: err %v, want ErrFenced", err)
	}
	v2, err := p2.CreateVirtualDisk("ok", testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	// Data writes are fenced too: the old owner's next Flush fails, and so does every write after.
	v1, err := p1.VirtualDisk("ok")
	if err == nil {
		t.Fatalf("old owner sees the new owner's virtual disk %v", v1)
	}
	_ = v2
	p3, err := OpenPool(asDevices(devs), testOpenOpts(t, "n3", 7))
	if err != nil {
		t.Fatal(err)
	}
	v3, _ := p3.VirtualDisk("ok")
	mustWrite(t, v2, make([]byte, BlockSize), 0) // not yet known to be fenced: lands, unacknowledged by Flush
	if err := v2.Flush(); !errors.Is(err, ErrFenced) {
		t.Fatalf("flush by fenced owner: %v, want ErrFenced", err)
	}
	if _, err := v2.WriteAt(make([]byte, BlockSize), 0); !errors.Is(err, ErrFenced) {
		t.Fatalf("write by fenced owner: %v, want ErrFenced", err)
	}
	mustWrite(t, v3, make([]byte, BlockSize), 0)
	if err := v3.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenNeedsMajority(t *testing.T) {
	_, devs := fileDisks(t, 3, 8<<20)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateVirtualDisk("a", testSlab, Mirror); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPool(asDevices(devs[:1]), testOpenOpts(t, "n1", 1)); !errors.Is(err, ErrNoMajority) {
		t.Fatalf("open with 1 of 3 disks: %v, want ErrNoMajority", err)
	} else {
		t.Logf("refusal reads: %v", err)
	}
	// Two of three is a majority; the third is recorded as failed.
	p2, err := OpenPool(asDevices(devs[1:]), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if st := p2.Disks()[0].State; st != DiskFailed {
		t.Fatalf("missing disk state %s", st)
	}
	v, _ := p2.VirtualDisk("a")
	if h := v.Health(); h.State == Healthy {
		t.Fatalf("health with a missing disk: %+v", h)
	}
	// Now disk 0 holds a stale generation: opening with disk 0 and one current disk must pick
	// the current generation (disk 0's newest is not on a majority).
	p3, err := OpenPool(asDevices(devs), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if st := p3.Disks()[0].State; st != DiskFailed {
		t.Fatalf("stale disk came back as %s", st)
	}
	// A disk of a different pool is refused.
	_, other := fileDisks(t, 1, 8<<20)
	if _, err := CreatePool(asDevices(other), testCreateOpts(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPool(append(asDevices(devs), other[0]), testOpenOpts(t, "n1", 1)); err == nil {
		t.Fatal("open with a foreign disk succeeded")
	}
}

func TestDegradedThenUnhealthy(t *testing.T) {
	_, devs := fileDisks(t, 5, 8<<20)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("m", 2*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(1, 0, int(v.Size()))
	mustWrite(t, v, data, 0)
	// Pull one copy's disk of slab 0: reads still work, writes still work, health degraded.
	di, _ := copyFileOffset(t, v, 0, 0)
	devs[di].Pull()
	mustRead(t, v, data, 0)
	data2 := pattern(2, 0, testSlab)
	mustWrite(t, v, data2, 0)
	copy(data, data2)
	mustRead(t, v, data, 0)
	if h := v.Health(); h.State != Degraded {
		t.Fatalf("health %+v, want degraded", h)
	}
	if st := p.Disks()[di].State; st != DiskFailed {
		t.Fatalf("pulled disk state %s", st)
	}
	// Pull the other copy of slab 0 too: slab 0 has no copy; the error names slab and disks.
	dj, _ := copyFileOffset(t, v, 0, 1)
	if dj == di {
		dj, _ = copyFileOffset(t, v, 0, 0)
	}
	devs[dj].Pull()
	_, err = v.WriteAt(data2[:BlockSize], 0)
	if err == nil {
		t.Fatal("write with no live copy succeeded")
	}
	t.Logf("unhealthy error: %v", err)
	if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "slab 0") {
		t.Fatalf("err %v, want ErrUnhealthy naming slab 0", err)
	}
	if h := v.Health(); h.State != Unhealthy || h.UnhealthySlabs != 1 {
		t.Fatalf("health %+v", h)
	}
	// Slab 1 may still be served if one of its copies is elsewhere; reads of slab 0 fail cleanly.
	if _, err := v.ReadAt(make([]byte, BlockSize), 0); !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("read of dead slab: %v", err)
	}
	// A clean close leaves no dirty region to resync.
	paths2, devs2 := fileDisks(t, 3, 8<<20)
	pc, err := CreatePool(asDevices(devs2), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := pc.CreateVirtualDisk("c", testSlab, Mirror)
	mustWrite(t, vc, data[:testSlab], 0)
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	pr, err := OpenPool(openPaths(t, paths2), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if st := pr.Stats(); st.ResyncRegions != 0 {
		t.Fatalf("resync after clean close: %+v", st)
	}
}

func TestRepairPulledDisk(t *testing.T) {
	_, devs := fileDisks(t, 5, 24<<20)
	p, err := CreatePool(asDevices(devs[:4]), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("m", 12*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(3, 0, int(v.Size()))
	mustWrite(t, v, data, 0)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	devs[1].Pull()
	mustRead(t, v, data, 0) // marks disk 1 failed on first I/O that touches it (or not: reads may avoid it)
	// Writes touch every slab copy, so disk 1 is found failed.
	more := pattern(4, 0, int(v.Size()))
	mustWrite(t, v, more, 0)
	data = more
	if h := v.Health(); h.State != Degraded {
		t.Fatalf("health after pull %+v", h)
	}
	if err := p.Repair(context.Background(), RepairOptions{}); err != nil {
		t.Fatal(err)
	}
	pr := p.RepairProgress()
	t.Logf("repair: %d/%d bytes, %d slabs, %.1f MB/s", pr.BytesDone, pr.BytesTotal, pr.SlabsDone, pr.Rate/1e6)
	if pr.BytesDone != pr.BytesTotal || pr.BytesTotal == 0 || pr.Running {
		t.Fatalf("progress %+v", pr)
	}
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("health after repair %+v", h)
	}
	// Repair spread the rebuilt copies across the three remaining disks.
	perDisk := map[int]int{}
	for _, pl := range v.Placement() {
		for _, c := range pl {
			if c.DiskIndex == 1 {
				t.Fatalf("copy left on failed disk: %+v", c)
			}
			perDisk[c.DiskIndex]++
		}
	}
	t.Logf("copies per disk after repair: %v", perDisk)
	for _, d := range []int{0, 2, 3} {
		if perDisk[d] < 6 {
			t.Fatalf("disk %d holds %d copies; repair not spread: %v", d, perDisk[d], perDisk)
		}
	}
	mustRead(t, v, data, 0)
	if err := p.RemoveFailedDisk(p.Disks()[1].ID); err != nil {
		t.Fatal(err)
	}
	// Add a new disk, pull another: repair uses the new disk too.
	if _, err := p.AddDisk(devs[4]); err != nil {
		t.Fatal(err)
	}
	devs[2].Pull()
	mustWrite(t, v, data, 0)
	if err := p.Repair(context.Background(), RepairOptions{Parallel: 2, RateLimit: 0}); err != nil {
		t.Fatal(err)
	}
	onNew := 0
	for _, pl := range v.Placement() {
		for _, c := range pl {
			if c.DiskIndex == 4 {
				onNew++
			}
		}
	}
	if onNew == 0 {
		t.Fatal("repair placed nothing on the added disk")
	}
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("health after second repair %+v", h)
	}
	mustRead(t, v, data, 0)
	// Everything survives a reopen with the surviving disks.
	live := []*FaultyDevice{devs[0], devs[3], devs[4]}
	p2, err := OpenPool(asDevices(live), testOpenOpts(t, "n1", 2))
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := p2.VirtualDisk("m")
	mustRead(t, v2, data, 0)
	if h := v2.Health(); h.State != Healthy {
		t.Fatalf("health after reopen %+v", h)
	}
}

func TestRetireDisk(t *testing.T) {
	_, devs := fileDisks(t, 4, 16<<20)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("m", 6*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(9, 0, int(v.Size()))
	mustWrite(t, v, data, 0)
	id := p.Disks()[2].ID
	if err := p.RetireDisk(context.Background(), id, RepairOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := p.Disks()[2].State; st != DiskRemoved {
		t.Fatalf("retired disk state %s", st)
	}
	for _, pl := range v.Placement() {
		for _, c := range pl {
			if c.DiskIndex == 2 {
				t.Fatal("copy left on retired disk")
			}
		}
	}
	mustRead(t, v, data, 0)
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("health %+v", h)
	}
	// The retired disk's header is wiped: it is no longer recognised.
	if _, err := readHeader(devs[2]); err == nil {
		t.Fatal("retired disk still has a pool header")
	}
	p2, err := OpenPool(asDevices([]*FaultyDevice{devs[0], devs[1], devs[3]}), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := p2.VirtualDisk("m")
	mustRead(t, v2, data, 0)
}

func TestCorruptCopyIsHealed(t *testing.T) {
	paths, devs := fileDisks(t, 3, 8<<20)
	p, v, data := mirrorWithData(t, devs, 5)
	// Flip bytes in each copy of a different block, straight in the disk files.
	flip := func(vOff int64, ci int) {
		di, devOff := copyFileOffset(t, v, vOff, ci)
		f, err := os.OpenFile(paths[di], os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 3)
		f.ReadAt(b, devOff+100)
		for i := range b {
			b[i] ^= 0xa5
		}
		if _, err := f.WriteAt(b, devOff+100); err != nil {
			t.Fatal(err)
		}
	}
	flip(0, 0)
	flip(0, 1) // block 0 bad on both copies: must be detected, not returned
	flip(5*BlockSize, 0)
	flip(9*BlockSize, 1)
	if _, err := v.ReadAt(make([]byte, BlockSize), 0); !errors.Is(err, ErrChecksum) {
		t.Fatalf("read of a block corrupt on every copy: %v, want ErrChecksum", err)
	}
	mustRead(t, v, data[BlockSize:testSlab], BlockSize)
	st := p.Stats()
	if st.HealedBlocks == 0 || st.ChecksumMismatches == 0 {
		t.Fatalf("stats %+v: expected mismatches and heals", st)
	}
	// Scrub finds the copy the reads did not touch and heals it; the doubly bad block stays bad.
	res, err := p.Scrub(context.Background())
	t.Logf("scrub: %+v (err %v), stats %+v", res, err, p.Stats())
	if err != nil {
		t.Fatal(err)
	}
	res2, err := p.Scrub(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res2.HealedBlocks != 0 || res2.BadBlocks != 2 {
		t.Fatalf("second scrub %+v: want only block 0's two copies bad", res2)
	}
	// Rewriting block 0 repairs it for good.
	mustWrite(t, v, data[:BlockSize], 0)
	mustRead(t, v, data, 0)
}

func TestLargeRegionsUnalignedIO(t *testing.T) {
	_, devs := memDisks(3, 64<<20)
	opts := testCreateOpts(1)
	opts.SlabSize, opts.RegionSize = 8<<20, 4<<20
	p, err := CreatePool(asDevices(devs), opts)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("big", 16<<20, Mirror3)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(21, 0, int(v.Size()))
	mustWrite(t, v, data[123:], 123)
	clear(data[:123])
	mustRead(t, v, data[1:len(data)-1], 1)
	if err := v.Trim(5000, 3<<20); err != nil {
		t.Fatal(err)
	}
	clear(data[5000 : 5000+3<<20])
	mustRead(t, v, data, 0)
}

// A 2-disk mirror loses a disk: it records the loss on the survivor alone and keeps writing;
// the survivor opens alone afterwards, the lost disk alone is refused (it cannot know it is
// stale), and when it returns its older metadata does not win.
func TestTwoDiskMirrorLosesOne(t *testing.T) {
	_, devs := fileDisks(t, 2, 8<<20)
	p, v, _ := mirrorWithData(t, devs, 1)
	// Before anything records the loss, the pool cannot be opened from one disk: each could be
	// the stale one.
	for i := range devs {
		if _, err := OpenPool(asDevices(devs[i:i+1]), OpenOptions{ReadOnly: true, Logf: t.Logf}); !errors.Is(err, ErrNoMajority) {
			t.Fatalf("open from disk %d alone before any failure: %v, want ErrNoMajority", i, err)
		}
	}
	devs[1].Pull()
	after := pattern(2, 0, int(v.Size()))
	mustWrite(t, v, after, 0)
	if err := v.Flush(); err != nil {
		t.Fatalf("flush after losing one of two disks: %v", err)
	}
	mustRead(t, v, after, 0)
	if h := v.Health(); h.State != Degraded {
		t.Fatalf("health %+v, want degraded", h)
	}
	if st := p.Disks()[1].State; st != DiskFailed {
		t.Fatalf("lost disk state %s", st)
	}
	// The survivor alone opens and reads the writes made after the loss.
	p2, err := OpenPool(asDevices(devs[:1]), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatalf("open from the survivor: %v", err)
	}
	v2, _ := p2.VirtualDisk("m")
	mustRead(t, v2, after, 0)
	// The lost disk, back on its own, is refused: its newest generation lists both disks live.
	devs[1].Return()
	if _, err := OpenPool(asDevices(devs[1:]), testOpenOpts(t, "n1", 1)); !errors.Is(err, ErrNoMajority) {
		t.Fatalf("open from the stale disk alone: %v, want ErrNoMajority", err)
	} else {
		t.Logf("refusal reads: %v", err)
	}
	// Both present: the survivor's generation wins and the stale disk stays failed.
	p3, err := OpenPool(asDevices(devs), testOpenOpts(t, "n1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if st := p3.Disks()[1].State; st != DiskFailed {
		t.Fatalf("stale disk came back as %s", st)
	}
	v3, _ := p3.VirtualDisk("m")
	mustRead(t, v3, after, 0)
	// A second writer with a higher epoch fences the first even with one disk.
	p4, err := OpenPool(asDevices(devs[:1]), testOpenOpts(t, "n2", 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := v3.Flush(); !errors.Is(err, ErrFenced) {
		t.Fatalf("flush by the fenced owner: %v, want ErrFenced", err)
	}
	p4.Close()
}
