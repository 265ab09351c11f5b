package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Multi-node tests run every node as a separate process: the test binary re-executes itself
// with SOFS_CLUSTER_TEST_NODE set, and that child runs a real node (mTLS mux, raft on bolt,
// memberlist, controller) until SIGTERM — or until the test SIGKILLs it.
func TestMain(m *testing.M) {
	if os.Getenv("SOFS_CLUSTER_TEST_NODE") != "" {
		os.Exit(runTestNode())
	}
	code := m.Run()
	if sofsctlDir != "" {
		os.RemoveAll(sofsctlDir)
	}
	os.Exit(code)
}

func runTestNode() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var join []string
	if j := os.Getenv("SOFS_NODE_JOIN"); j != "" {
		join = strings.Split(j, ",")
	}
	if err := joinFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "join:", err)
		return 1
	}
	cfg := NodeConfig{DataDir: os.Getenv("SOFS_NODE_DIR"), Profile: os.Getenv("SOFS_NODE_PROFILE"), Join: join, Timing: FastTiming, Log: log}
	if lv := os.Getenv("SOFS_NODE_LEVEL"); lv != "" {
		fmt.Sscan(lv, &cfg.Level)
	}
	if disks, ok := os.LookupEnv("SOFS_NODE_DISKS"); ok {
		// A toy validation probe, as the marker is a toy resource: the shared disks this
		// node "sees".
		cfg.Probes = map[string]NodeProbe{"shared disks": func(context.Context) (string, error) { return disks, nil }}
	}
	d, err := StartNode(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start node:", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
		d.Close()
	case <-d.Wiped():
	}
	return 0
}

// joinFromEnv joins the cluster from inside the child when the test asks it to
// (SOFS_NODE_TOKEN): a node in a network namespace is reachable only from there.
func joinFromEnv() error {
	tok := os.Getenv("SOFS_NODE_TOKEN")
	dir := os.Getenv("SOFS_NODE_DIR")
	if tok == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "node.json")); err == nil {
		return nil // joined before this restart
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return JoinCluster(ctx, dir, os.Getenv("SOFS_NODE_ID"), os.Getenv("SOFS_NODE_ADDR"), os.Getenv("SOFS_NODE_VIA"), tok, os.Getenv("SOFS_NODE_WITNESS") == "1")
}

type procNode struct {
	id, addr, dir string
	ns            string   // network namespace the node runs in ("" for the host's loopback)
	env           []string // extra environment for the node process
	witness       bool
	supervise     atomic.Bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

type procCluster struct {
	t       testing.TB
	base    string
	nodes   []*procNode
	admin   *TLSIdentity
	profile string
	lab     *netLab // nil: nodes listen on loopback addresses
}

// loopbackBase picks a 127.x.y.0/24 for this test run so concurrent runs do not collide.
func loopbackBase() string {
	p := os.Getpid()
	return fmt.Sprintf("127.%d.%d.", 100+p%100, (p/100)%250+1)
}

func newProcCluster(t *testing.T, n int, profile string) *procCluster {
	return newProcClusterWitness(t, n, false, profile)
}

// newProcClusterWitness starts n nodes, plus a witness process "w" if witness.
func newProcClusterWitness(t *testing.T, n int, witness bool, profile string) *procCluster {
	return newProcClusterTB(t, n, witness, profile)
}

func newProcClusterTB(t testing.TB, n int, witness bool, profile string) *procCluster {
	t.Helper()
	return newProcClusterOn(t, n, witness, profile, nil)
}

// newProcClusterOn starts the cluster on loopback addresses, or with each node in its own
// network namespace of lab.
func newProcClusterOn(t testing.TB, n int, witness bool, profile string, lab *netLab) *procCluster {
	t.Helper()
	c := &procCluster{t: t, base: loopbackBase(), profile: profile, lab: lab}
	root := t.TempDir()
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		c.nodes = append(c.nodes, &procNode{id: id, addr: fmt.Sprintf("%s%d:%d", c.base, i+1, DefaultPort), dir: filepath.Join(root, id)})
	}
	if witness {
		c.nodes = append(c.nodes, &procNode{id: "w", witness: true, addr: fmt.Sprintf("%s%d:%d", c.base, 99, DefaultPort), dir: filepath.Join(root, "w")})
	}
	if lab != nil {
		for _, nd := range c.nodes {
			nd.ns, nd.addr = lab.add(nd.id)
		}
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			c.kill(nd)
		}
		if t.Failed() {
			for _, nd := range c.nodes {
				if b, err := os.ReadFile(filepath.Join(nd.dir, "..", nd.id+".log")); err == nil {
					lines := strings.Split(string(b), "\n")
					t.Logf("---- %s log (last 40 lines) ----\n%s", nd.id, strings.Join(lines[max(0, len(lines)-40):], "\n"))
				}
			}
		}
	})
	first := c.nodes[0]
	if err := CreateCluster(first.dir, "proc", first.id, first.addr); err != nil {
		t.Fatal(err)
	}
	id, err := LoadClientDir(first.dir)
	if err != nil {
		t.Fatal(err)
	}
	c.admin = id
	c.start(first)
	c.waitFor("cluster bootstrapped", 20*time.Second, func(ctx context.Context) bool {
		s, err := c.client(first).State(ctx)
		return err == nil && s.Cluster.Name == "proc" && s.Nodes["n1"] != nil
	})
	for _, nd := range c.nodes[1:] {
		c.join(nd)
	}
	c.waitFor("all nodes up and voting", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(first).State(ctx)
		if err != nil || len(s.Nodes) != len(c.nodes) {
			return false
		}
		for _, nd := range s.Nodes {
			if nd.State != NodeUp {
				return false
			}
		}
		st, err := c.client(first).Status(ctx)
		want := n
		if n%2 == 0 && witness {
			want = n + 1
		} else if n%2 == 0 {
			want = n - 1
		}
		return err == nil && len(st.Voters) == want
	})
	return c
}

func (c *procCluster) join(nd *procNode) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := c.client(c.nodes[0]).Token(ctx, time.Minute)
	if err != nil {
		c.t.Fatal(err)
	}
	if nd.ns != "" {
		w := "0"
		if nd.witness {
			w = "1"
		}
		nd.env = append(nd.env, []string{"SOFS_NODE_TOKEN=" + tok, "SOFS_NODE_ID=" + nd.id, "SOFS_NODE_ADDR=" + nd.addr, "SOFS_NODE_VIA=" + c.nodes[0].addr, "SOFS_NODE_WITNESS=" + w}...)
		c.start(nd)
		return
	}
	if err := JoinCluster(ctx, nd.dir, nd.id, nd.addr, c.nodes[0].addr, tok, nd.witness); err != nil {
		c.t.Fatal(err)
	}
	c.start(nd)
}

func (c *procCluster) start(nd *procNode) {
	c.t.Helper()
	var join []string
	for _, o := range c.nodes {
		if o != nd {
			join = append(join, o.addr)
		}
	}
	c.startWith(nd, join)
}

// startWith starts nd telling it only the peers in join.
func (c *procCluster) startWith(nd *procNode, join []string) {
	c.t.Helper()
	spawn := func() (*exec.Cmd, *os.File, error) {
		logf, err := os.OpenFile(filepath.Join(nd.dir, "..", nd.id+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, err
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		if nd.ns != "" {
			cmd = exec.Command("ip", "netns", "exec", nd.ns, os.Args[0], "-test.run=^$")
		}
		cmd.Env = append(os.Environ(), "SOFS_CLUSTER_TEST_NODE=1", "SOFS_NODE_DIR="+nd.dir, "SOFS_NODE_JOIN="+strings.Join(join, ","), "SOFS_NODE_PROFILE="+c.profile)
		cmd.Env = append(cmd.Env, nd.env...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, nil, err
		}
		return cmd, logf, nil
	}
	cmd, logf, err := spawn()
	if err != nil {
		c.t.Fatal(err)
	}
	nd.mu.Lock()
	nd.cmd = cmd
	nd.exited = make(chan struct{})
	exited := nd.exited
	nd.mu.Unlock()
	// Like systemd's Restart=on-success for supervised nodes: a clean exit (an update command
	// restarting sofsd) starts the node again; SIGKILL from the test does not.
	go func() {
		defer close(exited)
		for {
			cmd.Wait()
			logf.Close()
			if !nd.supervise.Load() || cmd.ProcessState.ExitCode() != 0 {
				return
			}
			var err error
			if cmd, logf, err = spawn(); err != nil {
				return
			}
			nd.mu.Lock()
			nd.cmd = cmd
			nd.mu.Unlock()
		}
	}()
}

// kill SIGKILLs a node and waits for it to be gone.
func (c *procCluster) kill(nd *procNode) {
	nd.supervise.Store(false)
	nd.mu.Lock()
	cmd, exited := nd.cmd, nd.exited
	nd.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
	nd.mu.Lock()
	nd.cmd = nil
	nd.mu.Unlock()
}

func (c *procCluster) client(nd *procNode) *Client {
	if nd.ns != "" {
		return newClientVia(c.admin, nd.addr, dialInNetns(nd.ns))
	}
	return NewClient(c.admin, nd.addr)
}

// live returns the nodes whose process is running.
func (c *procCluster) live() []*procNode {
	var out []*procNode
	for _, nd := range c.nodes {
		nd.mu.Lock()
		if nd.cmd != nil {
			out = append(out, nd)
		}
		nd.mu.Unlock()
	}
	return out
}

// waitFor polls cond (a cross-process condition with no event source) every 100 ms.
func (c *procCluster) waitFor(what string, timeout time.Duration, cond func(context.Context) bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok := cond(ctx)
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-t.C
	}
}

// leader returns the live node every live node agrees leads.
func (c *procCluster) leader() *procNode {
	c.t.Helper()
	var l *procNode
	c.waitFor("a leader", 30*time.Second, func(ctx context.Context) bool {
		for _, nd := range c.live() {
			st, err := c.client(nd).Status(ctx)
			if err == nil && st.RaftState == "Leader" {
				l = nd
				return true
			}
		}
		return false
	})
	return l
}

func (c *procCluster) propose(ctx context.Context, cmd Command) (Result, error) {
	var lastErr error
	for _, nd := range c.live() {
		r, err := c.client(nd).Propose(ctx, cmd)
		if err == nil {
			return r, nil
		}
		lastErr = err
	}
	return Result{}, lastErr
}

func readMarkerLog(t *testing.T, path string) []MarkerRecord {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	var out []MarkerRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r MarkerRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

func TestProcessThreeNodesFormElectAndSurviveLeaderKill(t *testing.T) {
	c := newProcCluster(t, 3, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	markerLog := filepath.Join(t.TempDir(), "marker.log")
	l := c.leader()
	// One group per node, each preferring its node, so the leader surely owns one.
	c.markerGroupPerNode(ctx, markerLog)
	if _, err := c.propose(ctx, Command{Op: OpSetProp, Key: "config", Value: "kept"}); err != nil {
		t.Fatal(err)
	}
	allOnline := func(ctx context.Context, on *procNode) bool {
		s, err := c.client(on).State(ctx)
		if err != nil {
			return false
		}
		for _, g := range s.Groups {
			if g.State != GroupOnline {
				return false
			}
		}
		return len(s.Groups) == 3
	}
	c.waitFor("groups online", 20*time.Second, func(ctx context.Context) bool { return allOnline(ctx, l) })

	// Concurrent linearizable clients run across the leader kill.
	hist := startRegisterClients(c, 3)
	time.Sleep(time.Second) // let the clients build some history before the kill (not synchronisation)
	killedAt := time.Now()
	c.kill(l)
	l2 := c.leader()
	if l2 == l {
		t.Fatal("killed node still leader")
	}
	c.waitFor("old leader's group online elsewhere", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(l2).State(ctx)
		if err != nil {
			return false
		}
		g := s.Groups["g-"+l.id]
		return g.Owner != l.id && g.State == GroupOnline && s.Nodes[l.id].State == NodeDown
	})
	t.Logf("leader %s SIGKILLed; new leader %s; its group online elsewhere after %v", l.id, l2.id, time.Since(killedAt))
	r, err := c.client(l2).Propose(ctx, Command{Op: OpReadProp, Key: "config"})
	if err != nil || r.Value != "kept" {
		t.Fatalf("config after leader kill: %q %v", r.Value, err)
	}
	ops := hist.stop()
	checkLinearizable(t, ops)
	// SIGKILL took the killed node's resources down with the process; record that, since the
	// dead process could not.
	recs := readMarkerLog(t, markerLog)
	for _, r := range recs {
		if r.Node == l.id && r.Online {
			recs = append(recs, MarkerRecord{Node: l.id, Resource: r.Resource, Epoch: r.Epoch, At: killedAt})
		}
	}
	if err := CheckMarkerOverlap(recs); err != nil {
		t.Fatal(err)
	}
	// Validation names the dead node as unreachable and passes the rest.
	rep, err := Validate(ctx, c.admin, l2.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, ch := range rep.Checks {
		if !ch.OK && !ch.Warning { // node names do not resolve here: warnings
			failed = append(failed, ch.Check)
		}
	}
	if len(failed) == 0 || !slices.ContainsFunc(failed, func(s string) bool { return s == "reach "+l.id }) {
		t.Fatalf("validate with %s dead: failed checks %v", l.id, failed)
	}
	for _, f := range failed {
		if !strings.Contains(f, l.id) {
			t.Fatalf("validate failed a check not involving the dead node: %v", rep.Checks)
		}
	}
	// The killed node restarts from its data dir and rejoins.
	c.start(l)
	c.waitFor("restarted node back up", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(l2).State(ctx)
		return err == nil && s.Nodes[l.id].State == NodeUp
	})
}

// markerGroupPerNode creates group g-N with marker resource r-N (logging to markerLog) for
// every node N, each preferring its node.
func (c *procCluster) markerGroupPerNode(ctx context.Context, markerLog string) {
	c.t.Helper()
	for _, nd := range c.nodes {
		pol := DefaultPolicy()
		pol.PreferredOwners = []string{nd.id}
		g := "g-" + nd.id
		if _, err := c.propose(ctx, Command{Op: OpPutGroup, Group: &Group{Name: g, Policy: pol}}); err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.propose(ctx, Command{Op: OpPutResource, Resource: &Resource{Name: "r-" + nd.id, Group: g, Type: MarkerTypeName, Props: map[string]string{"log": markerLog}}}); err != nil {
			c.t.Fatal(err)
		}
	}
}
