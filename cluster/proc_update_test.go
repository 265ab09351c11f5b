package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProcessUpdatingRunRestartsEachNode runs an updating run over three supervised node
// processes with a command that restarts sofsd (SIGTERM to itself; the supervisor starts it
// again), and checks every group stays online throughout except while it moves.
func TestProcessUpdatingRunRestartsEachNode(t *testing.T) {
	c := newProcCluster(t, 3, "fast")
	for _, nd := range c.nodes {
		nd.supervise.Store(true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	tmp := t.TempDir()
	marker, updated := filepath.Join(tmp, "marker.log"), filepath.Join(tmp, "updated.txt")
	for _, nd := range c.nodes {
		pol := DefaultPolicy()
		pol.PreferredOwners = []string{nd.id}
		if _, err := c.propose(ctx, Command{Op: OpPutGroup, Group: &Group{Name: "g-" + nd.id, Policy: pol}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.propose(ctx, Command{Op: OpPutResource, Resource: &Resource{Name: "r-" + nd.id, Group: "g-" + nd.id, Type: MarkerTypeName, Props: map[string]string{"log": marker}}}); err != nil {
			t.Fatal(err)
		}
	}
	c.waitFor("groups online on their preferred nodes", 20*time.Second, func(ctx context.Context) bool {
		s, err := c.client(c.nodes[0]).State(ctx)
		if err != nil || len(s.Groups) != 3 {
			return false
		}
		for _, g := range s.Groups {
			if g.State != GroupOnline || g.Owner != strings.TrimPrefix(g.Name, "g-") {
				return false
			}
		}
		return true
	})
	// Watch group states throughout: Online, or Pending while moving, never anything else.
	var mu sync.Mutex
	var violations []string
	samples := 0
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			for _, nd := range c.live() {
				sctx, cancel := context.WithTimeout(wctx, time.Second)
				s, err := c.client(nd).State(sctx)
				cancel()
				if err != nil {
					continue
				}
				mu.Lock()
				samples++
				for _, g := range s.Groups {
					if g.State != GroupOnline && g.State != GroupPending {
						violations = append(violations, fmt.Sprintf("%s %s on %s: %s", g.Name, g.State, g.Owner, g.Reason))
					}
				}
				mu.Unlock()
				break
			}
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	var seeds []string
	for _, nd := range c.nodes {
		seeds = append(seeds, nd.addr)
	}
	rep, err := RunUpdate(ctx, c.admin, seeds, UpdateOptions{
		Command:        fmt.Sprintf("echo $SOFS_NODE_ID >> %s && kill -TERM $SOFS_NODE_PID", updated),
		RebootTimeout:  60 * time.Second,
		MaxFailedNodes: 0,
		Progress:       func(s string) { t.Log(s) },
	})
	stopWatch()
	<-watched
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || len(rep.Nodes) != 3 || rep.Stopped {
		t.Fatalf("report: %+v", rep)
	}
	for _, r := range rep.Nodes {
		if !r.Restart {
			t.Errorf("node %s was not restarted by the command", r.Node)
		}
	}
	b, _ := os.ReadFile(updated)
	if got := strings.Fields(string(b)); len(got) != 3 {
		t.Fatalf("command ran on %v, want all three nodes", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if samples < 10 || len(violations) > 0 {
		t.Fatalf("%d samples; groups not online outside their moves: %v", samples, violations)
	}
	if err := CheckMarkerOverlap(readMarkerLog(t, marker)); err != nil {
		t.Fatal(err)
	}
	t.Logf("updating run over 3 nodes took %s", rep.Duration.Round(time.Millisecond))
}

func TestCommonFunctionalLevel(t *testing.T) {
	s := newState()
	if got := CommonFunctionalLevel(s); got != 0 {
		t.Fatalf("no nodes: %d", got)
	}
	s.Nodes["a"] = &Node{ID: "a", Level: 2}
	s.Nodes["b"] = &Node{ID: "b", Level: 1, State: NodeDown}
	s.Nodes["w"] = &Node{ID: "w", Level: 3, Witness: true}
	if got := CommonFunctionalLevel(s); got != 1 {
		t.Fatalf("a=2, b=1 (down), w=3: %d, want 1", got)
	}
	s.Nodes["b"].Level = 3
	if got := CommonFunctionalLevel(s); got != 2 {
		t.Fatalf("a=2, b=3, w=3: %d, want 2", got)
	}
}

// TestProcessFunctionalLevelRisesAfterRollingUpgrade: nodes restarted one at a time with a
// higher level record it; the cluster keeps the old level while any node is behind and raises
// it by itself once the last one is upgraded; a node at the old level can then no longer join.
func TestProcessFunctionalLevelRisesAfterRollingUpgrade(t *testing.T) {
	c := newProcCluster(t, 3, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// The leader's view: it decides the raise.
	clusterLevel := func(ctx context.Context) (int, *State) {
		for _, nd := range c.live() {
			if st, err := c.client(nd).Status(ctx); err != nil || st.RaftState != "Leader" {
				continue
			}
			if s, err := c.client(nd).State(ctx); err == nil {
				return s.Cluster.FunctionalLevel, s
			}
		}
		return -1, nil
	}
	// levelNow waits for a leader to answer (one may be being elected after a kill).
	levelNow := func() int {
		lv := -1
		c.waitFor("a leader reporting the level", 20*time.Second, func(ctx context.Context) bool {
			lv, _ = clusterLevel(ctx)
			return lv != -1
		})
		return lv
	}
	if lv := levelNow(); lv != ProtocolLevel {
		t.Fatalf("new cluster at level %d, want %d", lv, ProtocolLevel)
	}
	next := ProtocolLevel + 1
	for i, nd := range c.nodes {
		c.kill(nd)
		nd.env = append(nd.env, fmt.Sprintf("SOFS_NODE_LEVEL=%d", next))
		c.start(nd)
		c.waitFor(nd.id+" up at the new level", 30*time.Second, func(ctx context.Context) bool {
			_, s := clusterLevel(ctx)
			return s != nil && s.Nodes[nd.id].State == NodeUp && s.Nodes[nd.id].Level == next
		})
		if i < len(c.nodes)-1 {
			if lv := levelNow(); lv != ProtocolLevel {
				t.Fatalf("after upgrading %d of %d nodes the cluster runs level %d", i+1, len(c.nodes), lv)
			}
		}
	}
	c.waitFor("functional level raised", 20*time.Second, func(ctx context.Context) bool {
		lv, _ := clusterLevel(ctx)
		return lv == next
	})
	// A node speaking only the old level is now refused, with the reason.
	tok, err := c.client(c.nodes[0]).Token(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	err = JoinCluster(ctx, filepath.Join(t.TempDir(), "old"), "old", c.base+"9:3343", c.nodes[0].addr, tok, false)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("node functional level %d is below the cluster's %d", ProtocolLevel, next)) {
		t.Fatalf("old-level join: %v", err)
	}
}
