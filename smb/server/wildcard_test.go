package server

import (
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"*", "anything.txt", true},
		{"*", "", true},
		{"*.txt", "a.txt", true},
		{"*.txt", "a.TXT", true},
		{"*.txt", "a.txt.bak", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"<.txt", "a.b.txt", true}, // DOS_STAR may pass non-final dots
		{"<", "a.b", false},        // cannot swallow the final dot
		{"<.b", "a.b", true},
		{"a>>", "a", true},      // DOS_QM matches nothing at end of name
		{"a>>.c", "ab.c", true}, // ...and nothing before a dot
		{"a>.c", "abc.c", false},
		{"a\"", "a", true}, // DOS_DOT matches nothing at end
		{"a\"b", "a.b", true},
		{"a\"b", "axb", false},
		{"<\"*", "file", true}, // *.* as Windows rewrites it
		{"<\"*", "file.txt", true},
		{"FILE", "file", true},
		{"file", "fileX", false},
		{"*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 200), false},
	}
	for _, c := range cases {
		if got := matchPattern(c.pat, c.name, true); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
	if matchPattern("FILE", "file", false) {
		t.Error("case-sensitive match of FILE against file succeeded")
	}
}

func FuzzMatchPattern(f *testing.F) {
	f.Add("*.txt", "a.txt")
	f.Add("<\"*", "a.b.c")
	f.Add("a>>.c", "ab.c")
	f.Fuzz(func(t *testing.T, pat, name string) {
		if len(pat) > 256 || len(name) > 256 {
			return
		}
		got := matchPattern(pat, name, true)
		if !hasWildcards(pat) {
			// A literal pattern matches exactly the names equal to it rune by rune under folding.
			p, n := []rune(pat), []rune(name)
			want := len(p) == len(n)
			for i := 0; want && i < len(p); i++ {
				want = p[i] == n[i] || foldEqual(p[i], n[i])
			}
			if got != want {
				t.Fatalf("literal pattern %q vs %q: got %v want %v", pat, name, got, want)
			}
		}
		if pat == "*" && !got {
			t.Fatalf("* did not match %q", name)
		}
	})
}

// hasWildcards reports whether a search pattern contains a wildcard (a literal pattern must
// match exactly the fold-equal names).
func hasWildcards(s string) bool {
	for _, c := range s {
		switch c {
		case '*', '?', '<', '>', '"':
			return true
		}
	}
	return false
}
