package csv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// A checkpoint is a complete image of the metadata state as of a journal position: a one-block
// header then the payload. Two areas are written alternately, so a crash while writing one leaves
// the other intact; mount uses the valid one with the higher generation.
var checkpointMagic = [8]byte{'S', 'O', 'F', 'S', 'C', 'K', 'P', 'T'}

const checkpointHeaderSize = 8 + 7*8 + 4 + 4

// checkpointHeader locates the journal replay start for the state in the payload.
type checkpointHeader struct {
	generation  uint64 // increments per checkpoint; area = generation % 2
	tag         uint64 // volumeTag
	journalPos  uint64 // replay starts at this logical journal position
	nextSeq     uint64 // with the batch whose first record has this sequence number
	epoch       uint64 // owner epoch of the writer
	payloadLen  uint64
	createdUnix int64
	payloadCRC  uint32
}

func (h *checkpointHeader) encode() []byte {
	e := enc{b: make([]byte, 0, BlockSize)}
	e.b = append(e.b, checkpointMagic[:]...)
	e.u64(h.generation)
	e.u64(h.tag)
	e.u64(h.journalPos)
	e.u64(h.nextSeq)
	e.u64(h.epoch)
	e.u64(h.payloadLen)
	e.i64(h.createdUnix)
	e.u32(h.payloadCRC)
	e.u32(crc32c(e.b))
	return e.b
}

func decodeCheckpointHeader(b []byte) (*checkpointHeader, error) {
	if len(b) < checkpointHeaderSize || !bytes.Equal(b[:8], checkpointMagic[:]) {
		return nil, fmt.Errorf("checkpoint header: %w", errBadMagic)
	}
	if got, want := crc32c(b[:checkpointHeaderSize-4]), binary.LittleEndian.Uint32(b[checkpointHeaderSize-4:]); got != want {
		return nil, fmt.Errorf("checkpoint header checksum %08x, want %08x", got, want)
	}
	d := dec{b: b[8:]}
	h := &checkpointHeader{}
	h.generation = d.u64()
	h.tag = d.u64()
	h.journalPos = d.u64()
	h.nextSeq = d.u64()
	h.epoch = d.u64()
	h.payloadLen = d.u64()
	h.createdUnix = d.i64()
	h.payloadCRC = d.u32()
	return h, d.err
}

// stateSnapshot is a copy of the state taken while it is held still; encoding it happens after
// the state is released, so operations pause only for the copy.
// snapInode is the part of an inode a checkpoint stores (no locks, no directory index).
type snapInode struct {
	id, parent uint64
	name       string
	dir        bool
	attrs, sd  uint32
	size       int64
	times      [4]int64
	ext        extentMap
}

type stateSnapshot struct {
	nextID, dataStart, dataBlocks uint64
	nextSD                        uint32
	sds                           map[uint32]string
	inodes                        []snapInode
	shared                        shareMap
	used                          bitmap
}

func snapshotState(s *state) *stateSnapshot {
	snap := &stateSnapshot{
		nextID: s.nextID, dataStart: s.dataStart, dataBlocks: s.dataBlocks, nextSD: s.nextSD,
		sds:    make(map[uint32]string, len(s.sds)),
		inodes: make([]snapInode, 0, len(s.inodes)),
		shared: append(shareMap(nil), s.shared...),
		used:   s.used.clone(),
	}
	for _, n := range s.inodes {
		snap.inodes = append(snap.inodes, snapInodeOf(n))
	}
	for id, e := range s.sds {
		snap.sds[id] = e.bytes
	}
	return snap
}

// checkpointBase is the object table of the last checkpoint snapshot, sorted by id, kept so the
// next snapshot copies only the objects changed since (state.dirty) while operations are held,
// and merges them into this copy afterwards, without holding anything. Only the goroutine that
// runs the checkpoint (Coordinator.cpRunning) touches it.
type checkpointBase struct {
	inodes []snapInode
}

// newCheckpointBase copies the whole object table and starts tracking changes; the caller holds
// the state still (at mount, before serving).
func newCheckpointBase(s *state) *checkpointBase {
	snap := snapshotState(s)
	sort.Slice(snap.inodes, func(i, j int) bool { return snap.inodes[i].id < snap.inodes[j].id })
	s.dirty = map[uint64]struct{}{}
	return &checkpointBase{inodes: snap.inodes}
}

// stateDelta is an incremental snapshot: the volume-wide tables copied while the state was held
// still, and the objects changed since the previous one, collected afterwards (collect).
type stateDelta struct {
	snap    *stateSnapshot // everything but the object table
	frozen  *frozenObjects
	changed []snapInode // objects created or modified since the last snapshot
	gone    []uint64    // objects removed since
}

// snapshotDelta copies the volume-wide tables and freezes the objects changed since the last
// snapshot (their ids; their contents are saved on their next change), then restarts change
// tracking. The caller holds the state still; how long that takes does not grow with the number
// of objects changed.
func snapshotDelta(s *state) *stateDelta {
	d := &stateDelta{snap: &stateSnapshot{
		nextID: s.nextID, dataStart: s.dataStart, dataBlocks: s.dataBlocks, nextSD: s.nextSD,
		sds:    make(map[uint32]string, len(s.sds)),
		shared: append(shareMap(nil), s.shared...),
		used:   s.used.clone(),
	}}
	for id, e := range s.sds {
		d.snap.sds[id] = e.bytes
	}
	d.frozen = &frozenObjects{ids: s.dirty, saved: map[uint64]snapInode{}}
	s.frozen = d.frozen
	s.dirty = map[uint64]struct{}{}
	return d
}

// collectChunk bounds how many objects collect copies per hold of the state.
const collectChunk = 4096

// collect copies the frozen objects as they were at the snapshot, holding the state (hold and
// release: shared lock) for at most collectChunk objects at a time, and reports the longest hold.
// The caller then ends the freeze (state.frozen = nil) holding the state exclusively.
func (d *stateDelta) collect(s *state, hold, release func()) time.Duration {
	var longest time.Duration
	n := 0
	var began time.Time
	for id := range d.frozen.ids { // nobody changes ids while frozen
		if n%collectChunk == 0 {
			hold()
			began = time.Now()
		}
		if pre, ok := d.frozen.saved[id]; ok {
			if pre.id != 0 {
				d.changed = append(d.changed, pre)
			} else {
				d.gone = append(d.gone, id)
			}
		} else if ino := s.inodes[id]; ino != nil {
			d.changed = append(d.changed, snapInodeOf(ino))
		} else {
			d.gone = append(d.gone, id)
		}
		if n++; n%collectChunk == 0 {
			longest = max(longest, time.Since(began))
			release()
		}
	}
	if n%collectChunk != 0 {
		longest = max(longest, time.Since(began))
		release()
	}
	return longest
}

// apply merges a delta into the base and returns the full snapshot it now describes. The
// snapshot shares the base's table, so the base must not change until it is encoded.
func (b *checkpointBase) apply(d *stateDelta) *stateSnapshot {
	sort.Slice(d.changed, func(i, j int) bool { return d.changed[i].id < d.changed[j].id })
	find := func(id uint64) int {
		return sort.Search(len(b.inodes), func(i int) bool { return b.inodes[i].id >= id })
	}
	var added []snapInode
	for _, n := range d.changed {
		if i := find(n.id); i < len(b.inodes) && b.inodes[i].id == n.id {
			b.inodes[i] = n
		} else {
			added = append(added, n)
		}
	}
	// Find every removed object before marking any (a marked entry breaks the search order).
	var removed []int
	for _, id := range d.gone {
		if i := find(id); i < len(b.inodes) && b.inodes[i].id == id {
			removed = append(removed, i)
		}
	}
	for _, i := range removed {
		b.inodes[i].id = 0
	}
	if len(removed) > 0 {
		keep := b.inodes[:0]
		for _, n := range b.inodes {
			if n.id != 0 {
				keep = append(keep, n)
			}
		}
		clear(b.inodes[len(keep):]) // drop references held by the tail
		b.inodes = keep
	}
	// Ids only grow, so objects created since the last snapshot sort after every object in it.
	b.inodes = append(b.inodes, added...)
	if len(added) > 0 && len(b.inodes) > len(added) && b.inodes[len(b.inodes)-len(added)-1].id > added[0].id {
		sort.Slice(b.inodes, func(i, j int) bool { return b.inodes[i].id < b.inodes[j].id })
	}
	snap := d.snap
	snap.inodes = b.inodes
	return snap
}

func snapInodeOf(n *inode) snapInode {
	var ext extentMap
	if len(n.ext) > 0 {
		ext = n.ext.clone()
	}
	return snapInode{id: n.id, parent: n.parent, name: n.name, dir: n.dir,
		attrs: n.attrs, size: n.size, times: n.times, ext: ext, sd: n.sd}
}

// encodeState serialises the state: inodes in id order, shared-block counts, the used-block map
// as runs. The caller holds the state still while this runs.
func encodeState(s *state) []byte { return snapshotState(s).encode() }

func (snap *stateSnapshot) encode() []byte {
	e := enc{b: make([]byte, 0, 64+len(snap.inodes)*96)}
	e.u64(snap.nextID)
	e.u64(snap.dataStart)
	e.u64(snap.dataBlocks)
	e.u32(snap.nextSD)
	sdIDs := make([]uint32, 0, len(snap.sds))
	for id := range snap.sds {
		sdIDs = append(sdIDs, id)
	}
	sort.Slice(sdIDs, func(i, j int) bool { return sdIDs[i] < sdIDs[j] })
	e.u32(uint32(len(sdIDs)))
	for _, id := range sdIDs {
		e.u32(id)
		e.str(snap.sds[id])
	}
	inodes := snap.inodes
	if less := func(i, j int) bool { return inodes[i].id < inodes[j].id }; !sort.SliceIsSorted(inodes, less) {
		sort.Slice(inodes, less)
	}
	e.u64(uint64(len(inodes)))
	for i := range inodes {
		n := &inodes[i]
		e.u64(n.id)
		e.u64(n.parent)
		e.str(n.name)
		if n.dir {
			e.u8(1)
		} else {
			e.u8(0)
		}
		e.u32(n.attrs)
		e.u32(n.sd)
		e.i64(n.size)
		for _, t := range n.times {
			e.i64(t)
		}
		e.u32(uint32(len(n.ext)))
		for _, x := range n.ext {
			e.u64(x.fileBlock)
			e.u64(x.phys)
			e.u64(x.count)
		}
	}
	e.u64(uint64(len(snap.shared)))
	for _, r := range snap.shared {
		e.u64(r.start)
		e.u64(r.count)
		e.u32(r.extra)
	}
	// Used runs, so a mostly empty or mostly full volume costs little.
	var runs [][2]uint64
	used := snap.used
	for i := uint64(0); i < snap.dataBlocks; {
		if i%64 == 0 && used[i/64] == 0 {
			i += 64
			continue
		}
		if !used.get(i) {
			i++
			continue
		}
		j := i
		for j < snap.dataBlocks && used.get(j) {
			j++
		}
		runs = append(runs, [2]uint64{i, j - i})
		i = j
	}
	e.u64(uint64(len(runs)))
	for _, r := range runs {
		e.u64(r[0])
		e.u64(r[1])
	}
	return e.b
}

// decodeState parses a checkpoint payload and rebuilds the directory indexes. It validates
// only what indexing needs; check verifies the invariants.
func decodeState(b []byte, maxDataBlocks uint64) (*state, error) {
	d := dec{b: b}
	s := &state{sds: map[uint32]*sdEntry{}, sdByID: map[string]uint32{}}
	s.nextID = d.u64()
	s.dataStart = d.u64()
	s.dataBlocks = d.u64()
	s.nextSD = d.u32()
	nsd := d.u32()
	if uint64(nsd) > uint64(len(b)) {
		return nil, fmt.Errorf("checkpoint: %d security descriptors", nsd)
	}
	for i := uint32(0); i < nsd && d.err == nil; i++ {
		id, sd := d.u32(), d.str()
		if _, dup := s.sdByID[sd]; dup || id == 0 || id > s.nextSD || s.sds[id] != nil || sd == "" {
			return nil, fmt.Errorf("checkpoint: security descriptor %d duplicated or invalid", id)
		}
		s.sds[id] = &sdEntry{bytes: sd}
		s.sdByID[sd] = id
	}
	if d.err != nil || s.dataBlocks > maxDataBlocks {
		return nil, fmt.Errorf("checkpoint state header: %d data blocks (at most %d): %v", s.dataBlocks, maxDataBlocks, d.err)
	}
	n := d.u64()
	if n > uint64(len(b))/32 {
		return nil, fmt.Errorf("checkpoint: %d inodes in %d bytes", n, len(b))
	}
	s.inodes = make(map[uint64]*inode, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		ino := &inode{}
		ino.id = d.u64()
		ino.parent = d.u64()
		ino.name = d.str()
		ino.dir = d.u8() != 0
		ino.attrs = d.u32()
		ino.sd = d.u32()
		ino.size = d.i64()
		for j := range ino.times {
			ino.times[j] = d.i64()
		}
		ne := d.u32()
		if uint64(ne) > uint64(len(d.b)) {
			return nil, fmt.Errorf("checkpoint inode %d: %d extents", ino.id, ne)
		}
		for j := uint32(0); j < ne && d.err == nil; j++ {
			ino.ext = append(ino.ext, extent{d.u64(), d.u64(), d.u64()})
		}
		if ino.dir {
			ino.children = map[string]uint64{}
		}
		if _, dup := s.inodes[ino.id]; dup || ino.id == 0 {
			return nil, fmt.Errorf("checkpoint: inode id %d duplicated or zero", ino.id)
		}
		if ino.sd != 0 {
			e := s.sds[ino.sd]
			if e == nil {
				return nil, fmt.Errorf("checkpoint: inode %d has unknown security descriptor %d", ino.id, ino.sd)
			}
			e.refs++
		}
		s.inodes[ino.id] = ino
	}
	ns := d.u64()
	if ns > uint64(len(b)) {
		return nil, fmt.Errorf("checkpoint: %d shared runs", ns)
	}
	for i := uint64(0); i < ns && d.err == nil; i++ {
		r := shareRun{d.u64(), d.u64(), d.u32()}
		if r.count == 0 || r.extra == 0 || r.start < s.dataStart || r.start-s.dataStart >= s.dataBlocks ||
			r.count > s.dataBlocks-(r.start-s.dataStart) {
			return nil, fmt.Errorf("checkpoint: shared run %d+%d (x%d) invalid", r.start, r.count, r.extra)
		}
		if k := len(s.shared) - 1; k >= 0 && s.shared[k].start+s.shared[k].count > r.start {
			return nil, fmt.Errorf("checkpoint: shared runs out of order at %d", r.start)
		}
		s.shared = append(s.shared, r)
	}
	s.used = newBitmap(s.dataBlocks)
	nr := d.u64()
	if nr > uint64(len(b)) {
		return nil, fmt.Errorf("checkpoint: %d used runs", nr)
	}
	for i := uint64(0); i < nr && d.err == nil; i++ {
		start, count := d.u64(), d.u64()
		if start > s.dataBlocks || count > s.dataBlocks-start {
			return nil, fmt.Errorf("checkpoint: used run %d+%d beyond %d blocks", start, count, s.dataBlocks)
		}
		for j := start; j < start+count; j++ {
			if !s.used.get(j) {
				s.used.set(j)
				s.usedCount++
			}
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("checkpoint payload: %w", d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("checkpoint payload: %d trailing bytes", len(d.b))
	}
	root := s.inodes[rootID]
	if root == nil || !root.dir || root.parent != 0 {
		return nil, fmt.Errorf("checkpoint: no root directory")
	}
	for _, ino := range s.inodes {
		if ino.id == rootID {
			continue
		}
		p := s.inodes[ino.parent]
		if p == nil || !p.dir {
			return nil, fmt.Errorf("checkpoint: inode %d has no parent directory %d", ino.id, ino.parent)
		}
		key := foldName(ino.name)
		if _, dup := p.children[key]; dup {
			return nil, fmt.Errorf("checkpoint: name %q twice in directory %d", ino.name, p.id)
		}
		p.children[key] = ino.id
	}
	return s, nil
}

// readCheckpoint reads the checkpoint in area i (0 or 1), verifying header and payload.
func readCheckpoint(dev BlockDevice, sb *Superblock, area int) (*checkpointHeader, *state, error) {
	hb := make([]byte, BlockSize)
	base := int64(sb.CheckpointStart[area]) * BlockSize
	if _, err := dev.ReadAt(hb, base); err != nil {
		return nil, nil, fmt.Errorf("read checkpoint area %d: %w", area, err)
	}
	h, err := decodeCheckpointHeader(hb)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint area %d: %w", area, err)
	}
	if h.tag != volumeTag(sb.VolumeID) {
		return nil, nil, fmt.Errorf("checkpoint area %d: belongs to another volume", area)
	}
	if h.payloadLen > (sb.CheckpointBlocks-1)*BlockSize {
		return nil, nil, fmt.Errorf("checkpoint area %d: payload %d bytes exceeds the area", area, h.payloadLen)
	}
	payload := make([]byte, h.payloadLen)
	if _, err := dev.ReadAt(payload, base+BlockSize); err != nil {
		return nil, nil, fmt.Errorf("read checkpoint area %d payload: %w", area, err)
	}
	if got := crc32c(payload); got != h.payloadCRC {
		return nil, nil, fmt.Errorf("checkpoint area %d: payload checksum %08x, want %08x", area, got, h.payloadCRC)
	}
	s, err := decodeState(payload, sb.TotalBlocks)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint area %d: %w", area, err)
	}
	if s.dataStart != sb.DataStart || s.dataBlocks != sb.TotalBlocks-sb.DataStart {
		return nil, nil, fmt.Errorf("checkpoint area %d: data area does not match the superblock", area)
	}
	return h, s, nil
}

// writeCheckpoint writes payload then header into the area for h.generation, flushing between so
// a valid header always describes a complete payload.
func writeCheckpoint(dev BlockDevice, sb *Superblock, h *checkpointHeader, payload []byte) error {
	area := int(h.generation % 2)
	if uint64(len(payload)) > (sb.CheckpointBlocks-1)*BlockSize {
		return fmt.Errorf("checkpoint of %d bytes does not fit area of %d blocks: %w", len(payload), sb.CheckpointBlocks, errCheckpointFull)
	}
	h.payloadLen = uint64(len(payload))
	h.payloadCRC = crc32c(payload)
	base := int64(sb.CheckpointStart[area]) * BlockSize
	// Invalidate the old header first so a torn payload is never paired with it.
	if _, err := dev.WriteAt(make([]byte, BlockSize), base); err != nil {
		return fmt.Errorf("clear checkpoint area %d: %w", area, err)
	}
	padded := make([]byte, (len(payload)+BlockSize-1)/BlockSize*BlockSize)
	copy(padded, payload)
	if _, err := dev.WriteAt(padded, base+BlockSize); err != nil {
		return fmt.Errorf("write checkpoint area %d: %w", area, err)
	}
	if err := dev.Flush(); err != nil {
		return fmt.Errorf("flush checkpoint area %d: %w", area, err)
	}
	hb := make([]byte, BlockSize)
	copy(hb, h.encode())
	if _, err := dev.WriteAt(hb, base); err != nil {
		return fmt.Errorf("write checkpoint area %d header: %w", area, err)
	}
	if err := dev.Flush(); err != nil {
		return fmt.Errorf("flush checkpoint area %d header: %w", area, err)
	}
	return nil
}

// checkpointGeneration returns the generation in area's header, or -1 when the header is invalid.
func checkpointGeneration(dev BlockDevice, sb *Superblock, area int) int64 {
	hb := make([]byte, BlockSize)
	if _, err := dev.ReadAt(hb, int64(sb.CheckpointStart[area])*BlockSize); err != nil {
		return -1
	}
	h, err := decodeCheckpointHeader(hb)
	if err != nil || h.tag != volumeTag(sb.VolumeID) {
		return -1
	}
	return int64(h.generation)
}
