package test

import (
	"fmt"
	"strings"
	"testing"
)

// leaseDurableSuites are the smbtorture suites of leases and durable handles (issue 3), with the
// floor sofs must not fall below and Samba 4.17's count with the same script on the same machine
// (measured once, 2026-12-02; recorded rather than re-run so the gate costs one smbtorture run).
var leaseDurableSuites = []struct {
	suite        string
	floor, samba int
	missing      string
}{
	// 36 when run alone (2026-12-03: every subtest but the three that skip for want of directory
	// leases); the floor leaves one for the fixed waits of a loaded machine.
	{"smb2.lease", 35, 34, "directory leases are not built (v2_request, v2_request_parent, dynamic_share skip)"},
	// 22 alone and, on 2026-12-03, after smb2.lease too; earlier loaded runs lost lease and
	// open2-lease after smb2.lease (a break racing the disconnect), which the retry alone covers.
	{"smb2.durable-open", 22, 22, "delete_on_close1 (size after a delete-on-close durable; Samba fails delete_on_close2 instead), lease/open2-lease under load"},
	{"smb2.durable-v2-open", 14, 14, "both fail app-instance"},
}

// TestSmbtortureLeasesAndDurable runs those suites against sofsd and holds each at its floor;
// sofsd runs with a 300 s durable cap, Samba's and Windows' (sofs defaults to 180 s), because
// smbtorture checks the granted v2 timeout against 300 s;
// every gap to Samba is logged as a finding. A suite below its floor is retried once (fixed
// waits in smbtorture on a loaded machine), a pass on the retry logged as FLAKY.
func TestSmbtortureLeasesAndDurable(t *testing.T) {
	s := startSofsd(t, "--durable-timeout", "300s")
	var names []string
	for _, sd := range leaseDurableSuites {
		names = append(names, sd.suite)
	}
	res := runTorture(t, s.Host, s.Port, s.Share, testUser, testPass, names)
	var table strings.Builder
	fmt.Fprintf(&table, "%-22s %10s %12s\n", "suite", "sofs", "Samba 4.17")
	for _, sd := range leaseDurableSuites {
		r := res[sd.suite]
		if r.passed < sd.floor {
			again := runTorture(t, s.Host, s.Port, s.Share, testUser, testPass, []string{sd.suite})[sd.suite]
			if again.passed > r.passed {
				t.Logf("FLAKY %s: %d passed, %d on the retry", sd.suite, r.passed, again.passed)
				r = again
			}
		}
		fmt.Fprintf(&table, "%-22s %4d / %-4d %5d / %-4d\n", sd.suite, r.passed, r.tests, sd.samba, r.tests)
		switch {
		case r.passed < sd.floor:
			t.Errorf("%s: sofs passes %d, below its floor %d (regression)", sd.suite, r.passed, sd.floor)
		case r.passed < sd.samba:
			t.Logf("FINDING %s: sofs %d < Samba %d: %s", sd.suite, r.passed, sd.samba, sd.missing)
		}
	}
	t.Logf("smbtorture passed subtests, sofs beside Samba:\n%s", table.String())
}

// TestFailedCreateLeavesNothing runs smb2.lease.request twice against one share: its create of
// a directory under a lease key that already leases a file must fail with INVALID_PARAMETER and
// leave no directory behind, or the second run meets OBJECT_NAME_COLLISION (found by hand on a
// reused share; every other torture gate starts from an empty one).
func TestFailedCreateLeavesNothing(t *testing.T) {
	s := startSofsd(t)
	runMustPass(t, nil, "", s.Host, s.Port, s.Share, []string{"smb2.lease.request"})
	runMustPass(t, nil, "", s.Host, s.Port, s.Share, []string{"smb2.lease.request"})
}
