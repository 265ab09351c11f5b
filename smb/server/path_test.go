package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
)

func TestSharePath(t *testing.T) {
	ok := map[string]string{
		"":                "",
		`a`:               "a",
		`a\b\c.txt`:       "a/b/c.txt",
		`a/b\c.txt`:       "a/b/c.txt",
		`dir\`:            "dir",
		`file.txt::$DATA`: "file.txt",
		`ünïcödé\日本`:      "ünïcödé/日本",
		`with space .txt`: "with space .txt",
	}
	for in, want := range ok {
		got, err := sharePath(in)
		if err != nil || got != want {
			t.Errorf("sharePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]error{
		`\a`:                     errInvalidParameter,
		`a\..\b`:                 errPathSyntax,
		`..`:                     errPathSyntax,
		`.\a`:                    vfs.ErrInvalidName,
		`a\\b`:                   vfs.ErrInvalidName,
		`a/../b`:                 errPathSyntax,
		`/a`:                     errInvalidParameter,
		`a:stream`:               vfs.ErrInvalidName,
		`a*`:                     vfs.ErrInvalidName,
		"a\x01":                  vfs.ErrInvalidName,
		strings.Repeat("x", 256): vfs.ErrInvalidName,
	}
	for in, want := range bad {
		if _, err := sharePath(in); !errors.Is(err, want) {
			t.Errorf("sharePath(%q) error = %v, want %v", in, err, want)
		}
	}
}

func FuzzSharePath(f *testing.F) {
	for _, s := range []string{"a", `a\b`, `..\x`, `a::$DATA`, `\\x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := sharePath(in)
		if err != nil {
			return
		}
		// Whatever passes can never name anything outside the share.
		for _, e := range strings.Split(out, "/") {
			if out != "" && (e == "" || e == "." || e == ".." || strings.ContainsAny(e, `\:`)) {
				t.Fatalf("sharePath(%q) = %q has element %q", in, out, e)
			}
		}
		if strings.HasPrefix(out, "/") {
			t.Fatalf("sharePath(%q) = %q is absolute", in, out)
		}
	})
}
