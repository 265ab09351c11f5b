package csv

import (
	"testing"

	"pgregory.net/rapid"
)

// TestShareMapModel compares shareMap with a per-block count under random range updates.
func TestShareMapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m shareMap
		ref := map[uint64]int{}
		for i := rapid.IntRange(1, 60).Draw(t, "ops"); i > 0; i-- {
			start := uint64(rapid.IntRange(0, 100).Draw(t, "start"))
			n := uint64(rapid.IntRange(1, 30).Draw(t, "n"))
			delta := 1
			if rapid.Bool().Draw(t, "down") {
				// Only decrement where every block has a count, as deref does.
				ok := true
				for b := start; b < start+n; b++ {
					ok = ok && ref[b] > 0
				}
				if ok {
					delta = -1
				}
			}
			m.add(start, n, delta)
			for b := start; b < start+n; b++ {
				ref[b] += delta
			}
			for b := uint64(0); b < 140; b++ {
				if got := m.at(b); int(got) != ref[b] {
					t.Fatalf("block %d: %d, want %d (map %v)", b, got, ref[b], m)
				}
			}
			for k := range m {
				if m[k].extra == 0 || m[k].count == 0 || k > 0 && (m[k-1].start+m[k-1].count > m[k].start ||
					m[k-1].start+m[k-1].count == m[k].start && m[k-1].extra == m[k].extra) {
					t.Fatalf("map not canonical: %v", m)
				}
			}
		}
	})
}
