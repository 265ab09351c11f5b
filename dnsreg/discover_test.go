package dnsreg

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAddrWatcherInNamespace runs the watcher against a namespace the test made and
// checks the kernel's view end to end: reaction time, loopback and cluster-only
// exclusion, IPv6 duplicate address detection (tentative until done) and deprecated
// addresses.
func TestAddrWatcherInNamespace(t *testing.T) {
	ns := newTestNamespace(t, "w")
	ns.ip(t, "link", "set", "lo", "up") // 127.0.0.1 and ::1 appear; never reported
	ns.addNIC(t, "nic0", "10.72.1.1/24", "10.72.9.1/24")
	networks := []Network{
		{Subnet: netip.MustParsePrefix("10.72.1.0/24"), Role: RoleClientAccess},
		{Subnet: netip.MustParsePrefix("10.72.9.0/24"), Role: RoleClusterOnly},
		{Subnet: netip.MustParsePrefix("fd72::/64"), Role: RoleClientAccess},
	}
	w := &AddrWatcher{Namespace: ns.handle, Networks: networks, Logger: testLogger(t)}
	reports := make(chan []netip.Addr, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(a []netip.Addr) { reports <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watcher: %v", err)
		}
	})
	// expect waits for a report equal to want and returns how long it took.
	expect := func(what string, limit time.Duration, want []netip.Addr) time.Duration {
		t.Helper()
		start := time.Now()
		timeout := time.After(limit)
		for {
			select {
			case got := <-reports:
				if slices.Equal(got, want) {
					t.Logf("%s: reported in %v", what, time.Since(start).Round(time.Microsecond))
					return time.Since(start)
				}
			case <-timeout:
				t.Fatalf("%s: no report of %v within %v", what, want, limit)
			}
		}
	}
	expect("start", time.Second, addrs("10.72.1.1"))

	ns.ip(t, "addr", "add", "10.72.1.2/24", "dev", "nic0")
	expect("IPv4 added", time.Second, addrs("10.72.1.1", "10.72.1.2"))

	// With DAD the address is tentative first (RFC 4862 section 5.4): the kernel lists it,
	// we must not publish it until DAD completes.
	ns.ip(t, "addr", "add", "fd72::5/64", "dev", "nic0")
	snap, err := w.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sawTentative := false
	for _, a := range snap {
		if a.Prefix.Addr() == netip.MustParseAddr("fd72::5") {
			sawTentative = a.Flags&unix.IFA_F_TENTATIVE != 0
		}
	}
	if !sawTentative {
		t.Errorf("fd72::5 right after adding is not tentative: %+v", snap)
	}
	if got := ClientAddrs(snap, networks); slices.Contains(got, netip.MustParseAddr("fd72::5")) {
		t.Errorf("tentative address published: %v", got)
	}
	// DAD takes about a second (one probe, RetransTimer 1 s); bounded wait.
	expect("IPv6 after DAD", 5*time.Second, addrs("10.72.1.1", "10.72.1.2", "fd72::5"))

	// A deprecated address (preferred lifetime 0) is never published.
	ns.ip(t, "addr", "add", "fd72::6/64", "dev", "nic0", "nodad", "preferred_lft", "0")
	ns.ip(t, "addr", "del", "10.72.1.2/24", "dev", "nic0")
	expect("IPv4 removed, deprecated IPv6 ignored", time.Second, addrs("10.72.1.1", "fd72::5"))

	ns.ip(t, "link", "set", "nic0", "down")
	expect("link down", time.Second, nil)
	ns.ip(t, "link", "set", "nic0", "up")
	// Bringing a link up restarts DAD for its IPv6 addresses, so IPv4 comes first.
	expect("link up", time.Second, addrs("10.72.1.1"))
}
