package dnsreg

import (
	"context"
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
