package spaces

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	// DefaultSlabSize is the allocation unit of virtual disks.
	DefaultSlabSize = 256 << 20
	// DefaultRegionSize is the dirty-region log's granularity.
	DefaultRegionSize = 1 << 20
	// DefaultMetaSlotSize bounds the encoded pool metadata (two slots per disk).
	DefaultMetaSlotSize = 8 << 20
)

var (
	// ErrNoMajority: no metadata generation is present on a majority of the pool's disks.
	ErrNoMajority = errors.New("no pool metadata generation on a majority of disks")
	// ErrFenced: another owner with a higher (or equal, other node) epoch owns the pool.
	ErrFenced = errors.New("pool owned by another writer")
	// ErrReadOnly: the pool was opened read-only.
	ErrReadOnly = errors.New("pool opened read-only")
	// ErrUnhealthy: a slab has no live copy.
	ErrUnhealthy = errors.New("virtual disk unhealthy")
	// ErrNoSpace: not enough disks with free extents for the requested copies.
	ErrNoSpace = errors.New("not enough free capacity on distinct disks")
	// ErrChecksum: no copy of a block matches its checksum.
	ErrChecksum = errors.New("checksum mismatch on every copy")
)

// CreateOptions configures a new pool.
type CreateOptions struct {
	Owner        OwnerToken
	SlabSize     int64 // default DefaultSlabSize
	RegionSize   int64 // default DefaultRegionSize; must divide SlabSize
	MetaSlotSize int64 // default DefaultMetaSlotSize
	Logf         func(format string, args ...any)
}

func (o *CreateOptions) setDefaults() error {
	if o.SlabSize == 0 {
		o.SlabSize = DefaultSlabSize
	}
	if o.RegionSize == 0 {
		o.RegionSize = min(DefaultRegionSize, o.SlabSize)
	}
	if o.MetaSlotSize == 0 {
		o.MetaSlotSize = DefaultMetaSlotSize
	}
	if o.SlabSize%BlockSize != 0 || o.RegionSize%BlockSize != 0 || o.SlabSize%o.RegionSize != 0 || o.MetaSlotSize%BlockSize != 0 {
		return fmt.Errorf("slab size %d, region size %d, metadata slot %d: must be multiples of %d and the region must divide the slab",
			o.SlabSize, o.RegionSize, o.MetaSlotSize, BlockSize)
	}
	return nil
}

// OpenOptions configures OpenPool.
type OpenOptions struct {
	// Owner is the opener's token; in write mode it must have a higher epoch than the recorded
	// owner, or the same epoch and node (reopen after a crash).
	Owner    OwnerToken
	ReadOnly bool
	Logf     func(format string, args ...any)
}

// Stats are counters since the pool was opened.
type Stats struct {
	ChecksumMismatches int64 // blocks whose data did not match their CRC32C on some copy
	HealedBlocks       int64 // blocks rewritten from a good copy
	ReadErrors         int64 // copy reads that returned an I/O error
	ResyncRegions      int64 // dirty regions resynchronised at open
	ResyncBytes        int64 // bytes copied between copies by the resync at open
	RecomputedSums     int64 // checksum blocks rebuilt from data because no copy had a valid one
	ForegroundOps      int64 // virtual disk reads and writes started
	RepairYields       int64 // times a repair worker paused a region copy for foreground I/O
	ReadAheadRegions   int64 // regions read ahead for sequential readers
	ReadAheadHits      int64 // region reads served from read-ahead
}

type poolStats struct {
	mismatches, healed, readErrors, resyncRegions, resyncBytes, recomputed, repairYields, raRegions, raHits atomic.Int64
}

// poolDisk is one opened member disk.
type poolDisk struct {
	index  int
	id     string
	dev    BlockDevice
	hdr    *diskHeader
	failed atomic.Bool // set at once on an I/O error, before the metadata records it
	// failedDurable is set once a committed generation records the disk failed: only then may a
	// write that skips its copies be acknowledged.
	failedDurable atomic.Bool
	// keepSlot is the metadata slot holding the newest generation committed on this disk; commits
	// write the other one (metaSlotToKeep). Guarded by Pool.mu.
	keepSlot int
	// needSync is set by every write and cleared by Flush's Sync.
	needSync atomic.Bool
	drl      diskDRL
	// backing identifies the physical device under the disk (when known): copies whose disks
	// share one are written one after another (see writeRegion).
	backing    uint64
	hasBacking bool
}

func (d *poolDisk) live() bool { return d != nil && !d.failed.Load() }

// Pool is an opened storage pool.
type Pool struct {
	logf     func(format string, args ...any)
	owner    OwnerToken
	readOnly bool

	mu     sync.Mutex // guards meta, disks, vdisks, allocations; serialises metadata commits
	meta   *poolMeta
	maxGen uint64
	// committedLive is the live set of the last committed generation: the next commit must reach
	// at least half of it (commitQuorum).
	committedLive []string
	disks         []*poolDisk // by metadata index; nil when absent or removed
	vdisks        map[string]*VirtualDisk
	used          map[[2]int64]bool // allocated extents [disk index, extent]
	fenced        atomic.Bool       // a newer owner took over: no more writes of any kind
	flushMu       sync.Mutex

	writeSeq      atomic.Uint64 // completed-write sequence for lazy DRL clearing
	lastFlushSnap uint64        // guarded by flushMu

	stats    poolStats
	progress repairProgress
	fg       foregroundMeter // virtual disk reads and writes, which repair yields to
}

func newID() (string, [16]byte) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:]), b
}

func defaultLogf(format string, args ...any) { log.Printf("[SPACES] "+format, args...) }

// CreatePool formats devs as a new pool (destroying their contents) and returns it opened for
// writing by opts.Owner.
func CreatePool(devs []BlockDevice, opts CreateOptions) (*Pool, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("create pool: no disks")
	}
	poolID, poolRaw := newID()
	meta := &poolMeta{PoolID: poolID, Owner: opts.Owner, SlabSize: opts.SlabSize, RegionSize: opts.RegionSize}
	p := &Pool{logf: opts.Logf, owner: opts.Owner, meta: meta, vdisks: map[string]*VirtualDisk{}, used: map[[2]int64]bool{}}
	if p.logf == nil {
		p.logf = defaultLogf
	}
	for i, dev := range devs {
		d, err := formatDisk(dev, poolRaw, opts.SlabSize, opts.RegionSize, opts.MetaSlotSize)
		if err != nil {
			return nil, fmt.Errorf("create pool: disk %d: %w", i, err)
		}
		d.index = i
		meta.Disks = append(meta.Disks, diskRecord{ID: d.id, State: DiskActive, Extents: d.hdr.Extents})
		p.disks = append(p.disks, d)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.commitLocked(); err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	return p, nil
}

// formatDisk writes a fresh header and empty metadata and dirty-region-log areas.
func formatDisk(dev BlockDevice, poolRaw [16]byte, slabSize, regionSize, metaSlotSize int64) (*poolDisk, error) {
	h, err := layoutDisk(dev.Size(), slabSize, regionSize, metaSlotSize)
	if err != nil {
		return nil, err
	}
	h.PoolID = poolRaw
	id, idRaw := newID()
	h.DiskID = idRaw
	// Clear the old metadata slots and log so nothing from a previous life is mistaken for ours.
	if err := zeroRange(dev, h.MetaOffset, h.DataOffset-h.MetaOffset); err != nil {
		return nil, fmt.Errorf("clear metadata area: %w", err)
	}
	buf := alignedBuffer(BlockSize)
	copy(buf, h.encode())
	if _, err := dev.WriteAt(buf, 0); err != nil {
		return nil, fmt.Errorf("write disk header: %w", err)
	}
	if err := dev.Sync(); err != nil {
		return nil, err
	}
	d := &poolDisk{id: id, dev: dev, hdr: &h}
	d.backing, d.hasBacking = backingDevice(dev)
	d.drl.init(&h)
	return d, nil
}

func readHeader(dev BlockDevice) (*diskHeader, error) {
	buf := alignedBuffer(BlockSize)
	if _, err := dev.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("read disk header: %w", err)
	}
	h, err := decodeDiskHeader(buf)
	if err != nil {
		return nil, err
	}
	if h.DeviceSize > dev.Size() {
		return nil, fmt.Errorf("disk header: formatted for %d bytes, device has %d: %w", h.DeviceSize, dev.Size(), ErrCorrupt)
	}
	return h, nil
}

// readSlot reads and validates metadata slot i of a disk.
func readSlot(dev BlockDevice, h *diskHeader, i int) (metaSlotHeader, *poolMeta, error) {
	off := h.MetaOffset + int64(i)*h.MetaSlotSize
	first := alignedBuffer(BlockSize)
	if _, err := dev.ReadAt(first, off); err != nil {
		return metaSlotHeader{}, nil, fmt.Errorf("read metadata slot %d: %w", i, err)
	}
	sh, err := decodeMetaSlotHeader(first, h.MetaSlotSize)
	if err != nil {
		return sh, nil, err
	}
	n := (int64(metaHeaderSize) + int64(sh.Length) + BlockSize - 1) / BlockSize * BlockSize
	buf := first
	if n > BlockSize {
		buf = alignedBuffer(int(n))
		if _, err := dev.ReadAt(buf, off); err != nil {
			return sh, nil, fmt.Errorf("read metadata slot %d: %w", i, err)
		}
	}
	return decodeMetaSlot(buf)
}

type slotVote struct {
	gen  uint64
	crc  uint32
	meta *poolMeta
	ids  map[string]bool // disks holding this exact generation
}

// OpenPool opens the pool whose disks are among devs. It picks the newest metadata generation that
// is present (bit for bit) on a majority of the pool's member disks and refuses otherwise. In write
// mode it takes ownership (see OpenOptions.Owner), records missing disks as failed and resyncs the
// regions the dirty-region log names.
func OpenPool(devs []BlockDevice, opts OpenOptions) (*Pool, error) {
	logf := opts.Logf
	if logf == nil {
		logf = defaultLogf
	}
	type found struct {
		dev BlockDevice
		hdr *diskHeader
	}
	byID := map[string]found{}
	poolID := ""
	var errs []string
	var maxGen uint64
	votes := map[[2]uint64]*slotVote{}
	newest := map[string]uint64{}      // present disk -> newest generation it holds
	slotGens := map[string][2]uint64{} // present disk -> generation in each slot
	slotKeys := map[string][2][2]uint64{}
	for i, dev := range devs {
		h, err := readHeader(dev)
		if err != nil {
			errs = append(errs, fmt.Sprintf("disk %d: %v", i, err))
			continue
		}
		pid := hex.EncodeToString(h.PoolID[:])
		if poolID == "" {
			poolID = pid
		} else if pid != poolID {
			return nil, fmt.Errorf("open pool: disk %d belongs to pool %s, disk 0 to pool %s", i, pid, poolID)
		}
		did := hex.EncodeToString(h.DiskID[:])
		if _, dup := byID[did]; dup {
			return nil, fmt.Errorf("open pool: disk %s given twice", did)
		}
		byID[did] = found{dev, h}
		newest[did] = 0
		for s := 0; s < 2; s++ {
			sh, m, err := readSlot(dev, h, s)
			if err != nil || m.PoolID != pid {
				continue // an empty or torn slot: the other holds the previous generation
			}
			maxGen = max(maxGen, sh.Generation)
			newest[did] = max(newest[did], sh.Generation)
			key := [2]uint64{sh.Generation, uint64(sh.CRC)}
			g, k := slotGens[did], slotKeys[did]
			g[s], k[s] = sh.Generation, key
			slotGens[did], slotKeys[did] = g, k
			v := votes[key]
			if v == nil {
				v = &slotVote{gen: sh.Generation, crc: sh.CRC, meta: m, ids: map[string]bool{}}
				votes[key] = v
			}
			v.ids[did] = true
		}
	}
	if poolID == "" {
		return nil, fmt.Errorf("open pool: no pool disk among %d devices: %s", len(devs), strings.Join(errs, "; "))
	}
	var gens []genSeen
	var keys [][2]uint64
	for key, v := range votes {
		gens = append(gens, genSeen{ID: genID{Gen: v.gen, CRC: v.crc}, Live: v.meta.liveDisks(), PrevLive: v.meta.PrevLive, Holders: v.ids})
		keys = append(keys, key)
	}
	ci, err := chooseGeneration(gens, newest)
	if err != nil {
		return nil, fmt.Errorf("open pool %s: found %d of the pool's disks: %w", poolID, len(byID), err)
	}
	chosen := votes[keys[ci]]
	m := chosen.meta
	if !opts.ReadOnly {
		cur := m.Owner
		if opts.Owner.Epoch < cur.Epoch || (opts.Owner.Epoch == cur.Epoch && opts.Owner.NodeID != cur.NodeID) {
			return nil, fmt.Errorf("open pool %s as %s epoch %d: owned by %s epoch %d: %w",
				poolID, opts.Owner.NodeID, opts.Owner.Epoch, cur.NodeID, cur.Epoch, ErrFenced)
		}
	}
	p := &Pool{logf: logf, owner: opts.Owner, readOnly: opts.ReadOnly, meta: m, maxGen: maxGen,
		committedLive: m.liveDisks(), vdisks: map[string]*VirtualDisk{}, used: map[[2]int64]bool{}}
	p.disks = make([]*poolDisk, len(m.Disks))
	var missing []int
	for i, rec := range m.Disks {
		if rec.State == DiskRemoved {
			continue
		}
		f, ok := byID[rec.ID]
		if !ok {
			if rec.State != DiskFailed {
				missing = append(missing, i)
			}
			continue
		}
		if f.hdr.SlabSize != m.SlabSize || f.hdr.RegionSize != m.RegionSize || f.hdr.Extents != rec.Extents {
			return nil, fmt.Errorf("open pool %s: disk %s header disagrees with pool metadata", poolID, rec.ID)
		}
		d := &poolDisk{index: i, id: rec.ID, dev: f.dev, hdr: f.hdr}
		d.backing, d.hasBacking = backingDevice(f.dev)
		d.drl.init(f.hdr)
		k := slotKeys[rec.ID]
		d.keepSlot = metaSlotToKeep(slotGens[rec.ID], [2]bool{k[0] == keys[ci], k[1] == keys[ci]})
		if rec.State == DiskFailed {
			d.failed.Store(true)
			d.failedDurable.Store(true)
		}
		p.disks[i] = d
	}
	p.mu.Lock()
	for _, v := range m.VDisks {
		p.vdisks[v.Name] = newVirtualDisk(p, v)
	}
	if opts.ReadOnly {
		p.mu.Unlock()
		return p, nil
	}
	for _, i := range missing {
		logf("pool %s: disk %s missing at open, marking failed", poolID, m.Disks[i].ID)
		m.Disks[i].State = DiskFailed
	}
	m.Owner = opts.Owner
	err = p.commitLocked()
	p.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("open pool %s: take ownership: %w", poolID, err)
	}
	// Nobody else can reach p yet, so resync runs without p.mu (it records failures through it).
	if err := p.resync(); err != nil {
		return nil, fmt.Errorf("open pool %s: resync dirty regions: %w", poolID, err)
	}
	return p, nil
}

// commitLocked writes the in-memory metadata as a new generation to every live member disk and
// returns once it is committed (commitQuorum: durable on a majority of the disks it lists live and
// on at least half of the previous generation's). Disks that fail the write are marked failed and
// the commit is retried with that recorded. Before writing it checks no newer owner has taken over.
func (p *Pool) commitLocked() error {
	if p.readOnly {
		return ErrReadOnly
	}
	if p.fenced.Load() {
		return ErrFenced
	}
	for attempt := 0; ; attempt++ {
		if err := p.checkFenceLocked(); err != nil {
			return err
		}
		// Record every failure known in memory, so this generation's live set is the truth.
		var targets []*poolDisk
		for i, d := range p.disks {
			st := &p.meta.Disks[i].State
			if d != nil && d.failed.Load() && *st != DiskRemoved {
				*st = DiskFailed
			}
			if d.live() && *st != DiskRemoved && *st != DiskFailed {
				targets = append(targets, d)
			}
		}
		next := p.meta.liveDisks()
		reachable := make([]string, len(targets))
		for i, d := range targets {
			reachable[i] = d.id
		}
		if !commitQuorum(p.committedLive, next, reachable) {
			// Writing it could not commit, and a written but uncommitted generation only confuses
			// the next open.
			return fmt.Errorf("commit pool metadata: %d live disks reachable of %d (previous generation had %d): %w",
				len(reachable), len(next), len(p.committedLive), ErrNoMajority)
		}
		p.maxGen++
		p.meta.Generation = p.maxGen
		p.meta.Owner = p.owner
		p.meta.PrevLive = p.committedLive
		body, err := json.Marshal(p.meta)
		if err != nil {
			return fmt.Errorf("encode pool metadata: %w", err)
		}
		slot := encodeMetaSlot(p.meta.Generation, p.owner.Epoch, body)
		buf := alignedBuffer(len(slot))
		copy(buf, slot)
		for _, d := range targets {
			if int64(len(buf)) > d.hdr.MetaSlotSize {
				return fmt.Errorf("pool metadata of %d bytes exceeds the %d-byte slot", len(buf), d.hdr.MetaSlotSize)
			}
		}
		errs := make([]error, len(targets))
		var wg sync.WaitGroup
		for i, d := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				off := d.hdr.MetaOffset + int64(1-d.keepSlot)*d.hdr.MetaSlotSize
				_, errs[i] = d.dev.WriteAt(buf, off)
				if errs[i] == nil {
					errs[i] = d.dev.Sync()
				}
			}()
		}
		wg.Wait()
		var wrote, failedNow []string
		for i, d := range targets {
			if errs[i] != nil {
				d.failed.Store(true)
				failedNow = append(failedNow, fmt.Sprintf("%s: %v", d.id, errs[i]))
				continue
			}
			wrote = append(wrote, d.id)
		}
		if commitQuorum(p.committedLive, next, wrote) {
			p.committedLive = next
			for i, d := range targets {
				if errs[i] == nil {
					d.keepSlot = 1 - d.keepSlot
				}
			}
			for i, d := range p.disks {
				if d != nil && p.meta.Disks[i].State == DiskFailed {
					d.failedDurable.Store(true)
				}
			}
			if len(failedNow) == 0 {
				return nil
			}
		}
		if len(failedNow) == 0 {
			return fmt.Errorf("commit pool metadata gen %d: written to %d of %d live disks: %w", p.meta.Generation, len(wrote), len(next), ErrNoMajority)
		}
		p.logf("pool %s: metadata gen %d failed on %s; recording as failed", p.meta.PoolID, p.meta.Generation, strings.Join(failedNow, "; "))
		if attempt >= len(p.disks) {
			return fmt.Errorf("commit pool metadata gen %d: disks kept failing: %s: %w", p.meta.Generation, strings.Join(failedNow, "; "), ErrNoMajority)
		}
	}
}

// checkFenceLocked reads the metadata slots of the live disks and fails if a newer owner wrote
// them: two writers to one pool's metadata must be impossible.
func (p *Pool) checkFenceLocked() error {
	for _, d := range p.disks {
		if !d.live() {
			continue
		}
		for s := 0; s < 2; s++ {
			sh, m, err := readSlot(d.dev, d.hdr, s)
			if err != nil || m == nil {
				continue
			}
			if sh.Generation > p.maxGen {
				p.maxGen = sh.Generation
			}
			if m.Owner.Epoch > p.owner.Epoch || (m.Owner.Epoch == p.owner.Epoch && m.Owner.NodeID != p.owner.NodeID) {
				p.fenced.Store(true)
				return fmt.Errorf("pool %s: %s epoch %d took over from %s epoch %d: %w",
					p.meta.PoolID, m.Owner.NodeID, m.Owner.Epoch, p.owner.NodeID, p.owner.Epoch, ErrFenced)
			}
		}
	}
	return nil
}

// checkFenceFast is the per-Flush fence check: it reads only the first block of each metadata slot
// and does the full (validating) read only when a header names a higher epoch, so an old owner
// stops acknowledging flushes once a new owner has opened the pool.
func (p *Pool) checkFenceFast() error {
	if p.fenced.Load() {
		return ErrFenced
	}
	buf := alignedBuffer(BlockSize)
	for _, d := range p.disks {
		if !d.live() {
			continue
		}
		for s := 0; s < 2; s++ {
			if _, err := d.dev.ReadAt(buf, d.hdr.MetaOffset+int64(s)*d.hdr.MetaSlotSize); err != nil {
				continue
			}
			sh, err := decodeMetaSlotHeader(buf, d.hdr.MetaSlotSize)
			if err != nil || sh.OwnerEpoch <= p.owner.Epoch {
				continue
			}
			if _, m, err := readSlot(d.dev, d.hdr, s); err == nil && m.Owner.Epoch > p.owner.Epoch {
				p.fenced.Store(true)
				return fmt.Errorf("pool %s: %s epoch %d took over from %s epoch %d: %w",
					p.meta.PoolID, m.Owner.NodeID, m.Owner.Epoch, p.owner.NodeID, p.owner.Epoch, ErrFenced)
			}
		}
	}
	return nil
}

// failDisk records that d failed (cause) durably before returning, so that no write acknowledged
// afterwards can be "resynced" from its stale copies later.
func (p *Pool) failDisk(d *poolDisk, cause error) error {
	d.failed.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.failedDurable.Load() || p.meta.Disks[d.index].State == DiskRemoved {
		return nil
	}
	if p.meta.Disks[d.index].State != DiskFailed {
		p.logf("pool %s: disk %s failed: %v", p.meta.PoolID, d.id, cause)
	}
	p.meta.Disks[d.index].State = DiskFailed
	if err := p.commitLocked(); err != nil {
		return fmt.Errorf("record disk %s failed: %w", d.id, err)
	}
	return nil
}

// ID is the pool's identity (from the disk headers).
func (p *Pool) ID() string { return p.meta.PoolID }

// Generation is the current metadata generation.
func (p *Pool) Generation() uint64 { p.mu.Lock(); defer p.mu.Unlock(); return p.meta.Generation }

// Owner is the owner token recorded in the metadata.
func (p *Pool) Owner() OwnerToken { p.mu.Lock(); defer p.mu.Unlock(); return p.meta.Owner }

// SlabSize is the pool's slab size.
func (p *Pool) SlabSize() int64 { return p.meta.SlabSize }

// Stats returns the counters since open.
func (p *Pool) Stats() Stats {
	return Stats{
		ChecksumMismatches: p.stats.mismatches.Load(), HealedBlocks: p.stats.healed.Load(),
		ReadErrors: p.stats.readErrors.Load(), ResyncRegions: p.stats.resyncRegions.Load(),
		ResyncBytes: p.stats.resyncBytes.Load(), RecomputedSums: p.stats.recomputed.Load(),
		ForegroundOps: int64(p.fg.ops.Load()), RepairYields: p.stats.repairYields.Load(),
		ReadAheadRegions: p.stats.raRegions.Load(), ReadAheadHits: p.stats.raHits.Load(),
	}
}

// DiskInfo describes one member disk.
type DiskInfo struct {
	Index       int
	ID          string
	State       DiskState
	Present     bool
	Extents     int64
	UsedExtents int64
	Capacity    int64 // bytes of slab data it can hold
}

// Disks lists the pool's disks (removed ones included, for the record).
func (p *Pool) Disks() []DiskInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	usage := p.usageLocked()
	out := make([]DiskInfo, len(p.meta.Disks))
	for i, r := range p.meta.Disks {
		out[i] = DiskInfo{Index: i, ID: r.ID, State: r.State, Present: p.disks[i] != nil, Extents: r.Extents,
			UsedExtents: usage[i], Capacity: r.Extents * p.meta.SlabSize}
	}
	return out
}

func (p *Pool) usageLocked() []int64 {
	usage := make([]int64, len(p.meta.Disks))
	for e := range p.used {
		usage[e[0]]++
	}
	return usage
}

// virtualDisks is a snapshot of the pool's virtual disks, for walks that must not hold p.mu.
func (p *Pool) virtualDisks() []*VirtualDisk {
	p.mu.Lock()
	defer p.mu.Unlock()
	vds := make([]*VirtualDisk, 0, len(p.vdisks))
	for _, v := range p.vdisks {
		vds = append(vds, v)
	}
	return vds
}

// Close flushes every virtual disk and closes the devices.
func (p *Pool) Close() error {
	for _, v := range p.virtualDisks() {
		v.closeReadAhead()
	}
	var err error
	if !p.readOnly {
		// The second flush clears the log bits of every region the first made durable, so a clean
		// shutdown leaves nothing to resync.
		if err = p.Flush(); err == nil {
			err = p.Flush()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.disks {
		if d != nil {
			if cerr := d.dev.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}
	return err
}

// Resiliency names a virtual disk's copy count.
type Resiliency string

const (
	Simple  Resiliency = "simple"
	Mirror  Resiliency = "mirror"
	Mirror3 Resiliency = "mirror3"
)

// Copies is the number of copies of each slab.
func (r Resiliency) Copies() (int, error) {
	switch r {
	case Simple:
		return 1, nil
	case Mirror:
		return 2, nil
	case Mirror3:
		return 3, nil
	}
	return 0, fmt.Errorf("resiliency %q: want simple, mirror or mirror3", r)
}

func resiliencyOf(copies int) Resiliency {
	return [...]Resiliency{"", Simple, Mirror, Mirror3}[copies]
}

// allocateLocked picks an extent on each of n distinct eligible disks, least used first, skipping
// disks in exclude. It marks them used in memory only; the caller commits them.
func (p *Pool) allocateLocked(n int, exclude map[int]bool) ([][2]int64, error) {
	usage := p.usageLocked()
	var cands []int
	for i, d := range p.disks {
		if d.live() && p.meta.Disks[i].State == DiskActive && !exclude[i] && usage[i] < p.meta.Disks[i].Extents {
			cands = append(cands, i)
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		fa := float64(usage[cands[a]]) / float64(p.meta.Disks[cands[a]].Extents)
		fb := float64(usage[cands[b]]) / float64(p.meta.Disks[cands[b]].Extents)
		return fa < fb
	})
	if len(cands) < n {
		return nil, fmt.Errorf("%w: need %d disks, %d eligible", ErrNoSpace, n, len(cands))
	}
	out := make([][2]int64, 0, n)
	for _, di := range cands[:n] {
		found := false
		for e := int64(0); e < p.meta.Disks[di].Extents; e++ {
			k := [2]int64{int64(di), e}
			if !p.used[k] {
				p.used[k] = true
				out = append(out, k)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: disk %d full", ErrNoSpace, di)
		}
	}
	return out, nil
}

// initExtent zeroes a slab copy's extent: its data reads as zeros and its checksum blocks are all
// zero, which loadSums takes to mean "never written".
func (p *Pool) initExtent(d *poolDisk, extent int64) error {
	off := d.hdr.DataOffset + extent*d.hdr.ExtentSize
	if err := zeroRange(d.dev, off, d.hdr.ExtentSize); err != nil {
		return fmt.Errorf("zero extent %d on disk %s: %w", extent, d.id, err)
	}
	d.needSync.Store(true)
	return nil
}

// CreateVirtualDisk allocates a fixed-size virtual disk of size bytes (rounded up to BlockSize).
func (p *Pool) CreateVirtualDisk(name string, size int64, res Resiliency) (*VirtualDisk, error) {
	return p.createVirtualDisk(name, size, res, false)
}

// CreateThinVirtualDisk creates a thin virtual disk of size bytes: it takes no pool capacity until
// written; each slab is allocated (all its copies) by the first write into it and returned to the
// pool by a Trim that covers it whole. Unallocated ranges read as zeros. A write that needs a slab
// the pool has no room for fails with ErrNoSpace.
func (p *Pool) CreateThinVirtualDisk(name string, size int64, res Resiliency) (*VirtualDisk, error) {
	return p.createVirtualDisk(name, size, res, true)
}

func (p *Pool) createVirtualDisk(name string, size int64, res Resiliency, thin bool) (*VirtualDisk, error) {
	copies, err := res.Copies()
	if err != nil {
		return nil, fmt.Errorf("create virtual disk %q: %w", name, err)
	}
	if size <= 0 || name == "" {
		return nil, fmt.Errorf("create virtual disk %q: bad name or size %d", name, size)
	}
	size = (size + BlockSize - 1) / BlockSize * BlockSize
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readOnly {
		return nil, ErrReadOnly
	}
	if p.vdisks[name] != nil {
		return nil, fmt.Errorf("create virtual disk %q: exists", name)
	}
	nslabs := (size + p.meta.SlabSize - 1) / p.meta.SlabSize
	rec := &vdiskRecord{Name: name, Size: size, Copies: copies, Thin: thin}
	release := func() {
		for _, s := range rec.Slabs {
			for _, c := range s {
				delete(p.used, c)
			}
		}
	}
	if thin {
		rec.Slabs = make([][][2]int64, nslabs)
	}
	for i := int64(0); i < nslabs && !thin; i++ {
		place, err := p.allocateLocked(copies, nil)
		if err != nil {
			release()
			return nil, fmt.Errorf("create virtual disk %q: slab %d: %w", name, i, err)
		}
		rec.Slabs = append(rec.Slabs, place)
		for _, c := range place {
			if err := p.initExtent(p.disks[c[0]], c[1]); err != nil {
				release()
				return nil, fmt.Errorf("create virtual disk %q: %w", name, err)
			}
		}
	}
	if err := p.syncAll(); err != nil {
		release()
		return nil, fmt.Errorf("create virtual disk %q: %w", name, err)
	}
	p.meta.VDisks = append(p.meta.VDisks, rec)
	if err := p.commitLocked(); err != nil {
		p.meta.VDisks = p.meta.VDisks[:len(p.meta.VDisks)-1]
		release()
		return nil, fmt.Errorf("create virtual disk %q: %w", name, err)
	}
	v := newVirtualDisk(p, rec)
	p.vdisks[name] = v
	return v, nil
}

// syncAll syncs every live disk with unsynced writes.
func (p *Pool) syncAll() error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, d := range p.disks {
		if !d.live() || !d.needSync.Swap(false) {
			continue
		}
		wg.Add(1)
		go func(d *poolDisk) {
			defer wg.Done()
			if err := d.dev.Sync(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("disk %s: %w", d.id, err))
				mu.Unlock()
			}
		}(d)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// VirtualDisk returns the named virtual disk.
func (p *Pool) VirtualDisk(name string) (*VirtualDisk, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.vdisks[name]
	if v == nil {
		return nil, fmt.Errorf("virtual disk %q: not found in pool %s", name, p.meta.PoolID)
	}
	return v, nil
}

// VirtualDisks lists the virtual disk names.
func (p *Pool) VirtualDisks() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for _, r := range p.meta.VDisks {
		names = append(names, r.Name)
	}
	return names
}

// DeleteVirtualDisk removes a virtual disk and frees its extents. The caller must have stopped
// using it.
func (p *Pool) DeleteVirtualDisk(name string) error {
	p.mu.Lock()
	v := p.vdisks[name]
	p.mu.Unlock()
	if v == nil {
		return fmt.Errorf("delete virtual disk %q: not found", name)
	}
	// No prefetch may read (or heal) the extents once they are free for another virtual disk. A
	// prefetch can take p.mu (a disk failing), so this waits before taking it.
	wasOff := v.ra.disabled.Load()
	v.closeReadAhead()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.vdisks[name] != v {
		return fmt.Errorf("delete virtual disk %q: not found", name)
	}
	old := p.meta.VDisks
	var keep []*vdiskRecord
	for _, r := range old {
		if r.Name != name {
			keep = append(keep, r)
		}
	}
	p.meta.VDisks = keep
	if err := p.commitLocked(); err != nil {
		p.meta.VDisks = old
		v.ra.disabled.Store(wasOff)
		return fmt.Errorf("delete virtual disk %q: %w", name, err)
	}
	for _, s := range v.rec.Slabs {
		for _, c := range s {
			delete(p.used, c)
		}
	}
	delete(p.vdisks, name)
	v.deleted.Store(true)
	return nil
}

// AddDisk formats dev and adds it to the pool as an active disk.
func (p *Pool) AddDisk(dev BlockDevice) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readOnly {
		return "", ErrReadOnly
	}
	if h, err := readHeader(dev); err == nil && hex.EncodeToString(h.PoolID[:]) == p.meta.PoolID {
		return "", fmt.Errorf("add disk: disk %s is already in pool %s", hex.EncodeToString(h.DiskID[:]), p.meta.PoolID)
	}
	raw, _ := hex.DecodeString(p.meta.PoolID)
	var poolRaw [16]byte
	copy(poolRaw[:], raw)
	var slot int64 = DefaultMetaSlotSize
	for _, d := range p.disks {
		if d != nil {
			slot = d.hdr.MetaSlotSize
			break
		}
	}
	d, err := formatDisk(dev, poolRaw, p.meta.SlabSize, p.meta.RegionSize, slot)
	if err != nil {
		return "", fmt.Errorf("add disk: %w", err)
	}
	d.index = len(p.meta.Disks)
	p.meta.Disks = append(p.meta.Disks, diskRecord{ID: d.id, State: DiskActive, Extents: d.hdr.Extents})
	p.disks = append(p.disks, d)
	if err := p.commitLocked(); err != nil {
		p.meta.Disks = p.meta.Disks[:d.index]
		p.disks = p.disks[:d.index]
		return "", fmt.Errorf("add disk: %w", err)
	}
	return d.id, nil
}

func (p *Pool) diskByIDLocked(id string) (int, error) {
	for i, r := range p.meta.Disks {
		if r.ID == id || (len(id) >= 6 && strings.HasPrefix(r.ID, id)) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("disk %s: not a member of pool %s", id, p.meta.PoolID)
}

// RemoveFailedDisk drops a failed disk from the pool once repair has moved every copy it held.
func (p *Pool) RemoveFailedDisk(id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, err := p.diskByIDLocked(id)
	if err != nil {
		return fmt.Errorf("remove disk: %w", err)
	}
	if p.meta.Disks[i].State != DiskFailed {
		return fmt.Errorf("remove disk %s: state %s, only failed disks can be removed (retire the others)", id, p.meta.Disks[i].State)
	}
	return p.removeLocked(i)
}

func (p *Pool) removeLocked(i int) error {
	id := p.meta.Disks[i].ID
	if n := p.copiesOnLocked(i); n > 0 {
		return fmt.Errorf("remove disk %s: still holds %d slab copies; run repair first", id, n)
	}
	prev := p.meta.Disks[i].State
	p.meta.Disks[i].State = DiskRemoved
	if err := p.commitLocked(); err != nil {
		p.meta.Disks[i].State = prev
		return fmt.Errorf("remove disk %s: %w", id, err)
	}
	if d := p.disks[i]; d != nil {
		// Wipe the header so the disk is never taken for a member again.
		d.failed.Store(true)
		if _, err := d.dev.WriteAt(alignedBuffer(BlockSize), 0); err == nil {
			_ = d.dev.Sync()
		}
		p.disks[i] = nil
	}
	return nil
}

func (p *Pool) copiesOnLocked(i int) int {
	n := 0
	for _, r := range p.meta.VDisks {
		for _, s := range r.Slabs {
			for _, c := range s {
				if c[0] == int64(i) {
					n++
				}
			}
		}
	}
	return n
}

// String summarises the pool for logs.
func (p *Pool) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "pool %s gen %d owner %s/%d", p.meta.PoolID, p.meta.Generation, p.meta.Owner.NodeID, p.meta.Owner.Epoch)
	return b.String()
}
