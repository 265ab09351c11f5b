package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestUserDBRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	for _, u := range []struct{ name, pw string }{{"alice", "a"}, {"Bob", "b"}, {"Zoë Ünicode", "ü"}} {
		if err := AddUser(path, u.name, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	for _, pw := range []string{":a\n", ":b\n"} {
		if strings.Contains(string(raw), pw) {
			t.Fatal("password stored in clear")
		}
	}
	db, err := LoadUserDB(path)
	if err != nil {
		t.Fatal(err)
	}
	sid := db.DomainSID()
	if !strings.HasPrefix(sid, "S-1-5-21-") {
		t.Fatalf("domain sid %q", sid)
	}
	bob, ok := db.Lookup("BOB")
	if !ok || bob.Name != "Bob" || bob.RID != 1001 || bob.SID != sid+"-1001" || bob.NTHash != NTHash("b") {
		t.Fatalf("lookup BOB: %+v %v", bob, ok)
	}
	if u, ok := db.Lookup("zoË ünicode"); !ok || u.RID != 1002 {
		t.Fatalf("unicode case-insensitive lookup: %+v %v", u, ok)
	}
	// Password change keeps RID and SID; deleting frees the name but not the RID.
	if err := AddUser(path, "ALICE", "new"); err != nil {
		t.Fatal(err)
	}
	if err := DelUser(path, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(path, "carol", "c"); err != nil {
		t.Fatal(err)
	}
	db, err = LoadUserDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := db.Lookup("alice"); a.RID != 1000 || a.NTHash != NTHash("new") || a.Name != "alice" {
		t.Fatalf("after password change: %+v", a)
	}
	if _, ok := db.Lookup("bob"); ok {
		t.Fatal("deleted user still present")
	}
	if c, _ := db.Lookup("carol"); c.RID != 1003 {
		t.Fatalf("carol RID %d, want 1003 (RIDs are not reused while higher ones exist)", c.RID)
	}
	if db.DomainSID() != sid {
		t.Fatal("domain SID changed across writes")
	}
	if err := DelUser(path, "nobody"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("del unknown: %v", err)
	}
	// No temp files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("leftover temp file %s", e.Name())
		}
	}
}

func TestUserDBRejectsBadNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	for _, name := range []string{"", "a:b", "a\nb", "tab\tname", "dom\\user", "u@realm", " lead", "trail ", "\x7f", strings.Repeat("x", 300)} {
		if err := AddUser(path, name, "pw"); !errors.Is(err, ErrBadName) {
			t.Errorf("AddUser(%q) = %v, want ErrBadName", name, err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("rejected names created the file")
	}
}

func TestParseUserDBErrors(t *testing.T) {
	good := "sofs-users 1\ndomain-sid S-1-5-21-1-2-3\nuser:a:1000:" + strings.Repeat("00", 16) + "\n"
	if _, err := ParseUserDB([]byte(good)); err != nil {
		t.Fatalf("good file: %v", err)
	}
	bad := map[string]string{
		"no header":    "domain-sid S-1-5-21-1-2-3\n",
		"version 2":    "sofs-users 2\n",
		"empty":        "",
		"short hash":   "sofs-users 1\ndomain-sid S-1-5-21-1-2-3\nuser:a:1000:00\n",
		"bad rid":      "sofs-users 1\ndomain-sid S-1-5-21-1-2-3\nuser:a:12:" + strings.Repeat("00", 16) + "\n",
		"dup name":     good + "user:A:1001:" + strings.Repeat("00", 16) + "\n",
		"dup rid":      good + "user:b:1000:" + strings.Repeat("00", 16) + "\n",
		"no sid":       "sofs-users 1\nuser:a:1000:" + strings.Repeat("00", 16) + "\n",
		"bad sid":      "sofs-users 1\ndomain-sid S-1-5-32-1\n",
		"unknown line": good + "group:x\n",
		"extra field":  "sofs-users 1\ndomain-sid S-1-5-21-1-2-3\nuser:a:1000:" + strings.Repeat("00", 16) + ":x\n",
	}
	for name, data := range bad {
		if _, err := ParseUserDB([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Readers running while a writer rewrites the file always see a complete database:
// either before or after each edit, never a torn or empty file.
func TestUserDBConcurrentReadersDuringWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	if err := AddUser(path, "base", "pw"); err != nil {
		t.Fatal(err)
	}
	const writes = 30
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				db, err := LoadUserDB(path)
				if err != nil {
					errs <- err
					return
				}
				if _, ok := db.Lookup("base"); !ok {
					errs <- errors.New("reader saw a database without the base user")
					return
				}
			}
		}()
	}
	// Concurrent writers serialise on the lock file: no edit is lost.
	var wwg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wwg.Add(1)
		go func(w int) {
			defer wwg.Done()
			for i := 0; i < writes/3; i++ {
				if err := AddUser(path, "user"+string(rune('a'+w))+string(rune('a'+i)), "pw"); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wwg.Wait()
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	db, err := LoadUserDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(db.Users()); n != writes+1 {
		t.Fatalf("%d users after %d concurrent adds, want %d", n, writes, writes+1)
	}
}
