package dnsreg

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// followDeadline is how fast DNS must follow a NIC or node change (issue 7).
const followDeadline = 2 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(discard{}, nil))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// addressesAt returns every A and AAAA at name, as named serves it.
func addressesAt(t *testing.T, server, name string) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		for _, rr := range lookup(t, server, name, qt) {
			switch a := rr.(type) {
			case *dns.A:
				out = append(out, netip.MustParseAddr(a.A.String()))
			case *dns.AAAA:
				out = append(out, netip.MustParseAddr(a.AAAA.String()))
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// waitForAddrs polls named until name holds exactly want (plus the foreign records
// listed), failing after followDeadline. It returns how long DNS took to follow.
func waitForAddrs(t *testing.T, server, name string, foreign, want []netip.Addr) time.Duration {
	t.Helper()
	all := sortedAddrs(append(slices.Clone(want), foreign...))
	start := time.Now()
	for {
		got := addressesAt(t, server, name)
		if slices.Equal(got, all) {
			return time.Since(start)
		}
		if time.Since(start) > followDeadline {
			t.Fatalf("%s: DNS did not follow within %v: have %v, want %v", name, followDeadline, got, all)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// testNode is one simulated cluster node: a namespace with NICs and an AddrWatcher
// that reports its client addresses into the shared node table, as a node reports
// them into cluster state.
type testNode struct {
	name string
	ns   *testNamespace
	stop context.CancelFunc
	done chan error
}

func (n *testNode) start(t *testing.T, table *NodeTable, networks []Network) {
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	n.done = make(chan error, 1)
	w := &AddrWatcher{Namespace: n.ns.handle, Networks: networks, Logger: testLogger(t)}
	go func() {
		n.done <- w.Run(ctx, func(a []netip.Addr) { table.SetAddrs(n.name, a) })
	}()
	table.SetUp(n.name, true)
}

func (n *testNode) halt(t *testing.T, table *NodeTable) {
	t.Helper()
	if n.stop == nil {
		return
	}
	n.stop()
	n.stop = nil
	if err := <-n.done; err != nil {
		t.Errorf("address watcher of %s: %v", n.name, err)
	}
	table.SetUp(n.name, false)
}

func TestRegistrationFollowsNICsAndNodesInBIND(t *testing.T) {
	requireRoot(t)
	named := startNamed(t)
	keys, err := LoadKeyFile(named.keyFile)
	if err != nil {
		t.Fatal(err)
	}

	networks := []Network{
		{Subnet: netip.MustParsePrefix("10.71.1.0/24"), Role: RoleClientAccess},
		{Subnet: netip.MustParsePrefix("10.71.2.0/24"), Role: RoleClientAccess},
		{Subnet: netip.MustParsePrefix("10.71.9.0/24"), Role: RoleClusterOnly},
		{Subnet: netip.MustParsePrefix("fd71::/64"), Role: RoleClientAccess},
	}
	nodes := []*testNode{
		{name: "node1", ns: newTestNamespace(t, "n1")},
		{name: "node2", ns: newTestNamespace(t, "n2")},
	}
	nodes[0].ns.addNIC(t, "nic0", "10.71.1.1/24")
	nodes[0].ns.addNIC(t, "nic1", "10.71.2.1/24", "10.71.9.1/24") // plus a cluster-only address
	nodes[1].ns.addNIC(t, "nic0", "10.71.1.2/24")
	nodes[1].ns.addNIC(t, "nic1", "10.71.2.2/24")

	table := NewNodeTable()
	for _, n := range nodes {
		n.start(t, table, networks)
		t.Cleanup(func() { n.halt(t, table) })
	}
	// Wait (bounded) for both watchers' first reports.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ns, changed := table.Nodes()
		if len(ns) == 2 && len(ns[0].Addrs) == 2 && len(ns[1].Addrs) == 2 {
			break
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("watchers did not report addresses: %+v", ns)
		}
	}

	updater, err := NewUpdater(UpdaterConfig{
		Server:  named.addr, // zone and primary are discovered from SOA / MNAME
		Key:     &keys[0],
		Owner:   "test-cluster",
		Timeout: time.Second,
		Logger:  testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	nn, err := NewNetworkName(NetworkNameConfig{
		AccessPoint: "fs1.sofs.test", Zone: testZone, Nodes: table, DNS: updater, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := nn.Online(ctx); err != nil {
		t.Fatalf("online: %v", err)
	}
	t.Cleanup(func() { nn.Offline(context.Background()) })

	if z, err := updater.ZoneOf(ctx, "fs1.sofs.test."); err != nil || z != testZone {
		t.Errorf("zone discovered as %q (%v), want %s", z, err, testZone)
	}
	if p, err := updater.PrimaryOf(ctx, testZone); err != nil || p != named.addr {
		t.Errorf("primary discovered as %q (%v), want %s", p, err, named.addr)
	}

	apForeign := addrs("192.0.2.99")
	n1Foreign := addrs("192.0.2.10")
	step := func(what string, accessPoint, node1, node2 []netip.Addr) {
		t.Helper()
		var slowest time.Duration
		slowest = max(slowest, waitForAddrs(t, named.addr, "fs1.sofs.test.", apForeign, accessPoint))
		slowest = max(slowest, waitForAddrs(t, named.addr, "node1.sofs.test.", n1Foreign, node1))
		slowest = max(slowest, waitForAddrs(t, named.addr, "node2.sofs.test.", nil, node2))
		checkForeignRecords(t, named.addr)
		t.Logf("%s: DNS followed in %v", what, slowest.Round(time.Millisecond))
	}

	// Online: the access point resolves to all four client addresses (not the cluster-only one).
	step("online", addrs("10.71.1.1", "10.71.2.1", "10.71.1.2", "10.71.2.2"),
		addrs("10.71.1.1", "10.71.2.1"), addrs("10.71.1.2", "10.71.2.2"))
	if err := nn.IsAlive(ctx); err != nil {
		t.Errorf("IsAlive after online: %v", err)
	}

	nodes[0].ns.ip(t, "addr", "add", "10.71.1.11/24", "dev", "nic0")
	step("address added", addrs("10.71.1.1", "10.71.1.11", "10.71.2.1", "10.71.1.2", "10.71.2.2"),
		addrs("10.71.1.1", "10.71.1.11", "10.71.2.1"), addrs("10.71.1.2", "10.71.2.2"))

	nodes[0].ns.ip(t, "addr", "add", "fd71::1/64", "dev", "nic0", "nodad")
	step("IPv6 address added", addrs("10.71.1.1", "10.71.1.11", "10.71.2.1", "fd71::1", "10.71.1.2", "10.71.2.2"),
		addrs("10.71.1.1", "10.71.1.11", "10.71.2.1", "fd71::1"), addrs("10.71.1.2", "10.71.2.2"))

	nodes[1].ns.ip(t, "addr", "del", "10.71.2.2/24", "dev", "nic1")
	step("address removed", addrs("10.71.1.1", "10.71.1.11", "10.71.2.1", "fd71::1", "10.71.1.2"),
		addrs("10.71.1.1", "10.71.1.11", "10.71.2.1", "fd71::1"), addrs("10.71.1.2"))

	nodes[0].ns.ip(t, "link", "set", "nic1", "down")
	step("link down", addrs("10.71.1.1", "10.71.1.11", "fd71::1", "10.71.1.2"),
		addrs("10.71.1.1", "10.71.1.11", "fd71::1"), addrs("10.71.1.2"))

	nodes[1].halt(t, table)
	step("node2 stopped", addrs("10.71.1.1", "10.71.1.11", "fd71::1"),
		addrs("10.71.1.1", "10.71.1.11", "fd71::1"), nil)

	nodes[1].start(t, table, networks)
	step("node2 back", addrs("10.71.1.1", "10.71.1.11", "fd71::1", "10.71.1.2"),
		addrs("10.71.1.1", "10.71.1.11", "fd71::1"), addrs("10.71.1.2"))

	nodes[0].ns.ip(t, "link", "set", "nic1", "up")
	step("link up", addrs("10.71.1.1", "10.71.1.11", "10.71.2.1", "fd71::1", "10.71.1.2"),
		addrs("10.71.1.1", "10.71.1.11", "10.71.2.1", "fd71::1"), addrs("10.71.1.2"))

	if err := nn.LooksAlive(ctx); err != nil {
		t.Errorf("LooksAlive: %v", err)
	}
	if err := nn.IsAlive(ctx); err != nil {
		t.Errorf("IsAlive: %v", err)
	}
	// An administrator removes one of our records behind our back: IsAlive notices.
	rm := new(dns.Msg)
	rm.SetUpdate(testZone)
	rm.Remove([]dns.RR{addrRR("fs1.sofs.test.", netip.MustParseAddr("10.71.1.2"), 0)})
	rm.SetTsig(named.key.Name, named.key.Algorithm, 300, time.Now().Unix())
	c := &dns.Client{TsigSecret: map[string]string{named.key.Name: named.key.Secret}}
	if r, _, err := c.Exchange(rm, named.addr); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("manual removal: %v %v", r, err)
	}
	if err := nn.IsAlive(ctx); err == nil || !strings.Contains(err.Error(), "missing [10.71.1.2]") {
		t.Errorf("IsAlive after a record vanished = %v, want it to name the missing 10.71.1.2", err)
	}
	checkForeignRecords(t, named.addr)
}

// TestRefusalsAreReported: a wrong TSIG secret, an unknown key, a zone the server does
// not serve and a silent server each give an error that names the refusal and the
// server, and a network name that cannot register says so in its state.
func TestRefusalsAreReported(t *testing.T) {
	named := startNamed(t)
	table := NewNodeTable(Node{Name: "node1", Up: true, Addrs: addrs("10.71.1.1")})
	desired := DesiredRecords("fs1.sofs.test", testZone, func() []Node { n, _ := table.Nodes(); return n }())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	cases := []struct {
		name string
		cfg  UpdaterConfig
		code []string
	}{
		{"wrong secret", UpdaterConfig{Server: named.addr, Zone: testZone, Primary: named.addr,
			Key: &TSIGKey{Name: named.key.Name, Algorithm: named.key.Algorithm, Secret: "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="}}, []string{"BADSIG"}},
		{"unknown key", UpdaterConfig{Server: named.addr, Zone: testZone, Primary: named.addr,
			Key: &TSIGKey{Name: "nobody.", Algorithm: dns.HmacSHA256, Secret: named.key.Secret}}, []string{"BADKEY"}},
		{"unsigned", UpdaterConfig{Server: named.addr, Zone: testZone, Primary: named.addr}, []string{"REFUSED"}},
		{"zone not served", UpdaterConfig{Server: named.addr, Zone: "other.test.", Primary: named.addr, Key: &named.key}, []string{"NOTAUTH", "REFUSED"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = testLogger(t)
			tc.cfg.Owner = "test-cluster"
			u, err := NewUpdater(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rs := desired
			if tc.cfg.Zone == "other.test." {
				rs = RecordSet{"fs1.other.test.": addrs("10.71.1.1")}
			}
			err = u.Sync(ctx, rs)
			var se *ServerError
			if !errors.As(err, &se) {
				t.Fatalf("Sync error = %v, want a ServerError", err)
			}
			if !slices.Contains(tc.code, se.Code()) {
				t.Errorf("code %s, want one of %v; error: %v", se.Code(), tc.code, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, se.Code()) || !strings.Contains(msg, named.addr) || !strings.Contains(msg, "server answered") {
				t.Errorf("error does not name the refusal, the server and its answer: %v", msg)
			}
			t.Logf("reported: %v", err)
		})
	}

	t.Run("network name state keeps the refusal", func(t *testing.T) {
		u, err := NewUpdater(UpdaterConfig{Server: named.addr, Zone: testZone, Primary: named.addr, Logger: testLogger(t),
			Key: &TSIGKey{Name: named.key.Name, Algorithm: named.key.Algorithm, Secret: "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="}})
		if err != nil {
			t.Fatal(err)
		}
		nn, err := NewNetworkName(NetworkNameConfig{AccessPoint: "fs1.sofs.test", Zone: testZone, Nodes: table, DNS: u, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		err = nn.Online(ctx)
		if err == nil || !strings.Contains(err.Error(), "BADSIG") || !strings.Contains(err.Error(), named.addr) {
			t.Fatalf("Online with a wrong key = %v, want BADSIG from %s", err, named.addr)
		}
		st := nn.State()
		if st.Online || st.LastError == nil || !strings.Contains(st.LastError.Error(), "BADSIG") || st.Failures != 1 {
			t.Errorf("state after refused online = %+v", st)
		}
	})

	t.Run("silent server times out", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() { // read and drop everything
			buf := make([]byte, 4096)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
		silent := pc.LocalAddr().String()
		u, err := NewUpdater(UpdaterConfig{Server: silent, Zone: testZone, Primary: silent, Key: &named.key,
			Timeout: 150 * time.Millisecond, Attempts: 2, Backoff: 50 * time.Millisecond, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		err = u.Sync(ctx, desired)
		var se *ServerError
		if !errors.As(err, &se) || se.Code() != "timeout" || !strings.Contains(err.Error(), silent) {
			t.Fatalf("Sync against a silent server = %v, want a timeout naming %s", err, silent)
		}
		t.Logf("reported: %v", err)
	})
	checkForeignRecords(t, named.addr)
}
