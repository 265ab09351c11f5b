package test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"testing"
)

// Multichannel and replay conformance (issue 3). smbtorture's channel-failure subtests block a
// channel with iptables (--option=torture:use_iptables=yes): everything runs inside a network
// namespace the test creates, so the firewall rules touch nothing outside it, and sofsd listens
// on two loopback addresses of that namespace (127.0.0.1 and 127.0.0.2) as two "interfaces".

// multichannelSubtests are the smb2.multichannel and smb2.replay subtests sofs passes; all must
// keep passing. Not listed: oplocks.test3_specification and leases.test2/test4 want a break
// retried on every channel in turn, where sofs, like Windows, sends it once on the latest
// channel (test3_windows); the replay dhv2-pending*-windows variants expect Windows' answers
// (ACCESS_DENIED or SHARING_VIOLATION after 35 s) where sofs, like Samba, answers a replay of
// a create still pending with FILE_NOT_AVAILABLE (the -sane variants); replay5 needs
// persistent handles (not offered); dhv2-pending1n-vs-violation-lease-* want a lease broken
// only to RW by a sharing violation. Of the 18 dhv2-pending*-sane subtests, which all pass
// and take about 6 s of fixed waits each, the gate runs one per family; the whole suites,
// against Samba 4.17 too, are measured by hand with the same script and namespace setup
// (README). oplocks.test2 and test3_windows wait out the 35 s oplock break timeout by design.
var multichannelSubtests = []string{
	"smb2.multichannel.generic.interface_info",
	"smb2.multichannel.generic.num_channels",
	"smb2.multichannel.oplocks.test1",
	"smb2.multichannel.oplocks.test2",
	"smb2.multichannel.oplocks.test3_windows",
	"smb2.multichannel.leases.test1",
	"smb2.multichannel.leases.test3",
	"smb2.multichannel.bugs.bug_15346",
	"smb2.replay.replay-commands",
	"smb2.replay.replay-regular",
	"smb2.replay.replay-dhv2-oplock1",
	"smb2.replay.replay-dhv2-oplock2",
	"smb2.replay.replay-dhv2-oplock3",
	"smb2.replay.replay-dhv2-oplock-lease",
	"smb2.replay.replay-dhv2-lease1",
	"smb2.replay.replay-dhv2-lease2",
	"smb2.replay.replay-dhv2-lease3",
	"smb2.replay.replay-dhv2-lease-oplock",
	"smb2.replay.dhv2-pending1n-vs-oplock-sane",
	"smb2.replay.dhv2-pending1l-vs-lease-sane",
	"smb2.replay.dhv2-pending2o-vs-lease-sane",
	"smb2.replay.dhv2-pending3n-vs-oplock-sane",
	"smb2.replay.dhv2-pending3l-vs-lease-sane",
	"smb2.replay.channel-sequence",
	"smb2.replay.replay3",
	"smb2.replay.replay4",
	"smb2.replay.replay6",
	"smb2.replay.replay7",
	// Not multichannel, but it needs the same iptables blocking: a holder whose connection
	// stops acknowledging a break is dropped (ackwatch.go) instead of waited out for 35 s.
	"smb2.oplock.batch22b",
}

// netnsPort is where servers listen inside the test's own namespace: nothing else uses it
// there. It is 445 because smbtorture's multichannel.bugs.bug_15346 opens its extra
// connections to the default SMB ports whatever -p says.
const netnsPort = "445"

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
	// The replay subtests check the granted durable v2 timeout against Windows' 300 s cap.
	s := startSofsdVia(t, via, []string{"127.0.0.1:" + netnsPort, "127.0.0.2:" + netnsPort}, dir, "--durable-timeout", "300s")
	runMustPass(t, via, "--option=torture:use_iptables=yes", "127.0.0.1", netnsPort, s.Share, multichannelSubtests)
}

// multichannelSuites are the whole suites behind the subtests above, with the floor sofs must
// not fall below and Samba 4.17's count (same script and namespace setup, 2026-12-02; Samba's
// multichannel run aborted in leases.test4 with smbtorture crashing, test4 and bug_15346 pass
// when run alone, hence 8). The gaps: see multichannelSubtests.
var multichannelSuites = []struct {
	suite        string
	floor, samba int
}{
	{"smb2.multichannel", 8, 8},
	{"smb2.replay", 34, 35}, // 35 on 2026-12-03, once sharing violations break only H
}

// TestSmbtortureMultichannelSuites runs the whole multichannel and replay suites (about five
// minutes, most of it fixed waits) when SOFS_TORTURE_SUITES=1, as the by-hand measurement
// behind the README figures: go test ./test -run TestSmbtortureMultichannelSuites -v.
func TestSmbtortureMultichannelSuites(t *testing.T) {
	if os.Getenv("SOFS_TORTURE_SUITES") == "" {
		t.Skip("whole-suite run: set SOFS_TORTURE_SUITES=1 (TestSmbtortureMultichannel gates the subtests)")
	}
	via := newNetns(t)
	dir := t.TempDir()
	s := startSofsdVia(t, via, []string{"127.0.0.1:" + netnsPort, "127.0.0.2:" + netnsPort}, dir, "--durable-timeout", "300s")
	var names []string
	for _, sd := range multichannelSuites {
		names = append(names, sd.suite)
	}
	res := runTortureVia(t, via, "--option=torture:use_iptables=yes", "127.0.0.1", netnsPort, s.Share, testUser, testPass, names)
	for _, sd := range multichannelSuites {
		r := res[sd.suite]
		t.Logf("%s: sofs %d/%d, Samba 4.17 %d/%d", sd.suite, r.passed, r.tests, sd.samba, r.tests)
		if r.passed < sd.floor {
			t.Errorf("%s: sofs passes %d, below its floor %d", sd.suite, r.passed, sd.floor)
		}
	}
}
