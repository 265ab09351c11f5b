package dnsreg

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// RecordSet maps a fully qualified name to the addresses we want there. A name present
// with no addresses is still ours to manage: our earlier records there are removed.
type RecordSet map[string][]netip.Addr

// Names returns the names in canonical order.
func (rs RecordSet) Names() []string {
	names := make([]string, 0, len(rs))
	for n := range rs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NodeFQDN is the per-node name used for redirection: a bare label goes under zone.
func NodeFQDN(node, zone string) string {
	if dns.IsFqdn(node) {
		return dns.CanonicalName(node)
	}
	return dns.CanonicalName(node + "." + dns.Fqdn(zone))
}

// DesiredRecords is what DNS should say: the access point resolves to every client
// address of every up node, and each up node's own name to its addresses. Down nodes
// keep their (empty) entry so their earlier records are withdrawn.
func DesiredRecords(accessPoint, zone string, nodes []Node) RecordSet {
	ap := dns.CanonicalName(accessPoint)
	rs := RecordSet{ap: nil}
	for _, n := range nodes {
		name := NodeFQDN(n.Name, zone)
		if _, ok := rs[name]; !ok {
			rs[name] = nil
		}
		if !n.Up {
			continue
		}
		rs[ap] = append(rs[ap], n.Addrs...)
		rs[name] = append(rs[name], n.Addrs...)
	}
	for name, addrs := range rs {
		rs[name] = sortedAddrs(addrs)
	}
	return rs
}

func sortedAddrs(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.Unmap())
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// Ownership: which address records at a name are ours.
//
// We cannot tell our A/AAAA records from anyone else's by looking at them, and DNS
// offers no per-record tag. Remembering them only in local state would be lost when
// the network-name resource moves to another node, and deleting whole RRsets would
// remove records an administrator added. So for every name we manage we keep one TXT
// RRset at the sibling name "_sofs-owner.<name>" that lists the addresses we
// registered there; that name belongs to us alone, so replacing its RRset touches
// nothing else. An update then deletes individual RRs (RFC 2136 section 2.5.4, class
// NONE) only for addresses on that list, and rewrites the list in the same UPDATE
// message, which the server applies atomically (RFC 2136 section 3.4). An address that
// was already present before we registered it is not put on the list, so it survives
// even when we stop wanting it.

// OwnerLabel prefixes the managed name to form the ownership record's name.
const OwnerLabel = "_sofs-owner"

const ownerTag = "sofs-owner="

// OwnerName is the name of the ownership TXT record for name.
func OwnerName(name string) string { return OwnerLabel + "." + dns.CanonicalName(name) }

// FormatOwnership encodes the ownership list as TXT character-strings.
func FormatOwnership(owner string, addrs []netip.Addr) []string {
	out := []string{ownerTag + owner}
	for _, a := range sortedAddrs(addrs) {
		out = append(out, a.String())
	}
	return out
}

// ParseOwnership decodes TXT character-strings written by FormatOwnership.
func ParseOwnership(txt []string) (owner string, addrs []netip.Addr, err error) {
	if len(txt) == 0 || !strings.HasPrefix(txt[0], ownerTag) {
		return "", nil, fmt.Errorf("ownership record does not start with %q", ownerTag)
	}
	owner = strings.TrimPrefix(txt[0], ownerTag)
	if !validOwnerID(owner) {
		return "", nil, fmt.Errorf("ownership record has invalid owner %q", owner)
	}
	for _, s := range txt[1:] {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return "", nil, fmt.Errorf("ownership record lists %q, not an address", s)
		}
		addrs = append(addrs, a)
	}
	return owner, sortedAddrs(addrs), nil
}

// validOwnerID keeps owner identities printable and free of TXT quoting trouble.
func validOwnerID(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

// Observed is what DNS holds at one name.
type Observed struct {
	// Addrs are all A and AAAA records at the name, ours or not.
	Addrs []netip.Addr
	// Owner and Owned come from the ownership record; Owner is "" when there is none.
	Owner string
	Owned []netip.Addr
}

// NamePlan is the change that brings one name to its desired addresses.
type NamePlan struct {
	Name string
	// Add are desired addresses missing from DNS.
	Add []netip.Addr
	// Delete are addresses we registered earlier and no longer want.
	Delete []netip.Addr
	// Owned is the ownership list after the change.
	Owned []netip.Addr
	// Foreign are records at the name that are not ours; they are never touched.
	Foreign []netip.Addr
	// OwnerChanged is true when the ownership record must be rewritten.
	OwnerChanged bool
}

// Empty reports whether the plan changes nothing.
func (p NamePlan) Empty() bool { return len(p.Add) == 0 && len(p.Delete) == 0 && !p.OwnerChanged }

// PlanName computes the prerequisite-free change for one name. It is pure so the rules
// (never delete a foreign record, never claim a record we did not add) are tested
// without a server.
func PlanName(name string, desired []netip.Addr, seen Observed) NamePlan {
	desired = sortedAddrs(desired)
	present := sortedAddrs(seen.Addrs)
	owned := sortedAddrs(seen.Owned)
	p := NamePlan{Name: dns.CanonicalName(name)}
	for _, a := range present {
		if !contains(owned, a) {
			p.Foreign = append(p.Foreign, a)
		}
	}
	for _, a := range desired {
		if !contains(present, a) {
			p.Add = append(p.Add, a)
		}
		// We own a desired address if we added it earlier or add it now; one that someone
		// else put there first stays theirs.
		if !contains(p.Foreign, a) {
			p.Owned = append(p.Owned, a)
		}
	}
	for _, a := range owned {
		if !contains(desired, a) && contains(present, a) {
			p.Delete = append(p.Delete, a)
		}
	}
	p.OwnerChanged = !slices.Equal(p.Owned, owned) || (seen.Owner == "" && len(p.Owned) > 0)
	return p
}

func contains(sorted []netip.Addr, a netip.Addr) bool {
	_, ok := slices.BinarySearchFunc(sorted, a, netip.Addr.Compare)
	return ok
}

// Difference is one mismatch between desired and observed records, for `sofsctl dns check`
// and IsAlive.
type Difference struct {
	Name    string
	Missing []netip.Addr // desired, not in DNS
	Stale   []netip.Addr // ours, in DNS, not desired
}

func (d Difference) String() string {
	var parts []string
	if len(d.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("missing %v", d.Missing))
	}
	if len(d.Stale) > 0 {
		parts = append(parts, fmt.Sprintf("stale %v", d.Stale))
	}
	return d.Name + ": " + strings.Join(parts, ", ")
}

// Compare lists the names whose records differ from the desired ones.
func Compare(desired RecordSet, seen map[string]Observed) []Difference {
	var diffs []Difference
	for _, name := range desired.Names() {
		p := PlanName(name, desired[name], seen[name])
		if len(p.Add) > 0 || len(p.Delete) > 0 {
			diffs = append(diffs, Difference{Name: name, Missing: p.Add, Stale: p.Delete})
		}
	}
	return diffs
}
