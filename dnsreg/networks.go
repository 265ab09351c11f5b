package dnsreg

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Role says what a cluster network carries, as configured per subnet.
type Role int

const (
	// RoleNone: the subnet is not used by the cluster at all.
	RoleNone Role = iota
	// RoleClusterOnly: node-to-node traffic only; never published in DNS.
	RoleClusterOnly
	// RoleClientAccess: clients reach the file server here; published in DNS.
	RoleClientAccess
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleClusterOnly:
		return "cluster"
	case RoleClientAccess:
		return "client"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole reads the names String returns.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(s) {
	case "none":
		return RoleNone, nil
	case "cluster", "cluster-only":
		return RoleClusterOnly, nil
	case "client", "client-access":
		return RoleClientAccess, nil
	}
	return RoleNone, fmt.Errorf("unknown network role %q (want none, cluster or client)", s)
}

// Network assigns a role to a subnet.
type Network struct {
	Subnet netip.Prefix
	Role   Role
}

// InterfaceAddr is one address on one interface as the kernel reports it, reduced to
// what the client-address filter needs.
type InterfaceAddr struct {
	Link   string
	LinkUp bool // administratively up and carrier present
	Prefix netip.Prefix
	// Flags are the IFA_F_* flags (tentative, deprecated, ...).
	Flags int
}

// ClientAddrs returns the addresses clients should find in DNS, sorted and unique:
// those on up links that are not loopback, link-local, multicast, tentative, DAD-failed
// or deprecated, and whose most specific configured subnet has RoleClientAccess. With
// no networks configured every remaining address is client-facing, which is what a
// single-network appliance wants.
func ClientAddrs(addrs []InterfaceAddr, networks []Network) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		ip := a.Prefix.Addr().Unmap()
		if !a.LinkUp || !ip.IsValid() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
			ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
			continue
		}
		// A tentative address is still in duplicate address detection (RFC 4862 5.4) and
		// a deprecated one must not be used for new connections (RFC 4862 5.5.4).
		if ip.Is6() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED|unix.IFA_F_DEPRECATED) != 0 {
			continue
		}
		if roleOf(ip, networks) != RoleClientAccess {
			continue
		}
		out = append(out, ip)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

func roleOf(ip netip.Addr, networks []Network) Role {
	if len(networks) == 0 {
		return RoleClientAccess
	}
	best, bestBits := RoleNone, -1
	for _, n := range networks {
		if n.Subnet.Contains(ip) && n.Subnet.Bits() > bestBits {
			best, bestBits = n.Role, n.Subnet.Bits()
		}
	}
	return best
}
