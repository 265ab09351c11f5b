package cluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProcessFiveNodesFormAndSurviveLeaderKill(t *testing.T) {
	c := newProcCluster(t, 5, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := c.leader()
	for i := range 20 {
		if _, err := c.propose(ctx, Command{Op: OpSetProp, Key: "k", Value: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	hist := startRegisterClients(c, 3)
	c.waitFor("some history", 10*time.Second, func(context.Context) bool {
		hist.mu.Lock()
		defer hist.mu.Unlock()
		return len(hist.ops) >= 30
	})
	c.kill(l)
	l2 := c.leader()
	c.waitFor("history after the kill", 20*time.Second, func(context.Context) bool {
		hist.mu.Lock()
		defer hist.mu.Unlock()
		return len(hist.ops) >= 90
	})
	checkLinearizable(t, hist.stop())
	s, err := c.client(l2).State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 5 || s.Cluster.Name != "proc" {
		t.Fatalf("config after kill: %d nodes, cluster %q", len(s.Nodes), s.Cluster.Name)
	}
}

// groupOnlineProc waits until group is online on a node other than not.
func (c *procCluster) groupOnlineAwayFrom(ask *procNode, group, not string) {
	c.t.Helper()
	c.waitFor(group+" online away from "+not, 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(ask).State(ctx)
		if err != nil {
			return false
		}
		g := s.Groups[group]
		return g != nil && g.Owner != not && g.Owner != "" && g.State == GroupOnline
	})
}

func TestProcessTwoNodesWithWitnessSurviveLossOfEither(t *testing.T) {
	c := newProcClusterWitness(t, 2, true, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n1, n2 := c.nodes[0], c.nodes[1]
	marker := filepath.Join(t.TempDir(), "marker.log")
	if _, err := c.propose(ctx, Command{Op: OpPutGroup, Group: &Group{Name: "g", Policy: DefaultPolicy()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.propose(ctx, Command{Op: OpPutResource, Resource: &Resource{Name: "r", Group: "g", Type: MarkerTypeName, Props: map[string]string{"log": marker}}}); err != nil {
		t.Fatal(err)
	}
	c.groupOnlineAwayFrom(n1, "g", "w")
	// Lose n1: n2 and the witness are a majority of {n1, n2, w}.
	c.kill(n1)
	c.groupOnlineAwayFrom(n2, "g", n1.id)
	if _, err := c.client(n2).Propose(ctx, Command{Op: OpSetProp, Key: "after-n1-loss", Value: "1"}); err != nil {
		t.Fatalf("cluster without n1 cannot write: %v", err)
	}
	// n1 returns and gets its vote back (with the witness, three votes again).
	c.start(n1)
	c.waitFor("n1 back with votes for n1, n2 and w", 30*time.Second, func(ctx context.Context) bool {
		st, err := c.client(n2).Status(ctx)
		return err == nil && len(st.Voters) == 3
	})
	// Lose n2: n1 and the witness carry on.
	c.kill(n2)
	c.groupOnlineAwayFrom(n1, "g", n2.id)
	r, err := c.client(n1).Propose(ctx, Command{Op: OpReadProp, Key: "after-n1-loss"})
	if err != nil || r.Value != "1" {
		t.Fatalf("after losing n2: %q %v", r.Value, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal(err)
	}
}

func TestProcessTwoNodesTieBreakerSurvives(t *testing.T) {
	c := newProcCluster(t, 2, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n1, n2 := c.nodes[0], c.nodes[1]
	// n2 is the tie-breaker: dynamic quorum gives the single odd vote to it.
	if _, err := c.propose(ctx, Command{Op: OpSetClusterOptions, Cluster: &ClusterInfo{TieBreaker: n2.id}}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("n2 holds the only vote", 30*time.Second, func(ctx context.Context) bool {
		st, err := c.client(n1).Status(ctx)
		return err == nil && len(st.Voters) == 1 && st.Voters[0] == n2.id
	})
	if _, err := c.propose(ctx, Command{Op: OpPutGroup, Group: &Group{Name: "g", Policy: DefaultPolicy()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.propose(ctx, Command{Op: OpPutResource, Resource: &Resource{Name: "r", Group: "g", Type: MarkerTypeName}}); err != nil {
		t.Fatal(err)
	}
	c.groupOnlineAwayFrom(n2, "g", "")
	c.kill(n1)
	c.groupOnlineAwayFrom(n2, "g", n1.id)
	if _, err := c.client(n2).Propose(ctx, Command{Op: OpSetProp, Key: "survived", Value: "yes"}); err != nil {
		t.Fatalf("tie-breaker side cannot write: %v", err)
	}
}
