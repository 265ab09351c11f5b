package localfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// foldKey must agree with strings.EqualFold, which defines case-insensitive equality here.
func checkFoldKey(t *testing.T, a, b string) {
	t.Helper()
	if eq, same := strings.EqualFold(a, b), foldKey(a) == foldKey(b); eq != same {
		t.Fatalf("EqualFold(%q, %q) = %v but foldKey equal = %v (%q, %q)", a, b, eq, same, foldKey(a), foldKey(b))
	}
}

func TestFoldKey(t *testing.T) {
	pairs := [][2]string{
		{"abc", "ABC"}, {"k", "\u212a"}, {"s", "\u017f"}, {"Straße", "STRASSE"}, {"Ärger", "äRGER"},
		{"\xff", "\xfe"}, {"\xff", "\ufffd"}, {"Σίσυφος", "ΣΊΣΥΦΟΣ"}, {"ς", "σ"}, {"a", "b"}, {"", ""},
		{"İ", "i"}, {"ǅ", "ǆ"}, {"ǅ", "Ǆ"},
	}
	for _, p := range pairs {
		checkFoldKey(t, p[0], p[1])
	}
}

// FuzzFoldKey: for any name and any case-flipped variant of it, foldKey and EqualFold agree.
func FuzzFoldKey(f *testing.F) {
	f.Add("Hello.txt", uint64(0x5a5a))
	f.Add("ǅungla \u212a \u017f", uint64(7))
	f.Add("\xff\xfeΣ", uint64(3))
	f.Fuzz(func(t *testing.T, s string, flips uint64) {
		var b strings.Builder
		i := 0
		for _, r := range s {
			if flips>>(i%64)&1 != 0 {
				r = unicode.SimpleFold(r)
			}
			b.WriteRune(r)
			i++
		}
		checkFoldKey(t, s, b.String())
		checkFoldKey(t, s, strings.ToUpper(s))
	})
}

// TestFoldIndexSeesOtherProcesses: names created and removed by other programs after a
// directory was indexed are found and forgotten.
func TestFoldIndexSeesOtherProcesses(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, dir := newTestFS(t, hostFS.dir, Options{})
			ci := vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true}
			if _, _, err := fs.Open(bg, "FIRST", ci); err == nil {
				t.Fatal("found a name that does not exist")
			}
			for i := 0; i < 50; i++ {
				name := "Ext-" + strings.Repeat("x", i)
				if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				f := mustOpen(t, fs, strings.ToLower(name), ci)
				if f.Name() != name {
					t.Fatalf("resolved to %q, want %q", f.Name(), name)
				}
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
				if _, _, err := fs.Open(bg, strings.ToUpper(name), ci); err == nil {
					t.Fatalf("found %q after another process removed it", name)
				}
			}
		})
	}
}

// TestFoldIndexFollowsOwnRenamesAndDeletes: renames and deletes made through the FS keep the
// case index current (they update it instead of dropping it), including when two stored names
// differ only in case.
func TestFoldIndexFollowsOwnRenamesAndDeletes(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, dir := newTestFS(t, hostFS.dir, Options{})
			ci := vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true}
			create := vfs.OpenRequest{Disposition: vfs.Create, CaseInsensitive: true}
			for i := 0; i < 20; i++ {
				f, _, err := fs.Open(bg, fmt.Sprintf("Old-%d", i), create)
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			for i := 0; i < 20; i++ {
				f := mustOpen(t, fs, fmt.Sprintf("old-%d", i), vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true, Write: true})
				if err := f.Rename(fmt.Sprintf("New-%d", i), false); err != nil {
					t.Fatalf("rename %d: %v", i, err)
				}
				if _, _, err := fs.Open(bg, fmt.Sprintf("OLD-%d", i), ci); err == nil {
					t.Fatalf("old name %d still found after its rename", i)
				}
				g := mustOpen(t, fs, fmt.Sprintf("NEW-%d", i), ci)
				if g.Name() != fmt.Sprintf("New-%d", i) {
					t.Fatalf("resolved to %q", g.Name())
				}
			}
			// A delete removes the name from the index: creating its case variant makes a new file.
			f := mustOpen(t, fs, "new-0", ci)
			if err := f.Remove(); err != nil {
				t.Fatal(err)
			}
			g, act, err := fs.Open(bg, "NEW-0", vfs.OpenRequest{Disposition: vfs.OpenIf, CaseInsensitive: true})
			if err != nil || act != vfs.Created || g.Name() != "NEW-0" {
				t.Fatalf("open-if after delete: %v, %v, %q", act, err, g.Name())
			}
			g.Close()
			// Two names in one fold orbit (made by a POSIX client): deleting one leaves the other.
			for _, n := range []string{"twin", "TWIN"} {
				if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			mustOpen(t, fs, "Twin", ci) // index the directory with both
			h := mustOpen(t, fs, "TWIN", vfs.OpenRequest{Disposition: vfs.OpenExisting})
			if err := h.Remove(); err != nil {
				t.Fatal(err)
			}
			if k := mustOpen(t, fs, "Twin", ci); k.Name() != "twin" {
				t.Fatalf("after removing TWIN, Twin resolves to %q, want twin", k.Name())
			}
		})
	}
}
