package csv

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const (
	minJournalBlocks    = 64
	minCheckpointBlocks = 16
)

var (
	// ErrFenced is returned by Mount when the volume was taken over by an owner with a newer epoch.
	ErrFenced = errors.New("volume owned by a newer epoch")
	// errCheckpointFull means the metadata outgrew the checkpoint areas chosen at format time.
	errCheckpointFull = errors.New("checkpoint area full")
	errClosed         = errors.New("volume closed")
)

// FormatOptions chooses the layout of a new volume; zero fields get defaults sized from the device.
type FormatOptions struct {
	Label            string
	VolumeID         [16]byte // random when zero
	JournalBlocks    uint64   // default: 1/64 of the device, 256 KiB .. 256 MiB
	CheckpointBlocks uint64   // each of two areas; default: 1/16 of the device, 64 KiB .. 4 GiB
	Epoch            uint64   // owner epoch recorded in the superblock
}

// Format writes an empty volume onto dev: superblocks, an empty checkpoint in area A, and a journal
// with no valid batch.
func Format(dev BlockDevice, opts FormatOptions) error {
	total := uint64(dev.Size() / BlockSize)
	jb := opts.JournalBlocks
	if jb == 0 {
		jb = min(max(total/64, minJournalBlocks), 65536)
	}
	cb := opts.CheckpointBlocks
	if cb == 0 {
		cb = min(max(total/16, minCheckpointBlocks), 1<<20)
	}
	sb := &Superblock{
		FormatVersion:    FormatVersion,
		BlockSize:        BlockSize,
		VolumeID:         opts.VolumeID,
		TotalBlocks:      total,
		JournalStart:     superblockCopies,
		JournalBlocks:    jb,
		CheckpointBlocks: cb,
		OwnerEpoch:       opts.Epoch,
		CreatedUnix:      time.Now().UnixNano(),
		Label:            opts.Label,
	}
	sb.CheckpointStart[0] = sb.JournalStart + jb
	sb.CheckpointStart[1] = sb.CheckpointStart[0] + cb
	sb.DataStart = sb.CheckpointStart[1] + cb
	if sb.DataStart+1 >= total {
		return fmt.Errorf("format: device of %d blocks too small for journal %d and checkpoints 2x%d", total, jb, cb)
	}
	if len(opts.Label) > 32 {
		return fmt.Errorf("format: label %q longer than 32 bytes", opts.Label)
	}
	if sb.VolumeID == ([16]byte{}) {
		if _, err := rand.Read(sb.VolumeID[:]); err != nil {
			return fmt.Errorf("format: volume id: %w", err)
		}
	}
	if err := sb.validate(); err != nil {
		return fmt.Errorf("format: %w", err)
	}
	// Zero the journal and the second checkpoint header so nothing of an earlier volume survives.
	zero := make([]byte, 64*BlockSize)
	for b := uint64(0); b < jb; b += 64 {
		n := min(64, jb-b)
		if _, err := dev.WriteAt(zero[:n*BlockSize], int64(sb.JournalStart+b)*BlockSize); err != nil {
			return fmt.Errorf("format: clear journal: %w", err)
		}
	}
	if _, err := dev.WriteAt(zero[:BlockSize], int64(sb.CheckpointStart[1])*BlockSize); err != nil {
		return fmt.Errorf("format: clear checkpoint B: %w", err)
	}
	st := newState(sb.DataStart, total-sb.DataStart, stamp(time.Unix(0, sb.CreatedUnix)))
	h := &checkpointHeader{generation: 0, tag: volumeTag(sb.VolumeID), journalPos: 0, nextSeq: 1, epoch: opts.Epoch, createdUnix: sb.CreatedUnix}
	if err := writeCheckpoint(dev, sb, h, encodeState(st)); err != nil {
		return fmt.Errorf("format: %w", err)
	}
	sb.Generation = 0
	if err := writeSuperblock(dev, sb); err != nil {
		return fmt.Errorf("format: %w", err)
	}
	return nil
}

// loaded is a volume's state as found on disk: newest valid checkpoint plus the journal after it.
type loaded struct {
	sb       *Superblock
	sbBad    []error // invalid superblock copies
	cp       *checkpointHeader
	cpBad    []error // invalid checkpoint areas (normal after a crash while checkpointing)
	st       *state
	head     uint64 // journal position after the last valid batch
	nextSeq  uint64
	replayed int // records applied from the journal
}

// load reads a volume without writing anything.
func load(dev BlockDevice) (*loaded, error) {
	sb, sbBad, err := readSuperblock(dev)
	if err != nil {
		return nil, err
	}
	l := &loaded{sb: sb, sbBad: sbBad}
	// Decode the newer checkpoint first; the older one only if the newer is damaged, since
	// decoding a large one is most of the mount time.
	order := []int{0, 1}
	if g0, g1 := checkpointGeneration(dev, sb, 0), checkpointGeneration(dev, sb, 1); g1 > g0 {
		order = []int{1, 0}
	}
	for _, area := range order {
		h, st, err := readCheckpoint(dev, sb, area)
		if err != nil {
			l.cpBad = append(l.cpBad, err)
			continue
		}
		l.cp, l.st = h, st
		break
	}
	if l.cp == nil {
		return nil, fmt.Errorf("no valid checkpoint: %w", errors.Join(l.cpBad...))
	}
	g := journalGeom{sb.JournalStart, sb.JournalBlocks}
	tag := volumeTag(sb.VolumeID)
	pos, seq := l.cp.journalPos, l.cp.nextSeq
	for {
		b, next, err := readBatch(dev, g, tag, pos, seq)
		if errors.Is(err, errNoBatch) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("replay journal at %d: %w", pos, err)
		}
		if b.epoch > sb.OwnerEpoch {
			return nil, fmt.Errorf("replay journal at %d: batch epoch %d newer than superblock %d", pos, b.epoch, sb.OwnerEpoch)
		}
		for i := range b.records {
			if err := l.st.apply(&b.records[i]); err != nil {
				return nil, fmt.Errorf("replay record %d: %w", seq+uint64(i), err)
			}
		}
		l.replayed += len(b.records)
		seq += uint64(len(b.records))
		if next-l.cp.journalPos > sb.JournalBlocks {
			return nil, fmt.Errorf("replay journal: %d blocks since checkpoint exceed the journal", next-l.cp.journalPos)
		}
		pos = next
	}
	l.head, l.nextSeq = pos, seq
	return l, nil
}

// Coordinator is the one place metadata changes: it validates and applies journal records to the
// in-memory state, makes them durable with group commit, and writes checkpoints. It is the seam
// for multi-node operation: another node's changes will arrive here, not at the state.
type Coordinator struct {
	dev   BlockDevice
	sb    *Superblock
	geom  journalGeom
	tag   uint64
	epoch uint64

	// mu guards st. Operations hold it exclusively while they validate, apply and enqueue, so
	// records reach the journal in the order they were applied.
	mu sync.RWMutex
	st *state

	alloc allocator

	// dataDirty says data was written since the last flush; the committer flushes it before
	// writing records that may expose it.
	dataDirty atomic.Bool

	cmu     sync.Mutex
	cond    *sync.Cond
	pending [][]record // operations whose records are applied but not yet written
	// pendingSince is when the oldest pending operation was enqueued; wanted is the highest
	// sequence an operation waits for. The committer writes at once when wanted is not durable,
	// else when the oldest pending operation is commitDelay old.
	pendingSince time.Time
	wanted       uint64
	commitDelay  time.Duration
	delayTimer   *time.Timer
	nextSeq      uint64 // sequence number of the next record enqueued
	durableSeq   uint64 // every record below this is durable
	head, tail   uint64 // journal positions: next write; oldest still needed
	cpGen        uint64 // generation of the newest checkpoint written or in progress
	cpRunning    bool
	cpBase       *checkpointBase // owned by the running checkpoint
	failed       error           // a write failed: the volume accepts no more changes
	closing      bool
	done         chan struct{}
	stats        CoordinatorStats
}

// CoordinatorStats counts commit work, for tests and `sofsctl csv show`.
type CoordinatorStats struct {
	Batches, Records, Checkpoints, Flushes uint64
	// MaxCheckpointPause is the longest time operations were held for a checkpoint: the
	// snapshot of the volume-wide tables, or one chunk of changed objects being copied (the
	// checkpoint is written without holding them).
	MaxCheckpointPause time.Duration
}

func newCoordinator(dev BlockDevice, l *loaded, epoch uint64, commitDelay time.Duration) *Coordinator {
	c := &Coordinator{
		dev:        dev,
		sb:         l.sb,
		geom:       journalGeom{l.sb.JournalStart, l.sb.JournalBlocks},
		tag:        volumeTag(l.sb.VolumeID),
		epoch:      epoch,
		st:         l.st,
		nextSeq:    l.nextSeq,
		durableSeq: l.nextSeq,
		head:       l.head,
		tail:       l.cp.journalPos,
		cpGen:      l.cp.generation,
		done:       make(chan struct{}),

		commitDelay: max(commitDelay, 0),
	}
	c.cond = sync.NewCond(&c.cmu)
	c.cpBase = newCheckpointBase(l.st)
	c.alloc.init(l.st.dataStart, l.st.dataBlocks)
	c.st.onFree = c.alloc.quarantineFreed
	go c.commitLoop()
	return c
}

// enqueue appends one operation's records; the caller holds c.mu exclusively and has applied
// them. It returns the sequence number that must be durable before the operation is acknowledged.
func (c *Coordinator) enqueue(recs []record) uint64 {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	if len(c.pending) == 0 {
		c.pendingSince = time.Now()
	}
	c.pending = append(c.pending, recs)
	c.nextSeq += uint64(len(recs))
	c.cond.Broadcast()
	return c.nextSeq
}

// commit validates and applies recs as one atomic operation and returns the sequence to wait for.
// The caller holds c.mu exclusively.
func (c *Coordinator) commitLocked(recs ...record) (uint64, error) {
	c.cmu.Lock()
	err := c.failed
	c.cmu.Unlock()
	if err != nil {
		return 0, err
	}
	c.alloc.freeSeq = c.nextSeq + uint64(len(recs))
	for i := range recs {
		// Records after the first are checked against the state their predecessors produce, so
		// multi-record operations apply one by one; an error after the first is a bug.
		if err := c.st.apply(&recs[i]); err != nil {
			if i > 0 {
				c.fail(fmt.Errorf("operation half applied: %w", err))
			}
			return 0, err
		}
	}
	c.alloc.onApplied(recs, c.st)
	return c.enqueue(recs), nil
}

// wait blocks until every record below seq is durable.
func (c *Coordinator) wait(seq uint64) error {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	if c.durableSeq < seq && seq > c.wanted {
		c.wanted = seq
		c.cond.Broadcast() // the committer may be delaying: somebody waits now
	}
	for c.durableSeq < seq && c.failed == nil {
		c.cond.Wait()
	}
	if c.durableSeq >= seq {
		return nil
	}
	return c.failed
}

func (c *Coordinator) fail(err error) {
	c.cmu.Lock()
	if c.failed == nil {
		c.failed = fmt.Errorf("volume stopped: %w", err)
	}
	c.cond.Broadcast()
	c.cmu.Unlock()
}

// commitLoop is the group committer: it writes everything enqueued since its last write as one
// batch with one flush, so concurrent operations share the cost of durability.
func (c *Coordinator) commitLoop() {
	defer close(c.done)
	for {
		c.cmu.Lock()
		for !c.closing && c.failed == nil && !c.commitDueLocked() {
			c.cond.Wait()
		}
		if c.failed != nil || (c.closing && len(c.pending) == 0) {
			c.cmu.Unlock()
			return
		}
		c.cmu.Unlock()
		if err := c.commitOnce(false); err != nil {
			c.fail(err)
			return
		}
	}
}

// commitDueLocked says whether the committer should write now; when pending records may wait,
// it arms a timer that wakes the committer when they may wait no longer. The caller holds cmu.
func (c *Coordinator) commitDueLocked() bool {
	if len(c.pending) == 0 {
		return false
	}
	if c.wanted > c.durableSeq {
		return true
	}
	left := c.commitDelay - time.Since(c.pendingSince)
	if left <= 0 {
		return true
	}
	if c.delayTimer == nil {
		c.delayTimer = time.AfterFunc(left, func() {
			c.cmu.Lock()
			c.delayTimer = nil
			c.cond.Broadcast()
			c.cmu.Unlock()
		})
	}
	return false
}

// maxBatchBytes bounds one batch so a batch always fits the journal's free half.
func (c *Coordinator) maxBatchBytes() int {
	return int(min(c.sb.JournalBlocks/8, 256)) * BlockSize
}

type plannedBatch struct {
	at   uint64
	data []byte
	last uint64 // sequence after the batch
}

// commitOnce writes every pending operation. With forceCheckpoint (Close) or when the journal
// is half full, it also snapshots the state for a checkpoint while the state is held still.
func (c *Coordinator) commitOnce(forceCheckpoint bool) error {
	// Hold the state still: no operation can apply or enqueue, so pending is exactly the records
	// applied but unwritten, and a snapshot taken now is the state after them.
	c.mu.RLock()
	c.cmu.Lock()
	ops := c.pending
	c.pending = nil
	seq := c.durableSeq
	before := seq
	head := c.head
	var batches []plannedBatch
	var cur []record
	size := 0
	emit := func() {
		if len(cur) == 0 {
			return
		}
		data := encodeBatch(c.tag, c.epoch, seq, cur)
		at, next := c.geom.place(head, uint64(len(data)/BlockSize))
		seq += uint64(len(cur))
		batches = append(batches, plannedBatch{at: at, data: data, last: seq})
		head = next
		cur, size = nil, 0
	}
	for _, op := range ops {
		opSize := 0
		for i := range op {
			opSize += 64 + len(op[i].name)
		}
		if size > 0 && size+opSize > c.maxBatchBytes() {
			emit()
		}
		cur = append(cur, op...)
		size += opSize
	}
	emit()
	var cpHeader *checkpointHeader
	var cpDelta *stateDelta
	if !c.cpRunning && (forceCheckpoint || head-c.tail > c.sb.JournalBlocks/2) {
		c.cpGen++
		c.cpRunning = true
		cpHeader = &checkpointHeader{generation: c.cpGen, tag: c.tag, journalPos: head, nextSeq: seq, epoch: c.epoch, createdUnix: time.Now().UnixNano()}
		c.cmu.Unlock()
		began := time.Now()
		cpDelta = snapshotDelta(c.st) // volume-wide tables; objects are collected after
		pause := time.Since(began)
		c.cmu.Lock()
		c.stats.MaxCheckpointPause = max(c.stats.MaxCheckpointPause, pause)
		c.cmu.Unlock()
	} else {
		c.cmu.Unlock()
	}
	c.mu.RUnlock()

	cpDone := make(chan error, 1)
	if cpHeader != nil {
		go func() {
			held := cpDelta.collect(c.st, c.mu.RLock, c.mu.RUnlock)
			c.mu.Lock()
			c.st.frozen = nil
			c.mu.Unlock()
			c.cmu.Lock()
			c.stats.MaxCheckpointPause = max(c.stats.MaxCheckpointPause, held)
			c.cmu.Unlock()
			err := writeCheckpoint(c.dev, c.sb, cpHeader, c.cpBase.apply(cpDelta).encode())
			c.cmu.Lock()
			c.cpRunning = false
			if err == nil {
				c.tail = max(c.tail, cpHeader.journalPos)
				c.stats.Checkpoints++
			}
			c.cond.Broadcast()
			c.cmu.Unlock()
			cpDone <- err
		}()
	}
	if len(batches) > 0 {
		// Data that records in these batches expose must be durable first.
		if c.dataDirty.Swap(false) {
			if err := c.dev.Flush(); err != nil {
				return fmt.Errorf("flush data: %w", err)
			}
		}
		for _, b := range batches {
			end := b.at + uint64(len(b.data)/BlockSize)
			c.cmu.Lock()
			for end-c.tail > c.sb.JournalBlocks && c.cpRunning {
				c.cond.Wait()
			}
			if end-c.tail > c.sb.JournalBlocks {
				c.cmu.Unlock()
				return fmt.Errorf("journal full: %d blocks since checkpoint", end-c.tail)
			}
			c.cmu.Unlock()
			if _, err := c.dev.WriteAt(b.data, int64(c.geom.phys(b.at))*BlockSize); err != nil {
				return fmt.Errorf("write journal at %d: %w", b.at, err)
			}
		}
		if err := c.dev.Flush(); err != nil {
			return fmt.Errorf("flush journal: %w", err)
		}
		c.cmu.Lock()
		c.head = head
		c.durableSeq = batches[len(batches)-1].last
		c.stats.Batches += uint64(len(batches))
		c.stats.Records += c.durableSeq - before
		c.stats.Flushes++
		c.cond.Broadcast()
		c.cmu.Unlock()
		c.alloc.release(c.durableSeqSnapshot())
	}
	if cpHeader != nil && forceCheckpoint {
		return <-cpDone
	}
	if cpHeader != nil {
		go func() {
			if err := <-cpDone; err != nil {
				c.fail(err)
			}
		}()
	}
	return nil
}

func (c *Coordinator) durableSeqSnapshot() uint64 {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.durableSeq
}

// Stats returns counters of commit work.
func (c *Coordinator) Stats() CoordinatorStats {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.stats
}

// close writes what is pending and a final checkpoint, so the next mount replays nothing.
func (c *Coordinator) close() error {
	c.cmu.Lock()
	if c.closing {
		c.cmu.Unlock()
		return errClosed
	}
	c.closing = true
	c.cond.Broadcast()
	c.cmu.Unlock()
	<-c.done
	c.cmu.Lock()
	failed := c.failed
	for c.cpRunning {
		c.cond.Wait()
	}
	c.cmu.Unlock()
	if failed != nil {
		return failed
	}
	if err := c.commitOnce(true); err != nil {
		return err
	}
	c.cmu.Lock()
	c.failed = errClosed
	c.cond.Broadcast() // operations that raced with Close get errClosed
	c.cmu.Unlock()
	return nil
}

// allocator hands out free data blocks. Blocks freed by a record are quarantined until that
// record is durable: reused earlier, a crash could leave the old file pointing at new data.
type allocator struct {
	mu         sync.Mutex
	reserved   bitmap // allocated to an operation whose record is not applied yet, or quarantined
	hint       uint64
	quarantine []quarantined
	dataStart  uint64
	freeSeq    uint64 // sequence after the operation being applied: when its frees are durable
}

type quarantined struct {
	phys, count uint64
	seq         uint64 // durable when durableSeq reaches this
}

func (a *allocator) init(dataStart, blocks uint64) {
	a.dataStart = dataStart
	a.reserved = newBitmap(blocks)
}

// allocate reserves count blocks, as few runs as the free space allows. The caller holds the
// coordinator's state lock (shared is enough) so st.used is stable.
func (a *allocator) allocate(st *state, count uint64) ([]extent, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var runs []extent
	n := st.dataBlocks
	i := a.hint
	scanned := uint64(0)
	for count > 0 && scanned < n {
		if i >= n {
			i = 0
		}
		if st.used[i/64]|a.reserved[i/64] == ^uint64(0) && i%64 == 0 && i+64 <= n {
			i += 64
			scanned += 64
			continue
		}
		if st.used.get(i) || a.reserved.get(i) {
			i++
			scanned++
			continue
		}
		j := i
		for j < n && j-i < count && !st.used.get(j) && !a.reserved.get(j) {
			a.reserved.set(j)
			j++
		}
		runs = append(runs, extent{phys: st.dataStart + i, count: j - i})
		count -= j - i
		scanned += j - i
		i = j
	}
	a.hint = i
	if count > 0 {
		for _, r := range runs {
			a.unreserveLocked(st, r.phys, r.count)
		}
		return nil, fmt.Errorf("allocate: %w", errNoSpace)
	}
	return runs, nil
}

var errNoSpace = errors.New("no free blocks")

func (a *allocator) unreserveLocked(st *state, phys, count uint64) {
	for b := phys; b < phys+count; b++ {
		a.reserved.clear(b - a.dataStart)
	}
}

// unreserve returns blocks an operation allocated but did not map.
func (a *allocator) unreserve(st *state, runs []extent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range runs {
		a.unreserveLocked(st, r.phys, r.count)
	}
}

// quarantine is state.onFree for a live volume: the blocks stay reserved until released.
func (a *allocator) quarantineFreed(phys, count uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for b := phys; b < phys+count; b++ {
		a.reserved.set(b - a.dataStart)
	}
	a.quarantine = append(a.quarantine, quarantined{phys, count, a.freeSeq})
}

// release makes quarantined blocks allocatable once the records freeing them are durable.
func (a *allocator) release(durable uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keep := a.quarantine[:0]
	for _, q := range a.quarantine {
		if q.seq <= durable {
			for b := q.phys; b < q.phys+q.count; b++ {
				a.reserved.clear(b - a.dataStart)
			}
		} else {
			keep = append(keep, q)
		}
	}
	a.quarantine = keep
}

// onApplied clears the reservation of blocks that records have now mapped (they are used).
func (a *allocator) onApplied(recs []record, st *state) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range recs {
		if r.kind == recMap {
			for b := r.phys; b < r.phys+r.count; b++ {
				a.reserved.clear(b - a.dataStart)
			}
		}
	}
}
