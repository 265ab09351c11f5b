package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netLab is a private network the test builds from network namespaces: one namespace per
// node, each with a veth whose peer sits on a bridge in a separate bridge namespace. The
// addresses (10.77.0.0/24) exist only inside these namespaces. Partitions are nftables drop
// rules inside the node namespaces. Everything is deleted in t.Cleanup, even on failure.
type netLab struct {
	t      testing.TB
	prefix string // namespace name prefix, unique per test process
	bridge string
	nodes  []labNode
}

type labNode struct{ id, ns, ip string }

const (
	labSubnet = "10.77.0."
	// labDeadDNS is an address in the lab subnet that nothing holds: every namespace's
	// resolv.conf points at it, so no DNS server is reachable.
	labDeadDNS = labSubnet + "254"
)

func needNetLab(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("network namespace tests need root (make test runs as root)")
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s missing: run scripts/install-deps.sh: %v", bin, err)
		}
	}
}

func newNetLab(t testing.TB) *netLab {
	t.Helper()
	needNetLab(t)
	l := &netLab{t: t, prefix: fmt.Sprintf("sofs%d", os.Getpid())}
	l.bridge = l.prefix + "br"
	t.Cleanup(l.destroy)
	l.run("ip", "netns", "add", l.bridge)
	l.run("ip", "-n", l.bridge, "link", "add", "br0", "type", "bridge")
	l.run("ip", "-n", l.bridge, "link", "set", "br0", "up")
	return l
}

func (l *netLab) run(args ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// runIn runs a command inside node namespace ns with stdin.
func (l *netLab) runIn(ns, stdin string, args ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("in %s: %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
}

// add makes node id's namespace, wired to the bridge, and returns it with the node's
// cluster address.
func (l *netLab) add(id string) (ns, addr string) {
	l.t.Helper()
	i := len(l.nodes) + 1
	ns = fmt.Sprintf("%s%s", l.prefix, id)
	ip := fmt.Sprintf("%s%d", labSubnet, i)
	l.nodes = append(l.nodes, labNode{id: id, ns: ns, ip: ip})
	// `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf.
	etc := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver "+labDeadDNS+"\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		l.t.Fatal(err)
	}
	veth := fmt.Sprintf("v%d", i)
	l.run("ip", "netns", "add", ns)
	l.run("ip", "-n", l.bridge, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
	l.run("ip", "-n", l.bridge, "link", "set", veth, "master", "br0", "up")
	l.run("ip", "-n", ns, "link", "set", "lo", "up")
	l.run("ip", "-n", ns, "addr", "add", ip+"/24", "dev", "eth0")
	l.run("ip", "-n", ns, "link", "set", "eth0", "up")
	return ns, fmt.Sprintf("%s:%d", ip, DefaultPort)
}

func (l *netLab) node(id string) labNode {
	for _, n := range l.nodes {
		if n.id == id {
			return n
		}
	}
	l.t.Fatalf("no lab node %s", id)
	return labNode{}
}

// partition cuts the nodes in side from every other node: each node drops packets to and
// from the addresses across the cut, in both directions, TCP and UDP alike.
func (l *netLab) partition(side ...string) {
	l.t.Helper()
	in := map[string]bool{}
	for _, id := range side {
		in[id] = true
	}
	for _, n := range l.nodes {
		var far []string
		for _, o := range l.nodes {
			if in[o.id] != in[n.id] {
				far = append(far, o.ip)
			}
		}
		set := strings.Join(far, ", ")
		rules := fmt.Sprintf(`table inet sofs_partition {
	chain in { type filter hook input priority 0; policy accept; ip saddr { %s } drop; }
	chain out { type filter hook output priority 0; policy accept; ip daddr { %s } drop; }
}
`, set, set)
		l.runIn(n.ns, rules, "nft", "-f", "-")
	}
}

// setHosts gives every namespace this hosts file (from the next process started in it).
func (l *netLab) setHosts(hosts string) {
	l.t.Helper()
	for _, n := range l.nodes {
		if err := os.WriteFile(filepath.Join("/etc/netns", n.ns, "hosts"), []byte(hosts), 0o644); err != nil {
			l.t.Fatal(err)
		}
	}
}

// dialer dials each lab address from inside the namespace holding it.
func (l *netLab) dialer() rawDialer {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		for _, n := range l.nodes {
			if n.ip == host {
				return dialInNetns(n.ns)(ctx, network, addr)
			}
		}
		return nil, fmt.Errorf("dial %s: not a lab address", addr)
	}
}

// heal removes every partition rule.
func (l *netLab) heal() {
	l.t.Helper()
	for _, n := range l.nodes {
		l.runIn(n.ns, "", "nft", "delete", "table", "inet", "sofs_partition")
	}
}

// destroy deletes the namespaces (which deletes their veths and rules) and the resolv.conf
// overrides. Node processes must be gone first: t.Cleanup runs the cluster's kill before this.
func (l *netLab) destroy() {
	for _, n := range l.nodes {
		exec.Command("ip", "netns", "delete", n.ns).Run()
		os.RemoveAll(filepath.Join("/etc/netns", n.ns))
	}
	exec.Command("ip", "netns", "delete", l.bridge).Run()
}

// dialInNetns returns a dialer whose sockets live in network namespace ns: the dialling
// goroutine's OS thread enters ns just for the socket() call (a socket stays in the
// namespace it was created in), then returns to the test's own namespace.
func dialInNetns(ns string) rawDialer {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		runtime.LockOSThread()
		home, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("open own netns: %w", err)
		}
		defer unix.Close(home)
		target, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("open netns %s: %w", ns, err)
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("enter netns %s: %w", ns, err)
		}
		c, dialErr := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err := unix.Setns(home, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: Go discards it when this goroutine ends, so no other
			// goroutine ever runs in the wrong namespace.
			if c != nil {
				c.Close()
			}
			return nil, fmt.Errorf("leave netns %s: %w", ns, err)
		}
		runtime.UnlockOSThread()
		return c, dialErr
	}
}

// markerHolders reports, from marker records, the nodes holding resource online at the end.
func markerHolders(recs []MarkerRecord, resource string) map[string]MarkerRecord {
	on := map[string]MarkerRecord{}
	sortRecords(recs)
	for _, r := range recs {
		if r.Resource != resource {
			continue
		}
		if r.Online {
			on[r.Node] = r
		} else {
			delete(on, r.Node)
		}
	}
	return on
}

// TestNetnsPartitionMinorityOfflineMajorityOnline: three real node processes in their own
// network namespaces; nftables cuts the leader off (2|1). The cut-off node takes its
// resources offline within its lease, the majority brings them online only after that (no
// overlap, fencing epochs only grow), and healing the partition rejoins the node.
func TestNetnsPartitionMinorityOfflineMajorityOnline(t *testing.T) {
	lab := newNetLab(t)
	c := newProcClusterOn(t, 3, false, "default", lab)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	markerLog := filepath.Join(t.TempDir(), "marker.log")
	c.markerGroupPerNode(ctx, markerLog)
	c.waitFor("every group online on its preferred node", 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(c.nodes[0]).State(ctx)
		if err != nil || len(s.Groups) != 3 {
			return false
		}
		for _, nd := range c.nodes {
			if g := s.Groups["g-"+nd.id]; g.Owner != nd.id || g.State != GroupOnline {
				return false
			}
		}
		return true
	})
	// Cut the leader off: the harder side, since it must notice it lost its followers.
	lost := c.leader()
	var majority []*procNode
	for _, nd := range c.nodes {
		if nd != lost {
			majority = append(majority, nd)
		}
	}
	res := "r-" + lost.id
	prof, _ := ProfileByName("default")
	cut := time.Now()
	lab.partition(lost.id)

	c.waitFor("majority runs "+res, 60*time.Second, func(ctx context.Context) bool {
		s, err := c.client(majority[0]).State(ctx)
		if err != nil {
			return false
		}
		g := s.Groups["g-"+lost.id]
		return g.Owner != lost.id && g.State == GroupOnline && s.Nodes[lost.id].State == NodeDown
	})
	recs := readMarkerLog(t, markerLog)
	if err := CheckMarkerOverlap(recs); err != nil {
		t.Fatalf("during the partition: %v", err)
	}
	var offAt, onAt time.Time
	for _, r := range recs {
		if r.Resource == res && r.At.After(cut) {
			if !r.Online && r.Node == lost.id && offAt.IsZero() {
				offAt = r.At
			}
			if r.Online && r.Node != lost.id && onAt.IsZero() {
				onAt = r.At
			}
		}
	}
	if offAt.IsZero() {
		t.Fatalf("cut-off %s never took %s offline: %+v", lost.id, res, recs)
	}
	// Allowed: the lease after the last quorum contact, plus one raft heartbeat interval for
	// when that contact came before the cut, plus the agent's offline call.
	if d := offAt.Sub(cut); d > prof.Lease+FastTiming.Heartbeat+500*time.Millisecond {
		t.Fatalf("%s took %s offline %v after the cut; lease is %v", lost.id, res, d, prof.Lease)
	}
	if !onAt.After(offAt) {
		t.Fatalf("majority brought %s online at %v, before the minority's offline at %v", res, onAt, offAt)
	}
	// The cut-off node holds no lease and runs nothing; a majority write still commits.
	c.waitFor(lost.id+" reports the lease lost", 10*time.Second, func(ctx context.Context) bool {
		st, err := c.client(lost).Status(ctx)
		return err == nil && !st.LeaseHeld
	})
	if holders := markerHolders(recs, "r-"+lost.id); len(holders) != 1 {
		t.Fatalf("%s holders during partition: %v", res, holders)
	}
	if _, err := c.client(majority[0]).Propose(ctx, Command{Op: OpSetProp, Key: "written-during-partition", Value: "yes"}); err != nil {
		t.Fatalf("majority cannot write during the partition: %v", err)
	}
	t.Logf("partition: %s offline %v after the cut, online on the majority %v after the cut", lost.id, offAt.Sub(cut), onAt.Sub(cut))

	lab.heal()
	healed := time.Now()
	c.waitFor(lost.id+" rejoined: up, caught up and holding its lease", 60*time.Second, func(ctx context.Context) bool {
		s, err := c.client(majority[0]).State(ctx)
		if err != nil || s.Nodes[lost.id].State != NodeUp {
			return false
		}
		st, err := c.client(lost).Status(ctx)
		if err != nil || !st.LeaseHeld {
			return false
		}
		local, err := c.client(lost).State(ctx)
		return err == nil && local.Props["written-during-partition"] == "yes"
	})
	t.Logf("healed: %s rejoined %v after the partition healed", lost.id, time.Since(healed))
	// The healed node can host groups again: move its group back.
	if _, err := c.client(majority[0]).Propose(ctx, Command{Op: OpMoveGroup, Name: "g-" + lost.id, Target: lost.id}); err != nil {
		t.Fatal(err)
	}
	c.waitFor("g-"+lost.id+" back on "+lost.id, 30*time.Second, func(ctx context.Context) bool {
		s, err := c.client(majority[0]).State(ctx)
		return err == nil && s.Groups["g-"+lost.id].Owner == lost.id && s.Groups["g-"+lost.id].State == GroupOnline
	})
	if err := CheckMarkerOverlap(readMarkerLog(t, markerLog)); err != nil {
		t.Fatalf("after healing: %v", err)
	}
}

// TestNetnsColdStartWithoutDNS: a three-node cluster whose namespaces reach no DNS server
// (resolv.conf names an address nobody holds) forms, then all three nodes stop and start
// again together with no peer list: the config DB holds every node address as an IP, and
// the cluster comes back and brings its groups online. Then `cluster validate` reports name
// resolution as each node sees it (hosts files naming n1, n2 and the access point, not n3)
// and the shared-disk probe, which n3 answers differently.
func TestNetnsColdStartWithoutDNS(t *testing.T) {
	lab := newNetLab(t)
	c := newProcClusterOn(t, 3, false, "fast", lab)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// No name resolves inside the namespaces.
	probe := exec.CommandContext(ctx, "ip", "netns", "exec", c.nodes[0].ns, "getent", "ahosts", "deb.debian.org")
	if out, err := probe.CombinedOutput(); err == nil {
		t.Fatalf("DNS resolves inside the lab namespace: %s", out)
	}
	markerLog := filepath.Join(t.TempDir(), "marker.log")
	for _, nd := range c.nodes {
		g := "g-" + nd.id
		if _, err := c.propose(ctx, Command{Op: OpPutGroup, Group: &Group{Name: g, Policy: DefaultPolicy()}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.propose(ctx, Command{Op: OpPutResource, Resource: &Resource{Name: "r-" + nd.id, Group: g, Type: MarkerTypeName, Props: map[string]string{"log": markerLog}}}); err != nil {
			t.Fatal(err)
		}
	}
	allOnline := func(ctx context.Context) bool {
		s, err := c.client(c.nodes[0]).State(ctx)
		if err != nil || len(s.Groups) != 3 {
			return false
		}
		for _, g := range s.Groups {
			if g.State != GroupOnline {
				return false
			}
		}
		return true
	}
	c.waitFor("groups online", 30*time.Second, allOnline)
	for _, nd := range c.nodes {
		c.kill(nd)
	}
	// SIGKILL took the resources down with the processes; record that, since the dead
	// processes could not.
	killedAt := time.Now()
	recs := readMarkerLog(t, markerLog)
	inFile := len(recs)
	for _, r := range recs[:inFile] {
		if r.Online {
			recs = append(recs, MarkerRecord{Node: r.Node, Resource: r.Resource, Epoch: r.Epoch, At: killedAt})
		}
	}
	// Cold start: no node is told any peer; raft's configuration and the config DB name
	// them by address.
	lab.setHosts(fmt.Sprintf("%s n1\n%s n2\n%s sofs-ap\n", lab.node("n1").ip, lab.node("n2").ip, lab.node("n1").ip))
	for _, nd := range c.nodes {
		disks := "disk-a,disk-b"
		if nd.id == "n3" {
			disks = "disk-a"
		}
		nd.env = append(nd.env, "SOFS_NODE_DISKS="+disks)
		c.startWith(nd, nil)
	}
	start := time.Now()
	// The restarted nodes replay a config DB saying every group was online; only the marker
	// log shows which resources really came online again.
	c.waitFor("cold-started cluster elects and brings every resource online again", 60*time.Second, func(ctx context.Context) bool {
		again := map[string]bool{}
		for _, r := range readMarkerLog(t, markerLog)[inFile:] {
			again[r.Resource] = r.Online
		}
		return len(again) == 3 && again["r-n1"] && again["r-n2"] && again["r-n3"] && allOnline(ctx)
	})
	t.Logf("cold start without DNS: every resource online again %v after the nodes started", time.Since(start))
	recs = append(recs, readMarkerLog(t, markerLog)[inFile:]...)
	if err := CheckMarkerOverlap(recs); err != nil {
		t.Fatal(err)
	}

	// validate reads the config DB of the node it asks (n1): wait until n1 has applied the
	// access point.
	setAccessPoint := func(ap string) {
		if _, err := c.propose(ctx, Command{Op: OpSetClusterOptions, Cluster: &ClusterInfo{AccessPoint: ap}}); err != nil {
			t.Fatal(err)
		}
		c.waitFor("n1 knows access point "+ap, 10*time.Second, func(ctx context.Context) bool {
			s, err := c.client(c.nodes[0]).State(ctx)
			return err == nil && s.Cluster.AccessPoint == ap
		})
	}
	validate := func() (*ValidationReport, map[string]ValidationCheck) {
		rep, err := validateVia(ctx, c.admin, c.nodes[0].addr, 2*time.Second, lab.dialer())
		if err != nil {
			t.Fatal(err)
		}
		checks := map[string]ValidationCheck{}
		for _, ch := range rep.Checks {
			checks[ch.Check] = ch
		}
		return rep, checks
	}
	setAccessPoint("sofs-ap")
	rep, checks := validate()
	for _, from := range []string{"n1", "n2", "n3"} {
		for _, to := range []string{"n1", "n2"} {
			if ch := checks["resolve node "+to+" on "+from]; !ch.OK || !strings.Contains(ch.Detail, lab.node(to).ip) {
				t.Errorf("%s resolving %s: %+v", from, to, ch)
			}
		}
		if ch := checks["resolve node n3 on "+from]; ch.OK || !ch.Warning || !strings.Contains(ch.Detail, "node name n3 does not resolve") {
			t.Errorf("%s resolving n3 (in no hosts file, no DNS): %+v", from, ch)
		}
		if ch := checks["resolve access point sofs-ap on "+from]; !ch.OK || !strings.Contains(ch.Detail, lab.node("n1").ip) {
			t.Errorf("%s resolving the access point: %+v", from, ch)
		}
		if ch := checks["shared disks on "+from]; !ch.OK {
			t.Errorf("shared disks probe on %s: %+v", from, ch)
		}
	}
	same := checks["shared disks same on every node"]
	if same.OK || !strings.Contains(same.Detail, `n1,n2: "disk-a,disk-b"`) || !strings.Contains(same.Detail, `n3: "disk-a"`) {
		t.Errorf("shared disks comparison: %+v", same)
	}
	if rep.Failed != 1 || rep.Warnings != 3 {
		t.Errorf("validate: %d failed (want 1: the disk mismatch), %d warnings (want 3: n3's name)", rep.Failed, rep.Warnings)
	}
	if t.Failed() {
		for _, ch := range rep.Checks {
			t.Logf("%+v", ch)
		}
	}
	// An access point nobody resolves is a failure, not a warning.
	setAccessPoint("sofs-nowhere")
	_, checks = validate()
	if ch, ok := checks["resolve access point sofs-nowhere on n2"]; !ok || ch.OK || ch.Warning || !strings.Contains(ch.Detail, "clients cannot find the cluster") {
		t.Errorf("unresolvable access point: %+v", ch)
	}
}
