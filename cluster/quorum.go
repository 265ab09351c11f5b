package cluster

import (
	"slices"
	"time"
)

// VoteMember is one voter candidate as dynamic quorum sees it.
type VoteMember struct {
	ID      string
	Witness bool
	// Up is true when the failure detector sees the member alive and it is not leaving.
	Up bool
}

// DesiredVoters computes which members should hold a vote (be raft voters) under dynamic
// quorum, like Windows Server 2012 R2+:
//
//   - a node that is down (stopped cleanly, or failed while the rest kept quorum) loses its vote,
//     so the cluster can shrink one node at a time down to the last one;
//   - the witness votes only when that makes the total odd;
//   - if the count is still even (no witness, or witness down), one node gives up its vote:
//     never the tie-breaker, otherwise the highest ID, so a 50/50 split is decided by the
//     tie-breaker's side.
//
// It never removes every vote: if no member is up, the current voters are kept (the caller has
// no quorum to change anything anyway). Changes are applied one raft configuration change at a
// time, each of which itself needs a quorum of the old configuration — that is what makes
// shrinking safe.
func DesiredVoters(members []VoteMember, tieBreaker string) []string {
	var nodes []string
	witnessUp := ""
	for _, m := range members {
		switch {
		case m.Witness && m.Up:
			witnessUp = m.ID
		case !m.Witness && m.Up:
			nodes = append(nodes, m.ID)
		}
	}
	slices.Sort(nodes)
	if len(nodes) == 0 {
		return nil
	}
	if len(nodes)%2 == 0 {
		if witnessUp != "" {
			nodes = append(nodes, witnessUp)
		} else {
			drop := len(nodes) - 1
			if nodes[drop] == tieBreaker {
				drop--
			}
			nodes = slices.Delete(nodes, drop, drop+1)
		}
	}
	slices.Sort(nodes)
	return nodes
}

// HasQuorum reports whether the reachable set holds a strict majority of voters.
func HasQuorum(voters, reachable []string) bool {
	n := 0
	for _, v := range voters {
		if slices.Contains(reachable, v) {
			n++
		}
	}
	return 2*n > len(voters)
}

// LeaseEventKind is the kind of input to a LeaseMonitor.
type LeaseEventKind int

const (
	// LeaseContact: the node had confirmed contact with a quorum at At (raft leader with a
	// quorum, or a follower that heard from such a leader).
	LeaseContact LeaseEventKind = iota
	// LeaseTick: the clock reads At.
	LeaseTick
)

// LeaseEvent is one input to a LeaseMonitor.
type LeaseEvent struct {
	Kind LeaseEventKind
	// At is the contact time (LeaseContact) or the clock (LeaseTick).
	At time.Time
	// Now is the clock when a LeaseContact is reported (contact may be older than now).
	Now time.Time
}

// LeaseDecision is the output of a LeaseMonitor step.
type LeaseDecision int

const (
	LeaseNoChange LeaseDecision = iota
	// LeaseLost: take every local resource offline now and say so in the log.
	LeaseLost
	// LeaseRegained: quorum contact is back; the node may host resources again.
	LeaseRegained
)

// LeaseMonitor is a pure state machine (events and clock in, decisions out) deciding whether
// this node may keep its resources online. A node may host resources only while its last
// confirmed quorum contact is younger than Lease; the leader waits at least Lease after a node
// stops answering before starting that node's groups elsewhere, so the two never overlap.
type LeaseMonitor struct {
	Lease       time.Duration
	lastContact time.Time
	held        bool
}

// Held reports whether the node currently holds the lease.
func (m *LeaseMonitor) Held() bool { return m.held }

// Expiry returns when the current lease runs out (zero if none is held).
func (m *LeaseMonitor) Expiry() time.Time {
	if !m.held {
		return time.Time{}
	}
	return m.lastContact.Add(m.Lease)
}

// Step feeds one event and returns the decision.
func (m *LeaseMonitor) Step(ev LeaseEvent) LeaseDecision {
	switch ev.Kind {
	case LeaseContact:
		if ev.At.After(m.lastContact) {
			m.lastContact = ev.At
		}
		// Contact older than the lease proves nothing about now.
		if !m.held && m.lastContact.Add(m.Lease).After(ev.Now) {
			m.held = true
			return LeaseRegained
		}
	case LeaseTick:
		if m.held && !ev.At.Before(m.lastContact.Add(m.Lease)) {
			m.held = false
			return LeaseLost
		}
	}
	return LeaseNoChange
}

// leaseDriver runs a LeaseMonitor against the clock. lastQuorum reports the last confirmed
// quorum contact (time.Now() for a raft leader, raft's LastContact for a follower).
type leaseDriver struct {
	lease      time.Duration
	lastQuorum func() time.Time
	onLost     func()
	onRegained func()
}

func (d *leaseDriver) run(stop <-chan struct{}) {
	m := &LeaseMonitor{Lease: d.lease}
	// Poll at a tenth of the lease so a loss is acted on within lease + lease/10 at worst; the
	// expiry timer below makes it exact in the common case.
	tick := time.NewTicker(d.lease / 10)
	defer tick.Stop()
	for {
		now := time.Now()
		switch m.Step(LeaseEvent{Kind: LeaseContact, At: d.lastQuorum(), Now: now}) {
		case LeaseRegained:
			d.onRegained()
		}
		switch m.Step(LeaseEvent{Kind: LeaseTick, At: now}) {
		case LeaseLost:
			d.onLost()
		}
		var expiry <-chan time.Time
		var timer *time.Timer
		if m.Held() {
			timer = time.NewTimer(time.Until(m.Expiry()))
			expiry = timer.C
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		case <-expiry:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// VoteChangeKind is one step of dynamic quorum.
type VoteChangeKind int

const (
	VoteNone VoteChangeKind = iota
	VoteAdd
	VoteRemove
	// VoteTransferLeadership: the leader must lose its vote; hand leadership to ID first.
	VoteTransferLeadership
)

// VoteChange is the next single raft membership change dynamic quorum asks for.
type VoteChange struct {
	Kind VoteChangeKind
	ID   string
}

// NextVoteChange is the pure decision behind dynamic quorum: given the current voters, the
// members and who leads, the one change to make next (raft changes membership one server at
// a time). Votes are added before any is removed; votes of down members go first; and a
// removal is only proposed if the live members keep a majority of the remaining votes, so a
// sequence of changes never strands a cluster that had quorum.
func NextVoteChange(current []string, members []VoteMember, tieBreaker, leader string) VoteChange {
	want := DesiredVoters(members, tieBreaker)
	if len(want) == 0 {
		return VoteChange{}
	}
	for _, id := range want {
		if !slices.Contains(current, id) {
			return VoteChange{VoteAdd, id}
		}
	}
	var up []string
	for _, m := range members {
		if m.Up {
			up = append(up, m.ID)
		}
	}
	cur := slices.Sorted(slices.Values(current))
	// Down voters first.
	slices.SortStableFunc(cur, func(a, b string) int {
		ua, ub := slices.Contains(up, a), slices.Contains(up, b)
		switch {
		case ua == ub:
			return 0
		case !ua:
			return -1
		}
		return 1
	})
	for _, id := range cur {
		if slices.Contains(want, id) {
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(cur), func(v string) bool { return v == id })
		if !HasQuorum(rest, up) {
			continue
		}
		if id == leader {
			return VoteChange{VoteTransferLeadership, want[0]}
		}
		return VoteChange{VoteRemove, id}
	}
	return VoteChange{}
}
