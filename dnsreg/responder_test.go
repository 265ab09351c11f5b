package dnsreg

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func startResponder(t *testing.T, table *NodeTable) (*Responder, string) {
	t.Helper()
	r, err := NewResponder(ResponderConfig{Zone: "cluster.test", AccessPoint: "fs1.cluster.test", Nodes: table, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := r.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close responder: %v", err)
		}
	})
	if srv.UDPAddr.String() != srv.TCPAddr.String() {
		t.Fatalf("UDP %s and TCP %s differ", srv.UDPAddr, srv.TCPAddr)
	}
	return r, srv.TCPAddr.String()
}

// dig runs the real dig against addr and returns its output.
func dig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	full := append([]string{"@" + host, "-p", port, "+time=2", "+tries=1"}, args...)
	out, err := exec.Command("dig", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return string(out)
}

func digShort(t *testing.T, addr string, args ...string) []string {
	t.Helper()
	lines := strings.Fields(dig(t, addr, append([]string{"+short"}, args...)...))
	slices.Sort(lines)
	return lines
}

func TestResponderAnswersDigAndPassesNamedCheckzone(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Fatalf("dig not installed (scripts/install-deps.sh installs it): %v", err)
	}
	table := NewNodeTable(
		Node{Name: "node1", Up: true, Addrs: addrs("10.71.1.1", "10.71.2.1", "fd71::1")},
		Node{Name: "node2", Up: true, Addrs: addrs("10.71.1.2", "10.71.2.2")},
		Node{Name: "node3", Up: false, Addrs: addrs("10.71.1.3")},
	)
	r, addr := startResponder(t, table)

	if got, want := digShort(t, addr, "fs1.cluster.test", "A"), []string{"10.71.1.1", "10.71.1.2", "10.71.2.1", "10.71.2.2"}; !slices.Equal(got, want) {
		t.Errorf("dig fs1 A = %v, want %v", got, want)
	}
	if got, want := digShort(t, addr, "fs1.cluster.test", "AAAA"), []string{"fd71::1"}; !slices.Equal(got, want) {
		t.Errorf("dig fs1 AAAA = %v, want %v", got, want)
	}
	if got, want := digShort(t, addr, "node2.cluster.test", "A"), []string{"10.71.1.2", "10.71.2.2"}; !slices.Equal(got, want) {
		t.Errorf("dig node2 A = %v, want %v", got, want)
	}
	// Over TCP as well.
	if got, want := digShort(t, addr, "+tcp", "node1.cluster.test", "A"), []string{"10.71.1.1", "10.71.2.1"}; !slices.Equal(got, want) {
		t.Errorf("dig +tcp node1 A = %v, want %v", got, want)
	}
	if got, want := digShort(t, addr, "cluster.test", "NS"), []string{"node1.cluster.test.", "node2.cluster.test."}; !slices.Equal(got, want) {
		t.Errorf("dig NS = %v, want %v", got, want)
	}
	full := dig(t, addr, "fs1.cluster.test", "A")
	if !strings.Contains(full, "flags: qr aa") || !strings.Contains(full, "status: NOERROR") {
		t.Errorf("answer not authoritative NOERROR:\n%s", full)
	}
	// A down node has no addresses; an unknown name is NXDOMAIN with the SOA for negative
	// caching; a name outside the zone is refused.
	if out := dig(t, addr, "node3.cluster.test", "A"); !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "ANSWER: 0") || !strings.Contains(out, "SOA") {
		t.Errorf("down node should be NODATA with SOA:\n%s", out)
	}
	if out := dig(t, addr, "nope.cluster.test", "A"); !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "SOA") {
		t.Errorf("unknown name should be NXDOMAIN with SOA:\n%s", out)
	}
	if out := dig(t, addr, "example.com", "A"); !strings.Contains(out, "status: REFUSED") {
		t.Errorf("out-of-zone query should be REFUSED:\n%s", out)
	}
	// dig always transfers over TCP, so ask for AXFR over UDP directly.
	axfrUDP := new(dns.Msg)
	axfrUDP.SetQuestion("cluster.test.", dns.TypeAXFR)
	if resp, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(axfrUDP, addr); err != nil || resp.Rcode != dns.RcodeRefused || len(resp.Answer) != 0 {
		t.Errorf("AXFR over UDP must be refused (RFC 5936 section 4.2): %v %v", resp, err)
	}

	checkAXFR := func() uint32 {
		t.Helper()
		out := dig(t, addr, "+noall", "+answer", "cluster.test", "AXFR")
		zoneFile := filepath.Join(t.TempDir(), "cluster.test.axfr")
		writeFile(t, zoneFile, out)
		check, err := exec.Command("named-checkzone", "cluster.test", zoneFile).CombinedOutput()
		if err != nil {
			t.Fatalf("named-checkzone rejected the AXFR output: %v\n%s\nzone:\n%s", err, check, out)
		}
		if !strings.Contains(out, "fs1.cluster.test.") || strings.Count(out, "SOA") != 2 {
			t.Errorf("AXFR output incomplete:\n%s", out)
		}
		zp := dns.NewZoneParser(strings.NewReader(out), "cluster.test.", "")
		rr, _ := zp.Next()
		soa, ok := rr.(*dns.SOA)
		if !ok {
			t.Fatalf("AXFR does not start with SOA:\n%s", out)
		}
		return soa.Serial
	}
	serial1 := checkAXFR()

	// State changes show up at once and bump the serial.
	table.SetUp("node2", false)
	if got, want := digShort(t, addr, "fs1.cluster.test", "A"), []string{"10.71.1.1", "10.71.2.1"}; !slices.Equal(got, want) {
		t.Errorf("after node2 down: dig fs1 A = %v, want %v", got, want)
	}
	if got := digShort(t, addr, "cluster.test", "NS"); !slices.Equal(got, []string{"node1.cluster.test."}) {
		t.Errorf("after node2 down: NS = %v", got)
	}
	serial2 := checkAXFR()
	if serial2 == serial1 || int32(serial2-serial1) < 0 {
		t.Errorf("serial %d after a change, was %d: must increase", serial2, serial1)
	}
	if got := checkAXFR(); got != serial2 {
		t.Errorf("serial changed without a change: %d then %d", serial2, got)
	}
	if n := len(r.Records()); n != 1+1+3+3 {
		t.Errorf("zone has %d records, want SOA, NS, 3 access point and 3 node1 addresses", n)
	}
}

func TestResponderSerialFromClusterState(t *testing.T) {
	table := NewNodeTable(Node{Name: "node1", Up: true, Addrs: addrs("10.71.1.1")})
	var version uint32 = 4242
	r, err := NewResponder(ResponderConfig{Zone: "cluster.test", AccessPoint: "fs1.cluster.test", Nodes: table,
		Serial: func() uint32 { return version }})
	if err != nil {
		t.Fatal(err)
	}
	if soa := r.Records()[0].(*dns.SOA); soa.Serial != 4242 {
		t.Errorf("serial %d, want the cluster's 4242", soa.Serial)
	}
}

// FuzzResponderAnswer: any message a client can send gets a well-formed reply (or an
// AXFR hand-off over TCP) and never a panic; replies never leave the zone.
func FuzzResponderAnswer(f *testing.F) {
	table := NewNodeTable(
		Node{Name: "node1", Up: true, Addrs: addrs("10.71.1.1", "fd71::1")},
		Node{Name: "node2", Up: false, Addrs: addrs("10.71.1.2")},
	)
	r, err := NewResponder(ResponderConfig{Zone: "cluster.test", AccessPoint: "fs1.cluster.test", Nodes: table, Logger: testLogger(nil)})
	if err != nil {
		f.Fatal(err)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"fs1.cluster.test.", dns.TypeA}, {"cluster.test.", dns.TypeAXFR}, {"x.fs1.cluster.test.", dns.TypeANY}, {"example.", dns.TypeSOA}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		b, _ := m.Pack()
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, packet []byte, tcp bool) {
		req := new(dns.Msg)
		if err := req.Unpack(packet); err != nil {
			return
		}
		resp := r.answer(req, tcp)
		if resp == nil {
			if !tcp || len(req.Question) != 1 || req.Question[0].Qtype != dns.TypeAXFR && req.Question[0].Qtype != dns.TypeIXFR {
				t.Fatalf("transfer hand-off for %v over tcp=%t", req.Question, tcp)
			}
			return
		}
		if resp.Id != req.Id || !resp.Response {
			t.Fatalf("reply does not match request: %v", resp)
		}
		for _, rr := range append(append([]dns.RR{}, resp.Answer...), resp.Ns...) {
			if !dns.IsSubDomain("cluster.test.", rr.Header().Name) {
				t.Fatalf("answer outside the zone: %v", rr)
			}
		}
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("reply does not pack: %v", err)
		}
	})
}
