package dnsreg

import (
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestClientAddrsFilter(t *testing.T) {
	ia := func(link string, up bool, prefix string, flags int) InterfaceAddr {
		return InterfaceAddr{Link: link, LinkUp: up, Prefix: netip.MustParsePrefix(prefix), Flags: flags}
	}
	kernel := []InterfaceAddr{
		ia("lo", true, "127.0.0.1/8", 0),
		ia("lo", true, "::1/128", 0),
		ia("eth0", true, "10.1.0.5/24", 0),
		ia("eth0", true, "10.1.0.5/24", 0), // reported twice: listed once
		ia("eth0", true, "fe80::1/64", 0),
		ia("eth0", true, "2001:db8:1::5/64", 0),
		ia("eth0", true, "2001:db8:1::6/64", unix.IFA_F_TENTATIVE),
		ia("eth0", true, "2001:db8:1::7/64", unix.IFA_F_DEPRECATED),
		ia("eth0", true, "2001:db8:1::8/64", unix.IFA_F_DADFAILED),
		ia("eth0", true, "169.254.3.3/16", 0),
		ia("eth1", true, "10.2.0.5/24", 0),    // cluster-only network
		ia("eth1", true, "10.2.7.5/24", 0),    // client subnet carved out of it (most specific wins)
		ia("eth2", false, "10.1.0.9/24", 0),   // link down
		ia("eth3", true, "192.168.9.9/24", 0), // no configured network
		ia("eth4", true, "10.3.0.1/24", 0),    // role none
	}
	networks := []Network{
		{Subnet: netip.MustParsePrefix("10.1.0.0/24"), Role: RoleClientAccess},
		{Subnet: netip.MustParsePrefix("2001:db8:1::/64"), Role: RoleClientAccess},
		{Subnet: netip.MustParsePrefix("10.2.0.0/16"), Role: RoleClusterOnly},
		{Subnet: netip.MustParsePrefix("10.2.7.0/24"), Role: RoleClientAccess},
		{Subnet: netip.MustParsePrefix("10.3.0.0/24"), Role: RoleNone},
		{Subnet: netip.MustParsePrefix("169.254.0.0/16"), Role: RoleClientAccess},
	}
	got := ClientAddrs(kernel, networks)
	want := addrs("10.1.0.5", "10.2.7.5", "2001:db8:1::5")
	if !slices.Equal(got, want) {
		t.Errorf("with networks: %v, want %v", got, want)
	}
	// Without configured networks every usable global address counts.
	got = ClientAddrs(kernel, nil)
	want = addrs("10.1.0.5", "10.2.0.5", "10.2.7.5", "10.3.0.1", "192.168.9.9", "2001:db8:1::5")
	if !slices.Equal(got, want) {
		t.Errorf("without networks: %v, want %v", got, want)
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range []Role{RoleNone, RoleClusterOnly, RoleClientAccess} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r.String(), got, err)
		}
	}
	if _, err := ParseRole("public"); err == nil {
		t.Error("ParseRole(public) should fail")
	}
}
