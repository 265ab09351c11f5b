package csv

import "sort"

// extent maps count file blocks starting at fileBlock to physical blocks starting at phys.
type extent struct {
	fileBlock, phys, count uint64
}

// extentMap is a file's sorted, non-overlapping list of extents; gaps are sparse holes that read
// as zeros.
type extentMap []extent

// lookup returns the mapping of fileBlock: the physical block and how many following blocks are
// contiguous in the same extent, or, for a hole, mapped false and the hole's length (0 = unbounded).
func (m extentMap) lookup(fileBlock uint64) (phys, run uint64, mapped bool) {
	i := sort.Search(len(m), func(i int) bool { return m[i].fileBlock+m[i].count > fileBlock })
	if i == len(m) {
		return 0, 0, false
	}
	e := m[i]
	if e.fileBlock > fileBlock {
		return 0, e.fileBlock - fileBlock, false
	}
	d := fileBlock - e.fileBlock
	return e.phys + d, e.count - d, true
}

// remove unmaps [fileBlock, fileBlock+count) and returns the physical ranges that were mapped there.
func (m *extentMap) remove(fileBlock, count uint64) []extent {
	if count == 0 {
		return nil
	}
	end := fileBlock + count
	old := *m
	i := sort.Search(len(old), func(i int) bool { return old[i].fileBlock+old[i].count > fileBlock })
	var removed []extent
	var keep []extent
	j := i
	for ; j < len(old) && old[j].fileBlock < end; j++ {
		e := old[j]
		eEnd := e.fileBlock + e.count
		if e.fileBlock < fileBlock { // left piece survives
			keep = append(keep, extent{e.fileBlock, e.phys, fileBlock - e.fileBlock})
		}
		lo, hi := max(e.fileBlock, fileBlock), min(eEnd, end)
		removed = append(removed, extent{lo, e.phys + (lo - e.fileBlock), hi - lo})
		if eEnd > end { // right piece survives
			keep = append(keep, extent{end, e.phys + (end - e.fileBlock), eEnd - end})
		}
	}
	if j == i {
		return nil
	}
	out := make(extentMap, 0, len(old)-(j-i)+len(keep))
	out = append(out, old[:i]...)
	out = append(out, keep...)
	out = append(out, old[j:]...)
	*m = out
	return removed
}

// insert maps a range that must currently be a hole, merging with physically contiguous neighbours.
func (m *extentMap) insert(e extent) {
	if e.count == 0 {
		return
	}
	old := *m
	i := sort.Search(len(old), func(i int) bool { return old[i].fileBlock >= e.fileBlock })
	if i > 0 {
		p := &old[i-1]
		if p.fileBlock+p.count == e.fileBlock && p.phys+p.count == e.phys {
			p.count += e.count
			if i < len(old) && old[i].fileBlock == e.fileBlock+e.count && old[i].phys == e.phys+e.count {
				p.count += old[i].count
				*m = append(old[:i], old[i+1:]...)
			}
			return
		}
	}
	if i < len(old) && old[i].fileBlock == e.fileBlock+e.count && old[i].phys == e.phys+e.count {
		old[i].fileBlock, old[i].phys, old[i].count = e.fileBlock, e.phys, old[i].count+e.count
		return
	}
	old = append(old, extent{})
	copy(old[i+1:], old[i:])
	old[i] = e
	*m = old
}

// blocks is the number of mapped blocks.
func (m extentMap) blocks() uint64 {
	var n uint64
	for _, e := range m {
		n += e.count
	}
	return n
}

// clone copies the map so a snapshot is not changed by later edits.
func (m extentMap) clone() extentMap { return append(extentMap(nil), m...) }
