package csv

import "fmt"

// recordKind identifies a journal record; each is a deterministic change to the metadata state
// (state.apply), so replaying the same records over the same checkpoint gives the same volume.
type recordKind uint8

const (
	recCreate  recordKind = 1 // new file or directory under a parent
	recSetInfo recordKind = 2 // attributes and timestamps
	recSetSize recordKind = 3 // end of file; shrinking unmaps whole blocks past the new end
	recMap     recordKind = 4 // map physical blocks into a file range, replacing what was there
	recUnmap   recordKind = 5 // punch a hole
	recRename  recordKind = 6 // move under a (possibly other) parent with a new name
	recRemove  recordKind = 7 // delete a file or an empty directory, releasing its blocks
	recClone   recordKind = 8 // share a source file's blocks into a destination range
	recSetSD   recordKind = 9 // set the security descriptor (bytes in name; "" clears)
)

// setInfo mask bits say which record fields apply.
const (
	setAttrs = 1 << iota
	setCreation
	setAccess
	setWrite
	setChange
)

// timestamp indexes into inode.times.
const (
	tCreation = iota
	tAccess
	tWrite
	tChange
)

// record is one journal record. Which fields matter depends on kind; unused ones are zero and
// are not encoded.
type record struct {
	kind  recordKind
	id    uint64 // the object changed (clone: destination)
	other uint64 // create, rename: parent; clone: source
	name  string // create, rename
	dir   bool   // create
	mask  uint8  // setInfo
	attrs uint32 // create, setInfo
	times [4]int64
	// map: fileBlock, phys, count. unmap: fileBlock, count. clone: fileBlock (dst), phys (src
	// file block), count.
	fileBlock, phys, count uint64
	size                   int64 // setSize; map and clone: new end of file, or -1 to keep it
	now                    int64 // the time of the change, for derived timestamps (0: none)
}

func (r *record) encode(e *enc) {
	e.u8(uint8(r.kind))
	e.u64(r.id)
	e.i64(r.now)
	switch r.kind {
	case recCreate:
		e.u64(r.other)
		e.str(r.name)
		if r.dir {
			e.u8(1)
		} else {
			e.u8(0)
		}
		e.u32(r.attrs)
		for _, t := range r.times {
			e.i64(t)
		}
	case recSetInfo:
		e.u8(r.mask)
		e.u32(r.attrs)
		for _, t := range r.times {
			e.i64(t)
		}
	case recSetSize:
		e.i64(r.size)
	case recMap, recClone:
		if r.kind == recClone {
			e.u64(r.other)
		}
		e.u64(r.fileBlock)
		e.u64(r.phys)
		e.u64(r.count)
		e.i64(r.size)
	case recUnmap:
		e.u64(r.fileBlock)
		e.u64(r.count)
	case recRename:
		e.u64(r.other)
		e.str(r.name)
	case recSetSD:
		e.str(r.name)
	case recRemove:
	}
}

func decodeRecord(d *dec) (record, error) {
	var r record
	r.kind = recordKind(d.u8())
	r.id = d.u64()
	r.now = d.i64()
	switch r.kind {
	case recCreate:
		r.other = d.u64()
		r.name = d.str()
		r.dir = d.u8() != 0
		r.attrs = d.u32()
		for i := range r.times {
			r.times[i] = d.i64()
		}
	case recSetInfo:
		r.mask = d.u8()
		r.attrs = d.u32()
		for i := range r.times {
			r.times[i] = d.i64()
		}
	case recSetSize:
		r.size = d.i64()
	case recMap, recClone:
		if r.kind == recClone {
			r.other = d.u64()
		}
		r.fileBlock = d.u64()
		r.phys = d.u64()
		r.count = d.u64()
		r.size = d.i64()
	case recUnmap:
		r.fileBlock = d.u64()
		r.count = d.u64()
	case recRename:
		r.other = d.u64()
		r.name = d.str()
	case recSetSD:
		r.name = d.str()
	case recRemove:
	default:
		if d.err == nil {
			return r, fmt.Errorf("record kind %d unknown", r.kind)
		}
	}
	if d.err != nil {
		return r, fmt.Errorf("record kind %d: %w", r.kind, d.err)
	}
	return r, nil
}
