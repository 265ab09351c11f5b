package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

type inmemCluster struct {
	t      *testing.T
	stores []*Store
	trans  []*raft.InmemTransport
}

// newInmemCluster starts n in-memory stores connected by raft's in-memory transport.
func newInmemCluster(t *testing.T, n int) *inmemCluster {
	t.Helper()
	c := &inmemCluster{t: t}
	var servers []raft.Server
	for i := range n {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("n%d", i+1)))
		c.trans = append(c.trans, tr)
		servers = append(servers, raft.Server{ID: raft.ServerID(fmt.Sprintf("n%d", i+1)), Address: addr})
	}
	for i := range n {
		for j := range n {
			if i != j {
				c.trans[i].Connect(c.trans[j].LocalAddr(), c.trans[j])
			}
		}
	}
	for i := range n {
		s, err := OpenStore(StoreConfig{NodeID: string(servers[i].ID), Transport: c.trans[i], Timing: FastTiming, Bootstrap: servers})
		if err != nil {
			t.Fatal(err)
		}
		c.stores = append(c.stores, s)
	}
	t.Cleanup(func() {
		for _, s := range c.stores {
			if s != nil {
				s.Close()
			}
		}
	})
	return c
}

// leader waits for a leader among the live stores, using raft's leader channel notifications
// via polling the observed state at each leadership observation.
func (c *inmemCluster) leader() *Store {
	c.t.Helper()
	obs := make(chan raft.Observation, 64)
	var observers []*raft.Observer
	for _, s := range c.stores {
		if s == nil {
			continue
		}
		o := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
			_, ok := o.Data.(raft.LeaderObservation)
			return ok
		})
		s.raft.RegisterObserver(o)
		observers = append(observers, o)
	}
	defer func() {
		for i, s := range c.stores {
			_ = i
			if s != nil {
				for _, o := range observers {
					s.raft.DeregisterObserver(o)
				}
			}
		}
	}()
	deadline := time.After(20 * time.Second)
	for {
		for _, s := range c.stores {
			if s != nil && s.IsLeader() {
				return s
			}
		}
		select {
		case <-obs:
		case <-deadline:
			c.t.Fatal("no leader elected within 20s")
		case <-time.After(100 * time.Millisecond): // re-check: observations can race with State()
		}
	}
}

func mustApply(t *testing.T, s *Store, c Command) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := s.Apply(ctx, c)
	if err != nil {
		t.Fatalf("apply %s: %v", c.Op, err)
	}
	return r
}

func TestStoreReplicatesAndSurvivesLeaderLoss(t *testing.T) {
	c := newInmemCluster(t, 3)
	l := c.leader()
	mustApply(t, l, Command{Op: OpInitCluster, Cluster: &ClusterInfo{Name: "c1"}})
	mustApply(t, l, Command{Op: OpPutResourceType, Type: &ResourceTypeInfo{Name: "marker"}})
	mustApply(t, l, Command{Op: OpPutGroup, Group: &Group{Name: "g1", Policy: DefaultPolicy()}})
	res := mustApply(t, l, Command{Op: OpSetProp, Key: "k", Value: "v1"})

	// A follower rejects writes and names the leader.
	for _, s := range c.stores {
		if s != l {
			_, err := s.Apply(context.Background(), Command{Op: OpSetProp, Key: "k", Value: "x"})
			var nle *NotLeaderError
			if !errors.As(err, &nle) || nle.LeaderID != l.ID() {
				t.Fatalf("follower apply: got %v, want NotLeaderError naming %s", err, l.ID())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.WaitApplied(ctx, res.Index); err != nil {
				t.Fatal(err)
			}
			cancel()
			s.Read(func(st *State) {
				if st.Props["k"] != "v1" || st.Groups["g1"] == nil || st.Cluster.Name != "c1" {
					t.Fatalf("follower %s state not replicated: %+v", s.ID(), st.Props)
				}
			})
		}
	}

	// Kill the leader; the other two elect a new one and keep all the config.
	for i, s := range c.stores {
		if s == l {
			s.Close()
			c.stores[i] = nil
		}
	}
	l2 := c.leader()
	if l2 == l {
		t.Fatal("old leader still leader")
	}
	l2.Read(func(st *State) {
		if st.Props["k"] != "v1" || st.Groups["g1"] == nil {
			t.Fatalf("config lost after leader loss: %+v", st.Props)
		}
	})
	r := mustApply(t, l2, Command{Op: OpReadProp, Key: "k"})
	if r.Value != "v1" {
		t.Fatalf("linearizable read = %q", r.Value)
	}
}

func TestFSMRejectsDependencyCycleNamingIt(t *testing.T) {
	s := newState()
	must := func(c Command) {
		t.Helper()
		if r, _ := apply(s, &c); r.Err != "" {
			t.Fatal(r.Err)
		}
	}
	must(Command{Op: OpPutResourceType, Type: &ResourceTypeInfo{Name: "marker"}})
	must(Command{Op: OpPutGroup, Group: &Group{Name: "g"}})
	must(Command{Op: OpPutResource, Resource: &Resource{Name: "a", Type: "marker", Group: "g"}})
	must(Command{Op: OpPutResource, Resource: &Resource{Name: "b", Type: "marker", Group: "g", DependsOn: []string{"a"}}})
	must(Command{Op: OpPutResource, Resource: &Resource{Name: "c", Type: "marker", Group: "g", DependsOn: []string{"b"}}})
	r, _ := apply(s, &Command{Op: OpPutResource, Resource: &Resource{Name: "a", Type: "marker", Group: "g", DependsOn: []string{"c"}}})
	if want := "dependency cycle: a -> c -> b -> a"; !strings.Contains(r.Err, want) {
		t.Fatalf("got %q, want it to contain %q", r.Err, want)
	}
	if len(s.Resources["a"].DependsOn) != 0 {
		t.Fatal("refused change was applied")
	}
	r, _ = apply(s, &Command{Op: OpPutResource, Resource: &Resource{Name: "d", Type: "marker", Group: "g", DependsOn: []string{"d"}}})
	if !strings.Contains(r.Err, "dependency cycle: d -> d") {
		t.Fatalf("self cycle: %q", r.Err)
	}
}

func TestFSMFencesStaleReports(t *testing.T) {
	s := newState()
	for _, c := range []Command{
		{Op: OpPutNode, Node: &Node{ID: "a", State: NodeUp}},
		{Op: OpPutNode, Node: &Node{ID: "b", State: NodeUp}},
		{Op: OpPutGroup, Group: &Group{Name: "g"}},
		{Op: OpMoveGroup, Name: "g", Target: "a"},
		{Op: OpMoveGroup, Name: "g", Target: "b"},
	} {
		if r, _ := apply(s, &c); r.Err != "" {
			t.Fatal(r.Err)
		}
	}
	g := s.Groups["g"]
	if g.Epoch != 2 || g.PrevOwner != "a" || g.State != GroupPending {
		t.Fatalf("after move: %+v", g)
	}
	if r, _ := apply(s, &Command{Op: OpSetGroupState, Name: "g", Target: "a", Epoch: 1, GroupSt: GroupOnline}); r.Err == "" {
		t.Fatal("stale owner report accepted")
	}
	if r, _ := apply(s, &Command{Op: OpGroupReleased, Name: "g", Target: "a"}); r.Err != "" || g.PrevOwner != "" {
		t.Fatalf("release: %q %+v", r.Err, g)
	}
	if r, _ := apply(s, &Command{Op: OpSetGroupState, Name: "g", Target: "b", Epoch: 2, GroupSt: GroupOnline}); r.Err != "" {
		t.Fatal(r.Err)
	}
}

func TestFSMSnapshotRoundTrip(t *testing.T) {
	f := newFSM()
	for i, c := range []Command{
		{Op: OpInitCluster, Cluster: &ClusterInfo{Name: "c", CACert: []byte("pem")}},
		{Op: OpPutNode, Node: &Node{ID: "a", Addr: "127.0.0.1:3343", State: NodeUp, Vote: true}},
		{Op: OpPutResourceType, Type: &ResourceTypeInfo{Name: "marker", IsAliveInterval: time.Minute}},
		{Op: OpPutGroup, Group: &Group{Name: "g", Policy: DefaultPolicy()}},
		{Op: OpPutResource, Resource: &Resource{Name: "r", Type: "marker", Group: "g", Props: map[string]string{"x": "y"}}},
		{Op: OpSetProp, Key: "k", Value: "v"},
	} {
		data := mustJSON(t, c)
		if r := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}).(Result); r.Err != "" {
			t.Fatal(r.Err)
		}
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := newFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	a, b := mustJSON(t, f.state), mustJSON(t, g.state)
	if !bytes.Equal(a, b) {
		t.Fatalf("restored state differs:\n%s\n%s", a, b)
	}
	// A snapshot from a newer schema is refused, not silently truncated.
	newer := bytes.Replace(sink.Bytes(), []byte(`"schema":1`), []byte(`"schema":99`), 1)
	if err := newFSM().Restore(io.NopCloser(bytes.NewReader(newer))); err == nil || !strings.Contains(err.Error(), "schema 99") {
		t.Fatalf("newer schema: %v", err)
	}
}

type memSink struct{ bytes.Buffer }

func (*memSink) ID() string    { return "mem" }
func (*memSink) Cancel() error { return nil }
func (*memSink) Close() error  { return nil }
