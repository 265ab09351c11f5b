package spaces

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// resync runs at open after a crash: every region that the dirty-region log of a live disk names
// may differ between copies, or from its checksums, because a write was in flight. For each, the
// first readable copy's data wins (no write to it was acknowledged as durable unless every live copy
// had it), its checksums are recomputed and the other copies are rewritten. Only dirty regions are
// read, so the work is bounded by the writes in flight, not the disk size.
func (p *Pool) resync() error {
	type owner struct {
		v *VirtualDisk
		s *slab
	}
	type key struct {
		s      *slab
		region int64
	}
	owners := map[[2]int64]owner{}
	for _, v := range p.vdisks {
		for _, s := range v.slabs {
			for _, c := range s.list {
				owners[[2]int64{int64(c.diskIndex), c.extent}] = owner{v, s}
			}
		}
	}
	dirty := map[key]bool{}
	var order []key
	setBits := map[*poolDisk][]int64{}
	for _, d := range p.disks {
		if !d.live() {
			continue
		}
		bits, err := d.loadDRL()
		if err != nil {
			if ferr := p.failDisk(d, err); ferr != nil {
				return ferr
			}
			continue
		}
		setBits[d] = bits
		for _, b := range bits {
			ext, r := b/d.drl.regionsPerSlab, b%d.drl.regionsPerSlab
			o, ok := owners[[2]int64{int64(d.index), ext}]
			if !ok {
				continue // an abandoned rebuild target or a deleted virtual disk: nothing to sync
			}
			k := key{o.s, r}
			if !dirty[k] {
				dirty[k] = true
				order = append(order, k)
			}
		}
	}
	if len(order) > 0 {
		p.logf("pool %s: resyncing %d dirty regions", p.meta.PoolID, len(order))
	}
	touched := map[*slab]bool{}
	for _, k := range order {
		if err := k.s.resyncRegion(k.region); err != nil {
			return err
		}
		touched[k.s] = true
	}
	for s := range touched {
		if err := s.writeSums(nil, false); err != nil {
			return err
		}
	}
	if err := p.syncLive(); err != nil {
		return err
	}
	for d, bits := range setBits {
		if d.live() && len(bits) > 0 {
			if err := d.clearDirty(bits); err != nil {
				if ferr := p.failDisk(d, err); ferr != nil {
					return ferr
				}
			}
		}
	}
	return p.syncLive()
}

func (s *slab) resyncRegion(region int64) error {
	p := s.v.pool
	if err := s.ensureSums(); err != nil {
		return err
	}
	size := s.v.regionSize
	inSlab := region * size
	nblocks := size / BlockSize
	stored := s.getSums(inSlab/BlockSize, nblocks)
	// Read the region from every live copy.
	var copies []slabCopy
	var bufs [][]byte
	for _, c := range s.readCopies(0) {
		buf := alignedBuffer(int(size))
		if _, err := c.disk.dev.ReadAt(buf, c.dataOff(inSlab)); err != nil {
			if ferr := p.failDisk(c.disk, fmt.Errorf("resync read slab %d: %w", s.index, err)); ferr != nil {
				return ferr
			}
			continue
		}
		copies = append(copies, c)
		bufs = append(bufs, buf)
	}
	if len(copies) == 0 {
		p.logf("virtual disk %q slab %d: no live copy to resync region %d from", s.v.name, s.index, region)
		return nil
	}
	// Per block, a copy that still matches the stored checksum wins: it holds either the durable
	// value or a completed write whose checksum also landed, and a silently corrupt copy never
	// matches. When no copy matches, a write was in flight and any copy's value is allowed; take
	// the first and recompute its checksum.
	sums := make([]uint32, nblocks)
	for i := int64(0); i < nblocks; i++ {
		chosen := 0
		for j, b := range bufs {
			if crc32c(b[i*BlockSize:(i+1)*BlockSize]) == stored[i] {
				chosen = j
				break
			}
		}
		good := bufs[chosen][i*BlockSize : (i+1)*BlockSize]
		sums[i] = crc32c(good)
		for j, c := range copies {
			if j == chosen || bytes.Equal(bufs[j][i*BlockSize:(i+1)*BlockSize], good) {
				continue
			}
			if _, err := c.disk.dev.WriteAt(good, c.dataOff(inSlab+i*BlockSize)); err != nil {
				if ferr := p.failDisk(c.disk, fmt.Errorf("resync write slab %d: %w", s.index, err)); ferr != nil {
					return ferr
				}
				continue
			}
			c.disk.needSync.Store(true)
			p.stats.resyncBytes.Add(BlockSize)
		}
	}
	s.setSums(inSlab/BlockSize, sums)
	p.stats.resyncRegions.Add(1)
	return nil
}

// RepairProgress reports a running or finished repair.
type RepairProgress struct {
	Running    bool
	BytesDone  int64
	BytesTotal int64
	SlabsDone  int64
	SlabsTotal int64
	Started    time.Time
	Updated    time.Time // when these figures were taken (recorded, for a repair in another process)
	Elapsed    time.Duration
	Rate       float64       // bytes per second so far
	ETA        time.Duration // at the current rate
	Err        string
	// Recorded: the figures come from the pool metadata, as last committed by the process
	// repairing (perhaps another one, perhaps one that died: see Updated), not from this one.
	Recorded bool
}

// repairRecord is the repair progress kept in the pool metadata. The repairing process commits
// it when a repair starts, with every slab it rebuilds, and when it ends, so any other process
// opening the pool (sofsctl pool show) sees how far it got.
type repairRecord struct {
	Running    bool   `json:"running"`
	BytesDone  int64  `json:"done"`
	BytesTotal int64  `json:"total"`
	SlabsDone  int64  `json:"slabsDone"`
	SlabsTotal int64  `json:"slabs"`
	Started    int64  `json:"started"` // Unix nanoseconds
	Updated    int64  `json:"updated"`
	Err        string `json:"err,omitempty"`
}

type repairProgress struct {
	mu         sync.Mutex
	running    bool
	started    time.Time
	finished   time.Time
	total      int64
	slabsTotal int64
	done       atomic.Int64
	slabsDone  atomic.Int64
	err        string
}

// RepairProgress returns this process's current (or last) repair's progress or, if it ran none,
// the progress recorded in the pool metadata.
func (p *Pool) RepairProgress() RepairProgress {
	r := &p.progress
	r.mu.Lock()
	var out RepairProgress
	if r.started.IsZero() {
		r.mu.Unlock()
		p.mu.Lock()
		rec := p.meta.Repair
		p.mu.Unlock()
		if rec == nil {
			return out
		}
		out = RepairProgress{Running: rec.Running, BytesDone: rec.BytesDone, BytesTotal: rec.BytesTotal,
			SlabsDone: rec.SlabsDone, SlabsTotal: rec.SlabsTotal, Started: time.Unix(0, rec.Started),
			Updated: time.Unix(0, rec.Updated), Err: rec.Err, Recorded: true}
		out.Elapsed = out.Updated.Sub(out.Started)
	} else {
		out = RepairProgress{Running: r.running, BytesDone: r.done.Load(), BytesTotal: r.total,
			SlabsDone: r.slabsDone.Load(), SlabsTotal: r.slabsTotal, Started: r.started, Err: r.err, Updated: time.Now()}
		if !r.running && !r.finished.IsZero() {
			out.Updated = r.finished
		}
		out.Elapsed = out.Updated.Sub(r.started)
		r.mu.Unlock()
	}
	if secs := out.Elapsed.Seconds(); secs > 0 {
		out.Rate = float64(out.BytesDone) / secs
	}
	if out.Rate > 0 && out.Running {
		out.ETA = time.Duration(float64(out.BytesTotal-out.BytesDone) / out.Rate * float64(time.Second))
	}
	return out
}

// recordProgressLocked copies this process's repair progress into the metadata, to be committed
// with the next generation.
func (p *Pool) recordProgressLocked() {
	pr := p.localProgress()
	p.meta.Repair = &repairRecord{Running: pr.Running, BytesDone: pr.BytesDone, BytesTotal: pr.BytesTotal,
		SlabsDone: pr.SlabsDone, SlabsTotal: pr.SlabsTotal, Started: pr.Started.UnixNano(), Updated: time.Now().UnixNano(), Err: pr.Err}
}

// localProgress is this process's repair progress only (zero if it ran none).
func (p *Pool) localProgress() RepairProgress {
	r := &p.progress
	r.mu.Lock()
	defer r.mu.Unlock()
	return RepairProgress{Running: r.running, BytesDone: r.done.Load(), BytesTotal: r.total,
		SlabsDone: r.slabsDone.Load(), SlabsTotal: r.slabsTotal, Started: r.started, Err: r.err}
}

// RepairOptions tunes Repair.
type RepairOptions struct {
	// Parallel is how many slabs are rebuilt at once; default twice the number of live disks.
	Parallel int
	// RateLimit is a hard cap on repair bandwidth in bytes per second, whether or not foreground
	// I/O runs; 0 means no cap.
	RateLimit int64
	// ForegroundYield is the longest a repair worker waits, before copying a region, for
	// foreground I/O on the pool's virtual disks to go quiet (see repairgov.go); meanwhile only
	// one worker copies at a time. 0 means the default (100 ms); negative turns yielding off,
	// leaving only RateLimit.
	ForegroundYield time.Duration
	// QuietWindow is how long the foreground must start no I/O to count as quiet; 0 means the
	// default (10 ms).
	QuietWindow time.Duration
}

type repairTask struct {
	v       *VirtualDisk
	s       *slab
	targets []slabCopy
}

// Repair re-creates missing copies (of failed disks) and moves copies off retiring disks. Copies
// are placed on the least-used eligible disks, so a rebuild spreads over every remaining disk and
// runs several slabs in parallel; each region is copied under its write lock, so foreground writes
// wait for at most one region. While foreground I/O runs on the pool's virtual disks, repair
// backs off to one region copy at a time with pauses (repairGovernor); RateLimit caps it always.
// A disk that fails while repair runs is repaired around in a further round.
func (p *Pool) Repair(ctx context.Context, opts RepairOptions) error {
	if p.readOnly {
		return ErrReadOnly
	}
	pr := &p.progress
	pr.mu.Lock()
	pr.running, pr.started, pr.finished, pr.total, pr.slabsTotal, pr.err = true, time.Now(), time.Time{}, 0, 0, ""
	pr.done.Store(0)
	pr.slabsDone.Store(0)
	pr.mu.Unlock()
	var err error
	for round := 0; round <= len(p.disks); round++ {
		// The commit records the progress and, writing every live disk, finds any that failed
		// since the last round, so the plan sees them.
		p.mu.Lock()
		p.recordProgressLocked()
		err = p.commitLocked()
		p.mu.Unlock()
		if err != nil {
			break
		}
		tasks, planErrs, parallel := p.planRepair(opts.Parallel)
		if len(tasks) == 0 {
			err = errors.Join(planErrs...)
			break
		}
		var total int64
		for _, t := range tasks {
			total += int64(len(t.targets)) * t.v.slabSize
		}
		pr.mu.Lock()
		pr.total += total
		pr.slabsTotal += int64(len(tasks))
		pr.mu.Unlock()
		p.mu.Lock()
		p.recordProgressLocked() // the totals, before the first slab is done
		err = p.commitLocked()
		p.mu.Unlock()
		if err != nil {
			p.abandonTasks(tasks)
			break
		}
		if err = errors.Join(append(planErrs, p.runRepair(ctx, tasks, parallel, newThrottle(opts.RateLimit), newRepairGovernor(p, opts))...)...); err != nil {
			break
		}
	}
	pr.mu.Lock()
	pr.running, pr.finished = false, time.Now()
	if err != nil {
		pr.err = err.Error()
	}
	pr.mu.Unlock()
	p.mu.Lock()
	p.recordProgressLocked()
	if cerr := p.commitLocked(); cerr != nil && err == nil {
		err = cerr
	}
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("repair pool %s: %w", p.meta.PoolID, err)
	}
	return nil
}

// planRepair finds the slabs missing copies (or with copies on retiring disks) and places their
// new copies, marked rebuilding.
func (p *Pool) planRepair(parallel int) (tasks []*repairTask, planErrs []error, _ int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rec := range p.meta.VDisks {
		v := p.vdisks[rec.Name]
		for _, s := range v.slabs {
			s.mu.Lock()
			if v.thin && len(s.list) == 0 {
				s.mu.Unlock()
				continue // unallocated: no copy to re-create
			}
			good := 0
			exclude := map[int]bool{}
			for _, c := range s.list {
				exclude[c.diskIndex] = true
				if c.disk.live() && !c.rebuilding && p.meta.Disks[c.diskIndex].State == DiskActive {
					good++
				}
			}
			need := v.copies - good
			if need <= 0 {
				s.mu.Unlock()
				continue
			}
			place, err := p.allocateLocked(need, exclude)
			if err != nil {
				// Place as many as possible; a later repair (after add-disk) does the rest.
				for need--; need > 0 && err != nil; need-- {
					place, err = p.allocateLocked(need, exclude)
				}
				if err != nil || len(place) == 0 {
					planErrs = append(planErrs, fmt.Errorf("virtual disk %q slab %d: %w", v.name, s.index, ErrNoSpace))
					s.mu.Unlock()
					continue
				}
			}
			t := &repairTask{v: v, s: s}
			for _, e := range place {
				c := slabCopy{diskIndex: int(e[0]), diskID: p.meta.Disks[e[0]].ID, disk: p.disks[e[0]], extent: e[1], rebuilding: true}
				t.targets = append(t.targets, c)
				s.list = append(s.list, c)
			}
			s.mu.Unlock()
			tasks = append(tasks, t)
		}
	}
	if parallel <= 0 {
		for _, d := range p.disks {
			if d.live() {
				parallel++
			}
		}
		// Two slabs per disk keep each disk busy while the other waits on its read or write.
		parallel = max(2*parallel, 1)
	}
	return tasks, planErrs, parallel
}

// abandonTasks drops planned rebuild targets that will not be copied.
func (p *Pool) abandonTasks(tasks []*repairTask) {
	for _, t := range tasks {
		t.s.dropRebuilding()
		p.mu.Lock()
		for _, c := range t.targets {
			delete(p.used, [2]int64{int64(c.diskIndex), c.extent})
		}
		p.mu.Unlock()
	}
}

func (s *slab) dropRebuilding() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []slabCopy
	for _, c := range s.list {
		if !c.rebuilding {
			keep = append(keep, c)
		}
	}
	s.list = keep
}

// runRepair rebuilds tasks with parallel workers.
func (p *Pool) runRepair(ctx context.Context, tasks []*repairTask, parallel int, throttle *throttle, gov *repairGovernor) []error {
	work := make(chan *repairTask)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := gov.worker()
			for t := range work {
				if err := p.rebuildSlab(ctx, t, throttle, w); err != nil {
					p.progress.slabsDone.Add(1)
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
				}
			}
		}()
	}
	for _, t := range tasks {
		work <- t
	}
	close(work)
	wg.Wait()
	return errs
}

// rebuildSlab copies a slab onto its rebuilding targets region by region, writes their checksum
// blocks, syncs, then commits the new placement.
func (p *Pool) rebuildSlab(ctx context.Context, t *repairTask, th *throttle, w *repairWorker) error {
	v, s := t.v, t.s
	abort := func(err error) error {
		p.abandonTasks([]*repairTask{t})
		return fmt.Errorf("rebuild virtual disk %q slab %d: %w", v.name, s.index, err)
	}
	if err := s.ensureSums(); err != nil {
		return abort(err)
	}
	buf := alignedBuffer(int(v.regionSize))
	for r := int64(0); r < v.regionsPerSlab; r++ {
		if err := ctx.Err(); err != nil {
			return abort(err)
		}
		release, err := w.admit(ctx)
		if err != nil {
			return abort(err)
		}
		region := s.index*v.regionsPerSlab + r
		l := v.lock(region)
		l.Lock()
		err = s.readVerified(buf, r*v.regionSize, region)
		copied := int64(0)
		if err == nil {
			for _, c := range t.targets {
				if !c.disk.live() {
					continue
				}
				if _, werr := c.disk.dev.WriteAt(buf, c.dataOff(r*v.regionSize)); werr != nil {
					err = p.failDisk(c.disk, fmt.Errorf("rebuild slab %d: %w", s.index, werr))
					if err == nil {
						err = werr
					}
					break
				}
				c.disk.needSync.Store(true)
				p.progress.done.Add(v.regionSize)
				copied += v.regionSize
			}
		}
		l.Unlock()
		release()
		if err != nil {
			return abort(err)
		}
		// Paced after the region lock and the busy token are released, so neither foreground
		// writes to this region nor the other workers wait out this worker's rate-limit pause.
		th.wait(copied)
	}
	if err := s.writeSums(t.targets, true); err != nil {
		return abort(err)
	}
	for _, c := range t.targets {
		if err := c.disk.dev.Sync(); err != nil {
			_ = p.failDisk(c.disk, err)
			return abort(err)
		}
	}
	// Commit: the new copies replace failed ones and, once enough are live, retiring ones.
	p.mu.Lock()
	defer p.mu.Unlock()
	s.mu.Lock()
	old := s.list
	var healthy, retiring []slabCopy
	for _, c := range s.list {
		if !c.disk.live() {
			continue
		}
		c.rebuilding = false
		if p.meta.Disks[c.diskIndex].State == DiskRetiring {
			retiring = append(retiring, c)
		} else {
			healthy = append(healthy, c)
		}
	}
	next := healthy
	for _, c := range retiring {
		if len(next) < v.copies {
			next = append(next, c)
		}
	}
	s.list = next
	refs := make([][2]int64, len(next))
	for i, c := range next {
		refs[i] = [2]int64{int64(c.diskIndex), c.extent}
	}
	prevRefs := v.rec.Slabs[s.index]
	v.rec.Slabs[s.index] = refs
	s.mu.Unlock()
	p.progress.slabsDone.Add(1) // failed rebuilds are counted by runRepair
	p.recordProgressLocked()
	if err := p.commitLocked(); err != nil {
		s.mu.Lock()
		s.list = old
		s.mu.Unlock()
		v.rec.Slabs[s.index] = prevRefs
		return fmt.Errorf("rebuild virtual disk %q slab %d: commit: %w", v.name, s.index, err)
	}
	kept := map[[2]int64]bool{}
	for _, r := range refs {
		kept[r] = true
	}
	for _, r := range prevRefs {
		if !kept[r] {
			delete(p.used, r)
		}
	}
	return nil
}

// throttle paces repair to a byte rate (token bucket without burst beyond one region).
type throttle struct {
	mu    sync.Mutex
	rate  int64
	start time.Time
	bytes int64
}

func newThrottle(rate int64) *throttle { return &throttle{rate: rate, start: time.Now()} }

func (t *throttle) wait(n int64) {
	if t.rate <= 0 {
		return
	}
	t.mu.Lock()
	t.bytes += n
	due := t.start.Add(time.Duration(float64(t.bytes) / float64(t.rate) * float64(time.Second)))
	t.mu.Unlock()
	if d := time.Until(due); d > 0 {
		time.Sleep(d) // pacing, not synchronisation
	}
}

// RetireDisk evacuates a disk (its copies are re-created elsewhere) and then removes it from the
// pool, wiping its header.
func (p *Pool) RetireDisk(ctx context.Context, id string, opts RepairOptions) error {
	p.mu.Lock()
	i, err := p.diskByIDLocked(id)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("retire disk: %w", err)
	}
	switch p.meta.Disks[i].State {
	case DiskActive:
		p.meta.Disks[i].State = DiskRetiring
		if err := p.commitLocked(); err != nil {
			p.meta.Disks[i].State = DiskActive
			p.mu.Unlock()
			return fmt.Errorf("retire disk %s: %w", id, err)
		}
	case DiskRetiring:
	default:
		p.mu.Unlock()
		return fmt.Errorf("retire disk %s: state %s", id, p.meta.Disks[i].State)
	}
	p.mu.Unlock()
	if err := p.Repair(ctx, opts); err != nil {
		return fmt.Errorf("retire disk %s: evacuate: %w", id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.removeLocked(i); err != nil {
		return fmt.Errorf("retire disk %s: %w", id, err)
	}
	return nil
}

// ScrubResult counts what a scrub found.
type ScrubResult struct {
	BytesRead    int64
	BadBlocks    int64 // copy blocks that failed their checksum or could not be read
	HealedBlocks int64
	BadSumBlocks int64 // checksum blocks on a copy that differed from the verified sums
}

// Scrub reads every copy of every block of every virtual disk, verifies it and rewrites bad copies
// from a good one. It takes each region's read lock in turn, so it runs beside foreground I/O.
func (p *Pool) Scrub(ctx context.Context) (ScrubResult, error) {
	var res ScrubResult
	for _, v := range p.virtualDisks() {
		for _, s := range v.slabs {
			if err := s.scrub(ctx, &res); err != nil {
				return res, fmt.Errorf("scrub: %w", err)
			}
		}
	}
	return res, p.Flush()
}

func (s *slab) scrub(ctx context.Context, res *ScrubResult) error {
	v, p := s.v, s.v.pool
	if s.unallocated() {
		return nil
	}
	if err := s.ensureSums(); err != nil {
		return err
	}
	buf := alignedBuffer(int(v.regionSize))
	good := alignedBuffer(BlockSize)
	for r := int64(0); r < v.regionsPerSlab; r++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		region := s.index*v.regionsPerSlab + r
		l := v.lock(region)
		l.RLock()
		// A thin slab may have been released (and even allocated again) since the last region.
		if s.unallocated() {
			l.RUnlock()
			return nil
		}
		if err := s.ensureSums(); err != nil {
			l.RUnlock()
			return err
		}
		inSlab := r * v.regionSize
		first := inSlab / BlockSize
		sums := s.getSums(first, v.regionSize/BlockSize)
		copies := s.readCopies(0)
		for ci, c := range copies {
			_, err := c.disk.dev.ReadAt(buf, c.dataOff(inSlab))
			res.BytesRead += v.regionSize
			for i := range sums {
				blk := buf[i*BlockSize : (i+1)*BlockSize]
				if err == nil && crc32c(blk) == sums[i] {
					continue
				}
				res.BadBlocks++
				p.stats.mismatches.Add(1)
				// Find a good copy of this block and rewrite it here.
				for cj, o := range copies {
					if cj == ci {
						continue
					}
					if _, rerr := o.disk.dev.ReadAt(good, o.dataOff(inSlab+int64(i)*BlockSize)); rerr != nil || crc32c(good) != sums[i] {
						continue
					}
					if _, werr := c.disk.dev.WriteAt(good, c.dataOff(inSlab+int64(i)*BlockSize)); werr != nil {
						l.RUnlock()
						return p.failDisk(c.disk, werr)
					}
					c.disk.needSync.Store(true)
					res.HealedBlocks++
					p.stats.healed.Add(1)
					break
				}
			}
		}
		l.RUnlock()
	}
	// Checksum blocks: every copy's must match the verified sums.
	blk := alignedBuffer(BlockSize)
	want := alignedBuffer(BlockSize)
	nblocks := v.slabSize / BlockSize
	for g := int64(0); g < checksumBlocksFor(v.slabSize); g++ {
		s.sumsMu.Lock()
		if s.sums == nil {
			s.sumsMu.Unlock()
			return nil // released meanwhile
		}
		encodeChecksumBlock(s.sums[g*sumsPerBlock:min((g+1)*sumsPerBlock, nblocks)], want)
		pending := s.dirtyGroups[g]
		s.sumsMu.Unlock()
		if pending {
			continue // the next flush writes it anyway
		}
		for _, c := range s.readCopies(0) {
			if _, err := c.disk.dev.ReadAt(blk, c.sumOff(g)); err != nil || string(blk) != string(want) {
				if allZero(blk) && allZeroSums(want, int(min((g+1)*sumsPerBlock, nblocks)-g*sumsPerBlock), zeroBlockSum) {
					continue
				}
				res.BadSumBlocks++
				s.sumsMu.Lock()
				s.dirtyGroups[g] = true
				s.sumsMu.Unlock()
			}
		}
	}
	return nil
}

// allZeroSums reports whether an encoded checksum block holds only the zero-block sum, i.e. an
// all-zero block on disk means the same thing.
func allZeroSums(enc []byte, n int, zs uint32) bool {
	for i := 0; i < n; i++ {
		if uint32(enc[4*i])|uint32(enc[4*i+1])<<8|uint32(enc[4*i+2])<<16|uint32(enc[4*i+3])<<24 != zs {
			return false
		}
	}
	return true
}
