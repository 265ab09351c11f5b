package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// rcCluster is an in-process cluster: in-memory raft stores plus the real controller, placer,
// lease driver and marker resource type on each node.
type rcCluster struct {
	*inmemCluster
	members []*Member
	markers []*Marker
	mu      sync.Mutex
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SOFS_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newRCCluster(t *testing.T, n int) *rcCluster {
	c := &rcCluster{inmemCluster: newInmemCluster(t, n)}
	l := c.leader()
	mustApply(t, l, Command{Op: OpInitCluster, Cluster: &ClusterInfo{Name: "test"}})
	mustApply(t, l, Command{Op: OpPutResourceType, Type: &ResourceTypeInfo{Name: MarkerTypeName}})
	for i, s := range c.stores {
		mustApply(t, l, Command{Op: OpPutNode, Node: &Node{ID: s.ID(), Addr: fmt.Sprintf("n%d", i+1), State: NodeUp, Vote: true}})
	}
	for _, s := range c.stores {
		mk := NewMarker(s.ID())
		reg := NewRegistry()
		reg.Register(mk.Info(), mk)
		m := StartMember(MemberConfig{Store: s, Proposer: ProposerFunc(c.propose), Registry: reg, Lease: time.Second, Log: testLogger(t),
			Placement: PlacementOptions{FenceDelay: 1300 * time.Millisecond}})
		c.members = append(c.members, m)
		c.markers = append(c.markers, mk)
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			if m != nil {
				m.Stop()
			}
		}
		if err := CheckMarkerOverlap(c.allRecords()); err != nil {
			t.Errorf("marker overlap: %v", err)
		}
	})
	return c
}

func (c *rcCluster) allRecords() []MarkerRecord {
	var all []MarkerRecord
	for _, m := range c.markers {
		all = append(all, m.Records()...)
	}
	return all
}

// propose sends c to whichever live store is the leader.
func (c *rcCluster) propose(ctx context.Context, cmd Command) (Result, error) {
	for ctx.Err() == nil {
		c.mu.Lock()
		stores := append([]*Store(nil), c.stores...)
		c.mu.Unlock()
		for _, s := range stores {
			if s == nil || !s.IsLeader() {
				continue
			}
			r, err := s.Apply(ctx, cmd)
			var nle *NotLeaderError
			if errors.As(err, &nle) {
				continue
			}
			return r, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // leader election in progress
		}
	}
	return Result{}, ctx.Err()
}

func (c *rcCluster) admin(i int) *Admin {
	return &Admin{Store: c.stores[i], Prop: ProposerFunc(c.propose)}
}

func (c *rcCluster) apply(t *testing.T, cmd Command) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd.Now = time.Now()
	r, err := c.propose(ctx, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Op, err)
	}
	return r
}

// waitState waits (on config changes) until cond holds on node i's view.
func (c *rcCluster) waitState(t *testing.T, i int, what string, timeout time.Duration, cond func(*State) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a := &Admin{Store: c.stores[i]}
	var last string
	err := a.waitFor(ctx, func(s *State) (bool, error) {
		last = fmt.Sprintf("%+v", groupsSummary(s))
		return cond(s), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; groups: %s", what, err, last)
	}
}

func groupsSummary(s *State) map[string]string {
	out := map[string]string{}
	for n, g := range s.Groups {
		out[n] = fmt.Sprintf("%s@%s(e%d prev=%s %s)", g.State, g.Owner, g.Epoch, g.PrevOwner, g.Reason)
	}
	for n, r := range s.Resources {
		out["r:"+n] = fmt.Sprintf("%s@%s %s", r.State, r.Node, r.Reason)
	}
	return out
}

func groupOnlineOn(group, node string) func(*State) bool {
	return func(s *State) bool {
		g := s.Groups[group]
		return g != nil && g.Owner == node && g.State == GroupOnline
	}
}

func (c *rcCluster) createGroup(t *testing.T, name string, pol Policy, resources ...Resource) {
	c.apply(t, Command{Op: OpPutGroup, Group: &Group{Name: name, Policy: pol}})
	for _, r := range resources {
		r.Group, r.Type = name, MarkerTypeName
		c.apply(t, Command{Op: OpPutResource, Resource: &r})
	}
}

func TestGroupOnlineInDependencyOrderOnPreferredOwner(t *testing.T) {
	c := newRCCluster(t, 3)
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n2"}
	c.createGroup(t, "g", pol, Resource{Name: "disk"}, Resource{Name: "share", DependsOn: []string{"disk"}})
	c.waitState(t, 0, "g online on n2", 10*time.Second, func(s *State) bool {
		return groupOnlineOn("g", "n2")(s) && s.Resources["share"] != nil && s.Resources["share"].State == ResourceOnline && s.Resources["disk"].State == ResourceOnline
	})
	recs := c.markers[1].Records()
	if len(recs) != 2 || recs[0].Resource != "disk" || recs[1].Resource != "share" || !recs[0].Online || !recs[1].Online {
		t.Fatalf("online order on n2: %+v", recs)
	}
	// Moving it runs offline in reverse order on n2, then online on n3.
	if err := c.admin(0).Move(context.Background(), "g", "n3"); err != nil {
		t.Fatal(err)
	}
	recs = c.markers[1].Records()
	if len(recs) != 4 || recs[2].Resource != "share" || recs[2].Online || recs[3].Resource != "disk" {
		t.Fatalf("offline order on n2: %+v", recs)
	}
	if !c.markers[2].IsOnline("disk") || !c.markers[2].IsOnline("share") {
		t.Fatal("not online on n3")
	}
}

func TestFailoverWhenOwnerDies(t *testing.T) {
	c := newRCCluster(t, 3)
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n1", "n2", "n3"}
	c.createGroup(t, "g", pol, Resource{Name: "r"})
	c.waitState(t, 1, "g online on n1", 10*time.Second, groupOnlineOn("g", "n1"))
	// Kill n1: its member stops (taking resources offline, as a crash followed by lease expiry
	// would) and its raft store goes away; the failure detector's verdict is applied by hand.
	c.members[0].Stop()
	c.members[0] = nil
	c.mu.Lock()
	c.stores[0].Close()
	c.stores[0] = nil
	c.mu.Unlock()
	c.apply(t, Command{Op: OpSetNodeState, Name: "n1", NodeState: NodeDown})
	c.waitState(t, 1, "g online on n2", 10*time.Second, groupOnlineOn("g", "n2"))
	var g Group
	c.stores[1].Read(func(s *State) { g = *s.Groups["g"] })
	if len(g.Failovers) != 0 || !strings.Contains(g.MoveReason, "node n1 down") {
		t.Fatalf("failover not recorded: %+v", g)
	}
}

func TestRestartInPlaceThenFailover(t *testing.T) {
	c := newRCCluster(t, 3)
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n1", "n2"}
	c.createGroup(t, "g", pol, Resource{Name: "r"})
	c.waitState(t, 0, "g online on n1", 10*time.Second, groupOnlineOn("g", "n1"))
	// A health-check failure restarts in place: still on n1, and the marker saw a second online.
	c.markers[0].Break("r", "transient glitch")
	c.waitState(t, 0, "restart begun", 10*time.Second, func(s *State) bool {
		return s.Resources["r"] != nil && strings.Contains(s.Resources["r"].Reason, "restarting")
	})
	c.markers[0].Break("r", "")
	c.waitState(t, 0, "r back online on n1", 10*time.Second, func(s *State) bool {
		return s.Resources["r"] != nil && s.Resources["r"].State == ResourceOnline && s.Groups["g"].Owner == "n1"
	})
	// A persistent failure exhausts the 3 restarts and fails the group over to n2, with the
	// agent's reason recorded.
	c.markers[0].Break("r", "disk on fire")
	c.waitState(t, 0, "g online on n2", 20*time.Second, groupOnlineOn("g", "n2"))
	var g Group
	c.stores[0].Read(func(s *State) { g = *s.Groups["g"] })
	if len(g.Failovers) != 1 || !strings.Contains(g.MoveReason, "failed on n1: resource r: disk on fire") {
		t.Fatalf("failover reason %q lacks the agent's reason", g.MoveReason)
	}
}

func TestDeadlockMarksFailedWithReason(t *testing.T) {
	c := newRCCluster(t, 1)
	pol := DefaultPolicy()
	c.createGroup(t, "g", pol, Resource{Name: "stuck", Props: map[string]string{"hang-online": "forever"}})
	c.waitState(t, 0, "resource failed with deadlock reason", 15*time.Second, func(s *State) bool {
		r := s.Resources["stuck"]
		return r != nil && r.State == ResourceFailed && strings.Contains(r.Reason, "did not return within 3s") && s.Groups["g"].State == GroupFailed
	})
}

func TestDrainBoundedResumeFailback(t *testing.T) {
	c := newRCCluster(t, 3)
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n1"}
	for i := range 4 {
		c.createGroup(t, fmt.Sprintf("g%d", i), pol, Resource{Name: fmt.Sprintf("r%d", i)})
	}
	c.waitState(t, 0, "all on n1", 10*time.Second, func(s *State) bool {
		for i := range 4 {
			if !groupOnlineOn(fmt.Sprintf("g%d", i), "n1")(s) {
				return false
			}
		}
		return true
	})
	// Watch the number of concurrent moves while draining.
	maxPending := 0
	ctx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		ch, cancel := c.stores[0].Subscribe(4096)
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-ch:
				if !ok {
					return
				}
				c.stores[0].Read(func(s *State) {
					p := 0
					for _, g := range s.Groups {
						if g.State == GroupPending {
							p++
						}
					}
					maxPending = max(maxPending, p)
				})
			}
		}
	}()
	var progress []string
	if err := c.admin(2).Pause(context.Background(), "n1", true, func(s string) { progress = append(progress, s) }); err != nil {
		t.Fatal(err)
	}
	stopWatch()
	<-watched
	if maxPending > 2 {
		t.Fatalf("drain ran %d moves at once, want at most 2", maxPending)
	}
	if len(progress) < 2 || !strings.Contains(progress[len(progress)-1], "4 of 4") {
		t.Fatalf("progress: %q", progress)
	}
	// Read the view of the node the drain ran against: other replicas may lag it.
	c.stores[2].Read(func(s *State) {
		for _, g := range s.Groups {
			if g.Owner == "n1" || g.State != GroupOnline {
				t.Fatalf("after drain: %+v", groupsSummary(s))
			}
		}
		if s.Nodes["n1"].State != NodePaused {
			t.Fatalf("n1 is %s", s.Nodes["n1"].State)
		}
	})
	for i := range 4 {
		if c.markers[0].IsOnline(fmt.Sprintf("r%d", i)) {
			t.Fatalf("r%d still online on drained n1", i)
		}
	}
	if err := c.admin(1).Resume(context.Background(), "n1", "immediate"); err != nil {
		t.Fatal(err)
	}
	c.waitState(t, 0, "all back on n1", 10*time.Second, func(s *State) bool {
		for i := range 4 {
			if !groupOnlineOn(fmt.Sprintf("g%d", i), "n1")(s) {
				return false
			}
		}
		return s.Nodes["n1"].State == NodeUp
	})
}

func TestDrainRefusalsNameGroupAndReason(t *testing.T) {
	c := newRCCluster(t, 2)
	pinned := DefaultPolicy()
	pinned.PossibleOwners = []string{"n1"}
	c.createGroup(t, "pinned", pinned, Resource{Name: "p"})
	c.waitState(t, 0, "pinned on n1", 10*time.Second, groupOnlineOn("pinned", "n1"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.admin(0).Pause(ctx, "n1", true, nil)
	if err == nil || !strings.Contains(err.Error(), "group pinned") || !strings.Contains(err.Error(), "no node can host it") {
		t.Fatalf("drain with nowhere to go: %v", err)
	}
	if err := c.admin(0).Resume(ctx, "n1", "none"); err != nil {
		t.Fatal(err)
	}
	// A resource that refuses to go offline: the drain names it and its reason, and the group
	// keeps running on n1.
	busy := DefaultPolicy()
	busy.PreferredOwners = []string{"n1"}
	c.createGroup(t, "busy", busy, Resource{Name: "b", Props: map[string]string{"refuse-offline": "file is locked by backup"}})
	c.waitState(t, 0, "busy on n1", 10*time.Second, groupOnlineOn("busy", "n1"))
	pinned.Priority = PriorityNoAutoStart
	c.apply(t, Command{Op: OpPutGroup, Group: &Group{Name: "pinned", Policy: pinned}})
	c.apply(t, Command{Op: OpMoveGroup, Name: "pinned", Target: ""})
	err = c.admin(0).Pause(ctx, "n1", true, nil)
	if err == nil || !strings.Contains(err.Error(), "resource b refused to go offline: file is locked by backup") {
		t.Fatalf("drain with busy resource: %v", err)
	}
	if !c.markers[0].IsOnline("b") || c.markers[1].IsOnline("b") {
		t.Fatal("busy resource should still run on n1 only")
	}
}

func TestQuorumLossTakesResourcesOfflineWithinLease(t *testing.T) {
	c := newRCCluster(t, 3)
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n3"}
	c.createGroup(t, "g", pol, Resource{Name: "r"})
	c.waitState(t, 0, "g on n3", 10*time.Second, groupOnlineOn("g", "n3"))
	// Cut n3 off from both peers.
	cut := time.Now()
	c.trans[2].DisconnectAll()
	for i := range 2 {
		c.trans[i].Disconnect(c.trans[2].LocalAddr())
	}
	c.apply(t, Command{Op: OpSetNodeState, Name: "n3", NodeState: NodeDown})
	// The majority fails it over once the fence delay (1.3 s, longer than the 1 s lease plus
	// polling slack) has passed.
	c.waitState(t, 0, "g on majority side", 10*time.Second, func(s *State) bool {
		g := s.Groups["g"]
		return g != nil && g.Owner != "n3" && g.State == GroupOnline
	})
	var offAt time.Time
	for _, r := range c.markers[2].Records() {
		if !r.Online {
			offAt = r.At
		}
	}
	if offAt.IsZero() {
		t.Fatal("n3 never took r offline")
	}
	// Allowed: lease (1 s) after its last contact, plus one raft heartbeat interval of slack
	// for when that last contact happened before the cut.
	if d := offAt.Sub(cut); d > time.Second+FastTiming.Heartbeat+500*time.Millisecond {
		t.Fatalf("n3 went offline %v after the cut", d)
	}
	// Heal the partition: n3 rejoins, catches up on the config DB and, once the failure
	// detector (here: the test) reports it up, may host groups again.
	for i := range 2 {
		c.trans[2].Connect(c.trans[i].LocalAddr(), c.trans[i])
		c.trans[i].Connect(c.trans[2].LocalAddr(), c.trans[2])
	}
	c.apply(t, Command{Op: OpSetNodeState, Name: "n3", NodeState: NodeUp})
	c.waitState(t, 2, "n3 caught up", 10*time.Second, func(s *State) bool { return s.Nodes["n3"].State == NodeUp })
	if err := c.admin(0).Move(context.Background(), "g", "n3"); err != nil {
		t.Fatalf("after healing, moving back to n3: %v", err)
	}
	if !c.markers[2].IsOnline("r") {
		t.Fatal("r not online on healed n3")
	}
}

func TestPendingTimeoutFailsGroupOver(t *testing.T) {
	c := newRCCluster(t, 2)
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n1", "n2"}
	pol.PendingTimeout = 500 * time.Millisecond
	// Online hangs on every node until its call timeout (2 s): each attempt outlasts the
	// pending timeout, so the leader marks the group failed with the reason.
	c.createGroup(t, "g", pol, Resource{Name: "slow", Props: map[string]string{"hang-online": "ctx"}})
	c.waitState(t, 0, "pending timeout recorded", 15*time.Second, func(s *State) bool {
		g := s.Groups["g"]
		return g != nil && strings.Contains(g.Reason+g.MoveReason, "pending timeout: ") && strings.Contains(g.Reason+g.MoveReason, "within 500ms")
	})
}

// TestWatchOwnersAndGroupOwner: the building blocks of the SMB server's Placement and
// Notifier report the current owner first and then every move.
func TestWatchOwnersAndGroupOwner(t *testing.T) {
	c := newRCCluster(t, 2)
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n1"}
	c.createGroup(t, "share1", pol, Resource{Name: "r"})
	c.waitState(t, 1, "share1 on n1", 10*time.Second, groupOnlineOn("share1", "n1"))
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan OwnerChange, 64)
	done := make(chan struct{})
	go func() { c.stores[1].WatchOwners(ctx, func(oc OwnerChange) { changes <- oc }); close(done) }()
	defer func() { cancel(); <-done }()
	first := <-changes
	if first.Group != "share1" || first.Owner != "n1" || first.State != GroupOnline {
		t.Fatalf("initial report %+v", first)
	}
	if err := c.admin(1).Move(context.Background(), "share1", "n2"); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case oc := <-changes:
			if oc.Owner == "n2" && oc.State == GroupOnline {
				owner, addr, epoch, ok := c.stores[1].GroupOwner("share1")
				if !ok || owner != "n2" || addr != "n2" || epoch != oc.Epoch {
					t.Fatalf("GroupOwner = %s %s %d %v", owner, addr, epoch, ok)
				}
				return
			}
		case <-timeout:
			t.Fatal("no owner change to n2 reported")
		}
	}
}
