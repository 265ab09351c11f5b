package test

import "testing"

// notifySubtests are the smb2.notify subtests sofs passes (19 of 23; Samba 4.17 passes 18 on
// this machine and fails dir, which sofs passes). All must keep passing. Still failing, as in
// Samba: mask (a completion filter matching exactly the bits Windows reports per operation),
// mask-change and rec (the first request's filter and tree flag stay for the handle's life),
// tree (a name with ".." inside the share).
var notifySubtests = []string{
	"valid-req", "tcon", "dir", "tdis", "tdis1", "close", "logoff", "session-reconnect",
	"invalid-reauth", "basedir", "double", "file", "tcp", "overflow", "rmdir1", "rmdir2", "rmdir3",
	"rmdir4", "handle-permissions",
}

// TestSmbtortureNotify runs the smb2.notify subtests sofs passes against sofsd: several pending
// requests per handle completed in order, cancel, NOTIFY_CLEANUP on close/logoff/tdis, overflow
// as NOTIFY_ENUM_DIR, DELETE_PENDING for a doomed directory. All must pass.
func TestSmbtortureNotify(t *testing.T) {
	runMustPass(t, startSofsd(t), "smb2.notify.", notifySubtests)
}

// runMustPass runs prefix+name for each name against s; each must pass, with one retry for
// subtests that wait fixed times (see TestSmbtortureCore), logged as FLAKY.
func runMustPass(t *testing.T, s *sofsd, prefix string, names []string) {
	t.Helper()
	var suites []string
	for _, n := range names {
		suites = append(suites, prefix+n)
	}
	res := runTorture(t, s.Host, s.Port, s.Share, testUser, testPass, suites)
	for _, suite := range suites {
		r := res[suite]
		if r.tests != 0 && r.passed == r.tests {
			continue
		}
		again := runTorture(t, s.Host, s.Port, s.Share, testUser, testPass, []string{suite})[suite]
		if again.tests != 0 && again.passed == again.tests {
			t.Logf("FLAKY %s: failed once, passed on the retry", suite)
			continue
		}
		t.Errorf("%s: %d of %d passed (retry: %d of %d)", suite, r.passed, r.tests, again.passed, again.tests)
	}
}
