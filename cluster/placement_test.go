package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func placeState(nodes map[string]NodeState, groups ...*Group) *State {
	s := newState()
	for id, st := range nodes {
		s.Nodes[id] = &Node{ID: id, State: st, Vote: true}
	}
	for _, g := range groups {
		if g.State == "" {
			g.State = GroupOnline
		}
		s.Groups[g.Name] = g
	}
	return s
}

func grp(name, owner string, mod func(*Policy)) *Group {
	p := DefaultPolicy()
	if mod != nil {
		mod(&p)
	}
	return &Group{Name: name, Owner: owner, Policy: p}
}

func TestPlacePreferredOwnersOnStart(t *testing.T) {
	s := placeState(map[string]NodeState{"a": NodeUp, "b": NodeUp, "c": NodeUp},
		grp("g", "", func(p *Policy) { p.PreferredOwners = []string{"c", "b"} }))
	s.Groups["g"].State = GroupOffline
	moves, _ := Place(s, t0, PlacementOptions{})
	if len(moves) != 1 || moves[0].To != "c" {
		t.Fatalf("moves %+v, want g -> c", moves)
	}
	s.Nodes["c"].State = NodeDown
	moves, _ = Place(s, t0, PlacementOptions{})
	if len(moves) != 1 || moves[0].To != "b" {
		t.Fatalf("moves %+v, want g -> b (next preferred)", moves)
	}
}

func TestPlaceFailoverWaitsForFence(t *testing.T) {
	s := placeState(map[string]NodeState{"a": NodeDown, "b": NodeUp}, grp("g", "a", nil))
	s.Nodes["a"].DownSince = t0
	if moves, _ := Place(s, t0.Add(500*time.Millisecond), PlacementOptions{FenceDelay: time.Second}); len(moves) != 0 {
		t.Fatalf("moved before fence delay: %+v", moves)
	}
	moves, _ := Place(s, t0.Add(time.Second), PlacementOptions{FenceDelay: time.Second})
	if len(moves) != 1 || moves[0].To != "b" || !moves[0].Failover {
		t.Fatalf("moves %+v", moves)
	}
}

func TestPlaceAntiAffinity(t *testing.T) {
	anti := func(enforced bool) func(*Policy) {
		return func(p *Policy) { p.AntiAffinity, p.AntiAffinityEnforced = []string{"sql"}, enforced }
	}
	// Soft: the second group avoids the node hosting the first even though a is less loaded.
	s := placeState(map[string]NodeState{"a": NodeUp, "b": NodeUp},
		grp("g1", "a", anti(false)), grp("x", "b", nil), grp("x2", "b", nil), grp("g2", "", anti(false)))
	s.Groups["g2"].State = GroupOffline
	moves, _ := Place(s, t0, PlacementOptions{})
	if len(moves) != 1 || moves[0].To != "b" {
		t.Fatalf("soft anti-affinity: %+v", moves)
	}
	// Soft with only one node: it still starts.
	s.Nodes["b"].State = NodeDown
	s.Groups["x"].Owner, s.Groups["x2"].Owner = "", ""
	s.Groups["x"].Policy.Priority, s.Groups["x2"].Policy.Priority = PriorityNoAutoStart, PriorityNoAutoStart
	moves, _ = Place(s, t0, PlacementOptions{})
	if len(moves) != 1 || moves[0].To != "a" {
		t.Fatalf("soft anti-affinity single node: %+v", moves)
	}
	// Enforced: refused, and the refusal names the reason.
	s.Groups["g2"].Policy.AntiAffinityEnforced = true
	s.Groups["g1"].Policy.AntiAffinityEnforced = true
	moves, refusals := Place(s, t0, PlacementOptions{})
	if len(moves) != 0 || len(refusals) != 1 || !strings.Contains(refusals[0].Reason, "anti-affinity class sql") {
		t.Fatalf("enforced: moves %+v refusals %+v", moves, refusals)
	}
}

func TestPlaceDrainBoundedAndRefusal(t *testing.T) {
	var groups []*Group
	for i := range 5 {
		groups = append(groups, grp(fmt.Sprintf("g%d", i), "a", nil))
	}
	s := placeState(map[string]NodeState{"a": NodePaused, "b": NodeUp, "c": NodeUp}, groups...)
	s.Nodes["a"].Draining = true
	moves, _ := Place(s, t0, PlacementOptions{MaxDrainMoves: 2})
	if len(moves) != 2 {
		t.Fatalf("drain moves %d, want 2 at a time: %+v", len(moves), moves)
	}
	if moves[0].To == moves[1].To {
		t.Fatalf("drain should spread load: %+v", moves)
	}
	// With two moves in flight nothing more starts.
	for _, m := range moves {
		s.Groups[m.Group].Owner, s.Groups[m.Group].State = m.To, GroupPending
	}
	if more, _ := Place(s, t0, PlacementOptions{MaxDrainMoves: 2}); len(more) != 0 {
		t.Fatalf("exceeded K: %+v", more)
	}
	// A group that may only run on a has nowhere to go: refused with a reason.
	s = placeState(map[string]NodeState{"a": NodePaused, "b": NodeUp}, grp("pinned", "a", func(p *Policy) { p.PossibleOwners = []string{"a"} }))
	s.Nodes["a"].Draining = true
	_, refusals := Place(s, t0, PlacementOptions{})
	if len(refusals) != 1 || !strings.Contains(refusals[0].Reason, "no node can host it") {
		t.Fatalf("refusals %+v", refusals)
	}
}

func TestPlaceFailback(t *testing.T) {
	pol := func(mode FailbackMode) func(*Policy) {
		return func(p *Policy) {
			p.PreferredOwners, p.Failback = []string{"a"}, mode
			p.FailbackWindowStart, p.FailbackWindowEnd = 22, 4
		}
	}
	for _, tc := range []struct {
		mode FailbackMode
		at   time.Time
		want bool
	}{
		{FailbackNone, t0, false},
		{FailbackImmediate, t0, true},
		{FailbackWindow, t0, false},                     // 10:00 outside 22-04
		{FailbackWindow, t0.Add(13 * time.Hour), true},  // 23:00
		{FailbackWindow, t0.Add(16 * time.Hour), true},  // 02:00 (over midnight)
		{FailbackWindow, t0.Add(19 * time.Hour), false}, // 05:00
	} {
		s := placeState(map[string]NodeState{"a": NodeUp, "b": NodeUp}, grp("g", "b", pol(tc.mode)))
		moves, _ := Place(s, tc.at, PlacementOptions{})
		got := len(moves) == 1 && moves[0].To == "a"
		if got != tc.want {
			t.Errorf("%s at %s: moves %+v, want failback %v", tc.mode, tc.at.Format("15:04"), moves, tc.want)
		}
	}
}

func TestPlaceFailoverThreshold(t *testing.T) {
	s := placeState(map[string]NodeState{"a": NodeUp, "b": NodeUp, "c": NodeUp}, grp("g", "a", nil))
	s.Groups["g"].State, s.Groups["g"].Reason = GroupFailed, "disk gone"
	moves, _ := Place(s, t0, PlacementOptions{})
	if len(moves) != 1 || moves[0].To == "a" || !strings.Contains(moves[0].Reason, "disk gone") {
		t.Fatalf("failed group should fail over off a: %+v", moves)
	}
	s.Groups["g"].Failovers = []time.Time{t0, t0, t0}
	moves, refusals := Place(s, t0, PlacementOptions{})
	if len(moves) != 0 || len(refusals) != 1 || !strings.Contains(refusals[0].Reason, "failover threshold") {
		t.Fatalf("threshold: %+v %+v", moves, refusals)
	}
}

func TestPlacePriorityOrder(t *testing.T) {
	s := placeState(map[string]NodeState{"a": NodeUp},
		grp("low", "", func(p *Policy) { p.Priority = PriorityLow }),
		grp("high", "", func(p *Policy) { p.Priority = PriorityHigh }),
		grp("manual", "", func(p *Policy) { p.Priority = PriorityNoAutoStart }))
	moves, _ := Place(s, t0, PlacementOptions{})
	if len(moves) != 2 || moves[0].Group != "high" || moves[1].Group != "low" {
		t.Fatalf("moves %+v", moves)
	}
}

// TestPlaceProperties: for random clusters, every move targets an Up non-witness node among the
// possible owners, never the node being left, never breaks enforced anti-affinity, and bounded
// moves never exceed K in flight.
func TestPlaceProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newState()
		nn := rapid.IntRange(1, 5).Draw(t, "nodes")
		var ids []string
		for i := range nn {
			id := fmt.Sprintf("n%d", i)
			ids = append(ids, id)
			st := rapid.SampledFrom([]NodeState{NodeUp, NodeUp, NodeDown, NodePaused, NodeJoining}).Draw(t, "state")
			s.Nodes[id] = &Node{ID: id, State: st, Draining: st == NodePaused && rapid.Bool().Draw(t, "drain"), DownSince: t0}
		}
		ng := rapid.IntRange(0, 8).Draw(t, "groups")
		for i := range ng {
			g := &Group{Name: fmt.Sprintf("g%d", i), Policy: DefaultPolicy()}
			if rapid.Bool().Draw(t, "owned") {
				g.Owner = rapid.SampledFrom(ids).Draw(t, "owner")
			}
			g.State = rapid.SampledFrom([]GroupState{GroupOnline, GroupOnline, GroupPending, GroupFailed, GroupOffline}).Draw(t, "gstate")
			if rapid.Bool().Draw(t, "anti") {
				g.Policy.AntiAffinity = []string{"x"}
				g.Policy.AntiAffinityEnforced = true
			}
			if rapid.Bool().Draw(t, "possible") {
				g.Policy.PossibleOwners = []string{rapid.SampledFrom(ids).Draw(t, "po")}
			}
			g.Policy.Failback = rapid.SampledFrom([]FailbackMode{FailbackNone, FailbackImmediate}).Draw(t, "fb")
			if rapid.Bool().Draw(t, "pref") {
				g.Policy.PreferredOwners = []string{rapid.SampledFrom(ids).Draw(t, "pr")}
			}
			s.Groups[g.Name] = g
		}
		k := rapid.IntRange(1, 3).Draw(t, "k")
		moves, _ := Place(s, t0.Add(time.Hour), PlacementOptions{MaxDrainMoves: k})
		after := s.Clone()
		pending := 0
		for _, g := range s.Groups {
			if g.State == GroupPending {
				pending++
			}
		}
		bounded := 0
		for _, m := range moves {
			n := s.Nodes[m.To]
			g := s.Groups[m.Group]
			if n == nil || n.State != NodeUp {
				t.Fatalf("move to non-up node: %+v", m)
			}
			if len(g.Policy.PossibleOwners) > 0 && !slices.Contains(g.Policy.PossibleOwners, m.To) {
				t.Fatalf("move outside possible owners: %+v", m)
			}
			if m.To == m.From {
				t.Fatalf("no-op move %+v", m)
			}
			if !m.Failover && m.From != "" {
				bounded++
			}
			after.Groups[m.Group].Owner = m.To
		}
		if bounded > 0 && pending+bounded > k {
			t.Fatalf("%d pending + %d bounded moves > K=%d", pending, bounded, k)
		}
		// Enforced anti-affinity: no node hosts two moved-or-kept groups of class x where one
		// of them was just moved there.
		for _, m := range moves {
			g := after.Groups[m.Group]
			if !g.Policy.AntiAffinityEnforced {
				continue
			}
			for _, o := range after.Groups {
				if o.Name != g.Name && o.Owner == m.To && slices.Contains(o.Policy.AntiAffinity, "x") {
					t.Fatalf("enforced anti-affinity broken: %s and %s on %s", g.Name, o.Name, m.To)
				}
			}
		}
	})
}
