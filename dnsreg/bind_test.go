package dnsreg

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// namedServer is a real BIND 9 started by a test in its own temp directory on a loopback
// address and a free high port.
type namedServer struct {
	addr    string // 127.0.0.1:port, UDP and TCP
	dir     string
	keyFile string
	key     TSIGKey
	stderr  *lockedBuffer
	// stop ends named (idempotent); the test's cleanup calls it too.
	stop func()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const testZone = "sofs.test."

// foreignZoneRecords are records an administrator put in the zone; no operation of ours
// may remove them.
var foreignZoneRecords = []string{
	"fs1.sofs.test. 300 IN A 192.0.2.99",
	"fs1.sofs.test. 300 IN TXT \"administrator's note\"",
	"node1.sofs.test. 300 IN A 192.0.2.10",
	"node2.sofs.test. 300 IN MX 10 mail.sofs.test.",
	"mail.sofs.test. 300 IN A 192.0.2.25",
}

// freeLoopbackPort finds a port free for both TCP and UDP on 127.0.0.1.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
	t.Fatal("no free loopback port for TCP and UDP")
	return 0
}

func startNamed(t *testing.T) *namedServer {
	t.Helper()
	named, err := exec.LookPath("named")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/named"); statErr != nil {
			t.Fatalf("BIND 9 named not installed (run scripts/install-deps.sh): %v", err)
		}
		named = "/usr/sbin/named"
	}
	dir := t.TempDir()
	key := TSIGKey{Name: "sofs-test-key.", Algorithm: dns.HmacSHA256, Secret: "c29mcy10ZXN0LWtleS1zZWNyZXQtMzItYnl0ZXMhIQ=="}
	keyFile := filepath.Join(dir, "update.key")
	// The same file is read by named (include) and by LoadKeyFile, so the test proves our
	// parser reads what BIND reads.
	writeFile(t, keyFile, FormatKeyFile([]TSIGKey{key}))
	zone := "$TTL 300\n" +
		"@ IN SOA ns.sofs.test. hostmaster.sofs.test. 1 300 60 86400 60\n" +
		"@ IN NS ns.sofs.test.\n" +
		"ns IN A 127.0.0.1\n"
	for _, rr := range foreignZoneRecords {
		zone += rr + "\n"
	}
	writeFile(t, filepath.Join(dir, "sofs.test.zone"), zone)
	// A zone whose SOA MNAME has no address, so the primary must be found through NS.
	writeFile(t, filepath.Join(dir, "hidden.test.zone"), "$TTL 300\n"+
		"@ IN SOA primary.invalid. hostmaster.hidden.test. 1 300 60 86400 60\n"+
		"@ IN NS ns2.hidden.test.\n"+
		"ns2 IN A 127.0.0.1\n")
	port := freeLoopbackPort(t)
	conf := fmt.Sprintf(`options {
	directory %q;
	pid-file %q;
	session-keyfile %q;
	managed-keys-directory %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	allow-transfer { any; };
	notify no;
};
controls { };
include %q;
zone "sofs.test" {
	type primary;
	file %q;
	update-policy { grant sofs-test-key. zonesub ANY; };
};
zone "hidden.test" {
	type primary;
	file %q;
	update-policy { grant sofs-test-key. zonesub ANY; };
};
`, dir, filepath.Join(dir, "named.pid"), filepath.Join(dir, "session.key"), dir, port, keyFile, filepath.Join(dir, "sofs.test.zone"), filepath.Join(dir, "hidden.test.zone"))
	confPath := filepath.Join(dir, "named.conf")
	writeFile(t, confPath, conf)

	s := &namedServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, keyFile: keyFile, key: key, stderr: &lockedBuffer{}}
	// -g: foreground, log to stderr; -n 1: one worker thread on this shared 2-core box.
	cmd := exec.Command(named, "-g", "-n", "1", "-c", confPath)
	cmd.Stdout = s.stderr
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start named: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var stopOnce sync.Once
	s.stop = func() {
		stopOnce.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("named output:\n%s", s.stderr.String())
		}
	})
	// Poll for the zone to be served, with a deadline.
	deadline := time.Now().Add(15 * time.Second)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for {
		select {
		case err := <-exited:
			exited <- err // for stop
			t.Fatalf("named exited at startup: %v\n%s", err, s.stderr.String())
		default:
		}
		m := new(dns.Msg)
		m.SetQuestion(testZone, dns.TypeSOA)
		r, _, err := c.Exchange(m, s.addr)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("named did not serve %s within 15s (last: %v)\n%s", testZone, err, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lookup asks server directly (no recursion) for name's records of type qtype.
func lookup(t *testing.T, server, name string, qtype uint16) []dns.RR {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s %s at %s: %v", name, dns.TypeToString[qtype], server, err)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		t.Fatalf("query %s %s at %s: %s", name, dns.TypeToString[qtype], server, dns.RcodeToString[r.Rcode])
	}
	return r.Answer
}

// checkForeignRecords fails the test if any record we did not create is gone.
func checkForeignRecords(t *testing.T, server string) {
	t.Helper()
	for _, s := range foreignZoneRecords {
		want, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rr := range lookup(t, server, want.Header().Name, want.Header().Rrtype) {
			rr.Header().Ttl = want.Header().Ttl
			if dns.IsDuplicate(rr, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("record we did not create is gone: %s", s)
		}
	}
}
