package spaces

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// quorumModel runs the metadata protocol of commitLocked and OpenPool on abstract disks: each disk
// has two slots holding generations; a writer commits generations that record disks failing
// (sometimes more during the write, sometimes torn by a crash), and openers come and go with
// random subsets of the disks present. It checks that every open that succeeds continues from the
// last committed generation (never a stale one, never a sibling branch), and that an open with
// every disk present succeeds.
type quorumModel struct {
	disks   map[string]*[2]genID // slot contents; the zero genID is an empty slot
	keep    map[string]int       // the slot the writer must not overwrite (metaSlotToWrite)
	order   []string
	meta    map[genID][]string // live set of each generation ever written
	prev    map[genID][]string // and of the committed generation it succeeded
	parent  map[genID]genID
	nextCRC uint32

	writer    bool     // an owner is running
	live      []string // the writer's committed live set
	committed genID    // the writer's last committed generation
	maxGen    uint64
	lastAcked genID // newest generation known committed (what acknowledged writes rely on)
}

func (q *quorumModel) newGen(gen uint64, live []string, parent genID) genID {
	q.nextCRC++
	id := genID{Gen: gen, CRC: q.nextCRC}
	q.meta[id] = slices.Clone(live)
	q.prev[id] = slices.Clone(q.live)
	q.parent[id] = parent
	return id
}

// descends reports whether g is a or a later generation of a's lineage.
func (q *quorumModel) descends(g, a genID) bool {
	for g != (genID{}) {
		if g == a {
			return true
		}
		g = q.parent[g]
	}
	return a == genID{}
}

// keepSlot is metaSlotToKeep on the model's slots.
func keepSlot(slots *[2]genID, chosen genID) int {
	return metaSlotToKeep([2]uint64{slots[0].Gen, slots[1].Gen}, [2]bool{slots[0] == chosen, slots[1] == chosen})
}

func minus(set []string, drop []string) []string {
	var out []string
	for _, id := range set {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}

// commit is commitLocked: mark fail failed, write to the rest, retry while writes fail. crashAt,
// when >= 0, kills the writer after that many disk writes.
func (q *quorumModel) commit(t *rapid.T, fail []string, add string, crashAt int) {
	next := minus(q.live, fail)
	if q.lastAcked == (genID{}) {
		next = slices.Clone(q.order) // creation
	}
	if add != "" {
		next = append(next, add)
	}
	writes := 0
	faults := q.lastAcked != (genID{}) // creation either lands everywhere or fails
	for attempt := 0; attempt < 8; attempt++ {
		if !commitQuorum(q.live, next, next) {
			q.writer = false // refuses to write: the pool stops until reopened
			return
		}
		q.maxGen++
		id := q.newGen(q.maxGen, next, q.committed)
		var wrote, failedNow []string
		for _, d := range next {
			if crashAt >= 0 && writes == crashAt {
				q.writer = false
				return
			}
			writes++
			if faults && rapid.IntRange(0, 5).Draw(t, "writeFails") == 0 {
				failedNow = append(failedNow, d)
				continue
			}
			q.disks[d][1-q.keep[d]] = id
			wrote = append(wrote, d)
		}
		if commitQuorum(q.live, next, wrote) {
			q.live, q.committed, q.lastAcked = next, id, id
			for _, d := range wrote {
				q.keep[d] = 1 - q.keep[d]
			}
		}
		if len(failedNow) == 0 {
			if q.committed != id {
				t.Fatalf("every write landed but gen %d is not committed", id.Gen)
			}
			return
		}
		next = minus(next, failedNow)
	}
	q.writer = false
}

// open is OpenPool with the disks in present, then the owner's first commit (absent disks failed).
func (q *quorumModel) open(t *rapid.T, present []string) error {
	seen := map[genID]*genSeen{}
	newest := map[string]uint64{}
	var gens []genSeen
	for _, d := range present {
		newest[d] = 0
		for _, id := range q.disks[d] {
			if id == (genID{}) {
				continue
			}
			newest[d] = max(newest[d], id.Gen)
			g := seen[id]
			if g == nil {
				g = &genSeen{ID: id, Live: q.meta[id], PrevLive: q.prev[id], Holders: map[string]bool{}}
				seen[id] = g
			}
			g.Holders[d] = true
		}
	}
	ids := make([]genID, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b genID) int { return int(a.CRC) - int(b.CRC) })
	for _, id := range ids {
		gens = append(gens, *seen[id])
	}
	i, err := chooseGeneration(gens, newest)
	if err != nil {
		return err
	}
	chosen := gens[i].ID
	if !q.descends(chosen, q.lastAcked) {
		t.Fatalf("open with %v chose gen %d (live %v), not a descendant of the last committed gen %d (live %v)",
			present, chosen.Gen, q.meta[chosen], q.lastAcked.Gen, q.meta[q.lastAcked])
	}
	q.writer, q.live, q.committed = true, q.meta[chosen], chosen
	for _, d := range present {
		q.keep[d] = keepSlot(q.disks[d], chosen)
	}
	q.maxGen = 0
	for _, g := range newest {
		q.maxGen = max(q.maxGen, g)
	}
	var absent []string
	for _, d := range q.live {
		if !slices.Contains(present, d) {
			absent = append(absent, d)
		}
	}
	q.commit(t, absent, "", -1)
	return nil
}

func TestQuorumModel(t *testing.T) {
	setRapidDefaults(2000, 20000)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 5).Draw(t, "disks")
		q := &quorumModel{disks: map[string]*[2]genID{}, keep: map[string]int{}, meta: map[genID][]string{}, prev: map[genID][]string{}, parent: map[genID]genID{}}
		for i := 0; i < n; i++ {
			d := fmt.Sprintf("d%d", i)
			q.disks[d] = &[2]genID{}
			q.order = append(q.order, d)
		}
		// Creation: gen 1 on every disk.
		q.writer = true
		q.commit(t, nil, "", -1)
		for step := 0; step < 30; step++ {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1: // a commit, maybe recording failures, maybe adding a disk, maybe torn
				if !q.writer {
					continue
				}
				var fail []string
				for _, d := range q.live {
					if rapid.IntRange(0, 3).Draw(t, "fail") == 0 {
						fail = append(fail, d)
					}
				}
				add := ""
				if len(q.order) < 7 && rapid.IntRange(0, 5).Draw(t, "add") == 0 {
					add = fmt.Sprintf("d%d", len(q.order))
					q.disks[add] = &[2]genID{}
					q.order = append(q.order, add)
				}
				crashAt := -1
				if rapid.Bool().Draw(t, "torn") {
					crashAt = rapid.IntRange(0, len(q.live)+1).Draw(t, "crashAt")
				}
				q.commit(t, fail, add, crashAt)
			case 2: // crash, then open with a random subset present
				q.writer = false
				var present []string
				for _, d := range q.order {
					if rapid.Bool().Draw(t, "present") {
						present = append(present, d)
					}
				}
				if err := q.open(t, present); err != nil && !errors.Is(err, ErrNoMajority) {
					t.Fatalf("open: %v", err)
				}
			case 3: // crash, then open with every disk present: must succeed
				q.writer = false
				if err := q.open(t, q.order); err != nil {
					t.Fatalf("open with every disk present: %v", err)
				}
			}
		}
	})
}

// Hand-written cases of the rule, as the doc comment states them.
func TestChooseGenerationCases(t *testing.T) {
	g := func(gen uint64, live []string, holders ...string) genSeen {
		h := map[string]bool{}
		for _, d := range holders {
			h[d] = true
		}
		return genSeen{ID: genID{Gen: gen, CRC: uint32(gen)}, Live: live, Holders: h}
	}
	ab, a := []string{"a", "b"}, []string{"a"}
	for _, c := range []struct {
		name   string
		gens   []genSeen
		newest map[string]uint64
		want   uint64 // 0: refused
	}{
		// 2-disk mirror, b failed and recorded on a alone (gen 6 lists only a live).
		{"survivor alone", []genSeen{g(6, a, "a"), g(5, ab, "a", "b")}, map[string]uint64{"a": 6}, 6},
		{"failed disk returns with older gen", []genSeen{g(6, a, "a"), g(5, ab, "a", "b"), g(4, ab, "b")}, map[string]uint64{"a": 6, "b": 5}, 6},
		{"stale disk alone", []genSeen{g(5, ab, "b"), g(4, ab, "b")}, map[string]uint64{"b": 5}, 0},
		// A torn commit of gen 6 reached a only: it cannot be committed (b has not got it), so 5 wins.
		{"torn commit", []genSeen{g(6, ab, "a"), g(5, ab, "a", "b")}, map[string]uint64{"a": 6, "b": 5}, 5},
		// 3 disks: c failed (gen 6 on a, b), then b failed (gen 7 on a only). b and c form a
		// majority of gen 5, but b holds gen 6, which a (absent) may have committed.
		{"stale majority", []genSeen{g(6, ab, "b"), g(5, []string{"a", "b", "c"}, "b", "c"), g(4, []string{"a", "b", "c"}, "c")},
			map[string]uint64{"b": 6, "c": 5}, 0},
	} {
		i, err := chooseGeneration(c.gens, c.newest)
		switch {
		case c.want == 0 && !errors.Is(err, ErrNoMajority):
			t.Errorf("%s: chose %d, err %v; want ErrNoMajority", c.name, i, err)
		case c.want != 0 && (err != nil || c.gens[i].ID.Gen != c.want):
			t.Errorf("%s: err %v; want gen %d", c.name, err, c.want)
		}
	}
}

func TestCommitQuorum(t *testing.T) {
	abc := []string{"a", "b", "c"}
	for _, c := range []struct {
		prev, next, wrote []string
		want              bool
	}{
		{nil, abc, abc, true},
		{nil, abc, []string{"a"}, false},
		{[]string{"a", "b"}, []string{"a"}, []string{"a"}, true}, // 2-disk mirror loses one
		{abc, []string{"a"}, []string{"a"}, false},               // two of three lost at once
		{abc, []string{"a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b"}, abc, []string{"a", "c"}, true}, // add c while b is unreachable
		{[]string{"a"}, nil, nil, false},
	} {
		if got := commitQuorum(c.prev, c.next, c.wrote); got != c.want {
			t.Errorf("commitQuorum(%v, %v, %v) = %v, want %v", c.prev, c.next, c.wrote, got, c.want)
		}
	}
}
