package csv

import (
	"fmt"
	"sort"
)

// Report is what Check found.
type Report struct {
	Superblock *Superblock
	// Problems are violated invariants or unreadable structures; any makes check fail.
	Problems []string
	// Notes are expected after a crash and harmless (a torn checkpoint area, an older superblock
	// copy); recorded for the operator.
	Notes        []string
	Files, Dirs  int
	UsedBlocks   uint64
	DataBlocks   uint64
	SharedBlocks uint64
	// SecurityDescriptors is the number of distinct descriptors stored (shared by objects).
	SecurityDescriptors int
	CheckpointGen       uint64
	ReplayedRecords     int
	JournalUsedBlock    uint64
}

// OK reports whether check found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Check verifies a volume on dev without writing to it: superblock copies, checkpoints and journal
// checksums (by loading them), then every invariant of the metadata (checkState).
func Check(dev BlockDevice) *Report {
	r := &Report{}
	l, err := load(dev)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	r.Superblock = l.sb
	for _, e := range l.sbBad {
		r.Problems = append(r.Problems, e.Error())
	}
	for _, e := range l.cpBad {
		r.Notes = append(r.Notes, e.Error())
	}
	r.CheckpointGen = l.cp.generation
	r.ReplayedRecords = l.replayed
	r.JournalUsedBlock = l.head - l.cp.journalPos
	r.Problems = append(r.Problems, checkState(l.st)...)
	for _, ino := range l.st.inodes {
		if ino.dir {
			r.Dirs++
		} else {
			r.Files++
		}
	}
	r.SecurityDescriptors = len(l.st.sds)
	r.UsedBlocks, r.DataBlocks, r.SharedBlocks = l.st.usedCount, l.st.dataBlocks, l.st.shared.blocks()
	return r
}

// checkState verifies every structural invariant of the metadata and returns each violation.
func checkState(s *state) []string {
	var probs []string
	bad := func(format string, args ...any) {
		if len(probs) < 1000 {
			probs = append(probs, fmt.Sprintf(format, args...))
		}
	}
	root := s.inodes[rootID]
	if root == nil || !root.dir || root.parent != 0 {
		bad("root directory missing or not a directory")
		return probs
	}
	ids := make([]uint64, 0, len(s.inodes))
	for id := range s.inodes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	refs := make(map[uint64]uint32)
	for _, id := range ids {
		ino := s.inodes[id]
		if ino.id != id {
			bad("inode indexed as %d has id %d", id, ino.id)
		}
		if id >= s.nextID {
			bad("inode %d not below next id %d", id, s.nextID)
		}
		if id != rootID {
			if err := validName(ino.name); err != nil {
				bad("inode %d: %v", id, err)
			}
			p := s.inodes[ino.parent]
			switch {
			case p == nil || !p.dir:
				bad("inode %d: parent %d is not a directory", id, ino.parent)
			case p.children[foldName(ino.name)] != id:
				bad("inode %d %q: not listed in parent %d", id, ino.name, ino.parent)
			}
			// Connectivity: the parent chain reaches the root without a cycle.
			a, steps := ino, 0
			for a != nil && a.id != rootID && steps <= len(s.inodes) {
				a = s.inodes[a.parent]
				steps++
			}
			if a == nil || a.id != rootID {
				bad("inode %d %q: not connected to the root", id, ino.name)
			}
		}
		if ino.dir {
			if len(ino.ext) > 0 || ino.size != 0 {
				bad("directory %d has data", id)
			}
			for key, cid := range ino.children {
				ch := s.inodes[cid]
				if ch == nil {
					bad("directory %d lists missing inode %d as %q", id, cid, key)
				} else if ch.parent != id || foldName(ch.name) != key {
					bad("directory %d lists inode %d as %q but it is %q under %d", id, cid, key, ch.name, ch.parent)
				}
			}
		} else if ino.children != nil {
			bad("file %d has directory entries", id)
		}
		if ino.size < 0 {
			bad("inode %d: negative size %d", id, ino.size)
		}
		var prevEnd uint64
		for i, e := range ino.ext {
			if e.count == 0 {
				bad("inode %d extent %d empty", id, i)
			}
			if i > 0 && e.fileBlock < prevEnd {
				bad("inode %d extent %d overlaps the previous one in the file", id, i)
			}
			prevEnd = e.fileBlock + e.count
			if !s.inDataArea(e.phys, e.count) {
				bad("inode %d extent %d (%d+%d) outside the data area", id, i, e.phys, e.count)
				continue
			}
			for b := e.phys; b < e.phys+e.count; b++ {
				refs[b]++
			}
		}
	}
	// Security descriptors: every reference resolves, counts match, no unused or duplicate entry.
	sdRefs := map[uint32]uint32{}
	for _, ino := range s.inodes {
		if ino.sd != 0 {
			sdRefs[ino.sd]++
			if s.sds[ino.sd] == nil {
				bad("inode %d refers to missing security descriptor %d", ino.id, ino.sd)
			}
		}
	}
	for id, e := range s.sds {
		if e.refs != sdRefs[id] || e.refs == 0 {
			bad("security descriptor %d: %d references counted, %d recorded", id, sdRefs[id], e.refs)
		}
		if s.sdByID[e.bytes] != id {
			bad("security descriptor %d not indexed by its content", id)
		}
		if id > s.nextSD {
			bad("security descriptor %d not below next id %d", id, s.nextSD)
		}
	}
	if len(s.sdByID) != len(s.sds) {
		bad("security descriptor index has %d entries for %d descriptors", len(s.sdByID), len(s.sds))
	}
	// Extent overlap and sharing: a block referenced n times must be recorded as shared n-1 times.
	for b, n := range refs {
		if want := s.shared.at(b) + 1; n != want {
			if n > want {
				bad("block %d referenced by %d extents but shared count allows %d (extent overlap)", b, n, want)
			} else {
				bad("block %d referenced by %d extents but shared count says %d", b, n, want)
			}
		}
	}
	for _, r := range s.shared {
		for b := r.start; b < r.start+r.count; b++ {
			if refs[b] == 0 {
				bad("block %d has a shared count but no reference", b)
			}
		}
	}
	// Free-space accounting: the used map is exactly the referenced blocks.
	var count uint64
	for i := uint64(0); i < s.dataBlocks; i++ {
		if !s.used.get(i) {
			continue
		}
		count++
		if refs[s.dataStart+i] == 0 {
			bad("block %d marked used but referenced by no file (leak)", s.dataStart+i)
		}
	}
	for b := range refs {
		if b >= s.dataStart && b-s.dataStart < s.dataBlocks && !s.used.get(b-s.dataStart) {
			bad("block %d referenced but marked free", b)
		}
	}
	if count != s.usedCount {
		bad("used block count %d but map has %d", s.usedCount, count)
	}
	if len(s.used) > 0 && s.dataBlocks%64 != 0 && s.used[len(s.used)-1]>>(s.dataBlocks%64) != 0 {
		bad("used map has bits past the data area")
	}
	return probs
}
