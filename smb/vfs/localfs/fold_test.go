package localfs

import (
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
