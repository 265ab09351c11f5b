package server

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/sofs-dev/sofs/smb/wire"
)

func testInterfaces() []hostInterface {
	return []hostInterface{
		{Index: 1, Name: "lo", Up: true, Loopback: true, Addrs: []netip.Addr{
			netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1")}},
		{Index: 2, Name: "eth0", Up: true, SpeedMbps: 10000, RxQueues: 8, Addrs: []netip.Addr{
			netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("fe80::1")}},
		{Index: 3, Name: "eth1", Up: false, SpeedMbps: 1000, RxQueues: 1, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.7")}},
		{Index: 4, Name: "veth0", Up: true, RxQueues: 1, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.9")}},
	}
}

func addrsOf(list []wire.NetworkInterfaceInfo) []string {
	var out []string
	for _, n := range list {
		out = append(out, n.Addr.Addr().String())
	}
	return out
}

func TestInterfaceInfoExplicitListeners(t *testing.T) {
	list := interfaceInfo([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}, testInterfaces())
	if got, want := addrsOf(list), []string{"127.0.0.1", "127.0.0.2"}; !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	for _, n := range list {
		if n.IfIndex != 1 || n.Capability != 0 || n.LinkSpeed != unknownLinkSpeed || n.Addr.Port() != 0 {
			t.Errorf("loopback entry %+v: want index 1, no RSS, the default speed, port 0", n)
		}
	}
}

func TestInterfaceInfoWildcardListeners(t *testing.T) {
	// 0.0.0.0 serves IPv4 only; loopback, link-local and down interfaces are never offered.
	v4 := interfaceInfo([]netip.Addr{netip.MustParseAddr("0.0.0.0")}, testInterfaces())
	if got, want := addrsOf(v4), []string{"192.0.2.10", "198.51.100.9"}; !slices.Equal(got, want) {
		t.Fatalf("0.0.0.0 listed %v, want %v", got, want)
	}
	if v4[0].IfIndex != 2 || v4[0].Capability != wire.InterfaceCapRSS || v4[0].LinkSpeed != 10_000_000_000 {
		t.Errorf("eth0 entry %+v: want index 2, RSS, 10 Gbit/s", v4[0])
	}
	if v4[1].Capability != 0 || v4[1].LinkSpeed != unknownLinkSpeed {
		t.Errorf("veth0 entry %+v: one queue and no known speed", v4[1])
	}
	// Go's [::] listener is dual-stack.
	both := interfaceInfo([]netip.Addr{netip.MustParseAddr("::")}, testInterfaces())
	if got, want := addrsOf(both), []string{"192.0.2.10", "2001:db8::10", "198.51.100.9"}; !slices.Equal(got, want) {
		t.Fatalf(":: listed %v, want %v", got, want)
	}
	// Entries of one interface share its index.
	if both[0].IfIndex != both[1].IfIndex {
		t.Errorf("eth0's addresses carry indexes %d and %d", both[0].IfIndex, both[1].IfIndex)
	}
}

func TestInterfaceInfoNothingServed(t *testing.T) {
	if list := interfaceInfo([]netip.Addr{netip.MustParseAddr("203.0.113.1")}, testInterfaces()); len(list) != 0 {
		t.Fatalf("an address no interface holds listed %v", addrsOf(list))
	}
	if list := interfaceInfo(nil, testInterfaces()); len(list) != 0 {
		t.Fatalf("no listener listed %v", addrsOf(list))
	}
}

// The encoded answer decodes back to the same entries (the codec is fuzzed in smb/wire).
func TestInterfaceInfoEncodes(t *testing.T) {
	list := interfaceInfo([]netip.Addr{netip.MustParseAddr("::")}, testInterfaces())
	back, err := wire.DecodeNetworkInterfaceInfo(wire.AppendNetworkInterfaceInfo(nil, list))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, list) {
		t.Fatalf("decoded %+v, want %+v", back, list)
	}
}

// hostInterfaces reads this machine: it must find loopback with 127.0.0.1 and an index.
func TestHostInterfacesFindsLoopback(t *testing.T) {
	ifs, err := hostInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	list := interfaceInfo([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, ifs)
	if len(list) != 1 || list[0].IfIndex == 0 {
		t.Fatalf("127.0.0.1 listed as %+v, want one entry with its interface index", list)
	}
}
