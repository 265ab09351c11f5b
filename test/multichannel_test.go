package test

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"testing"
)

// Multichannel and replay conformance (issue 3). smbtorture's channel-failure subtests block a
// channel with iptables (--option=torture:use_iptables=yes): everything runs inside a network
// namespace the test creates, so the firewall rules touch nothing outside it, and sofsd listens
// on two loopback addresses of that namespace (127.0.0.1 and 127.0.0.2) as two "interfaces".

// multichannelSubtests are the smb2.multichannel and smb2.replay subtests sofs passes; all must
// keep passing. The rest of both suites need leases or durable v2 handles (issue 3, other
// branches); oplocks.test3_specification wants a break retried on every channel in turn, where
// sofs, like Windows, sends it once on the latest channel (test3_windows). The whole suites
// against Samba 4.17, same script and namespace setup, are in the README (measured by hand:
// they take minutes, most of it in fixed waits). oplocks.test3_windows waits out the 35 s
// oplock break timeout by design.
var multichannelSubtests = []string{
	"smb2.multichannel.generic.interface_info",
	"smb2.multichannel.generic.num_channels",
	"smb2.multichannel.oplocks.test1",
	"smb2.multichannel.oplocks.test2",
	"smb2.multichannel.oplocks.test3_windows",
	"smb2.replay.replay-commands",
	"smb2.replay.replay-regular",
	"smb2.replay.channel-sequence",
	"smb2.replay.replay7",
}

// netnsPort is where servers listen inside the test's own namespace: nothing else uses it.
const netnsPort = "4455"

// newNetns creates a network namespace with loopback up and returns the prefix that runs a
// command inside it; the namespace (with its iptables rules) is deleted when the test ends.
func newNetns(t *testing.T) []string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "sofs-mc-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bringing lo up in %s: %v\n%s", name, err, out)
	}
	return []string{"ip", "netns", "exec", name}
}

// TestSmbtortureMultichannel runs the multichannel and replay subtests sofs passes, one by one,
// against sofsd listening on two addresses; each must pass (one retry, logged as FLAKY, for the
// fixed waits smbtorture makes on a loaded machine).
func TestSmbtortureMultichannel(t *testing.T) {
	via := newNetns(t)
	dir := t.TempDir()
	s := startSofsdVia(t, via, []string{"127.0.0.1:" + netnsPort, "127.0.0.2:" + netnsPort}, dir)
	const iptables = "--option=torture:use_iptables=yes"
	res := runTortureVia(t, via, iptables, "127.0.0.1", netnsPort, s.Share, testUser, testPass, multichannelSubtests)
	for _, name := range multichannelSubtests {
		r := res[name]
		if r.tests != 0 && r.passed == r.tests {
			continue
		}
		again := runTortureVia(t, via, iptables, "127.0.0.1", netnsPort, s.Share, testUser, testPass, []string{name})[name]
		if again.tests != 0 && again.passed == again.tests {
			t.Logf("FLAKY %s: failed once, passed on the retry", name)
			continue
		}
		t.Errorf("%s: %d of %d passed (retry: %d of %d)", name, r.passed, r.tests, again.passed, again.tests)
	}
}
