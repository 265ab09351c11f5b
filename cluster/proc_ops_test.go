package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The sofsctl commands are tested through the real sofsctl binary: $SOFS_BIN/sofsctl (make
// test builds it) or one built once for this test process.
var (
	sofsctlOnce sync.Once
	sofsctlDir  string
	sofsctlPath string
	sofsctlErr  error
)

func sofsctlBinary(t *testing.T) string {
	t.Helper()
	sofsctlOnce.Do(func() {
		if bin := os.Getenv("SOFS_BIN"); bin != "" {
			if _, err := os.Stat(filepath.Join(bin, "sofsctl")); err == nil {
				sofsctlPath = filepath.Join(bin, "sofsctl")
				return
			}
		}
		if sofsctlDir, sofsctlErr = os.MkdirTemp("", "sofs-sofsctl-"); sofsctlErr != nil {
			return
		}
		sofsctlPath = filepath.Join(sofsctlDir, "sofsctl")
		out, err := exec.Command("go", "build", "-o", sofsctlPath, "../cmd/sofsctl").CombinedOutput()
		if err != nil {
			sofsctlErr = fmt.Errorf("build sofsctl: %v\n%s", err, out)
		}
	})
	if sofsctlErr != nil {
		t.Fatal(sofsctlErr)
	}
	return sofsctlPath
}

// sofsctl runs the real sofsctl against nd with the cluster's admin credentials.
func (c *procCluster) sofsctl(t *testing.T, nd *procNode, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(args, "--creds", c.nodes[0].dir, "--node-addr", nd.addr)
	out, err := exec.CommandContext(ctx, sofsctlBinary(t), args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("sofsctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (c *procCluster) mustSofsctl(t *testing.T, nd *procNode, args ...string) string {
	t.Helper()
	out, err := c.sofsctl(t, nd, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestProcessSofsctlJoinLeaveEvict: `cluster join` adds a fourth node, `cluster leave` drains
// it and takes it out of the config DB and raft, and `node evict` of a dead node removes it
// from raft as well as from the config DB.
func TestProcessSofsctlJoinLeaveEvict(t *testing.T) {
	c := newProcCluster(t, 3, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n1 := c.nodes[0]
	tok := strings.TrimSpace(c.mustSofsctl(t, n1, "cluster", "token", "--ttl", "1m"))
	n4 := &procNode{id: "n4", addr: fmt.Sprintf("%s%d:%d", c.base, 4, DefaultPort), dir: filepath.Join(t.TempDir(), "n4")}
	c.nodes = append(c.nodes, n4)
	c.mustSofsctl(t, n1, "cluster", "join", "--data", n4.dir, "--id", n4.id, "--addr", n4.addr, "--via", n1.addr, "--token", tok)
	if _, err := c.sofsctl(t, n1, "cluster", "join", "--data", filepath.Join(t.TempDir(), "again"), "--id", "n5", "--addr", c.base+"5", "--via", n1.addr, "--token", tok); err == nil {
		t.Fatal("a join token worked twice")
	}
	c.start(n4)
	c.waitFor("n4 up", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		return err == nil && s.Nodes["n4"] != nil && s.Nodes["n4"].State == NodeUp
	})
	pol := DefaultPolicy()
	pol.PreferredOwners = []string{"n4"}
	if _, err := c.propose(ctx, Command{Op: OpPutGroup, Group: &Group{Name: "g4", Policy: pol}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.propose(ctx, Command{Op: OpPutResource, Resource: &Resource{Name: "r4", Group: "g4", Type: MarkerTypeName}}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("g4 online on n4", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		return err == nil && s.Groups["g4"].Owner == "n4" && s.Groups["g4"].State == GroupOnline
	})

	// Leave through n4 itself: the drain moves g4, then n4 is gone from the DB and raft.
	out := c.mustSofsctl(t, n4, "cluster", "leave", "n4")
	if !strings.Contains(out, "draining n4: 1 of 1 groups moved") || !strings.Contains(out, "n4 left the cluster") {
		t.Fatalf("leave output:\n%s", out)
	}
	c.waitFor("n1 applied the removal of n4", 10*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		return err == nil && s.Nodes["n4"] == nil
	})
	if s, err := c.client(n1).State(ctx); err != nil || s.Groups["g4"].Owner == "n4" {
		t.Fatalf("after leave: g4 owner %s (%v)", s.Groups["g4"].Owner, err)
	}
	for _, nd := range c.nodes[:3] {
		st, err := c.client(nd).Status(ctx)
		if err != nil || slices.Contains(st.Servers, "n4") {
			t.Fatalf("%s raft servers after leave: %v %v", nd.id, st.Servers, err)
		}
	}
	c.kill(n4)
	c.nodes = c.nodes[:3]
	c.waitFor("g4 online on the remaining nodes", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		return err == nil && s.Groups["g4"].State == GroupOnline
	})

	// Evict a dead node: refused while it owns a group, then it leaves the DB and raft.
	n3 := c.nodes[2]
	c.kill(n3)
	c.waitFor("n3 down and owning nothing", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		if err != nil || s.Nodes["n3"].State != NodeDown {
			return false
		}
		for _, g := range s.Groups {
			if g.Owner == "n3" || g.State != GroupOnline {
				return false
			}
		}
		return true
	})
	c.mustSofsctl(t, n1, "node", "evict", "n3")
	c.waitFor("n3 out of the config DB and raft", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		if err != nil || s.Nodes["n3"] != nil {
			return false
		}
		st, err := c.client(n1).Status(ctx)
		return err == nil && !slices.Contains(st.Servers, "n3") && len(st.Servers) == 2
	})
	list := c.mustSofsctl(t, n1, "node", "list", "-o", "json")
	var nodes []Node
	if err := json.Unmarshal([]byte(list), &nodes); err != nil || len(nodes) != 2 {
		t.Fatalf("node list after evict: %v\n%s", err, list)
	}
	if _, err := c.client(n1).Propose(ctx, Command{Op: OpSetProp, Key: "after-evict", Value: "1"}); err != nil {
		t.Fatalf("two remaining nodes cannot write: %v", err)
	}
}

// TestProcessSofsctlSetWitnessAndResourceOnlineOffline: `cluster set-witness` accepts only a
// joined witness; `resource offline` takes a resource and its dependents offline on the
// owner (the group stays where it is), `resource online` brings them back.
func TestProcessSofsctlSetWitnessAndResourceOnlineOffline(t *testing.T) {
	c := newProcClusterWitness(t, 2, true, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	n1 := c.nodes[0]
	// sofsctl returns once the leader committed; n1 applies it a moment later.
	witnessOnN1 := func(want string) {
		c.waitFor("n1 records witness "+want, 10*time.Second, func(ctx context.Context) bool {
			s, err := c.client(n1).State(ctx)
			return err == nil && s.Cluster.Witness == want
		})
	}
	c.mustSofsctl(t, n1, "cluster", "set-witness", "w")
	witnessOnN1("w")
	if out, err := c.sofsctl(t, n1, "cluster", "set-witness", "n2"); err == nil || !strings.Contains(out, `node "n2" is not a witness`) {
		t.Fatalf("set-witness to a plain node: %v\n%s", err, out)
	}
	if out, err := c.sofsctl(t, n1, "cluster", "set-witness", "nobody"); err == nil || !strings.Contains(out, `witness "nobody" is not a member`) {
		t.Fatalf("set-witness to a stranger: %v\n%s", err, out)
	}
	c.mustSofsctl(t, n1, "cluster", "set-witness", "-")
	witnessOnN1("")

	markerLog := filepath.Join(t.TempDir(), "marker.log")
	c.mustSofsctl(t, n1, "group", "create", "g")
	c.mustSofsctl(t, n1, "resource", "create", "base", "--group", "g", "--type", MarkerTypeName, "--prop", "log="+markerLog)
	c.mustSofsctl(t, n1, "resource", "create", "top", "--group", "g", "--type", MarkerTypeName, "--depends-on", "base", "--prop", "log="+markerLog)
	var owner string
	c.waitFor("g online", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		if err != nil || s.Groups["g"].State != GroupOnline {
			return false
		}
		owner = s.Groups["g"].Owner
		return s.Resources["base"].State == ResourceOnline && s.Resources["top"].State == ResourceOnline
	})
	c.mustSofsctl(t, n1, "resource", "offline", "base")
	s, err := c.client(n1).State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Resources["base"].State != ResourceOffline || !s.Resources["base"].AdminOffline || s.Resources["top"].State != ResourceOffline {
		t.Fatalf("after resource offline base: base %+v, top %+v", *s.Resources["base"], *s.Resources["top"])
	}
	if !strings.Contains(s.Resources["top"].Reason, "depends on a resource taken offline by administrator") {
		t.Fatalf("top's reason: %q", s.Resources["top"].Reason)
	}
	if g := s.Groups["g"]; g.Owner != owner {
		t.Fatalf("resource offline moved the group: %+v", g)
	}
	held := markerHolders(readMarkerLog(t, markerLog), "base")
	if len(held) != 0 || len(markerHolders(readMarkerLog(t, markerLog), "top")) != 0 {
		t.Fatalf("marker still online after resource offline: %v", held)
	}
	list := c.mustSofsctl(t, n1, "resource", "list")
	if !strings.Contains(list, "Offline (held by administrator)") {
		t.Fatalf("resource list does not show the administrator's hold:\n%s", list)
	}
	if out, err := c.sofsctl(t, n1, "resource", "offline", "nosuch"); err == nil || !strings.Contains(out, `no resource "nosuch"`) {
		t.Fatalf("offline of a missing resource: %v\n%s", err, out)
	}
	c.mustSofsctl(t, n1, "resource", "online", "base")
	c.waitFor("top back online", 20*time.Second, func(ctx context.Context) bool {
		s, err := c.client(n1).State(ctx)
		return err == nil && s.Resources["top"].State == ResourceOnline && s.Resources["base"].State == ResourceOnline
	})
	recs := readMarkerLog(t, markerLog)
	if h := markerHolders(recs, "base"); h[owner].Node != owner {
		t.Fatalf("base not online on %s again: %v", owner, h)
	}
	if err := CheckMarkerOverlap(recs); err != nil {
		t.Fatal(err)
	}
}

// TestProcessSofsctlDestroy: `cluster destroy` needs --yes, takes every resource offline,
// then every node stops and forgets the cluster; a node that was not told refuses a wipe.
func TestProcessSofsctlDestroy(t *testing.T) {
	c := newProcCluster(t, 3, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n1 := c.nodes[0]
	// A live cluster refuses a wipe.
	if err := c.client(n1).do(ctx, "POST", "/v1/wipe", nil, nil); err == nil || !strings.Contains(err.Error(), "the cluster is not destroyed") {
		t.Fatalf("wipe of a live node: %v", err)
	}
	markerLog := filepath.Join(t.TempDir(), "marker.log")
	c.markerGroupPerNode(ctx, markerLog)
	c.waitFor("every marker online", 30*time.Second, func(ctx context.Context) bool {
		recs := readMarkerLog(t, markerLog)
		for _, nd := range c.nodes {
			if len(markerHolders(recs, "r-"+nd.id)) != 1 {
				return false
			}
		}
		return true
	})
	if out, err := c.sofsctl(t, n1, "cluster", "destroy"); err == nil || !strings.Contains(out, "repeat with --yes") {
		t.Fatalf("destroy without --yes: %v\n%s", err, out)
	}
	out := c.mustSofsctl(t, n1, "cluster", "destroy", "--yes")
	for _, nd := range c.nodes {
		if !strings.Contains(out, nd.id+" wiped and stopped") {
			t.Fatalf("destroy output lacks %s:\n%s", nd.id, out)
		}
		select {
		case <-nd.exited:
		case <-ctx.Done():
			t.Fatalf("%s still running after destroy", nd.id)
		}
		if code := nd.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("%s exited %d after destroy", nd.id, code)
		}
		for _, f := range clusterFiles {
			if _, err := os.Stat(filepath.Join(nd.dir, f)); !os.IsNotExist(err) {
				t.Fatalf("%s: %s survived the destroy (%v)", nd.id, f, err)
			}
		}
	}
	recs := readMarkerLog(t, markerLog)
	for _, nd := range c.nodes {
		if h := markerHolders(recs, "r-"+nd.id); len(h) != 0 {
			t.Fatalf("r-%s still online after destroy: %v", nd.id, h)
		}
	}
}
