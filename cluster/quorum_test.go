package cluster

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

func TestDesiredVotersExamples(t *testing.T) {
	up := func(ids ...string) []VoteMember {
		var m []VoteMember
		for _, id := range ids {
			m = append(m, VoteMember{ID: id, Up: true, Witness: id == "w"})
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		members []VoteMember
		tie     string
		want    []string
	}{
		{"three nodes", up("a", "b", "c"), "", []string{"a", "b", "c"}},
		{"two nodes plus witness", up("a", "b", "w"), "", []string{"a", "b", "w"}},
		{"three nodes ignore witness", up("a", "b", "c", "w"), "", []string{"a", "b", "c"}},
		{"two nodes tie-breaker a", up("a", "b"), "a", []string{"a"}},
		{"two nodes tie-breaker b", up("a", "b"), "b", []string{"b"}},
		{"four nodes no witness", up("a", "b", "c", "d"), "", []string{"a", "b", "c"}},
		{"one down of three", append(up("a", "b"), VoteMember{ID: "c"}), "b", []string{"b"}},
		{"last node", up("a"), "", []string{"a"}},
	} {
		if got := DesiredVoters(tc.members, tc.tie); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
}

// TestDesiredVotersProperties checks, for arbitrary membership, that the vote count is odd,
// only up members vote, the witness votes only to break an even count, and that no split of
// the voters into two sides can give both sides quorum.
func TestDesiredVotersProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 7).Draw(t, "nodes")
		var members []VoteMember
		for i := range n {
			members = append(members, VoteMember{ID: fmt.Sprintf("n%d", i), Up: rapid.Bool().Draw(t, "up")})
		}
		hasWitness := rapid.Bool().Draw(t, "witness")
		if hasWitness {
			members = append(members, VoteMember{ID: "w", Witness: true, Up: rapid.Bool().Draw(t, "witnessUp")})
		}
		tie := fmt.Sprintf("n%d", rapid.IntRange(0, n-1).Draw(t, "tie"))
		voters := DesiredVoters(members, tie)
		upNodes := 0
		for _, m := range members {
			if m.Up && !m.Witness {
				upNodes++
			}
		}
		if upNodes == 0 {
			if voters != nil {
				t.Fatalf("no node up but voters %v", voters)
			}
			return
		}
		if len(voters)%2 == 0 {
			t.Fatalf("even vote count %v", voters)
		}
		for _, v := range voters {
			i := slices.IndexFunc(members, func(m VoteMember) bool { return m.ID == v })
			if i < 0 || !members[i].Up {
				t.Fatalf("voter %s is not an up member", v)
			}
		}
		if slices.Contains(voters, "w") && upNodes%2 != 0 {
			t.Fatalf("witness votes with odd node count %d: %v", upNodes, voters)
		}
		tieUp := members[slices.IndexFunc(members, func(m VoteMember) bool { return m.ID == tie })].Up
		if tieUp && upNodes%2 == 0 && !slices.Contains(voters, "w") && !slices.Contains(voters, tie) {
			t.Fatalf("tie-breaker %s lost its vote: %v", tie, voters)
		}
		// Split the voters arbitrarily: at most one side has quorum.
		var left, right []string
		for _, v := range voters {
			if rapid.Bool().Draw(t, "side") {
				left = append(left, v)
			} else {
				right = append(right, v)
			}
		}
		if HasQuorum(voters, left) && HasQuorum(voters, right) {
			t.Fatalf("both sides of %v / %v have quorum", left, right)
		}
	})
}

// TestLeaseMonitorProperty: the lease is held exactly while the newest contact is younger
// than the lease, and a loss is reported by the first tick at or past the expiry.
func TestLeaseMonitorProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lease := time.Duration(rapid.IntRange(1, 5000).Draw(t, "leaseMs")) * time.Millisecond
		m := &LeaseMonitor{Lease: lease}
		now := time.Unix(1000, 0)
		var last time.Time
		for range rapid.IntRange(1, 60).Draw(t, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(0, 2000).Draw(t, "advanceMs")) * time.Millisecond)
			if rapid.Bool().Draw(t, "contact") {
				at := now.Add(-time.Duration(rapid.IntRange(0, 3000).Draw(t, "ageMs")) * time.Millisecond)
				d := m.Step(LeaseEvent{Kind: LeaseContact, At: at, Now: now})
				if at.After(last) {
					last = at
				}
				if d == LeaseLost {
					t.Fatal("contact caused loss")
				}
			} else {
				wasHeld := m.Held()
				d := m.Step(LeaseEvent{Kind: LeaseTick, At: now})
				if wasHeld && !now.Before(last.Add(lease)) && d != LeaseLost {
					t.Fatalf("tick at %v past expiry %v did not lose lease", now, last.Add(lease))
				}
				if d == LeaseLost && now.Before(last.Add(lease)) {
					t.Fatal("lost lease before expiry")
				}
			}
			if m.Held() && !now.Before(last.Add(lease)) {
				// Held past expiry is allowed only until the next tick; model it strictly here.
				if d := m.Step(LeaseEvent{Kind: LeaseTick, At: now}); d != LeaseLost {
					t.Fatal("held past expiry")
				}
			}
		}
	})
}

// TestLeaseDriverOfflinesWithinLease runs the real lease driver goroutine inside a synctest
// bubble: contact stops, and the offline callback must fire no later than the lease.
func TestLeaseDriverOfflinesWithinLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var contact, lostAt, regainedAt time.Time
		get := func(p *time.Time) time.Time { mu.Lock(); defer mu.Unlock(); return *p }
		set := func(p *time.Time, v time.Time) { mu.Lock(); defer mu.Unlock(); *p = v }
		start := time.Now()
		set(&contact, start)
		d := &leaseDriver{
			lease:      3 * time.Second,
			lastQuorum: func() time.Time { return get(&contact) },
			onLost:     func() { set(&lostAt, time.Now()) },
			onRegained: func() { set(&regainedAt, time.Now()) },
		}
		done := make(chan struct{})
		stop := make(chan struct{})
		go func() { d.run(stop); close(done) }()
		synctest.Wait()
		if get(&regainedAt).IsZero() {
			t.Fatal("lease not taken at start")
		}
		// Contact keeps flowing for 5 s: no loss.
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			set(&contact, time.Now())
		}
		synctest.Wait()
		if !get(&lostAt).IsZero() {
			t.Fatal("lease lost while in contact")
		}
		cut := get(&contact)
		time.Sleep(10 * time.Second)
		if l := get(&lostAt); l.IsZero() || l.Sub(cut) > 3*time.Second {
			t.Fatalf("lost at %v after contact stopped, want <= 3s", l.Sub(cut))
		}
		set(&regainedAt, time.Time{})
		set(&contact, time.Now())
		time.Sleep(time.Second)
		if get(&regainedAt).IsZero() {
			t.Fatal("lease not regained after contact returned")
		}
		close(stop)
		<-done
	})
}

// TestProfilesFenceCoversLease checks the safety arithmetic of each profile: the earliest a
// node can be declared dead plus the fence delay is never before its lease (plus polling and
// heartbeat slack) has run out.
func TestProfilesFenceCoversLease(t *testing.T) {
	for _, p := range []Profile{ProfileDefault, ProfileFast} {
		earliest := p.ProbeTimeout + time.Duration(p.SuspicionMult)*p.ProbeInterval + p.FenceDelay
		if latestOffline := p.Lease + p.Lease/10 + 300*time.Millisecond; earliest < latestOffline {
			t.Errorf("%s: groups may start after %v but the old owner may hold them until %v", p.Name, earliest, latestOffline)
		}
	}
}

// TestNextVoteChangeNeverStrandsQuorum applies NextVoteChange step by step from random
// configurations where the live members hold quorum, with members failing and returning in
// between, and checks that no step takes quorum away from the live members and that the
// sequence converges to DesiredVoters.
func TestNextVoteChangeNeverStrandsQuorum(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "nodes")
		var members []VoteMember
		var voters []string
		for i := range n {
			id := fmt.Sprintf("n%d", i)
			members = append(members, VoteMember{ID: id, Up: true})
			voters = append(voters, id)
		}
		if rapid.Bool().Draw(t, "witness") {
			members = append(members, VoteMember{ID: "w", Witness: true, Up: true})
		}
		tie := fmt.Sprintf("n%d", rapid.IntRange(0, n-1).Draw(t, "tie"))
		up := func() []string {
			var out []string
			for _, m := range members {
				if m.Up {
					out = append(out, m.ID)
				}
			}
			return out
		}
		for range rapid.IntRange(1, 12).Draw(t, "events") {
			// One member fails or returns, but only while quorum holds (otherwise nothing can
			// change anyway) — then dynamic quorum runs to a fixed point.
			i := rapid.IntRange(0, len(members)-1).Draw(t, "member")
			members[i].Up = !members[i].Up
			if !HasQuorum(voters, up()) {
				members[i].Up = !members[i].Up
				continue
			}
			leader := ""
			for _, v := range voters {
				if slices.Contains(up(), v) {
					leader = v
					break
				}
			}
			for step := 0; ; step++ {
				if step > 20 {
					t.Fatalf("no convergence: voters %v members %+v", voters, members)
				}
				ch := NextVoteChange(voters, members, tie, leader)
				switch ch.Kind {
				case VoteNone:
				case VoteAdd:
					voters = append(voters, ch.ID)
				case VoteRemove:
					voters = slices.DeleteFunc(voters, func(v string) bool { return v == ch.ID })
				case VoteTransferLeadership:
					leader = ch.ID
					continue
				}
				if !HasQuorum(voters, up()) {
					t.Fatalf("change %+v left live %v without quorum of %v", ch, up(), voters)
				}
				if ch.Kind == VoteNone {
					break
				}
			}
			if want := DesiredVoters(members, tie); len(want) > 0 && !slices.Equal(slices.Sorted(slices.Values(voters)), want) {
				t.Fatalf("converged to %v, want %v", voters, want)
			}
		}
	})
}
