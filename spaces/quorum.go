package spaces

import (
	"fmt"
	"slices"
	"strings"
)

// The metadata majority rule (doc.go, "Which metadata generation counts") as pure functions, so that
// it is tested on its own against a model of commits, failures and crashes (quorum_test.go).

// genID names one metadata generation exactly. Two owners on either side of a failure can write
// different metadata under the same number, so the number alone does not identify it.
type genID struct {
	Gen uint64
	CRC uint32
}

// genSeen is one generation found at open: the disks it lists as live, the live disks of the
// committed generation it succeeded, and the present disks holding it in one of their two slots.
type genSeen struct {
	ID       genID
	Live     []string
	PrevLive []string
	Holders  map[string]bool
}

// liveDisks lists the disks a generation counts on: active and retiring members. Failed disks
// hold no trusted copy, so they neither vote for nor are needed by the generations that record
// them failed.
func (m *poolMeta) liveDisks() []string {
	var out []string
	for _, d := range m.Disks {
		if d.State == DiskActive || d.State == DiskRetiring {
			out = append(out, d.ID)
		}
	}
	return out
}

// commitQuorum reports whether a generation whose live set is next, durable on the disks in wrote,
// is committed, given the live set prev of the last committed generation (nil at pool creation).
// It must be on a majority of next — so a later open finds it on a majority of what it names —
// and on at least half of prev: any majority of prev then shares a disk with it, so a stale
// majority of prev always holds a newer generation that chooseGeneration sees. "At least half"
// rather than "a majority" is what lets a 2-disk mirror record the loss of one disk; the owner
// epoch (not the disk count) is what stops the other half from doing the same.
func commitQuorum(prev, next, wrote []string) bool {
	in := func(set []string) int {
		n := 0
		for _, id := range wrote {
			if slices.Contains(set, id) {
				n++
			}
		}
		return n
	}
	if len(next) == 0 || 2*in(next) <= len(next) {
		return false
	}
	return len(prev) == 0 || 2*in(prev) >= len(prev)
}

// chooseGeneration picks the generation to open from gens (every generation found on a present
// disk); newest holds the newest generation number each present disk holds. Each generation
// records the live set of the one it succeeded, so commitQuorum can be checked at open exactly as
// the writer checked it. Walking newest first:
//   - a generation whose present holders satisfy commitQuorum is chosen;
//   - one that may have been committed — its holders plus its absent disks plus its disks that
//     since took a newer generation (and so may have held it) would satisfy commitQuorum — makes
//     the open fail: the quorum that committed it, and perhaps newer data, may be on absent disks;
//   - one that cannot have been committed (a torn or refused metadata write) is passed over.
//
// It returns the index into gens, or an error listing what was found.
func chooseGeneration(gens []genSeen, newest map[string]uint64) (int, error) {
	order := make([]int, len(gens))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ga, gb := gens[a].ID, gens[b].ID
		if ga.Gen != gb.Gen {
			if ga.Gen > gb.Gen {
				return -1
			}
			return 1
		}
		return int(int64(ga.CRC) - int64(gb.CRC))
	})
	var seen []string
	for _, i := range order {
		g := gens[i]
		var holders, could []string
		for _, id := range append(slices.Clone(g.Live), g.PrevLive...) {
			if slices.Contains(could, id) {
				continue
			}
			_, present := newest[id]
			switch {
			case g.Holders[id]:
				holders = append(holders, id)
				could = append(could, id)
			case !present:
				could = append(could, id)
			}
		}
		seen = append(seen, fmt.Sprintf("gen %d on %d of %d live disks", g.ID.Gen, len(holders), len(g.Live)))
		if commitQuorum(g.PrevLive, g.Live, holders) {
			return i, nil
		}
		if commitQuorum(g.PrevLive, g.Live, could) {
			return -1, fmt.Errorf("%w: gen %d may be committed on disks that are absent (%s)", ErrNoMajority, g.ID.Gen, strings.Join(seen, ", "))
		}
	}
	return -1, fmt.Errorf("%w (%s)", ErrNoMajority, strings.Join(seen, ", "))
}

// metaSlotToKeep picks, at open, which of a disk's two metadata slots the new owner must not
// overwrite: the one holding the chosen generation, else the one with the newer generation.
// Commits write the other slot and move the kept slot only once committed (commitLocked), so a
// disk never loses its newest committed generation to a commit that then fails: two uncommitted
// attempts in a row would otherwise overwrite both slots, and with them the only proof that the
// committed generation was on a majority.
func metaSlotToKeep(gens [2]uint64, holdsChosen [2]bool) int {
	switch {
	case holdsChosen[0]:
		return 0
	case holdsChosen[1]:
		return 1
	case gens[1] > gens[0]:
		return 1
	}
	return 0
}
