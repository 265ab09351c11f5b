package spaces

import (
	"context"
	"testing"
	"time"
)

// faultPool builds a 3-disk mirror pool on FaultyDevices with one slab of data written.
func faultPool(t *testing.T) (*Pool, *VirtualDisk, []*FaultyDevice, []byte) {
	_, devs := fileDisks(t, 3, 8<<20)
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("m", testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(11, 0, testSlab)
	mustWrite(t, v, data, 0)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	return p, v, devs, data
}

// devRange is the device byte range of copy ci of the virtual disk's first slab.
func devRange(t *testing.T, v *VirtualDisk, ci int) (int, int64) {
	di, off := copyFileOffset(t, v, 0, ci)
	return di, off
}

func TestFaultTornWriteFailsCopy(t *testing.T) {
	p, v, devs, data := faultPool(t)
	di, off := devRange(t, v, 1)
	devs[di].Inject(Fault{Op: OpWrite, Kind: FaultTear, Off: off, Len: testSlab, Count: 1})
	update := pattern(12, 0, 64*BlockSize)
	mustWrite(t, v, update, 0) // acknowledged: the other copy took it
	copy(data, update)
	if devs[di].Fired() != 1 {
		t.Fatalf("tear fired %d times", devs[di].Fired())
	}
	if st := p.Disks()[di].State; st != DiskFailed {
		t.Fatalf("disk with a torn write: state %s", st)
	}
	mustRead(t, v, data, 0)
	if h := v.Health(); h.State != Degraded {
		t.Fatalf("health %+v", h)
	}
	devs[di].ClearFaults()
	if err := p.Repair(context.Background(), RepairOptions{}); err != nil {
		t.Fatal(err)
	}
	mustRead(t, v, data, 0)
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("health after repair %+v", h)
	}
}

func TestFaultReadErrorServedAndRewritten(t *testing.T) {
	p, v, devs, data := faultPool(t)
	// Fail one read on each disk: whichever copy is read first fails, the other serves it, and
	// the failed copy is rewritten (its disk stays a member, since the rewrite worked).
	for _, d := range devs {
		d.Inject(Fault{Op: OpRead, Kind: FaultFail, Count: 1})
	}
	mustRead(t, v, data[:32*BlockSize], 0)
	st := p.Stats()
	if st.ReadErrors == 0 || st.HealedBlocks == 0 {
		t.Fatalf("stats %+v: want a read error healed", st)
	}
	for _, d := range p.Disks() {
		if d.State != DiskActive {
			t.Fatalf("disk %d state %s after a healed read error", d.Index, d.State)
		}
	}
	mustRead(t, v, data, 0)
}

func TestFaultSilentCorruption(t *testing.T) {
	p, v, devs, data := faultPool(t)
	// A corrupted read buffer is caught by the checksum and served from the other copy.
	for _, d := range devs {
		d.Inject(Fault{Op: OpRead, Kind: FaultCorrupt, Count: 1})
	}
	mustRead(t, v, data[:8*BlockSize], 0)
	if p.Stats().ChecksumMismatches == 0 {
		t.Fatal("corrupted read not detected")
	}
	for _, d := range devs {
		d.ClearFaults()
	}
	// A write that lands corrupted on one copy (the disk reports success) is found by scrub and
	// healed from the other.
	di, off := devRange(t, v, 0)
	devs[di].Inject(Fault{Op: OpWrite, Kind: FaultCorrupt, Off: off, Len: testSlab, Count: 1})
	update := pattern(13, 0, 16*BlockSize)
	mustWrite(t, v, update, 0)
	copy(data, update)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	res, err := p.Scrub(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.BadBlocks != 1 || res.HealedBlocks != 1 {
		t.Fatalf("scrub %+v: want the one corrupted block found and healed", res)
	}
	mustRead(t, v, data, 0)
	if res, _ := p.Scrub(context.Background()); res.BadBlocks != 0 {
		t.Fatalf("second scrub %+v", res)
	}
}

func TestFaultDelayedDiskStillServes(t *testing.T) {
	_, v, devs, data := faultPool(t)
	di, _ := devRange(t, v, 0)
	devs[di].Inject(Fault{Op: OpAny, Kind: FaultDelay, Delay: 20 * time.Millisecond, Count: 4})
	update := pattern(14, 0, 8*BlockSize)
	start := time.Now()
	mustWrite(t, v, update, 0)
	copy(data, update)
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("write did not wait for the slow copy")
	}
	mustRead(t, v, data, 0)
}
