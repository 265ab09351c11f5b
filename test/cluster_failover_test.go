package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Cluster process tests: real `sofsd node` processes on loopback addresses of their own, each
// with its SMB server, hosting vdisk/volume and share resources made with the real sofsctl, and
// Samba's smbclient as the client.

// clusterSMBPort is the SMB port of every test node; each node has its own loopback address.
const clusterSMBPort = "4455"

// clusterLoopbackBase picks a 127.x.y.0/24 for this run: 127.200-249.*, away from the cluster
// package's 127.100-199.* so both can run at once.
func clusterLoopbackBase() string {
	p := os.Getpid()
	return fmt.Sprintf("127.%d.%d.", 200+p%50, (p/50)%250+1)
}

type clusterNode struct {
	id, host, dir, logPath string
	cmd                    *exec.Cmd
	exited                 chan struct{} // closed when the process has exited
}

type testCluster struct {
	t     *testing.T
	root  string
	base  string
	users string
	nodes []*clusterNode
}

// sofsctlAt runs sofsctl against the cluster through node nd's address.
func (c *testCluster) sofsctlAt(nd *clusterNode, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "sofsctl"), args...)
	cmd.Env = append(os.Environ(), "SOFS_CREDS="+c.nodes[0].dir, "SOFS_NODE="+nd.host+":3343")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *testCluster) mustSofsctl(nd *clusterNode, args ...string) string {
	c.t.Helper()
	out, err := c.sofsctlAt(nd, args...)
	if err != nil {
		c.t.Fatalf("sofsctl %v: %v\n%s", args, err, out)
	}
	return out
}

func (c *testCluster) start(nd *clusterNode, extra ...string) {
	c.t.Helper()
	logf, err := os.OpenFile(nd.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	args := append([]string{"node", "--data", nd.dir, "--profile", "fast", "--smb-listen", nd.host + ":" + clusterSMBPort,
		"--users", c.users, "--smb-name", strings.ToUpper(nd.id)}, extra...)
	for _, o := range c.nodes {
		if o != nd {
			args = append(args, "--peer", o.host+":3343")
		}
	}
	nd.cmd = exec.Command(filepath.Join(binDir, "sofsd"), args...)
	nd.cmd.Stdout, nd.cmd.Stderr = logf, logf
	// A node outlives no test binary, even one killed by the test timeout.
	nd.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := nd.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	nd.exited = make(chan struct{})
	go func() { nd.cmd.Wait(); logf.Close(); close(nd.exited) }()
}

func (nd *clusterNode) running() bool {
	if nd.cmd == nil {
		return false
	}
	select {
	case <-nd.exited:
		return false
	default:
		return true
	}
}

func (c *testCluster) kill(nd *clusterNode) {
	if nd.running() {
		nd.cmd.Process.Kill()
		<-nd.exited
	}
}

// stop sends SIGTERM (resources go offline cleanly) and waits, killing after 30 s.
func (c *testCluster) stop(nd *clusterNode) {
	if !nd.running() {
		return
	}
	nd.cmd.Process.Signal(os.Interrupt)
	select {
	case <-nd.exited:
	case <-time.After(30 * time.Second):
		c.t.Errorf("node %s ignored SIGINT for 30 s", nd.id)
		c.kill(nd)
	}
}

// waitFor polls cond every 200 ms until it holds or timeout passes.
func (c *testCluster) waitFor(what string, timeout time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not synchronisation
	}
}

type groupView struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
	State string `json:"state"`
	Epoch uint64 `json:"epoch"`
}

// groups reads the groups through any live node.
func (c *testCluster) groups() map[string]groupView {
	for _, nd := range c.nodes {
		if !nd.running() {
			continue
		}
		out, err := c.sofsctlAt(nd, "group", "list", "-o", "json")
		if err != nil {
			continue
		}
		var gs []groupView
		if json.Unmarshal([]byte(out), &gs) != nil {
			continue
		}
		m := map[string]groupView{}
		for _, g := range gs {
			m[g.Name] = g
		}
		return m
	}
	return nil
}

func (c *testCluster) node(id string) *clusterNode {
	for _, nd := range c.nodes {
		if nd.id == id {
			return nd
		}
	}
	c.t.Fatalf("no node %q", id)
	return nil
}

// waitOnline waits until group is Online on a running node other than not, and returns it.
func (c *testCluster) waitOnline(group string, not string, timeout time.Duration) (*clusterNode, groupView) {
	c.t.Helper()
	var g groupView
	c.waitFor(fmt.Sprintf("group %s online on a node other than %q", group, not), timeout, func() bool {
		g = c.groups()[group]
		return g.State == "Online" && g.Owner != "" && g.Owner != not && c.node(g.Owner).running()
	})
	return c.node(g.Owner), g
}

// newTestCluster creates a cluster of n nodes and waits until every node is Up.
func newTestCluster(t *testing.T, n int) *testCluster {
	c := &testCluster{t: t, root: t.TempDir(), base: clusterLoopbackBase()}
	c.users = makeUsers(t, c.root)
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		c.nodes = append(c.nodes, &clusterNode{id: id, host: fmt.Sprintf("%s%d", c.base, i+11), dir: filepath.Join(c.root, id), logPath: filepath.Join(c.root, id+".log")})
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("groups: %+v", c.groups())
			for _, nd := range c.nodes {
				b, _ := os.ReadFile(nd.logPath)
				t.Logf("---- %s log (last 60 lines) ----\n%s", nd.id, tail(string(b), 60))
			}
		}
		for _, nd := range c.nodes {
			c.stop(nd)
		}
	})
	first := c.nodes[0]
	if out, err := exec.Command(filepath.Join(binDir, "sofsctl"), "cluster", "create", "--data", first.dir, "--name", "sofstest", "--id", first.id, "--addr", first.host).CombinedOutput(); err != nil {
		t.Fatalf("sofsctl cluster create: %v\n%s", err, out)
	}
	c.start(first)
	for _, nd := range c.nodes[1:] {
		var token string
		c.waitFor("a join token from the bootstrapped cluster", 30*time.Second, func() bool {
			out, err := c.sofsctlAt(first, "cluster", "token")
			token = strings.TrimSpace(out)
			return err == nil
		})
		c.start(nd, "--id", nd.id, "--listen", nd.host, "--via", first.host+":3343", "--token", token)
	}
	// Every node Up and a voter: a node killed before the others have votes takes quorum with it.
	c.waitFor("every node Up and voting", 60*time.Second, func() bool {
		out, err := c.sofsctlAt(first, "cluster", "status", "-o", "json")
		if err != nil {
			return false
		}
		var st struct {
			State struct {
				Nodes map[string]struct{ State string }
			}
			Status struct{ Voters []string }
		}
		if json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		up := 0
		for _, nd := range st.State.Nodes {
			if nd.State == "Up" {
				up++
			}
		}
		return up == n && len(st.Status.Voters) == n
	})
	return c
}

// addVolumeShare formats a mirrored pool of two sparse files with one volume, and creates its
// group (preferring owner) with a vdisk/volume and a share resource.
func (c *testCluster) addVolumeShare(vol, share, preferred string) {
	c.t.Helper()
	disks := []string{filepath.Join(c.root, vol+"-a.img"), filepath.Join(c.root, vol+"-b.img")}
	first := c.nodes[0]
	c.mustSofsctl(first, "volume", "create", "--disk", disks[0], "--disk", disks[1], "--disk-size", "256M", "--name", vol, "--size", "128M")
	g := "g-" + vol
	c.mustSofsctl(first, "group", "create", g, "--preferred", preferred)
	c.mustSofsctl(first, "resource", "create", vol, "--group", g, "--type", "vdisk/volume",
		"--prop", "disks="+strings.Join(disks, ","), "--prop", "vdisk="+vol)
	c.mustSofsctl(first, "resource", "create", share, "--group", g, "--type", "share", "--depends-on", vol,
		"--prop", "name="+share, "--prop", "volume="+vol)
}

// smbclientAt runs smbclient against share on node nd.
func smbclientAt(t *testing.T, nd *clusterNode, share, commands string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "smbclient", "//"+nd.host+"/"+share, "-p", clusterSMBPort, "-U", testUser+"%"+testPass,
		"-m", "SMB3", "-c", commands).CombinedOutput()
	return string(out), err
}

func mustSmbclientAt(t *testing.T, nd *clusterNode, share, commands string) string {
	t.Helper()
	out, err := smbclientAt(t, nd, share, commands)
	if err != nil || strings.Contains(out, "NT_STATUS_") {
		t.Fatalf("smbclient //%s/%s -c %q: %v\n%s", nd.host, share, commands, err, out)
	}
	return out
}

// getAndCompare fetches name from share on nd and compares it byte for byte with want.
func getAndCompare(t *testing.T, nd *clusterNode, share, name string, want []byte) {
	t.Helper()
	local := filepath.Join(t.TempDir(), "got")
	mustSmbclientAt(t, nd, share, fmt.Sprintf("get %s %s", name, local))
	got, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s from //%s/%s: %d bytes differ from the %d written", name, nd.host, share, len(got), len(want))
	}
}

// accessPointAddrs asks the built-in responder at addr for name's A records.
func accessPointAddrs(addr, name string) []string {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	in, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		return nil
	}
	var out []string
	for _, rr := range in.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return out
}

// waitAccessPoint waits until the access point resolves to exactly the hosts of nodes.
func (c *testCluster) waitAccessPoint(dnsAddr, name string, nodes ...*clusterNode) {
	c.t.Helper()
	var want []string
	for _, nd := range nodes {
		want = append(want, nd.host)
	}
	slices.Sort(want)
	c.waitFor(fmt.Sprintf("%s to resolve to %v at %s", name, want, dnsAddr), 60*time.Second, func() bool {
		return slices.Equal(accessPointAddrs(dnsAddr, name), want)
	})
}

// TestClusterShareFailover: three nodes, two volume+share groups. smbclient writes a file through
// the owner of share1; SIGKILL that owner; the group comes online on another node (the new owner
// opens the pool and the volume with a higher epoch) and smbclient reads the file back byte for
// byte there. Then a drain of the new owner moves the share again with its data intact, and the
// other group's share keeps serving throughout.
func TestClusterShareFailover(t *testing.T) {
	c := newTestCluster(t, 3)
	c.addVolumeShare("vol1", "share1", "n1")
	c.addVolumeShare("vol2", "share2", "n2")
	dnsAddr, accessPoint := c.base+"10:53", "fs.sofs.test."
	c.mustSofsctl(c.nodes[0], "group", "create", "g-name", "--preferred", "n1")
	c.mustSofsctl(c.nodes[0], "resource", "create", "name", "--group", "g-name", "--type", "netname",
		"--prop", "zone=sofs.test.", "--prop", "name="+accessPoint, "--prop", "listen="+dnsAddr)
	c.waitOnline("g-name", "", 60*time.Second)
	c.waitAccessPoint(dnsAddr, accessPoint, c.nodes...)
	owner1, g1 := c.waitOnline("g-vol1", "", 60*time.Second)
	owner2, _ := c.waitOnline("g-vol2", "", 60*time.Second)

	// Only the owner serves a share; the other nodes refuse the tree connect.
	for _, nd := range c.nodes {
		if nd == owner1 {
			continue
		}
		out, _ := smbclientAt(t, nd, "share1", "ls")
		if !strings.Contains(out, "NT_STATUS_BAD_NETWORK_NAME") {
			t.Fatalf("tree connect to share1 on non-owner %s: want NT_STATUS_BAD_NETWORK_NAME, got\n%s", nd.id, out)
		}
	}

	data1 := make([]byte, 3<<20+12345)
	data2 := make([]byte, 1<<20+777)
	rand.Read(data1)
	rand.Read(data2)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "one.bin"), data1, 0o644)
	os.WriteFile(filepath.Join(src, "two.bin"), data2, 0o644)
	mustSmbclientAt(t, owner1, "share1", "mkdir dir; put "+filepath.Join(src, "one.bin")+` dir\one.bin`)
	mustSmbclientAt(t, owner2, "share2", "put "+filepath.Join(src, "two.bin")+" two.bin")

	// SIGKILL the owner of share1: no clean unmount, the dirty-region log and journal replay.
	start := time.Now()
	c.kill(owner1)
	newOwner, g1b := c.waitOnline("g-vol1", owner1.id, 90*time.Second)
	t.Logf("g-vol1 failed over from %s (epoch %d) to %s (epoch %d) in %s", owner1.id, g1.Epoch, newOwner.id, g1b.Epoch, time.Since(start).Round(100*time.Millisecond))
	if g1b.Epoch <= g1.Epoch {
		t.Fatalf("epoch after failover %d, before %d: want higher", g1b.Epoch, g1.Epoch)
	}
	getAndCompare(t, newOwner, "share1", `dir\one.bin`, data1)
	// The access point follows: the name group fails over too if it was on the killed node, and
	// the killed node's address leaves the answer.
	var alive []*clusterNode
	for _, nd := range c.nodes {
		if nd != owner1 {
			alive = append(alive, nd)
		}
	}
	c.waitOnline("g-name", owner1.id, 90*time.Second)
	c.waitAccessPoint(dnsAddr, accessPoint, alive...)

	// Drain the new owner: share1 moves to the last node with its data.
	if owner2 == owner1 {
		owner2, _ = c.waitOnline("g-vol2", owner1.id, 90*time.Second)
	}
	// An open held across the drain is closed by the share going offline.
	_, held := dialGoSMB2(t, &sofsd{Addr: newOwner.host + ":" + clusterSMBPort, Share: "share1"}, 0, false)
	hf, err := held.Open(`dir\one.bin`)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := hf.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, data1[:4096]) {
		t.Fatalf("read through the held open before the drain: %v", err)
	}
	c.mustSofsctl(owner2, "node", "pause", newOwner.id, "--drain")
	drained, g1c := c.waitOnline("g-vol1", newOwner.id, 90*time.Second)
	if drained == owner1 {
		t.Fatalf("g-vol1 drained to the killed node %s", owner1.id)
	}
	if g1c.Epoch <= g1b.Epoch {
		t.Fatalf("epoch after drain %d, before %d: want higher", g1c.Epoch, g1b.Epoch)
	}
	getAndCompare(t, drained, "share1", `dir\one.bin`, data1)
	if _, err := hf.ReadAt(buf, 0); err == nil {
		t.Fatalf("read through an open on %s after its share went offline: want an error", newOwner.id)
	} else {
		t.Logf("held open after the drain: %v", err)
	}
	out, _ := smbclientAt(t, newOwner, "share1", "ls")
	if !strings.Contains(out, "NT_STATUS_BAD_NETWORK_NAME") {
		t.Fatalf("share1 on drained node %s: want NT_STATUS_BAD_NETWORK_NAME, got\n%s", newOwner.id, out)
	}
	owner2now, _ := c.waitOnline("g-vol2", "", 90*time.Second)
	getAndCompare(t, owner2now, "share2", "two.bin", data2)
}
