package test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sharedDir is ../shared beside the project root, where the conformance scripts live.
const sharedDir = "../../shared"

// coreSuites are the smbtorture suites the SMB server core (issue 2) is measured on.
var coreSuites = []string{
	"smb2.connect", "smb2.tcon", "smb2.session", "smb2.credits", "smb2.create", "smb2.mkdir",
	"smb2.read", "smb2.rw", "smb2.getinfo", "smb2.dir", "smb2.fileid", "smb2.compound",
	// Issue 3: access checks on open and the file-system FSCTLs.
	"smb2.acls", "smb2.delete-on-close-perms", "smb2.ioctl", "smb2.sharemode", "smb2.setinfo",
	"smb2.rename", "smb2.timestamps",
	// Issue 3: named streams on localfs.
	"smb2.streams",
}

// knownGaps are suites where sofs does not yet pass as many subtests as Samba, with what is
// missing. Each is a finding, printed on every run; the floor is what sofs must not fall below.
// Remove an entry when the gap closes (the test then requires parity with Samba).
var knownGaps = map[string]struct {
	floor  int
	reason string
}{}

type suiteResult struct{ tests, passed, failed, skipped, errors int }

// runTorture runs the shared smbtorture script against host:port and returns per-suite results.
func runTorture(t *testing.T, host, port, share, user, pass string, suites []string) map[string]suiteResult {
	t.Helper()
	return runTortureVia(t, nil, "", host, port, share, user, pass, suites)
}

// runTortureVia runs the script through the command prefix via (e.g. `ip netns exec NS`) with
// extra smbtorture arguments.
func runTortureVia(t *testing.T, via []string, tortureArgs, host, port, share, user, pass string, suites []string) map[string]suiteResult {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	argv := append(append([]string(nil), via...), filepath.Join(sharedDir, "conformance", "run-smbtorture.sh"), host, port, share, user, pass)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "SUITES="+strings.Join(suites, " "), "SUITE_TIMEOUT=300", "OUT_DIR="+out)
	if tortureArgs != "" {
		cmd.Env = append(cmd.Env, "TORTURE_ARGS="+tortureArgs)
	}
	log, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("smbtorture run timed out:\n%s", log)
	}
	_ = err // non-zero whenever any subtest fails; the table is what we judge
	f, err := os.Open(filepath.Join(out, "results.tsv"))
	if err != nil {
		t.Fatalf("no results from smbtorture: %v\n%s", err, log)
	}
	defer f.Close()
	res := map[string]suiteResult{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Split(sc.Text(), "\t")
		if len(fl) < 6 || fl[0] == "suite" || fl[0] == "TOTAL" {
			continue
		}
		n := func(i int) int { v, _ := strconv.Atoi(fl[i]); return v }
		res[fl[0]] = suiteResult{n(1), n(2), n(3), n(4), n(5)}
	}
	if failed, err := os.ReadFile(filepath.Join(out, "failed.txt")); err == nil && len(failed) > 0 {
		t.Logf("%s:%s failing subtests:\n%s", host, port, failed)
	}
	return res
}

// startSambaPeer starts Samba's smbd on a free loopback port with the shared script.
func startSambaPeer(t testing.TB) (port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	ln.Close()
	startSambaPeerVia(t, nil, port)
	return port
}

// startSambaPeerVia starts the peer through the command prefix via on port.
func startSambaPeerVia(t testing.TB, via []string, port string) {
	t.Helper()
	script := filepath.Join(sharedDir, "conformance", "start-samba-peer.sh")
	argv := append(append([]string(nil), via...), script, port, "share", "smbtest", "Smb-Peer-Pass1")
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starting the Samba peer: %v\n%s", err, out)
	}
	var dir string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "SAMBA_PEER_DIR="); ok {
			dir = v
		}
	}
	if dir == "" {
		t.Fatalf("Samba peer printed no state dir:\n%s", out)
	}
	t.Cleanup(func() {
		stop := append(append([]string(nil), via...), script, "stop", dir)
		if out, err := exec.Command(stop[0], stop[1:]...).CombinedOutput(); err != nil {
			t.Errorf("stopping the Samba peer: %v\n%s", err, out)
		}
	})
}

// TestSmbtortureCore runs the core suites against sofsd and against Samba on the same machine in
// the same run and compares passed subtests per suite.
func TestSmbtortureCore(t *testing.T) {
	if _, err := os.Stat(filepath.Join(sharedDir, "conformance", "run-smbtorture.sh")); err != nil {
		t.Fatalf("conformance scripts not found at %s (shared/ must sit beside the project): %v", sharedDir, err)
	}
	s := startSofsd(t)
	sofs := runTorture(t, s.Host, s.Port, s.Share, testUser, testPass, coreSuites)
	sambaPort := startSambaPeer(t)
	samba := runTorture(t, "127.0.0.1", sambaPort, "share", "smbtest", "Smb-Peer-Pass1", coreSuites)

	// smbtorture's subtests wait fixed times for breaks and replies; on a loaded 2-core machine a
	// subtest can miss one. A suite below its bar is run once more and the better count kept; a
	// pass on the retry is logged as FLAKY, a finding, never silently absorbed.
	for _, suite := range coreSuites {
		bar := samba[suite].passed
		if gap, ok := knownGaps[suite]; ok {
			bar = gap.floor
		}
		if sofs[suite].passed < bar {
			again := runTorture(t, s.Host, s.Port, s.Share, testUser, testPass, []string{suite})[suite]
			if again.passed > sofs[suite].passed {
				t.Logf("FLAKY %s: %d passed, %d on the retry", suite, sofs[suite].passed, again.passed)
				sofs[suite] = again
			}
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-16s %12s %12s\n", "suite", "sofs", "Samba 4.17")
	for _, suite := range coreSuites {
		a, b := sofs[suite], samba[suite]
		fmt.Fprintf(&table, "%-16s %5d / %-4d %5d / %-4d\n", suite, a.passed, a.tests, b.passed, b.tests)
	}
	t.Logf("smbtorture passed subtests, sofs beside Samba:\n%s", table.String())
	for _, suite := range coreSuites {
		a, b := sofs[suite], samba[suite]
		if gap, ok := knownGaps[suite]; ok {
			if a.passed < gap.floor {
				t.Errorf("%s: sofs passes %d, below its recorded floor %d (regression)", suite, a.passed, gap.floor)
			}
			if a.passed < b.passed {
				t.Logf("FINDING %s: sofs %d < Samba %d: %s", suite, a.passed, b.passed, gap.reason)
			} else {
				t.Logf("%s: gap closed (sofs %d ≥ Samba %d): remove it from knownGaps", suite, a.passed, b.passed)
			}
			continue
		}
		if a.tests == 0 || a.passed < b.passed {
			t.Errorf("%s: sofs passes %d/%d, Samba %d/%d: parity required", suite, a.passed, a.tests, b.passed, b.tests)
		}
	}
}

// oplockSubtests are smb2.oplock subtests sofs passes: they exercise grants, breaks to Level II
// and none, acknowledgments, the stat-open and sharing-violation rules, and async CREATE while a
// break is pending. All must keep passing (issue 3 widens the list to the whole suite).
// batch22a also passes but waits out the 35 s break timeout by design, so it is left to the
// full-suite runs.
var oplockSubtests = []string{
	"exclusive1", "exclusive2", "exclusive3", "exclusive4", "exclusive5", "exclusive6", "exclusive9",
	"batch1", "batch2", "batch3", "batch4", "batch5", "batch6", "batch7", "batch8", "batch9",
	"batch9a", "batch10", "batch11", "batch12", "batch13", "batch14", "batch15", "batch16",
	"batch19", "batch20", "batch21", "batch23", "batch24", "batch25", "batch26", "stream1", "doc",
	"brl1", "brl2", "brl3", "levelii500", "levelii501", "levelii502", "statopen1",
}

// lockSubtests are the smb2.lock subtests sofs passes, lock sequence replay (MS-SMB2 3.3.5.14)
// included; replay_broken_windows skips against a server that keeps lock sequences for all
// handles, as sofs does on 3.x.
var lockSubtests = []string{
	"valid-request", "rw-shared", "rw-exclusive", "auto-unlock", "lock", "async", "cancel",
	"cancel-tdis", "cancel-logoff", "errorcode", "zerobytelength", "zerobyteread", "unlock",
	"multiple-unlock", "stacking", "contend", "context", "range", "overlap", "truncate",
	"replay_smb3_specification_durable", "replay_smb3_specification_multi",
}

// TestSmbtortureOplocksAndLocks runs those subtests against sofsd: all must pass.
func TestSmbtortureOplocksAndLocks(t *testing.T) {
	s := startSofsd(t)
	suites := append(prefixed("smb2.oplock.", oplockSubtests), prefixed("smb2.lock.", lockSubtests)...)
	runMustPass(t, nil, "", s.Host, s.Port, s.Share, suites)
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// runMustPass runs the subtests (through the command prefix via, with extra smbtorture
// arguments) against host:port; each must pass, with one retry, logged as FLAKY, for subtests
// that wait fixed times on a loaded machine (see TestSmbtortureCore).
func runMustPass(t *testing.T, via []string, tortureArgs, host, port, share string, suites []string) {
	t.Helper()
	res := runTortureVia(t, via, tortureArgs, host, port, share, testUser, testPass, suites)
	for _, suite := range suites {
		r := res[suite]
		if r.tests != 0 && r.passed == r.tests {
			continue
		}
		again := runTortureVia(t, via, tortureArgs, host, port, share, testUser, testPass, []string{suite})[suite]
		if again.tests != 0 && again.passed == again.tests {
			t.Logf("FLAKY %s: failed once, passed on the retry", suite)
			continue
		}
		t.Errorf("%s: %d of %d passed (retry: %d of %d)", suite, r.passed, r.tests, again.passed, again.tests)
	}
}
