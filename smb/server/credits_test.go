package server

import (
	"testing"

	"pgregory.net/rapid"
)

func TestCreditWindowBasics(t *testing.T) {
	w := newCreditWindow(100)
	if !w.consume(0, 0) {
		t.Fatal("message 0 refused on a new connection")
	}
	if w.consume(0, 1) {
		t.Fatal("message 0 accepted twice")
	}
	if w.consume(1, 1) {
		t.Fatal("message 1 accepted before any grant")
	}
	if g := w.grant(10); g != 10 {
		t.Fatalf("grant(10) = %d", g)
	}
	// Out of order within the window is fine.
	if !w.consume(5, 1) || !w.consume(1, 4) {
		t.Fatal("out-of-order or multi-credit consume refused")
	}
	if w.consume(4, 2) {
		t.Fatal("overlapping multi-credit range accepted")
	}
	if w.consume(11, 1) {
		t.Fatal("id beyond the window accepted")
	}
	w.grant(1000)
	if c := w.credits(); c != 100 {
		t.Fatalf("after a large request the client holds %d credits, want the max 100", c)
	}
}

func TestCreditWindowNeverStarves(t *testing.T) {
	w := newCreditWindow(8)
	id := uint64(0)
	for i := 0; i < 100; i++ {
		if !w.consume(id, 1) {
			t.Fatalf("consume %d refused", id)
		}
		id++
		if g := w.grant(0); g == 0 && w.credits() == 0 {
			t.Fatal("client left with zero credits")
		}
	}
}

// TestCreditWindowProperty: a client that always uses its lowest free ids and asks for at least
// one credit per request (possibly skipping ids, as smbtorture's skipped_mid does) is never
// refused, never holds more than max credits, and always has an id it can use.
func TestCreditWindowProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.Uint32Range(1, 512).Draw(t, "max")
		w := newCreditWindow(max)
		free := []uint64{0} // ids the client may use, ascending
		next := uint64(1)
		for step := 0; step < 200; step++ {
			if len(free) == 0 {
				t.Fatalf("client holds no usable id")
			}
			skip := rapid.IntRange(0, 10).Draw(t, "skip") == 0 && len(free) > 1
			if skip {
				free = free[1:] // leave the lowest id as a hole forever
			}
			id := free[0]
			if !w.consume(id, 1) {
				t.Fatalf("step %d: valid id %d refused", step, id)
			}
			free = free[1:]
			g := w.grant(uint16(rapid.IntRange(1, 64).Draw(t, "req")))
			for k := uint16(0); k < g; k++ {
				free = append(free, next)
				next++
			}
			if c := w.credits(); c > max || c == 0 {
				t.Fatalf("step %d: client holds %d credits (max %d)", step, c, max)
			}
		}
	})
}
