package vfs

import (
	"context"
	"errors"
	"fmt"
)

// LeaseState is a set of caching rights held through a lease (MS-FSA 2.1.1.10 Oplock.State for
// leases). The bit values are those of MS-SMB2 2.2.13.2.8 so the server needs no translation.
type LeaseState uint8

const (
	LeaseNone   LeaseState = 0
	LeaseRead   LeaseState = 0x1 // R: cached reads
	LeaseHandle LeaseState = 0x2 // H: cached handle (close may be deferred)
	LeaseWrite  LeaseState = 0x4 // W: cached writes
)

// LeaseKey identifies a lease: a client-chosen key, scoped to the client (MS-SMB2 3.3.1.4 keeps one
// lease table per ClientGuid). Every open carrying the same key shares one lease.
type LeaseKey struct {
	Client [16]byte
	Key    [16]byte
}

// LeaseBreak describes one break the holder must be told about.
type LeaseBreak struct {
	Key         LeaseKey
	From, To    LeaseState
	Epoch       uint16 // the lease's epoch after the break started (SMB 3 lease v2)
	AckRequired bool   // the lease held W or H: the table waits for AckLeaseBreak
	V2          bool   // the lease is a v2 lease: the notification carries the epoch
	// Contended: an open or rename waits for this break. A revocation of read caching by a
	// write or lock is not (MS-SMB2 3.3.1.4: no wait for the acknowledgment).
	Contended bool
}

// LeaseBreakFunc sends a break to the lease's holder. It is called without the table's lock held
// and must not block for long.
type LeaseBreakFunc func(LeaseBreak)

// LeaseRequest asks for a lease together with an open (OplockRequest.Lease).
type LeaseRequest struct {
	Key  LeaseKey
	Want LeaseState
	// Epoch is the epoch the client sent (v2 leases); a new lease starts one above it.
	Epoch uint16
	// V2 says the request was a v2 lease context. A lease keeps the version it was created
	// with: later opens under its key are answered, and its breaks sent, in that version
	// whatever they asked (Windows and Samba; smbtorture smb2.lease.v2_epoch2, v2_epoch3).
	V2 bool
	// OnBreak becomes the lease's break sender: the most recent open's connection is the one the
	// client is most likely still using.
	OnBreak LeaseBreakFunc
}

// LeaseInfo is the state of an open's lease, for the create response.
type LeaseInfo struct {
	Key      LeaseKey
	State    LeaseState
	Epoch    uint16
	Breaking bool
	V2       bool // the lease was created by a v2 request (LeaseRequest.V2)
}

var (
	ErrNoSuchLease   = errors.New("no such lease")
	ErrLeaseKeyInUse = errors.New("lease key in use on another object")
)

// lease is one lease of the table; every field is guarded by the table's mutex.
type lease struct {
	key       LeaseKey
	objID     uint64
	state     LeaseState
	epoch     uint16
	v2        bool
	opens     int // registered opens carrying the lease; it dies with the last
	onBreak   LeaseBreakFunc
	breaking  bool          // a break awaits acknowledgment
	contended bool          // an open or rename waits for the break in progress
	breakTo   LeaseState    // the state the client was told to break to
	wantTo    LeaseState    // the state the table needs (lower than breakTo when a later conflict came)
	broken    chan struct{} // closed when the break completes (ack, timeout, last close)
}

// grantableLease reduces a requested state to one a lease can hold: R, RH, RW or RWH. A request
// without R gets no caching at all (MS-SMB2 3.3.5.9.8 lists only these four combinations).
func grantableLease(want LeaseState) LeaseState {
	want &= LeaseRead | LeaseHandle | LeaseWrite
	if want&LeaseRead == 0 {
		return LeaseNone
	}
	return want
}

// startLeaseBreakLocked lowers l towards to. A lease holding W or H must acknowledge (MS-SMB2
// 3.3.4.7: SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED), so it enters the breaking state; a
// read-only lease is lowered at once. The returned function sends the notification and must be
// called after the lock is released.
func (t *OpenTable) startLeaseBreakLocked(l *lease, to LeaseState, contended bool) func() {
	from := l.state
	l.epoch++
	return t.sendLeaseBreakLocked(l, from, to, contended)
}

// continueLeaseBreakLocked starts the next step of a step-down after an acknowledgment: the
// notification carries the epoch of the break that began it (smbtorture smb2.lease.v2_breaking3).
func (t *OpenTable) continueLeaseBreakLocked(l *lease, to LeaseState) func() {
	return t.sendLeaseBreakLocked(l, l.state, to, l.contended)
}

// sendLeaseBreakLocked enters the break from from to to and returns its notification.
func (t *OpenTable) sendLeaseBreakLocked(l *lease, from, to LeaseState, contended bool) func() {
	ack := from&(LeaseWrite|LeaseHandle) != 0
	if ack {
		l.breaking, l.contended = true, contended
		l.breakTo, l.wantTo = to, to
		l.broken = make(chan struct{})
	} else {
		l.state = to
	}
	b := LeaseBreak{Key: l.key, From: from, To: to, Epoch: l.epoch, AckRequired: ack, V2: l.v2, Contended: contended}
	send := l.onBreak
	return func() {
		if send != nil {
			send(b)
		}
	}
}

// lowerLeaseLocked asks l to drop to (at most) to: a break now, or, while another break is in
// progress, a lower target that the acknowledgment will continue towards.
func (t *OpenTable) lowerLeaseLocked(l *lease, to LeaseState, contended bool) func() {
	if l.breaking {
		l.wantTo &= to
		l.contended = l.contended || contended
		return nil
	}
	if l.state&^to == 0 {
		return nil
	}
	return t.startLeaseBreakLocked(l, l.state&to, contended)
}

// leaseBreaksLocked starts the lease breaks a new open of object id requires, in the two steps
// of MS-FSA 2.1.5.1.2 as Windows and Samba apply them to leases. While the new open's share mode
// conflicts with an open under another key's lease, only that lease's H is broken (closing the
// cached handle may resolve the conflict) and W stays, since no open was granted; the caller
// waits and retries, and fails with a sharing violation if the conflict remains (smbtorture
// smb2.lease.break_twice). Once the open can proceed, every other key's W goes; H too for a
// delete-on-close open (the deleter needs the cached handles closed: smb2.lease.unlink); R and
// H for an overwrite. The open waits for a break that takes W away (cached writes must reach the
// file first) and, once waiting, for the rest of the lease's step-down; a break of R or H alone
// on an open that can proceed is sent without waiting (smbtorture smb2.lease.breaking3/4). It
// returns the notifications to send and the completion channel of one break the new open must
// wait for (nil when none is).
func (t *OpenTable) leaseBreaksLocked(obj *object, id uint64, access Access, share ShareMode, req *OplockRequest) (notify []func(), wait chan struct{}, waitOn *lease) {
	shareConflict := t.checkLocked(id, access, share) != nil
	for _, l := range otherLeasesLocked(obj, nil) {
		if req.Lease != nil && l.key == req.Lease.Key {
			continue
		}
		var to LeaseState
		switch {
		case shareConflict:
			if !leaseConflicts(obj, l, access, share) {
				continue
			}
			to = l.state &^ LeaseHandle
		case req.BreakToNone:
			to = LeaseNone
		default:
			to = l.state &^ LeaseWrite
			if req.DeleteOnClose {
				to &^= LeaseHandle
			}
		}
		mustWait := shareConflict || req.waited || l.state&LeaseWrite != 0 && to&LeaseWrite == 0
		if f := t.lowerLeaseLocked(l, to, mustWait); f != nil {
			notify = append(notify, f)
		}
		if l.breaking && mustWait && wait == nil {
			wait, waitOn = l.broken, l
		}
	}
	return notify, wait, waitOn
}

// otherLeasesLocked lists, once each, the leases of obj's opens other than except (nil: all).
func otherLeasesLocked(obj *object, except *lease) []*lease {
	var out []*lease
	seen := map[*lease]bool{}
	for o := range obj.opens {
		if l := o.lease; l != nil && l != except && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// leaseConflicts reports whether a new open's share mode conflicts with an open under lease l.
func leaseConflicts(obj *object, l *lease, access Access, share ShareMode) bool {
	for o := range obj.opens {
		if o.lease == l && conflicts(access, share, o) {
			return true
		}
	}
	return false
}

// uncachedConflict reports whether the new open conflicts with an open whose handle no break can
// close: neither a batch oplock nor another key's lease with H. Such an open fails at once.
func uncachedConflict(obj *object, access Access, share ShareMode, req *OplockRequest) bool {
	for o := range obj.opens {
		if !conflicts(access, share, o) {
			continue
		}
		if o.oplock == OplockBatch {
			continue
		}
		if l := o.lease; l != nil && l.state&LeaseHandle != 0 && (req.Lease == nil || l.key != req.Lease.Key) {
			continue
		}
		return true
	}
	return false
}

// attachLeaseLocked grants the open its lease: the existing lease of the key (upgraded when the
// request asks for a superset, MS-SMB2 3.3.5.9.8) or a new one. W is granted only when every other
// open of the object is under the same lease.
func (t *OpenTable) attachLeaseLocked(obj *object, id uint64, o *Open, req *LeaseRequest) error {
	if t.leases == nil {
		t.leases = make(map[LeaseKey]*lease)
	}
	l := t.leases[req.Key]
	if l != nil && l.objID != id {
		return ErrLeaseKeyInUse
	}
	asked := grantableLease(req.Want)
	want := asked
	for other := range obj.opens {
		if other == o || l != nil && other.lease == l || other.lease == nil && statOpen(other.access) {
			// Stat opens (attributes, security, synchronize only) without a lease hold no data
			// cache and stand in no lease's way (smbtorture smb2.lease.statopen3); a stat open
			// under another key's lease still does (statopen).
			continue
		}
		want &^= LeaseWrite
		if other.oplock != OplockNone {
			// Beside an oplock (broken to Level II by now) a lease gets R only, as Windows and
			// Samba grant (smbtorture smb2.lease.oplock).
			want &= LeaseRead
		}
	}
	switch {
	case l == nil:
		l = &lease{key: req.Key, objID: id, state: want, epoch: req.Epoch + 1, v2: req.V2}
		t.leases[req.Key] = l
	case !l.breaking && want == asked && want&l.state == l.state && want != l.state:
		// An existing lease is upgraded only to the whole state asked for: a request for W
		// that other opens prevent leaves it as it is, rather than adding H alone
		// (smbtorture smb2.lease.upgrade3, break).
		l.state = want
		l.epoch++
	}
	l.opens++
	if req.OnBreak != nil {
		l.onBreak = req.OnBreak
	}
	o.lease = l
	return nil
}

// detachLeaseLocked drops a closing open from its lease; the last one ends the lease.
func (t *OpenTable) detachLeaseLocked(o *Open) {
	l := o.lease
	if l == nil {
		return
	}
	o.lease = nil
	l.opens--
	if l.opens > 0 {
		return
	}
	if l.breaking {
		l.breaking = false
		close(l.broken)
	}
	delete(t.leases, l.key)
}

// expireLeaseBreakLocked ends a break the holder did not acknowledge in time: the lease loses
// all caching, not just what the break asked, since the client's view of it is unknown
// (MS-SMB2 3.3.6.5, lease break acknowledgment timer; smbtorture smb2.lease.timeout).
func expireLeaseBreakLocked(l *lease, wait chan struct{}) {
	if l.breaking && l.broken == wait {
		l.state = LeaseNone
		l.breaking = false
		close(wait)
	}
}

// AckLeaseBreak records the holder's acknowledgment (MS-SMB2 3.3.5.22.2): the lease now holds
// state, which must not exceed the state it was told to break to. When a later conflict needs a
// lower state, the next break starts at once.
func (t *OpenTable) AckLeaseBreak(key LeaseKey, state LeaseState) (LeaseInfo, error) {
	t.mu.Lock()
	l := t.leases[key]
	if l == nil {
		t.mu.Unlock()
		return LeaseInfo{}, ErrNoSuchLease
	}
	if !l.breaking {
		t.mu.Unlock()
		return LeaseInfo{}, ErrNoBreakInProgress
	}
	if state&^l.breakTo != 0 {
		t.mu.Unlock()
		return LeaseInfo{}, ErrBadBreakLevel
	}
	l.state = state
	l.breaking = false
	close(l.broken)
	info := l.info() // the state acknowledged, before any next step down starts
	var next func()
	if l.state&^l.wantTo != 0 {
		// A lease steps down one level at a time: from H it goes to R before none, as
		// Windows does (smbtorture smb2.lease.breaking3).
		to := l.state & l.wantTo
		if l.state&LeaseHandle != 0 && to&LeaseHandle == 0 && l.state&LeaseRead != 0 {
			to = LeaseRead
		}
		next = t.continueLeaseBreakLocked(l, to)
	}
	t.mu.Unlock()
	if next != nil {
		next()
	}
	return info, nil
}

func (l *lease) info() LeaseInfo {
	return LeaseInfo{Key: l.key, State: l.state, Epoch: l.epoch, Breaking: l.breaking, V2: l.v2}
}

// Lease reports the open's lease, if it has one.
func (o *Open) Lease() (LeaseInfo, bool) {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	if o.lease == nil {
		return LeaseInfo{}, false
	}
	return o.lease.info(), true
}

// LeaseOf reports the lease of key, if it is alive.
func (t *OpenTable) LeaseOf(key LeaseKey) (LeaseInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.leases[key]
	if l == nil {
		return LeaseInfo{}, false
	}
	return l.info(), true
}

// LeaseObject reports the object the lease of key is on, if the lease is alive.
func (t *OpenTable) LeaseObject(key LeaseKey) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.leases[key]; l != nil {
		return l.objID, true
	}
	return 0, false
}

// breakReadLeasesLocked removes R (and with it H) from other keys' leases of obj: the object is
// about to change through writer, so their read caches go stale. Nobody waits for these breaks.
func (t *OpenTable) breakReadLeasesLocked(obj *object, writer *Open) []func() {
	var notify []func()
	for _, l := range otherLeasesLocked(obj, writer.lease) {
		if l.state&LeaseRead == 0 && !l.breaking {
			continue
		}
		if f := t.lowerLeaseLocked(l, LeaseNone, false); f != nil {
			notify = append(notify, f)
		}
	}
	return notify
}

// BreakHandleCaching removes H from the other keys' leases of the open's object and waits until
// none of them is breaking: a rename needs the handles clients cache under the old name closed
// first (Samba; smbtorture smb2.lease.v2_rename, rename_wait). onWait, if set, is called once
// before the first wait (the server's interim response).
func (o *Open) BreakHandleCaching(ctx context.Context, onWait func()) error {
	t := o.table
	for {
		var notify []func()
		var wait chan struct{}
		var waitOn *lease
		t.mu.Lock()
		if obj := t.objs[o.id]; obj != nil && !o.closed {
			for _, l := range otherLeasesLocked(obj, o.lease) {
				if f := t.lowerLeaseLocked(l, l.state&^LeaseHandle, true); f != nil {
					notify = append(notify, f)
				}
				if l.breaking && wait == nil {
					wait, waitOn = l.broken, l
				}
			}
		}
		t.mu.Unlock()
		for _, f := range notify {
			f()
		}
		if wait == nil {
			return nil
		}
		if onWait != nil {
			onWait()
			onWait = nil
		}
		if err := t.awaitBreak(ctx, wait, func() { expireLeaseBreakLocked(waitOn, wait) }); err != nil {
			return fmt.Errorf("waiting for a lease break on object %d: %w", o.id, err)
		}
	}
}

// SettleUncontendedBreak is for a holder whose connection is gone: a break of the open's lease
// that nobody waits for (a read-cache revocation) is completed as if acknowledged, so a durable
// handle survives it. It reports whether a break somebody waits for is still pending.
func (o *Open) SettleUncontendedBreak() (contendedPending bool) {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	if l := o.lease; l != nil && l.breaking && !l.contended {
		l.state = l.wantTo
		l.breaking = false
		close(l.broken)
	}
	return o.breaking || o.lease != nil && o.lease.breaking
}
