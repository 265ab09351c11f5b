package cluster

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Move is one placement decision: give Group to To (To "" takes it offline).
type Move struct {
	Group    string `json:"group"`
	From     string `json:"from,omitempty"`
	To       string `json:"to"`
	Reason   string `json:"reason"`
	Failover bool   `json:"failover,omitempty"`
	Epoch    uint64 `json:"epoch"` // the group's epoch the decision was made at
	// CountFailure: the move is a failover of a failed group and counts toward its threshold.
	CountFailure bool `json:"count_failure,omitempty"`
}

// Refusal says why a group that should move cannot.
type Refusal struct {
	Group  string `json:"group"`
	Reason string `json:"reason"`
}

// PlacementOptions tune Place.
type PlacementOptions struct {
	// MaxDrainMoves bounds concurrent drain and failback moves (groups Pending), default 2, so
	// a drain does not storm the cluster. Failovers of groups whose node died are not bounded.
	MaxDrainMoves int
	// FenceDelay is how long after a node is declared Down its groups may start elsewhere. It
	// covers the gap between the failed node's lease expiry and the detection of its failure.
	FenceDelay time.Duration
}

// Place is the leader's placement decision as a pure function of the config DB state and the
// clock. It returns the moves to make now and the groups that need to move but cannot. The
// leader applies the moves through the config DB (OpMoveGroup with the epoch, so a decision
// made on a stale view is refused).
func Place(s *State, now time.Time, opt PlacementOptions) ([]Move, []Refusal) {
	if opt.MaxDrainMoves <= 0 {
		opt.MaxDrainMoves = 2
	}
	load := map[string]int{}
	classes := map[string][]string{} // node -> anti-affinity classes of the groups it hosts
	inFlight := 0
	for _, name := range s.SortedGroups() {
		g := s.Groups[name]
		if g.Owner != "" {
			load[g.Owner]++
			classes[g.Owner] = append(classes[g.Owner], g.Policy.AntiAffinity...)
		}
		if g.State == GroupPending {
			inFlight++
		}
	}
	upNodes := 0
	for _, n := range s.Nodes {
		if n.State == NodeUp && !n.Witness {
			upNodes++
		}
	}

	// Highest priority first, then by name for determinism.
	order := s.SortedGroups()
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Compare(s.Groups[b].Policy.Priority, s.Groups[a].Policy.Priority)
	})

	var moves []Move
	var refusals []Refusal
	for _, name := range order {
		g := s.Groups[name]
		owner := s.Nodes[g.Owner]
		var reason string
		failover, bounded := false, false
		exclude := ""
		switch {
		case g.Owner == "":
			if g.Policy.Priority == PriorityNoAutoStart || g.State == GroupFailed {
				continue
			}
			reason = "start"
		case owner == nil:
			reason, failover = fmt.Sprintf("owner %s was evicted", g.Owner), true
		case owner.State == NodeDown:
			if now.Sub(owner.DownSince) < opt.FenceDelay {
				continue // the old owner's lease may not have run out yet
			}
			reason, failover, exclude = fmt.Sprintf("node %s down", g.Owner), true, g.Owner
		case g.State == GroupFailed:
			reason, failover, exclude = fmt.Sprintf("failed on %s: %s", g.Owner, g.Reason), true, g.Owner
		case owner.State == NodePaused && owner.Draining:
			if g.State == GroupPending && !g.Stuck {
				continue
			}
			if g.Stuck {
				refusals = append(refusals, Refusal{Group: name, Reason: g.Reason})
				continue
			}
			reason, bounded, exclude = fmt.Sprintf("drain %s", g.Owner), true, g.Owner
		case g.State == GroupOnline && failbackAllowed(g.Policy, now):
			best := bestPreferred(s, g)
			if best == "" || best == g.Owner {
				continue
			}
			if i, j := slices.Index(g.Policy.PreferredOwners, best), slices.Index(g.Policy.PreferredOwners, g.Owner); j >= 0 && j <= i {
				continue
			}
			reason, bounded = fmt.Sprintf("failback to preferred owner %s", best), true
		default:
			continue
		}
		// Only failovers caused by the group failing count toward the threshold: losing a node
		// is not the group's fault and must not leave it offline after a second node loss.
		if failover && g.State == GroupFailed {
			threshold := g.Policy.FailoverThreshold
			if threshold <= 0 {
				threshold = max(upNodes, 1) // nodes-1 failovers allowed; this one would be the nodes-th
			}
			if len(g.Failovers) >= threshold {
				refusals = append(refusals, Refusal{Group: name, Reason: fmt.Sprintf("%s; failover threshold %d reached in %s", reason, threshold, g.Policy.FailoverPeriod)})
				continue
			}
		}
		if bounded && inFlight >= opt.MaxDrainMoves {
			continue // wait for earlier moves to finish
		}
		to, why := chooseNode(s, g, exclude, load, classes)
		if to == "" {
			refusals = append(refusals, Refusal{Group: name, Reason: fmt.Sprintf("%s: no node can host it (%s)", reason, why)})
			continue
		}
		if to == g.Owner {
			continue
		}
		moves = append(moves, Move{Group: name, From: g.Owner, To: to, Reason: reason, Failover: failover, Epoch: g.Epoch, CountFailure: failover && g.State == GroupFailed})
		if g.Owner != "" {
			load[g.Owner]--
		}
		load[to]++
		classes[to] = append(classes[to], g.Policy.AntiAffinity...)
		inFlight++
	}
	return moves, refusals
}

func failbackAllowed(p Policy, now time.Time) bool {
	switch p.Failback {
	case FailbackImmediate:
		return true
	case FailbackWindow:
		h := now.UTC().Hour()
		if p.FailbackWindowStart <= p.FailbackWindowEnd {
			return h >= p.FailbackWindowStart && h < p.FailbackWindowEnd
		}
		return h >= p.FailbackWindowStart || h < p.FailbackWindowEnd // window over midnight
	}
	return false
}

func canHost(s *State, g *Group, id string) bool {
	n := s.Nodes[id]
	if n == nil || n.State != NodeUp || n.Witness {
		return false
	}
	return len(g.Policy.PossibleOwners) == 0 || slices.Contains(g.Policy.PossibleOwners, id)
}

func bestPreferred(s *State, g *Group) string {
	for _, p := range g.Policy.PreferredOwners {
		if canHost(s, g, p) {
			return p
		}
	}
	return ""
}

// chooseNode ranks the nodes that may host g: fewest anti-affinity conflicts first (keeping
// groups of one class apart is what the class is for), then preferred owners in order, then
// least loaded, then by ID.
func chooseNode(s *State, g *Group, exclude string, load map[string]int, classes map[string][]string) (string, string) {
	type cand struct {
		id                   string
		pref, conflict, load int
	}
	var cands []cand
	var why []string
	for _, id := range s.SortedNodes() {
		if id == exclude {
			continue
		}
		if !canHost(s, g, id) {
			continue
		}
		conflicts := 0
		for _, c := range g.Policy.AntiAffinity {
			if slices.Contains(classes[id], c) {
				conflicts++
			}
		}
		// The group's own classes count on its current owner; do not count them against it.
		if id == g.Owner {
			conflicts -= len(g.Policy.AntiAffinity)
		}
		if conflicts > 0 && g.Policy.AntiAffinityEnforced {
			why = append(why, id+" hosts anti-affinity class "+strings.Join(g.Policy.AntiAffinity, ","))
			continue
		}
		pref := slices.Index(g.Policy.PreferredOwners, id)
		if pref < 0 {
			pref = len(g.Policy.PreferredOwners)
		}
		cands = append(cands, cand{id, pref, conflicts, load[id]})
	}
	if len(cands) == 0 {
		if len(why) == 0 {
			why = append(why, "no up node among possible owners")
		}
		return "", strings.Join(why, "; ")
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.conflict, b.conflict), cmp.Compare(a.pref, b.pref), cmp.Compare(a.load, b.load), cmp.Compare(a.id, b.id))
	})
	return cands[0].id, ""
}
