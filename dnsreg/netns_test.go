package dnsreg

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

var namespaceSeq atomic.Int64

// testNamespace is a network namespace the test created; its handle lets netlink read it
// from the test process without entering it.
type testNamespace struct {
	name   string
	handle netns.NsHandle
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (the CI and dev machines run tests as root)")
	}
}

// newTestNamespace creates a namespace named with the test's pid so parallel runs on one
// machine never collide, and removes it when the test ends, also on failure.
func newTestNamespace(t *testing.T, label string) *testNamespace {
	t.Helper()
	requireRoot(t)
	name := fmt.Sprintf("sofsdns-%d-%d-%s", os.Getpid(), namespaceSeq.Add(1), label)
	run(t, "ip", "netns", "add", name)
	ns := &testNamespace{name: name, handle: netns.None()}
	t.Cleanup(func() {
		if ns.handle.IsOpen() {
			ns.handle.Close()
		}
		// Deleting the namespace destroys the veth pairs inside it.
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("delete namespace %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open namespace %s: %v", name, err)
	}
	ns.handle = h
	return ns
}

// ip runs `ip -n <ns> args...`.
func (ns *testNamespace) ip(t *testing.T, args ...string) {
	t.Helper()
	run(t, "ip", append([]string{"-n", ns.name}, args...)...)
}

// addNIC makes a veth pair entirely inside the namespace (the peer stands in for the
// switch port) and brings both ends up, so the NIC has a carrier.
func (ns *testNamespace) addNIC(t *testing.T, nic string, prefixes ...string) {
	t.Helper()
	ns.ip(t, "link", "add", nic, "type", "veth", "peer", "name", nic+"p")
	ns.ip(t, "link", "set", nic+"p", "up")
	ns.ip(t, "link", "set", nic, "up")
	for _, p := range prefixes {
		ns.ip(t, "addr", "add", p, "dev", nic)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}
