package server

import "sync"

// creditWindow is a connection's CommandSequenceWindow (MS-SMB2 3.3.1.1) and its credit grant
// policy (3.3.1.2). Message ids are valid in [low, high); each id can be consumed once; ids may
// arrive out of order. outstanding counts credits the client holds (granted, not yet consumed);
// grants keep it at most max and never let it reach zero (3.3.1.2: the client must never be left
// without a credit).
//
// A client that skips ids (smbtorture smb2.credits.skipped_mid) leaves holes below which low
// cannot advance, and each hole still counts as a credit the client holds. A client never has
// more than max requests in flight, so an unused id more than max below the highest id consumed
// can only be a hole: it is abandoned and its credit reclaimed (3.3.1.1 lets the server limit the
// range). The width is also bounded by ringSize.
type creditWindow struct {
	mu          sync.Mutex
	low, high   uint64
	outstanding uint32
	max         uint32
	maxSeen     uint64   // highest id consumed so far
	used        []uint64 // bitmap of consumed ids in [low, high), indexed id % ringSize
}

const ringSize = 1 << 16 // ids; must exceed any credit limit we configure

func newCreditWindow(max uint32) *creditWindow {
	if max == 0 || max > ringSize/2 {
		max = ringSize / 2
	}
	return &creditWindow{high: 1, outstanding: 1, max: max, used: make([]uint64, ringSize/64)}
}

func (w *creditWindow) isUsed(id uint64) bool { return w.used[(id%ringSize)/64]&(1<<(id%64)) != 0 }
func (w *creditWindow) setUsed(id uint64, v bool) {
	if v {
		w.used[(id%ringSize)/64] |= 1 << (id % 64)
	} else {
		w.used[(id%ringSize)/64] &^= 1 << (id % 64)
	}
}

// consume takes ids [id, id+charge) out of the window (charge 0 counts as 1). It reports false
// when any of them is outside the window or already used: the caller terminates the connection
// (3.3.5.2.3).
func (w *creditWindow) consume(id uint64, charge uint16) bool {
	n := uint64(charge)
	if n == 0 {
		n = 1
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if id < w.low || id+n > w.high || id+n < id {
		return false
	}
	for i := id; i < id+n; i++ {
		if w.isUsed(i) {
			return false
		}
	}
	for i := id; i < id+n; i++ {
		w.setUsed(i, true)
	}
	if uint32(n) > w.outstanding {
		w.outstanding = 0
	} else {
		w.outstanding -= uint32(n)
	}
	if top := id + n - 1; top > w.maxSeen {
		w.maxSeen = top
	}
	for w.low < w.high {
		switch {
		case w.isUsed(w.low):
			w.setUsed(w.low, false)
		case w.low+uint64(w.max) <= w.maxSeen && w.outstanding > 0:
			w.outstanding-- // a hole: reclaim its credit
		default:
			return true
		}
		w.low++
	}
	return true
}

// grant decides how many credits a response carries for a request asking for requested, and
// widens the window by that many.
func (w *creditWindow) grant(requested uint16) uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := uint32(requested)
	if room := w.max - min(w.max, w.outstanding); g > room {
		g = room
	}
	if w.outstanding+g == 0 {
		g = 1
	}
	w.outstanding += g
	w.high += uint64(g)
	// Abandon the oldest holes rather than let the window outgrow the bitmap.
	for w.high-w.low > ringSize {
		w.setUsed(w.low, false)
		w.low++
	}
	return uint16(g)
}

// credits reports the credits the client holds now (for tests and metrics).
func (w *creditWindow) credits() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.outstanding
}
