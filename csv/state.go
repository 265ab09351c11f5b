package csv

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxFileBlocks bounds file block numbers (a 4 EiB file) so block arithmetic cannot overflow.
const maxFileBlocks = 1 << 50

// rootID is the root directory's file id; ids are never reused within a volume's life.
const rootID = 1

// errCorrupt marks a record that does not apply to the state it follows: on replay that means
// the journal or checkpoint is damaged; live, it means a bug.
var errCorrupt = errors.New("metadata inconsistent")

// inode is one file or directory.
type inode struct {
	id       uint64
	parent   uint64 // 0 for the root; hard links are not supported, so one parent and one name
	name     string // case as created
	dir      bool
	attrs    uint32 // AttrSettable bits only
	size     int64
	times    [4]int64 // stamps (stamp.go): creation, last access, last write, change
	ext      extentMap
	children map[string]uint64 // folded name -> id; directories only
	sd       uint32            // security descriptor id in state.sds; 0 = none

	// dataMu orders data I/O against block-map changes: reads and in-place overwrites hold it
	// shared; anything that maps, unmaps or frees this file's blocks holds it exclusively, so a
	// reader never sees a block that was freed and reused.
	dataMu  sync.RWMutex
	removed bool
}

// sdEntry is one distinct security descriptor and how many objects use it.
type sdEntry struct {
	bytes string
	refs  uint32
}

// setSD points ino at the descriptor with content sd ("" for none), sharing an existing entry.
func (s *state) setSD(ino *inode, sd string) {
	if ino.sd != 0 {
		if e := s.sds[ino.sd]; e != nil {
			if e.refs--; e.refs == 0 {
				delete(s.sds, ino.sd)
				delete(s.sdByID, e.bytes)
			}
		}
		ino.sd = 0
	}
	if sd == "" {
		return
	}
	id, ok := s.sdByID[sd]
	if !ok {
		s.nextSD++
		id = s.nextSD
		s.sds[id] = &sdEntry{bytes: sd}
		s.sdByID[sd] = id
	}
	s.sds[id].refs++
	ino.sd = id
}

// foldName is the key under which a name is indexed: canonically equivalent names match
// (NFC, so "é" typed composed on Windows and decomposed by a macOS client is one name) and case
// does not matter (simple per-rune upper-casing, like NTFS's upcase table). NFC is applied again
// after upper-casing because a simple case mapping need not keep a string composed. The name
// itself is stored as the client sent it (case- and form-preserving).
func foldName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // most names: normalisation cannot change them
		return strings.Map(unicode.ToUpper, s)
	}
	return norm.NFC.String(strings.Map(unicode.ToUpper, norm.NFC.String(s)))
}

// bitmap is the free-space map of the data area: bit i set means data block DataStart+i is used.
type bitmap []uint64

func newBitmap(n uint64) bitmap    { return make(bitmap, (n+63)/64) }
func (b bitmap) get(i uint64) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitmap) set(i uint64)      { b[i/64] |= 1 << (i % 64) }
func (b bitmap) clear(i uint64)    { b[i/64] &^= 1 << (i % 64) }
func (b bitmap) clone() bitmap     { return append(bitmap(nil), b...) }
func (b bitmap) equal(o bitmap) bool {
	if len(b) != len(o) {
		return false
	}
	for i := range b {
		if b[i] != o[i] {
			return false
		}
	}
	return true
}
func (b bitmap) count() uint64 {
	var n uint64
	for _, w := range b {
		n += uint64(bits.OnesCount64(w))
	}
	return n
}

// state is the whole metadata of a volume, changed only by apply.
type state struct {
	dataStart, dataBlocks uint64
	inodes                map[uint64]*inode
	nextID                uint64
	// sds are the security descriptors, stored once per distinct content and shared by every
	// object that has it.
	sds       map[uint32]*sdEntry
	sdByID    map[string]uint32 // content -> id
	nextSD    uint32
	used      bitmap   // data blocks referenced by at least one file
	usedCount uint64   // set bits in used
	shared    shareMap // references beyond the first (clones), as runs
	// onFree, when set, receives blocks whose last reference went away instead of them being
	// usable at once: the live volume quarantines them until the freeing record is durable.
	onFree func(phys, count uint64)
	// dirty, when not nil, collects the ids of objects changed (created, modified, removed) since
	// the last checkpoint snapshot, so a snapshot copies only those (checkpointBase).
	dirty map[uint64]struct{}
	// frozen, while a checkpoint collects its objects, keeps the state they had at the snapshot:
	// the first change to a frozen object saves its old version first (copy on write).
	frozen *frozenObjects
}

// frozenObjects are the objects a checkpoint snapshot took (by id) and the snapshot-time version
// of each one changed since (id 0: it did not exist).
type frozenObjects struct {
	ids   map[uint64]struct{}
	saved map[uint64]snapInode
}

// markDirty records that object id is about to change: it saves the object's version for a
// checkpoint being collected, and tracks the change for the next one. apply calls it before it
// changes anything.
func (s *state) markDirty(id uint64) {
	if f := s.frozen; f != nil {
		if _, ok := f.ids[id]; ok {
			if _, done := f.saved[id]; !done {
				var pre snapInode
				if n := s.inodes[id]; n != nil {
					pre = snapInodeOf(n)
				}
				f.saved[id] = pre
			}
		}
	}
	if s.dirty != nil {
		s.dirty[id] = struct{}{}
	}
}

func newState(dataStart, dataBlocks uint64, now int64) *state {
	s := &state{
		dataStart:  dataStart,
		dataBlocks: dataBlocks,
		inodes:     map[uint64]*inode{},
		nextID:     rootID + 1,
		sds:        map[uint32]*sdEntry{},
		sdByID:     map[string]uint32{},
		used:       newBitmap(dataBlocks),
	}
	s.inodes[rootID] = &inode{id: rootID, dir: true, times: [4]int64{now, now, now, now}, children: map[string]uint64{}}
	return s
}

func (s *state) inDataArea(phys, count uint64) bool {
	return phys >= s.dataStart && count <= s.dataBlocks && phys-s.dataStart <= s.dataBlocks-count
}

// ref adds a reference to each block of a range: free blocks become used, used blocks shared.
func (s *state) ref(phys, count uint64) {
	for b := phys; b < phys+count; {
		used := s.used.get(b - s.dataStart)
		e := b + 1
		for e < phys+count && s.used.get(e-s.dataStart) == used {
			e++
		}
		if used {
			s.shared.add(b, e-b, +1)
		} else {
			for x := b; x < e; x++ {
				s.used.set(x - s.dataStart)
			}
			s.usedCount += e - b
		}
		b = e
	}
}

// deref drops a reference to each block of a range, freeing blocks that lose their last one.
func (s *state) deref(phys, count uint64) {
	type piece struct {
		start, count uint64
		shared       bool
	}
	var pieces []piece
	s.shared.segments(phys, count, func(st, c uint64, extra uint32) {
		pieces = append(pieces, piece{st, c, extra > 0})
	})
	for _, p := range pieces {
		if p.shared {
			s.shared.add(p.start, p.count, -1)
			continue
		}
		start, run := uint64(0), uint64(0)
		flush := func() {
			if run > 0 && s.onFree != nil {
				s.onFree(start, run)
			}
			run = 0
		}
		for b := p.start; b < p.start+p.count; b++ {
			i := b - s.dataStart
			if !s.used.get(i) {
				continue
			}
			s.used.clear(i)
			s.usedCount--
			if run > 0 && start+run == b {
				run++
			} else {
				flush()
				start, run = b, 1
			}
		}
		flush()
	}
}

func (s *state) derefAll(removed []extent) {
	for _, e := range removed {
		s.deref(e.phys, e.count)
	}
}

func (s *state) isShared(phys uint64) bool { return s.shared.at(phys) > 0 }

func blocksFor(size int64) uint64 { return uint64((size + BlockSize - 1) / BlockSize) }

// check validates r against the state without changing anything, so a live operation that fails
// leaves no trace and a replayed record that fails is reported as corruption.
func (s *state) check(r *record) error {
	ino := s.inodes[r.id]
	if r.kind != recCreate && ino == nil {
		return fmt.Errorf("%w: record %d for unknown id %d", errCorrupt, r.kind, r.id)
	}
	switch r.kind {
	case recCreate:
		if ino != nil || r.id == 0 {
			return fmt.Errorf("%w: create id %d already in use", errCorrupt, r.id)
		}
		p := s.inodes[r.other]
		if p == nil || !p.dir {
			return fmt.Errorf("%w: create %q under %d: no such directory", errCorrupt, r.name, r.other)
		}
		if err := validName(r.name); err != nil {
			return fmt.Errorf("%w: create: %v", errCorrupt, err)
		}
		if _, dup := p.children[foldName(r.name)]; dup {
			return fmt.Errorf("%w: create %q under %d: name exists", errCorrupt, r.name, r.other)
		}
	case recSetSize:
		if ino.dir || r.size < 0 {
			return fmt.Errorf("%w: set size %d of %d", errCorrupt, r.size, r.id)
		}
	case recMap:
		if ino.dir || r.count == 0 || !s.inDataArea(r.phys, r.count) || r.fileBlock > maxFileBlocks || r.count > maxFileBlocks {
			return fmt.Errorf("%w: map %d blocks at %d into %d", errCorrupt, r.count, r.phys, r.id)
		}
		for b := r.phys; b < r.phys+r.count; b++ {
			if s.used.get(b - s.dataStart) {
				return fmt.Errorf("%w: map block %d into %d: block in use", errCorrupt, b, r.id)
			}
		}
	case recUnmap:
		if ino.dir || r.fileBlock > maxFileBlocks || r.count > maxFileBlocks {
			return fmt.Errorf("%w: unmap of %d", errCorrupt, r.id)
		}
	case recClone:
		src := s.inodes[r.other]
		if ino.dir || src == nil || src.dir || r.fileBlock > maxFileBlocks || r.phys > maxFileBlocks || r.count > maxFileBlocks {
			return fmt.Errorf("%w: clone %d into %d", errCorrupt, r.other, r.id)
		}
	case recRename:
		p := s.inodes[r.other]
		if p == nil || !p.dir || r.id == rootID {
			return fmt.Errorf("%w: rename %d under %d: no such directory", errCorrupt, r.id, r.other)
		}
		if err := validName(r.name); err != nil {
			return fmt.Errorf("%w: rename: %v", errCorrupt, err)
		}
		if other, dup := p.children[foldName(r.name)]; dup && other != r.id {
			return fmt.Errorf("%w: rename to %q under %d: name exists", errCorrupt, r.name, r.other)
		}
		for a := p; a != nil; a = s.inodes[a.parent] {
			if a.id == r.id {
				return fmt.Errorf("%w: rename %d beneath itself", errCorrupt, r.id)
			}
			if a.parent == 0 {
				break
			}
		}
	case recRemove:
		if r.id == rootID || len(ino.children) > 0 {
			return fmt.Errorf("%w: remove %d: root or not empty", errCorrupt, r.id)
		}
	case recSetInfo, recSetSD:
	default:
		return fmt.Errorf("%w: record kind %d", errCorrupt, r.kind)
	}
	return nil
}

// apply performs a record that check accepted.
func (s *state) apply(r *record) error {
	if err := s.check(r); err != nil {
		return err
	}
	ino := s.inodes[r.id]
	// Every object a record changes: itself, and the directories whose times it touches.
	s.markDirty(r.id)
	if ino != nil {
		s.markDirty(ino.parent)
	}
	if r.kind == recCreate || r.kind == recRename {
		s.markDirty(r.other)
	}
	touch := func(i *inode) {
		if r.now != 0 {
			i.times[tWrite], i.times[tChange] = r.now, r.now
		}
	}
	switch r.kind {
	case recCreate:
		n := &inode{id: r.id, parent: r.other, name: r.name, dir: r.dir, attrs: r.attrs, times: r.times}
		if r.dir {
			n.children = map[string]uint64{}
		}
		s.inodes[r.id] = n
		p := s.inodes[r.other]
		p.children[foldName(r.name)] = r.id
		touch(p)
		if r.id >= s.nextID {
			s.nextID = r.id + 1
		}
	case recSetInfo:
		if r.mask&setAttrs != 0 {
			ino.attrs = r.attrs
		}
		for i, bit := range []uint8{setCreation, setAccess, setWrite, setChange} {
			if r.mask&bit != 0 {
				ino.times[i] = r.times[i]
			}
		}
	case recSetSize:
		if r.size < ino.size {
			keep := blocksFor(r.size)
			s.derefAll(ino.ext.remove(keep, 1<<62))
		}
		ino.size = r.size
		touch(ino)
	case recMap:
		s.derefAll(ino.ext.remove(r.fileBlock, r.count))
		s.ref(r.phys, r.count)
		ino.ext.insert(extent{r.fileBlock, r.phys, r.count})
		if r.size >= 0 {
			ino.size = r.size
		}
		touch(ino)
	case recUnmap:
		s.derefAll(ino.ext.remove(r.fileBlock, r.count))
		touch(ino)
	case recClone:
		src := s.inodes[r.other]
		// Collect the source's runs first: the source may be the destination itself.
		var runs []extent
		for fb := r.phys; fb < r.phys+r.count; {
			phys, run, mapped := src.ext.lookup(fb)
			if run == 0 || fb+run > r.phys+r.count {
				run = r.phys + r.count - fb
			}
			if mapped {
				runs = append(runs, extent{r.fileBlock + (fb - r.phys), phys, run})
			}
			fb += run
		}
		for _, e := range runs {
			s.ref(e.phys, e.count)
		}
		s.derefAll(ino.ext.remove(r.fileBlock, r.count))
		for _, e := range runs {
			ino.ext.insert(e)
		}
		if r.size >= 0 {
			ino.size = r.size
		}
		touch(ino)
	case recRename:
		old := s.inodes[ino.parent]
		delete(old.children, foldName(ino.name))
		touch(old)
		p := s.inodes[r.other]
		p.children[foldName(r.name)] = r.id
		touch(p)
		ino.parent, ino.name = r.other, r.name
		if r.now != 0 {
			ino.times[tChange] = r.now
		}
	case recSetSD:
		s.setSD(ino, r.name)
		if r.now != 0 {
			ino.times[tChange] = r.now
		}
	case recRemove:
		s.setSD(ino, "")
		for _, e := range ino.ext {
			s.deref(e.phys, e.count)
		}
		ino.ext = nil
		p := s.inodes[ino.parent]
		delete(p.children, foldName(ino.name))
		touch(p)
		delete(s.inodes, r.id)
		ino.removed = true
	}
	return nil
}

// validName rejects names NTFS and SMB clients cannot use.
func validName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("name %q reserved", name)
	}
	units := 0
	for _, c := range name {
		if c < 0x20 || strings.ContainsRune(`/\:*?"<>|`, c) {
			return fmt.Errorf("name %q has character %q", name, c)
		}
		units++
		if c > 0xFFFF {
			units++
		}
	}
	if units > maxNameUnits {
		return fmt.Errorf("name of %d UTF-16 units exceeds %d", units, maxNameUnits)
	}
	return nil
}

// maxNameUnits is NTFS's limit on one name element, in UTF-16 code units.
const maxNameUnits = 255

// path returns the object's name relative to the root.
func (s *state) path(ino *inode) string {
	var parts []string
	for i := ino; i != nil && i.id != rootID; i = s.inodes[i.parent] {
		parts = append(parts, i.name)
		if i.parent == 0 {
			break
		}
	}
	for l, r := 0, len(parts)-1; l < r; l, r = l+1, r-1 {
		parts[l], parts[r] = parts[r], parts[l]
	}
	return strings.Join(parts, "/")
}
