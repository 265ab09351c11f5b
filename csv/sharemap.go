package csv

import "sort"

// shareRun says every block in [start, start+count) is referenced extra+1 times (clones).
type shareRun struct {
	start, count uint64
	extra        uint32
}

// shareMap holds extra reference counts as sorted, non-overlapping runs with extra > 0, so
// cloning a large contiguous file costs a few runs, not an entry per block.
type shareMap []shareRun

// at returns the extra references of block b.
func (m shareMap) at(b uint64) uint32 {
	i := sort.Search(len(m), func(i int) bool { return m[i].start+m[i].count > b })
	if i < len(m) && m[i].start <= b {
		return m[i].extra
	}
	return 0
}

// segments calls fn for consecutive pieces of [start, start+n) with constant extra count.
func (m shareMap) segments(start, n uint64, fn func(s, c uint64, extra uint32)) {
	end := start + n
	i := sort.Search(len(m), func(i int) bool { return m[i].start+m[i].count > start })
	for pos := start; pos < end; {
		if i < len(m) && m[i].start <= pos {
			e := min(end, m[i].start+m[i].count)
			fn(pos, e-pos, m[i].extra)
			pos = e
			i++
			continue
		}
		next := end
		if i < len(m) {
			next = min(end, m[i].start)
		}
		fn(pos, next-pos, 0)
		pos = next
	}
}

// add adds delta to the extra count of every block of [start, start+n); counts must stay >= 0.
func (m *shareMap) add(start, n uint64, delta int) {
	if n == 0 {
		return
	}
	end := start + n
	var mid []shareRun
	m.segments(start, n, func(s, c uint64, e uint32) {
		if ne := int(e) + delta; ne > 0 {
			mid = append(mid, shareRun{s, c, uint32(ne)})
		}
	})
	old := *m
	i := sort.Search(len(old), func(i int) bool { return old[i].start+old[i].count > start })
	j := i
	for j < len(old) && old[j].start < end {
		j++
	}
	out := make(shareMap, 0, len(old)+len(mid)+2)
	out = append(out, old[:i]...)
	if i < len(old) && old[i].start < start {
		out = append(out, shareRun{old[i].start, start - old[i].start, old[i].extra})
	}
	out = append(out, mid...)
	if j > i && old[j-1].start+old[j-1].count > end {
		r := old[j-1]
		out = append(out, shareRun{end, r.start + r.count - end, r.extra})
	}
	out = append(out, old[j:]...)
	// Merge neighbours that became equal and contiguous.
	merged := out[:0]
	for _, r := range out {
		if k := len(merged) - 1; k >= 0 && merged[k].extra == r.extra && merged[k].start+merged[k].count == r.start {
			merged[k].count += r.count
			continue
		}
		merged = append(merged, r)
	}
	*m = merged
}

// blocks is the number of blocks with extra references.
func (m shareMap) blocks() uint64 {
	var n uint64
	for _, r := range m {
		n += r.count
	}
	return n
}
