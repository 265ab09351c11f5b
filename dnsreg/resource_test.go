package dnsreg

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNetworkNameReportsLaterFailures: once online, a registration that later fails
// (the server went away) shows up in LooksAlive and the state with the server's
// address, and the resource keeps retrying with backoff instead of going quiet.
func TestNetworkNameReportsLaterFailures(t *testing.T) {
	named := startNamed(t)
	table := NewNodeTable(Node{Name: "node1", Up: true, Addrs: addrs("10.74.0.1")})
	u, err := NewUpdater(UpdaterConfig{Server: named.addr, Key: &named.key, Timeout: 200 * time.Millisecond,
		Attempts: 2, Backoff: 20 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	nn, err := NewNetworkName(NetworkNameConfig{AccessPoint: "fs1.sofs.test", Zone: testZone, Nodes: table, DNS: u,
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := nn.Online(ctx); err != nil {
		t.Fatal(err)
	}
	defer nn.Offline(ctx)
	if err := nn.LooksAlive(ctx); err != nil {
		t.Fatalf("LooksAlive after online: %v", err)
	}

	named.stop()
	table.SetAddrs("node1", addrs("10.74.0.1", "10.74.0.2"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := nn.State()
		if st.Failures >= 2 { // the first failure and at least one retry
			err := nn.LooksAlive(ctx)
			if err == nil || !strings.Contains(err.Error(), named.addr) || !strings.Contains(err.Error(), "last registration failed") {
				t.Fatalf("LooksAlive = %v, want the failure naming %s", err, named.addr)
			}
			if !st.Online {
				t.Error("resource went offline by itself; it should keep retrying")
			}
			t.Logf("reported: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failure reported within 5s: %+v", st)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	if err := nn.IsAlive(ctx); err == nil {
		t.Error("IsAlive with the server gone should fail")
	}
	if err := nn.Offline(ctx); err != nil {
		t.Fatal(err)
	}
	if err := nn.LooksAlive(ctx); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("LooksAlive after offline = %v", err)
	}
}

// TestNetworkNameMovesBetweenNodes: the group moves; the new owner, a fresh process with
// no local memory, takes over through the ownership records and withdraws a record the
// old owner added. This is why ownership lives in DNS and not on one node's disk.
func TestNetworkNameMovesBetweenNodes(t *testing.T) {
	named := startNamed(t)
	table := NewNodeTable(
		Node{Name: "node1", Up: true, Addrs: addrs("10.75.0.1")},
		Node{Name: "node2", Up: true, Addrs: addrs("10.75.0.2")},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	newResource := func() *NetworkName {
		u, err := NewUpdater(UpdaterConfig{Server: named.addr, Key: &named.key, Owner: "c1", Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		nn, err := NewNetworkName(NetworkNameConfig{AccessPoint: "fs1.sofs.test", Zone: testZone, Nodes: table, DNS: u, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return nn
	}
	first := newResource()
	if err := first.Online(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Offline(ctx); err != nil {
		t.Fatal(err)
	}
	// Offline keeps the records so clients keep working during the move.
	if got := addressesAt(t, named.addr, "fs1.sofs.test."); !slices.Equal(got, addrs("10.75.0.1", "10.75.0.2", "192.0.2.99")) {
		t.Fatalf("after offline: %v", got)
	}
	table.SetUp("node2", false) // node2 failed while the group moved
	second := newResource()
	if err := second.Online(ctx); err != nil {
		t.Fatal(err)
	}
	defer second.Offline(ctx)
	if got := addressesAt(t, named.addr, "fs1.sofs.test."); !slices.Equal(got, addrs("10.75.0.1", "192.0.2.99")) {
		t.Errorf("new owner did not withdraw node2's record: %v", got)
	}
	if got := addressesAt(t, named.addr, "node2.sofs.test."); len(got) != 0 {
		t.Errorf("node2 name still has %v", got)
	}
	checkForeignRecords(t, named.addr)
}

// TestPrimaryFoundThroughNS: when the SOA MNAME has no address, updates go to the
// zone's name servers.
func TestPrimaryFoundThroughNS(t *testing.T) {
	named := startNamed(t)
	u, err := NewUpdater(UpdaterConfig{Server: named.addr, Key: &named.key, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if z, err := u.ZoneOf(ctx, "fs1.hidden.test"); err != nil || z != "hidden.test." {
		t.Fatalf("zone %q %v", z, err)
	}
	if p, err := u.PrimaryOf(ctx, "hidden.test."); err != nil || p != named.addr {
		t.Fatalf("primary %q %v, want %s via NS", p, err, named.addr)
	}
	if err := u.Sync(ctx, RecordSet{"fs1.hidden.test.": addrs("10.76.0.1")}); err != nil {
		t.Fatal(err)
	}
	if got := addressesAt(t, named.addr, "fs1.hidden.test."); !slices.Equal(got, addrs("10.76.0.1")) {
		t.Errorf("fs1.hidden.test = %v", got)
	}
}

// TestManyAddresses: a name with more addresses than fit a 512-byte UDP answer is read
// over TCP after truncation, and the ownership record lists them all.
func TestManyAddresses(t *testing.T) {
	named := startNamed(t)
	u, err := NewUpdater(UpdaterConfig{Server: named.addr, Zone: testZone, Primary: named.addr, Key: &named.key, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var many []netip.Addr
	for i := 1; i <= 100; i++ {
		many = append(many, netip.AddrFrom4([4]byte{10, 77, byte(i / 250), byte(i % 250)}))
	}
	many = sortedAddrs(many)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs := RecordSet{"big.sofs.test.": many}
	if err := u.Sync(ctx, rs); err != nil {
		t.Fatal(err)
	}
	seen, err := u.Observe(ctx, rs.Names())
	if err != nil {
		t.Fatal(err)
	}
	if o := seen["big.sofs.test."]; !slices.Equal(o.Addrs, many) || !slices.Equal(o.Owned, many) {
		t.Fatalf("read back %d addresses, %d owned; want 100 of each", len(o.Addrs), len(o.Owned))
	}
	rs["big.sofs.test."] = many[:3]
	if err := u.Sync(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if diffs, err := Check(ctx, u, rs); err != nil || len(diffs) != 0 {
		t.Fatalf("after shrinking: %v %v", diffs, err)
	}
}
