package spaces

import (
	"context"
	"sync/atomic"
	"time"
)

// Repair yields to foreground I/O (issue 4: "throttled against foreground I/O"). The virtual disks
// count the reads and writes they start and how many are in flight (foregroundMeter); a repair
// worker looks at the count before each region it copies. If foreground I/O started while the
// worker copied its previous region, or is in flight now, the pool is busy, and the worker:
//   - takes the single busy token, so under load one region copy runs at a time instead of
//     Parallel of them (the parallelism scales down to 1), and
//   - waits until the foreground has been quiet for a whole QuietWindow, or ForegroundYield has
//     passed (so a continuous load slows repair to about one region per ForegroundYield but never
//     starves it: a degraded pool must still get its redundancy back).
//
// When nothing else touches the virtual disks, no worker ever waits: repair runs at full speed.
// RateLimit stays a hard cap on top, idle or not. The waits are pacing, not synchronisation:
// nothing depends on them for correctness (each region is copied under its write lock either way).

const (
	defaultQuietWindow     = 10 * time.Millisecond
	defaultForegroundYield = 100 * time.Millisecond
)

// foregroundMeter counts foreground (virtual disk) I/O. Two atomics per operation: cheap
// beside any device I/O.
type foregroundMeter struct {
	ops      atomic.Uint64 // operations started
	inFlight atomic.Int64
}

func (m *foregroundMeter) begin() { m.ops.Add(1); m.inFlight.Add(1) }
func (m *foregroundMeter) end()   { m.inFlight.Add(-1) }

// repairGovernor is shared by the workers of one repair round.
type repairGovernor struct {
	fg       *foregroundMeter
	yields   *atomic.Int64 // pool statistic
	quiet    time.Duration
	maxYield time.Duration
	busy     chan struct{} // capacity 1: held by the one worker allowed to copy while busy
	// quietAt is the foreground op count at the end of the last wait that saw a whole quiet
	// window: a worker that finds the count unchanged need not wait for another one.
	quietAt atomic.Uint64
}

// newRepairGovernor returns nil (no yielding) when opts.ForegroundYield is negative.
func newRepairGovernor(p *Pool, opts RepairOptions) *repairGovernor {
	if opts.ForegroundYield < 0 {
		return nil
	}
	g := &repairGovernor{fg: &p.fg, yields: &p.stats.repairYields, quiet: opts.QuietWindow,
		maxYield: opts.ForegroundYield, busy: make(chan struct{}, 1)}
	if g.quiet <= 0 {
		g.quiet = defaultQuietWindow
	}
	if g.maxYield == 0 {
		g.maxYield = defaultForegroundYield
	}
	g.quietAt.Store(^uint64(0))
	return g
}

// repairWorker is one worker's view: the foreground op count when it last looked.
type repairWorker struct {
	g    *repairGovernor
	seen uint64
}

func (g *repairGovernor) worker() *repairWorker {
	if g == nil {
		return &repairWorker{}
	}
	return &repairWorker{g: g, seen: g.fg.ops.Load()}
}

func noRelease() {}

// admit is called before each region copy; the copy runs between admit and release.
func (w *repairWorker) admit(ctx context.Context) (release func(), err error) {
	g := w.g
	if g == nil {
		return noRelease, nil
	}
	ops := g.fg.ops.Load()
	if ops == w.seen && g.fg.inFlight.Load() == 0 {
		return noRelease, nil // idle since this worker's last region: full speed
	}
	select {
	case g.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-g.busy }
	if err := g.waitQuiet(ctx); err != nil {
		release()
		return nil, err
	}
	w.seen = g.fg.ops.Load()
	return release, nil
}

// waitQuiet returns once the foreground has started no operation and had none in flight for a
// whole quiet window (checked at the window's ends), or after maxYield.
func (g *repairGovernor) waitQuiet(ctx context.Context) error {
	if g.fg.ops.Load() == g.quietAt.Load() && g.fg.inFlight.Load() == 0 {
		return nil // another worker just saw a quiet window and nothing happened since
	}
	g.yields.Add(1)
	deadline := time.Now().Add(g.maxYield)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		before := g.fg.ops.Load()
		t := time.NewTimer(min(g.quiet, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		if after := g.fg.ops.Load(); after == before && g.fg.inFlight.Load() == 0 {
			g.quietAt.Store(after)
			return nil
		}
	}
}
