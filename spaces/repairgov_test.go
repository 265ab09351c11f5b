package spaces

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run in a synctest bubble on in-memory disks, so time is fake: device I/O takes none,
// every duration below is the repair's own pacing, and the assertions are exact consequences of
// the policy in repairgov.go, not timing measurements of this machine. Foreground latency is
// modelled by a gate: a foreground read of the gated block waits until the test lets it through.

// gatedDevice holds reads overlapping [off, off+BlockSize) until a value arrives on gate.
type gatedDevice struct {
	BlockDevice
	mu   sync.Mutex
	off  int64 // -1: no gate
	gate chan struct{}
}

func (g *gatedDevice) setGate(off int64) { g.mu.Lock(); g.off = off; g.mu.Unlock() }

func (g *gatedDevice) ReadAt(p []byte, off int64) (int, error) {
	g.mu.Lock()
	gated := g.off >= 0 && off < g.off+BlockSize && g.off < off+int64(len(p))
	g.mu.Unlock()
	if gated {
		<-g.gate
	}
	return g.BlockDevice.ReadAt(p, off)
}

// degradedMirror builds a 3-disk pool with a 16-slab mirror holding data, then fails disk 0, so
// repair has about two thirds of the slabs to copy. gate, if not nil, gates reads of the first
// block of a slab with no copy on disk 0 (repair never copies it, so never waits on its region
// lock) on both its copies, and that block's offset is returned.
func degradedMirror(t *testing.T, gate chan struct{}) (p *Pool, v *VirtualDisk, data []byte, share int64, gatedOff int64) {
	t.Helper()
	var devs []BlockDevice
	var gated []*gatedDevice
	for i := 0; i < 3; i++ {
		g := &gatedDevice{BlockDevice: NewMemDevice(24 * testSlab), off: -1, gate: gate}
		gated = append(gated, g)
		devs = append(devs, g)
	}
	p, err := CreatePool(devs, testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err = p.CreateVirtualDisk("m", 16*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	data = pattern(7, 0, int(v.Size()))
	mustWrite(t, v, data, 0)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := p.failDisk(p.disks[0], ErrPulled); err != nil {
		t.Fatal(err)
	}
	gatedOff = -1
	for i, pl := range v.Placement() {
		onZero := false
		for _, c := range pl {
			if c.DiskIndex == 0 {
				share += testSlab
				onZero = true
			}
		}
		if !onZero && gatedOff < 0 {
			gatedOff = int64(i) * testSlab
		}
	}
	if share < 8*testSlab {
		t.Fatalf("disk 0 holds %d bytes of copies; the test needs at least 8 slabs", share)
	}
	if gate != nil {
		if gatedOff < 0 {
			t.Fatal("no slab without a copy on disk 0")
		}
		for ci := 0; ci < 2; ci++ {
			d, off := copyFileOffset(t, v, gatedOff, ci)
			gated[d].setGate(off)
		}
	}
	return p, v, data, share, gatedOff
}

func checkRepaired(t *testing.T, p *Pool, v *VirtualDisk, data []byte, share int64) {
	t.Helper()
	if h := v.Health(); h.State != Healthy {
		t.Fatalf("after repair: %+v", h)
	}
	if got := p.RepairProgress().BytesDone; got != share {
		t.Fatalf("repair copied %d bytes, expected %d", got, share)
	}
	mustRead(t, v, data, 0)
}

func TestRepairYieldsToForeground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		p, v, data, share, off := degradedMirror(t, gate)
		const (
			parallel = 4
			yield    = 100 * time.Millisecond
			quiet    = 10 * time.Millisecond
			loadFor  = time.Second
		)
		// Foreground: one 4 KiB read after another, each taking 1 ms in the device (the pacer
		// opens the gate once a millisecond), so foreground I/O is always in flight until stop.
		stop := make(chan struct{})
		loadDone := make(chan struct{})
		go func() {
			defer close(loadDone)
			buf := make([]byte, BlockSize)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := v.ReadAt(buf, off); err != nil {
					t.Errorf("foreground read at %d: %v", off, err)
					return
				}
				if string(buf) != string(data[off:off+BlockSize]) {
					t.Errorf("foreground read at %d: wrong data", off)
					return
				}
			}
		}()
		pacerDone := make(chan struct{})
		go func() {
			defer close(pacerDone)
			for {
				time.Sleep(time.Millisecond)
				select {
				case gate <- struct{}{}:
				case <-loadDone:
					return
				}
			}
		}()
		stopLoad := sync.OnceFunc(func() { close(stop); <-loadDone; <-pacerDone })
		// A failed assertion ends this goroutine: the load and the repair must still end with it
		// (the bubble waits for them).
		defer stopLoad()
		repairDone := make(chan error, 1)
		defer func() { stopLoad(); <-repairDone }()
		go func() {
			repairDone <- p.Repair(context.Background(), RepairOptions{Parallel: parallel, ForegroundYield: yield, QuietWindow: quiet})
		}()

		time.Sleep(loadFor)
		under := p.RepairProgress()
		if !under.Running {
			t.Fatalf("repair finished within %v of continuous foreground load: it did not yield (%+v)", loadFor, under)
		}
		// Each worker may start one region before it first sees the load; after that one region
		// is copied per yield at most, by the one worker holding the busy token.
		maxRegions := int64(parallel) + int64(loadFor/yield) + 1
		if under.BytesDone > maxRegions*testRegion {
			t.Fatalf("under load repair copied %d bytes in %v; yielding allows at most %d regions (%d bytes)",
				under.BytesDone, loadFor, maxRegions, maxRegions*testRegion)
		}
		if under.BytesDone < int64(loadFor/yield)*testRegion/2 {
			t.Fatalf("repair copied only %d bytes in %v under load: it must yield, not starve", under.BytesDone, loadFor)
		}
		if p.Stats().RepairYields == 0 {
			t.Fatal("no repair yield counted under foreground load")
		}

		stopLoad()
		stopped := time.Now()
		if err := <-repairDone; err != nil {
			t.Fatal(err)
		}
		repairDone <- nil // for the deferred wait
		// Once the foreground stops, the waiting worker sees a quiet window and every later region
		// is copied without waiting (device I/O takes no time here).
		if d := time.Since(stopped); d > 2*quiet {
			t.Fatalf("repair took %v after the foreground stopped; expected at most two quiet windows (%v)", d, 2*quiet)
		}
		close(gate) // the load and pacer are gone: let every read through
		checkRepaired(t, p, v, data, share)
	})
}

func TestRepairIdleRunsAtFullSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, v, data, share, _ := degradedMirror(t, nil)
		start := time.Now()
		if err := p.Repair(context.Background(), RepairOptions{Parallel: 4}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("idle repair paused for %v", d)
		}
		if n := p.Stats().RepairYields; n != 0 {
			t.Fatalf("idle repair yielded %d times", n)
		}
		checkRepaired(t, p, v, data, share)
	})
}

func TestRepairRateLimitIsHardCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, v, data, share, _ := degradedMirror(t, nil)
		const rate = 4 << 20 // bytes per second
		start := time.Now()
		if err := p.Repair(context.Background(), RepairOptions{Parallel: 4, RateLimit: rate}); err != nil {
			t.Fatal(err)
		}
		// The throttle lets the first region through before it paces.
		min := time.Duration(float64(share-testRegion) / rate * float64(time.Second))
		if d := time.Since(start); d < min {
			t.Fatalf("repair of %d bytes at a cap of %d B/s took %v; the cap allows no less than %v", share, rate, d, min)
		}
		checkRepaired(t, p, v, data, share)
	})
}
