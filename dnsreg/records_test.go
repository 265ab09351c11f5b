package dnsreg

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"pgregory.net/rapid"
)

func TestDesiredRecords(t *testing.T) {
	rs := DesiredRecords("FS1.sofs.test", "sofs.test", []Node{
		{Name: "node1", Up: true, Addrs: addrs("10.0.0.1", "fd00::1")},
		{Name: "node2", Up: false, Addrs: addrs("10.0.0.2")},
		{Name: "edge.other.test.", Up: true, Addrs: addrs("10.0.0.3", "10.0.0.1")},
	})
	want := RecordSet{
		"fs1.sofs.test.":   addrs("10.0.0.1", "10.0.0.3", "fd00::1"),
		"node1.sofs.test.": addrs("10.0.0.1", "fd00::1"),
		"node2.sofs.test.": nil, // down: managed, nothing wanted
		"edge.other.test.": addrs("10.0.0.1", "10.0.0.3"),
	}
	if len(rs) != len(want) {
		t.Fatalf("names %v, want %v", rs.Names(), want.Names())
	}
	for name, w := range want {
		got, ok := rs[name]
		if !ok || !slices.Equal(got, w) {
			t.Errorf("%s: %v (present %t), want %v", name, got, ok, w)
		}
	}
}

func TestPlanName(t *testing.T) {
	cases := []struct {
		name                 string
		desired              []netip.Addr
		seen                 Observed
		add, del, owned, fgn []netip.Addr
		ownerChanged         bool
	}{
		{name: "fresh name", desired: addrs("10.0.0.1", "10.0.0.2"),
			add: addrs("10.0.0.1", "10.0.0.2"), owned: addrs("10.0.0.1", "10.0.0.2"), ownerChanged: true},
		{name: "in sync", desired: addrs("10.0.0.1"),
			seen:  Observed{Addrs: addrs("10.0.0.1", "192.0.2.1"), Owner: "c", Owned: addrs("10.0.0.1")},
			owned: addrs("10.0.0.1"), fgn: addrs("192.0.2.1")},
		{name: "stale ours removed, foreign kept", desired: addrs("10.0.0.1"),
			seen: Observed{Addrs: addrs("10.0.0.1", "10.0.0.2", "192.0.2.1"), Owner: "c", Owned: addrs("10.0.0.1", "10.0.0.2")},
			del:  addrs("10.0.0.2"), owned: addrs("10.0.0.1"), fgn: addrs("192.0.2.1"), ownerChanged: true},
		{name: "pre-existing record is not claimed", desired: addrs("10.0.0.1", "192.0.2.1"),
			seen: Observed{Addrs: addrs("192.0.2.1")},
			add:  addrs("10.0.0.1"), owned: addrs("10.0.0.1"), fgn: addrs("192.0.2.1"), ownerChanged: true},
		{name: "unclaimed record survives when no longer wanted", desired: nil,
			seen: Observed{Addrs: addrs("10.0.0.1", "192.0.2.1"), Owner: "c", Owned: addrs("10.0.0.1")},
			del:  addrs("10.0.0.1"), fgn: addrs("192.0.2.1"), ownerChanged: true},
		{name: "ours deleted by someone else is re-added", desired: addrs("10.0.0.1"),
			seen: Observed{Owner: "c", Owned: addrs("10.0.0.1")},
			add:  addrs("10.0.0.1"), owned: addrs("10.0.0.1")},
		{name: "owned but gone and unwanted: only the list shrinks", desired: nil,
			seen: Observed{Owner: "c", Owned: addrs("10.0.0.1")}, ownerChanged: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanName("n.example", tc.desired, tc.seen)
			for _, c := range []struct {
				what      string
				got, want []netip.Addr
			}{{"add", p.Add, tc.add}, {"delete", p.Delete, tc.del}, {"owned", p.Owned, tc.owned}, {"foreign", p.Foreign, tc.fgn}} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if p.OwnerChanged != tc.ownerChanged {
				t.Errorf("owner changed = %t, want %t", p.OwnerChanged, tc.ownerChanged)
			}
		})
	}
}

// apply is what a server does with BuildUpdate's message, on address sets.
func apply(seen Observed, p NamePlan, owner string) Observed {
	var out []netip.Addr
	for _, a := range seen.Addrs {
		if !slices.Contains(p.Delete, a) {
			out = append(out, a)
		}
	}
	next := Observed{Addrs: sortedAddrs(append(out, p.Add...)), Owner: seen.Owner, Owned: seen.Owned}
	if p.OwnerChanged {
		next.Owner, next.Owned = "", nil
		if len(p.Owned) > 0 {
			next.Owner, next.Owned = owner, p.Owned
		}
	}
	return next
}

// TestPlanProperties: for any records in DNS, any earlier ownership and any wish, one
// plan reaches the wish, keeps every record that is not ours, deletes only addresses we
// own, and a second plan changes nothing.
func TestPlanProperties(t *testing.T) {
	pool := addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "fd00::1", "fd00::2")
	subset := func(label string) *rapid.Generator[[]netip.Addr] {
		return rapid.Custom(func(t *rapid.T) []netip.Addr {
			return sortedAddrs(rapid.SliceOfDistinct(rapid.SampledFrom(pool), func(a netip.Addr) netip.Addr { return a }).Draw(t, label))
		})
	}
	rapid.Check(t, func(t *rapid.T) {
		present := subset("present").Draw(t, "present")
		// Ownership lists only ever name addresses we added, but they may since have been
		// removed by someone else.
		owned := subset("owned").Draw(t, "owned")
		desired := subset("desired").Draw(t, "desired")
		seen := Observed{Addrs: present, Owned: owned}
		if len(owned) > 0 {
			seen.Owner = "c"
		}
		p := PlanName("n.example.", desired, seen)
		after := apply(seen, p, "c")
		for _, a := range desired {
			if !slices.Contains(after.Addrs, a) {
				t.Fatalf("desired %v missing after plan %+v", a, p)
			}
		}
		for _, a := range present {
			if !slices.Contains(owned, a) && !slices.Contains(after.Addrs, a) {
				t.Fatalf("foreign %v deleted by plan %+v", a, p)
			}
		}
		for _, a := range p.Delete {
			if !slices.Contains(owned, a) {
				t.Fatalf("deleted %v we never owned", a)
			}
		}
		for _, a := range after.Addrs {
			if slices.Contains(after.Owned, a) && !slices.Contains(desired, a) {
				t.Fatalf("stale %v of ours left", a)
			}
		}
		if again := PlanName("n.example.", desired, after); !again.Empty() {
			t.Fatalf("second plan not empty: %+v (after %+v)", again, after)
		}
	})
}

func TestBuildUpdate(t *testing.T) {
	p := NamePlan{Name: "fs1.sofs.test.", Add: addrs("10.0.0.1", "fd00::1"), Delete: addrs("10.0.0.2"),
		Owned: addrs("10.0.0.1", "fd00::1"), OwnerChanged: true}
	m := BuildUpdate("sofs.test", p, "c1", 60*time.Second)
	if m.Opcode != dns.OpcodeUpdate || len(m.Question) != 1 || m.Question[0].Name != "sofs.test." || m.Question[0].Qtype != dns.TypeSOA {
		t.Fatalf("zone section wrong: %v", m)
	}
	if len(m.Answer) != 0 {
		t.Errorf("update must have no prerequisites, has %v", m.Answer)
	}
	var got []string
	for _, rr := range m.Ns {
		got = append(got, strings.Join(strings.Fields(rr.String()), " "))
	}
	want := []string{
		"fs1.sofs.test. 0 NONE A 10.0.0.2",
		"fs1.sofs.test. 60 IN A 10.0.0.1",
		"fs1.sofs.test. 60 IN AAAA fd00::1",
		"_sofs-owner.fs1.sofs.test. 0 CLASS255 TXT", // class ANY: delete the RRset (RFC 2136 section 2.5.2)
		`_sofs-owner.fs1.sofs.test. 60 IN TXT "sofs-owner=c1" "10.0.0.1" "fd00::1"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("update section:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzParseOwnership(f *testing.F) {
	f.Add("sofs-owner=c1\x0010.0.0.1\x00fd00::1")
	f.Add("sofs-owner=\x0010.0.0.1")
	f.Add("other\x00::ffff:1.2.3.4")
	f.Fuzz(func(t *testing.T, joined string) {
		txt := strings.Split(joined, "\x00")
		owner, owned, err := ParseOwnership(txt)
		if err != nil {
			return
		}
		o2, owned2, err := ParseOwnership(FormatOwnership(owner, owned))
		if err != nil || o2 != owner || !slices.Equal(owned, owned2) {
			t.Fatalf("round trip of %q: %q %v %v", txt, o2, owned2, err)
		}
		// What we write must be valid TXT data.
		rr := &dns.TXT{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: FormatOwnership(owner, owned)}
		buf := make([]byte, 65535)
		if _, err := dns.PackRR(rr, buf, 0, nil, false); err != nil && len(owned) < 1000 {
			t.Fatalf("ownership record does not pack: %v", err)
		}
	})
}
