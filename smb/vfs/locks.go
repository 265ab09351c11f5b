package vfs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Byte-range locks (MS-FSA 2.1.5.8 lock, 2.1.5.9 unlock, 2.1.4.10 conflict check) as a pure
// table: no SMB types, no I/O. The server keeps one LockTable per object (file id) and calls it
// from its SMB2 LOCK, READ, WRITE, CLOSE, LOGOFF and disconnect handling.
//
// Mapping to NTSTATUS (MS-SMB2 3.3.5.14), for the server:
//   - Lock → ErrLockConflict: STATUS_LOCK_NOT_GRANTED, always. SMB1 servers answered a repeated
//     failing lock on the same range, or one at offset ≥ 0xEF000000, with
//     STATUS_FILE_LOCK_CONFLICT; SMB2 dropped that, and Windows and Samba return
//     STATUS_LOCK_NOT_GRANTED for every failed SMB2 lock (smbtorture smb2.lock.errorcode checks
//     it). So the server keeps no "last failed lock" state.
//   - CheckIO → ErrLockConflict: STATUS_FILE_LOCK_CONFLICT (a READ or WRITE over a locked range).
//   - ErrInvalidRange: STATUS_INVALID_LOCK_RANGE.
//   - ErrRangeNotLocked: STATUS_RANGE_NOT_LOCKED, both for an unlock of a range not locked
//     exactly and for a blocking lock whose own open was closed while it waited (smbtorture
//     smb2.lock.cancel-close expects that status for the pending request).
//   - A blocking Lock ended by ctx (SMB2 CANCEL): the ctx error; the server answers
//     STATUS_CANCELLED.
//
// What the server validates itself, because it is about the request rather than the locks
// (all STATUS_INVALID_PARAMETER): LockCount 0; bad flag combinations, including SHARED or
// EXCLUSIVE together with UNLOCK; a multi-element array with a blocking element (MS-SMB2
// 3.3.5.14.2 <367>); locks on directories. Mixed arrays follow the first element (smbtorture
// smb2.lock.multiple-unlock): an unlock array has its leading unlocks done (call Unlock with that
// prefix) and then fails at its first lock element; a lock array that contains an unlock fails
// with nothing locked (validate before calling Lock).

// LockOwner identifies who holds a byte-range lock: the server passes its open (handle) pointer,
// MS-FSA's ByteRangeLock.OwnerOpen. Owners are compared with ==, so the dynamic type must be
// comparable (a pointer is).
type LockOwner any

// LockRange is one element of a lock or unlock request. Length 0 is allowed (MS-FSA 2.1.5.8).
// Exclusive is ignored by Unlock, which matches on offset and length only.
type LockRange struct {
	Offset, Length uint64
	Exclusive      bool
}

// HeldLock is a granted lock, as reported by Held.
type HeldLock struct {
	Owner LockOwner
	LockRange
}

var (
	// ErrLockConflict: another lock prevents the lock or the I/O.
	ErrLockConflict = errors.New("byte range locked")
	// ErrRangeNotLocked: no lock of this owner matches the range exactly, or the owner's pending
	// lock was abandoned because the owner released everything (closed).
	ErrRangeNotLocked = errors.New("byte range not locked")
	// ErrInvalidRange: the range extends past the last byte a 64-bit offset can address.
	ErrInvalidRange = errors.New("invalid byte range")
)

// LockTable holds the byte-range locks of one object and the lock requests waiting on them. It
// is safe for concurrent use. One mutex guards it and is never held while a caller waits.
//
// Waiting requests are granted by whoever removes a lock (Unlock, ReleaseAll), under the mutex,
// in FIFO order: each waiter, oldest first, is granted if it is compatible with the locks held
// at that point, including those just granted to older waiters. Hence the invariant that makes
// wakeups impossible to lose: whenever the mutex is free, no waiter could be granted.
//
// As in MS-FSA 2.1.5.8, which checks a request against ByteRangeLockList (the granted locks)
// only, a new request does not queue behind older waiters: a shared lock is granted at once
// beside other shared locks even while an exclusive request waits for them to go.
//
// Each operation is linear in the number of locks held on the object (and Lock in the square of
// the ranges in one request, which the server bounds by the request size).
type LockTable struct {
	mu      sync.Mutex
	held    []HeldLock     // in grant order; Unlock's choice among equal ranges depends on it
	waiters []*lockWaiter  // FIFO
	byOwner map[any]uint32 // number of held locks per owner: ReleaseAll of a lock-free open skips the held scan
}

type lockWaiter struct {
	owner  LockOwner
	ranges []LockRange
	// done is closed once the waiter is settled: err is nil when its locks were granted, or
	// ErrRangeNotLocked when its owner was released. Both fields are written under the mutex
	// before done is closed.
	done chan struct{}
	err  error
}

// NewLockTable returns a table with no locks.
func NewLockTable() *LockTable { return &LockTable{byOwner: make(map[any]uint32)} }

// validRange reports whether a range stays within 64-bit offsets (MS-FSA 2.1.5.8: invalid when
// FileOffset + Length - 1 wraps and Length != 0).
func validRange(off, n uint64) bool { return n == 0 || off+n-1 >= off }

// rangesOverlap implements the overlap test of MS-FSA 2.1.4.10 for two valid ranges. The {0, 0}
// range overlaps nothing. Any other zero-length range at offset o has "last byte" o-1, so it
// overlaps exactly the ranges that contain both byte o-1 and byte o: a zero-byte lock at 10
// conflicts with a lock of 9..10 but not with 10..11 or 9..9 (smbtorture smb2.lock.zerobytelength).
func rangesOverlap(off1, n1, off2, n2 uint64) bool {
	if off1 == 0 && n1 == 0 || off2 == 0 && n2 == 0 {
		return false
	}
	last1, last2 := off1+n1-1, off2+n2-1
	return off1 <= last2 && last1 >= off2
}

// blocks reports whether held lock h blocks an access of [off, off+n) by owner (MS-FSA 2.1.4.10).
// exclusive is the access's intent (an exclusive lock, or a write); lockIntent says it is a lock
// request rather than I/O.
//   - Another owner's exclusive lock blocks everything.
//   - The owner's own exclusive lock blocks only another exclusive lock by the same owner: it may
//     read and write there and stack shared locks on top.
//   - Any shared lock, even the owner's own, blocks exclusive intent: a write, or an exclusive
//     lock. Shared locks stack freely.
func blocks(h *HeldLock, owner LockOwner, off, n uint64, exclusive, lockIntent bool) bool {
	if !rangesOverlap(h.Offset, h.Length, off, n) {
		return false
	}
	if h.Exclusive {
		if h.Owner != owner {
			return true
		}
		return exclusive && lockIntent
	}
	return exclusive
}

// Lock takes all ranges for owner, in order and all or nothing (MS-SMB2 3.3.5.14.2: when element
// k fails, elements 0..k-1 of the request are not left locked; MS-FSA 2.1.5.8 for each element).
// An element conflicts with held locks and with the earlier elements of the same request (two
// overlapping exclusive ranges, say). A range past 2^64 is ErrInvalidRange.
//
// With wait false, a request that cannot be granted now fails at once with the error of its
// first failing element: ErrLockConflict or ErrInvalidRange. With wait true Lock blocks until
// every range can be granted together, or until ctx ends (the ctx error is returned and nothing
// is locked), or until owner is released by ReleaseAll (ErrRangeNotLocked). A request that can
// never be granted (an invalid range, or elements conflicting with each other) fails at once
// even then. While waiting the request holds none of its ranges. If the grant and the end of
// ctx race, a granted lock wins and Lock returns nil: the locks are held.
//
// An empty ranges slice locks nothing and succeeds.
func (t *LockTable) Lock(ctx context.Context, owner LockOwner, ranges []LockRange, wait bool) error {
	return t.lock(ctx, owner, ranges, wait, nil)
}

// LockOrWait is Lock with wait true that also calls onWait (if not nil) once, without the
// table's lock held, when the request cannot be granted at once and starts waiting: the moment
// the server sends the interim STATUS_PENDING response and the LOCK goes async. onWait is not
// called when the request is granted or fails at once.
func (t *LockTable) LockOrWait(ctx context.Context, owner LockOwner, ranges []LockRange, onWait func()) error {
	return t.lock(ctx, owner, ranges, true, onWait)
}

func (t *LockTable) lock(ctx context.Context, owner LockOwner, ranges []LockRange, wait bool, onWait func()) error {
	t.mu.Lock()
	first, permanent := t.checkLocked(owner, ranges)
	if first == nil {
		t.grantLocked(owner, ranges)
		t.mu.Unlock()
		return nil
	}
	if !wait {
		t.mu.Unlock()
		return first
	}
	if permanent != nil {
		t.mu.Unlock()
		return permanent
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		t.mu.Unlock()
		return fmt.Errorf("byte-range lock (%d ranges from offset %d) not granted and the request is already cancelled: %w",
			len(ranges), ranges[0].Offset, ctxErr)
	}
	w := &lockWaiter{owner: owner, ranges: slices.Clone(ranges), done: make(chan struct{})}
	t.waiters = append(t.waiters, w)
	t.mu.Unlock()

	if onWait != nil {
		onWait()
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-w.done:
		// Settled between ctx ending and us taking the mutex: the outcome stands.
		return w.err
	default:
	}
	// Removing a waiter frees nothing, so no other waiter becomes grantable.
	t.removeWaiterLocked(w)
	return fmt.Errorf("waiting for byte-range lock (%d ranges from offset %d): %w", len(ranges), ranges[0].Offset, ctx.Err())
}

// checkLocked examines ranges for owner. first is the error of the first element, in request
// order, that cannot be granted now (nil if all can). permanent is the first error that waiting
// cannot cure: an invalid range, or a conflict with an earlier element of the same request. It
// may come after first (element 0 held by someone else, element 1 invalid), so the scan goes on
// past first until a permanent error or the end.
func (t *LockTable) checkLocked(owner LockOwner, ranges []LockRange) (first, permanent error) {
	for k, r := range ranges {
		var err error
		switch {
		case !validRange(r.Offset, r.Length):
			err = fmt.Errorf("lock element %d (offset %d, length %d): %w", k, r.Offset, r.Length, ErrInvalidRange)
			permanent = err
		case first == nil:
			// Only an element with no earlier failure needs the held locks checked: after the
			// first failure, the scan looks for permanent errors only.
			if i := t.heldConflictLocked(owner, r); i >= 0 {
				err = fmt.Errorf("lock element %d (offset %d, length %d) overlaps a lock at offset %d, length %d: %w",
					k, r.Offset, r.Length, t.held[i].Offset, t.held[i].Length, ErrLockConflict)
			}
		}
		if permanent == nil {
			for j := range ranges[:k] {
				earlier := HeldLock{Owner: owner, LockRange: ranges[j]}
				if blocks(&earlier, owner, r.Offset, r.Length, r.Exclusive, true) {
					// A conflict with an earlier element comes before any with held locks: it is
					// what would stop this element even if everyone else let go.
					err = fmt.Errorf("lock element %d (offset %d, length %d) overlaps element %d of the same request: %w",
						k, r.Offset, r.Length, j, ErrLockConflict)
					permanent = err
					break
				}
			}
		}
		if first == nil {
			first = err
		}
		if permanent != nil {
			return first, permanent
		}
	}
	return first, nil
}

// heldConflictLocked returns the index of the first held lock that blocks owner's lock r, or -1.
func (t *LockTable) heldConflictLocked(owner LockOwner, r LockRange) int {
	for i := range t.held {
		if blocks(&t.held[i], owner, r.Offset, r.Length, r.Exclusive, true) {
			return i
		}
	}
	return -1
}

// fitsLocked reports whether ranges conflict with no held lock. It is checkLocked for a waiter,
// whose ranges were already found valid and free of conflicts among themselves, without the
// cost of building an error.
func (t *LockTable) fitsLocked(owner LockOwner, ranges []LockRange) bool {
	for _, r := range ranges {
		if t.heldConflictLocked(owner, r) >= 0 {
			return false
		}
	}
	return true
}

func (t *LockTable) grantLocked(owner LockOwner, ranges []LockRange) {
	for _, r := range ranges {
		t.held = append(t.held, HeldLock{Owner: owner, LockRange: r})
	}
	if len(ranges) > 0 {
		t.byOwner[owner] += uint32(len(ranges))
	}
}

func (t *LockTable) removeWaiterLocked(w *lockWaiter) {
	if i := slices.Index(t.waiters, w); i >= 0 {
		t.waiters = slices.Delete(t.waiters, i, i+1)
	}
}

// wakeLocked grants, oldest first, every waiter that fits beside the locks now held. One pass is
// enough: granting adds locks, which can never make a skipped (older) waiter grantable.
func (t *LockTable) wakeLocked() {
	kept := t.waiters[:0]
	for _, w := range t.waiters {
		if t.fitsLocked(w.owner, w.ranges) {
			t.grantLocked(w.owner, w.ranges)
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	clear(t.waiters[len(kept):])
	t.waiters = kept
}

// Unlock removes owner's locks on ranges, in order (MS-FSA 2.1.5.9 for each element). Each range
// must match a lock of owner exactly (offset and length; Exclusive is ignored); when the owner
// holds both an exclusive and a shared lock on the range, the exclusive one goes first. The first
// range that matches nothing stops processing with ErrRangeNotLocked, and the ranges before it
// stay unlocked (MS-SMB2 3.3.5.14.1: unlocks are not rolled back). An invalid range gives
// ErrInvalidRange the same way. Waiters that now fit are granted.
func (t *LockTable) Unlock(owner LockOwner, ranges []LockRange) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	removed := false
	defer func() {
		if removed {
			t.wakeLocked()
		}
	}()
	for k, r := range ranges {
		if !validRange(r.Offset, r.Length) {
			return fmt.Errorf("unlock element %d (offset %d, length %d): %w", k, r.Offset, r.Length, ErrInvalidRange)
		}
		victim := -1
		for i := range t.held {
			h := &t.held[i]
			if h.Offset == r.Offset && h.Length == r.Length && h.Owner == owner {
				victim = i
				if h.Exclusive {
					break
				}
			}
		}
		if victim < 0 {
			return fmt.Errorf("unlock element %d (offset %d, length %d): %w", k, r.Offset, r.Length, ErrRangeNotLocked)
		}
		t.held = slices.Delete(t.held, victim, victim+1)
		if t.byOwner[owner]--; t.byOwner[owner] == 0 {
			delete(t.byOwner, owner)
		}
		removed = true
	}
	return nil
}

// ReleaseAll drops every lock owner holds and abandons its waiting requests, which return
// ErrRangeNotLocked: the open is closing (CLOSE, LOGOFF, TREE_DISCONNECT, a dropped connection).
// Other owners' waiters that now fit are granted.
func (t *LockTable) ReleaseAll(owner LockOwner) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.waiters[:0]
	for _, w := range t.waiters {
		if w.owner == owner {
			w.err = fmt.Errorf("byte-range lock request abandoned: its open was closed: %w", ErrRangeNotLocked)
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	clear(t.waiters[len(kept):])
	t.waiters = kept
	if t.byOwner[owner] == 0 {
		return
	}
	delete(t.byOwner, owner)
	t.held = slices.DeleteFunc(t.held, func(h HeldLock) bool { return h.Owner == owner })
	t.wakeLocked()
}

// CheckIO reports whether owner may read (write false) or write [off, off+n) given the locks
// held (MS-FSA 2.1.4.10 with LockIntent false): a read is blocked by another owner's exclusive
// lock; a write by another owner's lock of either kind and by the owner's own shared lock (a
// shared lock makes the range read-only for everyone, its owner included). A zero-length I/O
// never conflicts (MS-FSA 2.1.5.2/2.1.5.3 finish a zero-byte read or write before the lock
// check; smbtorture smb2.lock.zerobyteread). A range past 2^64 gives ErrInvalidRange.
func (t *LockTable) CheckIO(owner LockOwner, off, n uint64, write bool) error {
	if n == 0 {
		return nil
	}
	if !validRange(off, n) {
		return fmt.Errorf("I/O at offset %d, length %d: %w", off, n, ErrInvalidRange)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.held {
		if blocks(&t.held[i], owner, off, n, write, false) {
			h := &t.held[i]
			return fmt.Errorf("I/O at offset %d, length %d overlaps a lock at offset %d, length %d: %w",
				off, n, h.Offset, h.Length, ErrLockConflict)
		}
	}
	return nil
}

// Held returns a snapshot of the granted locks in grant order (for diagnostics and tests).
func (t *LockTable) Held() []HeldLock {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.held)
}

// Waiting returns how many lock requests are waiting.
func (t *LockTable) Waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.waiters)
}
