package vfs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OplockLevel is an open's caching right on an object (MS-FSA 2.1.5.17). The values are those of
// MS-SMB2 2.2.13 RequestedOplockLevel so the server needs no translation table.
type OplockLevel uint8

const (
	OplockNone      OplockLevel = 0x00
	OplockLevelII   OplockLevel = 0x01 // read caching, shared
	OplockExclusive OplockLevel = 0x08 // read+write caching, sole open
	OplockBatch     OplockLevel = 0x09 // exclusive plus handle caching
)

// BreakFunc tells an open's holder that its oplock is breaking to a lower level. It is called
// without the table's lock held and must not block for long (the server queues a notification).
type BreakFunc func(to OplockLevel)

// DefaultBreakTimeout is how long a breaking oplock holder has to acknowledge before the table
// lowers its oplock by itself (Windows' oplock break timeout is 35 s).
const DefaultBreakTimeout = 35 * time.Second

var (
	ErrNoBreakInProgress = errors.New("no oplock break in progress")
	ErrBadBreakLevel     = errors.New("oplock acknowledgment level above the break level")
)

// OplockRequest asks for an oplock together with an open.
type OplockRequest struct {
	Want OplockLevel
	// BreakToNone: this open will overwrite or supersede, so existing holders lose all caching
	// rather than keeping Level II.
	BreakToNone bool
	// DeleteOnClose: this open will delete the object when it closes, so other keys' leases
	// lose H too (lease.go, leaseBreaksLocked).
	DeleteOnClose bool
	// OnBreak is called when this open's oplock later breaks.
	OnBreak BreakFunc
	// OnWait, if set, is called (without the table's lock) just before this open starts waiting
	// for another holder's break, so the server can answer the client with an interim response.
	OnWait func()
	// Lease, if set, asks for a lease instead of an oplock (lease.go).
	Lease *LeaseRequest

	waited bool // OpenOplock has waited for a break already (leaseBreaksLocked)
}

// OpenOplock registers an open like Open, first breaking any exclusive or batch oplock another
// open holds and waiting (until ctx ends or the table's break timeout) for its holder to
// acknowledge or close, as MS-FSA 2.1.5.17 requires before a second open proceeds. It returns
// the oplock granted: exclusive or batch only to the sole open of an object, else Level II when
// any oplock was asked for, else none.
func (t *OpenTable) OpenOplock(ctx context.Context, id uint64, access Access, share ShareMode, req OplockRequest) (*Open, OplockLevel, error) {
	for {
		t.mu.Lock()
		notify, wait, expire, err := t.breaksForOpenLocked(id, access, share, &req)
		if err != nil {
			t.mu.Unlock()
			return nil, OplockNone, err
		}
		if wait == nil {
			o, granted, err := t.openLocked(id, access, share, req)
			t.mu.Unlock()
			for _, f := range notify {
				f()
			}
			return o, granted, err
		}
		t.mu.Unlock()
		for _, f := range notify {
			f()
		}
		if req.OnWait != nil {
			req.OnWait()
			req.OnWait = nil // once per open, however many holders it waits for
		}
		if err := t.awaitBreak(ctx, wait, expire); err != nil {
			return nil, OplockNone, fmt.Errorf("waiting for an oplock break on object %d: %w", id, err)
		}
		req.waited = true
	}
}

// awaitBreak waits for one break to complete: its acknowledgment or the holder's close, or the
// table's break timeout, after which expire (called with the lock held) lowers the caching
// itself (MS-SMB2 3.3.6.1, 3.3.6.5). It fails only when ctx ends first.
func (t *OpenTable) awaitBreak(ctx context.Context, wait chan struct{}, expire func()) error {
	timeout := t.BreakTimeout
	if timeout <= 0 {
		timeout = DefaultBreakTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-wait:
	case <-timer.C:
		t.mu.Lock()
		expire()
		t.mu.Unlock()
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// breaksForOpenLocked starts the oplock and lease breaks a new open of object id needs. It returns
// the notifications to send once the lock is released and, when a break must be acknowledged
// first, the channel that closes when it completes and the function (called with the lock held)
// that ends it on timeout. A sharing conflict that no break can resolve fails at once.
func (t *OpenTable) breaksForOpenLocked(id uint64, access Access, share ShareMode, req *OplockRequest) (notify []func(), wait chan struct{}, expire func(), err error) {
	obj := t.objs[id]
	// Stat opens that do not overwrite never break leases (MS-FSA 2.1.5.1.2.1: they do not
	// conflict with cached data); an oplock is broken by READ_CONTROL too (Windows and Samba
	// differ here between the two: smbtorture smb2.oplock.statopen1, smb2.lease.statopen4).
	leaseStat := statOpen(access) && !req.BreakToNone
	if obj == nil || leaseStat && access&AccessReadControl == 0 {
		return nil, nil, nil, nil
	}
	if obj.deletePending {
		// An object whose delete is pending admits no new open, so no break could help it:
		// the open fails at once and the holders keep their caching (smbtorture
		// smb2.oplock.doc; MS-FSA 2.1.5.1.2 checks DeletePending before the oplock breaks).
		return nil, nil, nil, fmt.Errorf("object %d: %w", id, ErrDeletePending)
	}
	holder := exclusiveHolder(obj)
	// An exclusive (non-batch) holder is checked for sharing conflicts first: its break could not
	// resolve one, so the new open fails without a break. A batch holder is broken first,
	// because closing its cached handle may remove the conflict; leases with H likewise.
	if holder != nil && holder.oplock == OplockExclusive && !holder.breaking ||
		holder == nil && uncachedConflict(obj, access, share, req) {
		if err := t.checkLocked(id, access, share); err != nil {
			return nil, nil, nil, err
		}
	}
	var l *lease
	if !leaseStat {
		notify, wait, l = t.leaseBreaksLocked(obj, id, access, share, req)
	}
	if wait != nil {
		return notify, wait, func() { expireLeaseBreakLocked(l, wait) }, nil
	}
	if holder == nil {
		return notify, nil, nil, nil
	}
	to := OplockLevelII
	if req.BreakToNone {
		to = OplockNone
	}
	if !holder.breaking {
		holder.breaking = true
		holder.breakTo = to
		holder.broken = make(chan struct{})
		if send := holder.onBreak; send != nil {
			notify = append(notify, func() { send(to) })
		}
	}
	wait = holder.broken
	return notify, wait, func() {
		if holder.breaking && holder.broken == wait {
			holder.oplock = holder.breakTo
			holder.breaking = false
			close(wait)
		}
	}, nil
}

func (t *OpenTable) openLocked(id uint64, access Access, share ShareMode, req OplockRequest) (*Open, OplockLevel, error) {
	if err := t.checkLocked(id, access, share); err != nil {
		return nil, OplockNone, err
	}
	obj := t.objs[id]
	if obj == nil {
		obj = &object{opens: make(map[*Open]struct{}), locks: NewLockTable()}
		t.objs[id] = obj
	}
	granted := OplockNone
	switch {
	case req.Lease != nil:
		// A lease replaces the oplock (MS-SMB2 3.3.5.9: RequestedOplockLevel 0xFF).
	case req.Want >= OplockExclusive && len(obj.opens) == 0:
		granted = req.Want
	case req.Want != OplockNone && !handleLeaseHeld(obj) && exclusiveHolder(obj) == nil:
		// Beside a lease with H no oplock at all is granted (Windows, Samba; smbtorture
		// smb2.lease.oplock): the lease holder may keep its handle cached. Nor beside an
		// exclusive or batch oplock that was not broken (a stat open breaks none): Level II
		// cannot share the object with a write cache (MS-FSA 2.1.5.17.2; smbtorture
		// smb2.oplock.exclusive4, batch8, batch9a).
		granted = OplockLevelII
	}
	o := &Open{table: t, id: id, access: access, share: share, oplock: granted, onBreak: req.OnBreak, locks: obj.locks}
	if req.Lease != nil {
		if err := t.attachLeaseLocked(obj, id, o, req.Lease); err != nil {
			if len(obj.opens) == 0 {
				delete(t.objs, id)
			}
			return nil, OplockNone, fmt.Errorf("object %d: %w", id, err)
		}
	}
	obj.opens[o] = struct{}{}
	return o, granted, nil
}

// Oplock reports the open's current oplock level.
func (o *Open) Oplock() OplockLevel {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	return o.oplock
}

// AckBreak records the holder's acknowledgment of a break: it now holds level, which must not
// exceed the level it was broken to.
func (o *Open) AckBreak(level OplockLevel) error {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	if !o.breaking {
		return ErrNoBreakInProgress
	}
	if level > o.breakTo {
		return ErrBadBreakLevel
	}
	o.oplock = level
	o.breaking = false
	close(o.broken)
	return nil
}

// BreakLevelII removes the Level II oplocks of every open of the object, o's own included: it
// is about to change (write, set end of file, byte-range lock), so their read caches go stale.
// MS-FSA 2.1.4.12 breaks every Level II oplock, whichever open writes (smbtorture
// smb2.oplock.batch1, brl1: "a self break to none"); R leases are different, the writer's own
// key keeps its R (breakReadLeasesLocked). Level II breaks need no acknowledgment (MS-SMB2
// 3.3.4.6).
func (o *Open) BreakLevelII() {
	t := o.table
	var notify []BreakFunc
	var leaseNotify []func()
	t.mu.Lock()
	if obj := t.objs[o.id]; obj != nil {
		leaseNotify = t.breakReadLeasesLocked(obj, o)
		for other := range obj.opens {
			if other.oplock == OplockLevelII {
				other.oplock = OplockNone
				if other.onBreak != nil {
					notify = append(notify, other.onBreak)
				}
			}
		}
	}
	t.mu.Unlock()
	for _, f := range notify {
		f(OplockNone)
	}
	for _, f := range leaseNotify {
		f()
	}
}

// exclusiveHolder returns the open of obj holding an exclusive or batch oplock (there is at most
// one), or nil.
func exclusiveHolder(obj *object) *Open {
	for o := range obj.opens {
		if o.oplock >= OplockExclusive {
			return o
		}
	}
	return nil
}

// handleLeaseHeld reports whether any open of obj is under a lease holding H.
func handleLeaseHeld(obj *object) bool {
	for o := range obj.opens {
		if o.lease != nil && o.lease.state&LeaseHandle != 0 {
			return true
		}
	}
	return false
}

// statOpen reports whether an access mask opens only for attributes, the security descriptor's
// reading or synchronisation: such an open caches nothing, breaks no oplock or lease and stands
// in no lease's way. EA, DAC, owner and DELETE access are not stat access (Samba's rule, which
// smbtorture smb2.lease.statopen4 checks bit by bit).
func statOpen(a Access) bool {
	return a&^(AccessReadAttr|AccessWriteAttr|AccessReadControl|AccessSynchronize) == 0
}
