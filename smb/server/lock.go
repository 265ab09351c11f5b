package server

import (
	"context"
	"errors"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// handleLock implements MS-SMB2 3.3.5.14: an array of locks taken all or nothing, or an array of
// unlocks. A single lock without FAIL_IMMEDIATELY blocks: the request goes async and CANCEL ends
// it with STATUS_CANCELLED.
func handleLock(r *request) error {
	var req wire.LockRequest
	if err := req.Decode(r.msg); err != nil || len(req.Locks) == 0 {
		return errInvalidParameter
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe != nil || o.isDir || o.entry == nil {
		return errInvalidParameter
	}
	seq := r.lockSequence(o, &req)
	if seq.replayed() {
		// The client resent a lock request that already succeeded (its channel failed before
		// the response arrived): it has its effect already (MS-SMB2 3.3.5.14).
		r.resp = (&wire.LockResponse{}).Append(r.resp)
		return nil
	}
	if err := applyLocks(r, o, &req); err != nil {
		return err
	}
	seq.record()
	r.resp = (&wire.LockResponse{}).Append(r.resp)
	return nil
}

// applyLocks takes or releases the request's ranges on o.
func applyLocks(r *request, o *open, req *wire.LockRequest) error {
	var err error
	locks := o.entry.Locks()
	if req.Locks[0].Flags == wire.LockFlagUnlock {
		// Unlocks are applied one element at a time, as Windows does: a failing element stops
		// the request with the earlier ones already applied (smbtorture smb2.lock.valid-request).
		for _, el := range req.Locks {
			if el.Flags != wire.LockFlagUnlock {
				return errInvalidParameter
			}
			if err := locks.Unlock(o, []vfs.LockRange{{Offset: el.Offset, Length: el.Length}}); err != nil {
				return lockStatus(err)
			}
		}
		return nil
	}
	ranges := make([]vfs.LockRange, len(req.Locks))
	wait := false
	for i, el := range req.Locks {
		switch el.Flags {
		case wire.LockFlagSharedLock, wire.LockFlagExclusiveLock:
			// A blocking element is allowed only alone (MS-SMB2 3.3.5.14.2).
			if len(req.Locks) > 1 {
				return errInvalidParameter
			}
			wait = true
		case wire.LockFlagSharedLock | wire.LockFlagFailImmediately, wire.LockFlagExclusiveLock | wire.LockFlagFailImmediately:
		default:
			return errInvalidParameter
		}
		ranges[i] = vfs.LockRange{Offset: el.Offset, Length: el.Length, Exclusive: el.Flags&wire.LockFlagExclusiveLock != 0}
	}
	// A byte-range lock revokes other opens' read caching: Level II oplocks and other keys'
	// R leases (MS-SMB2 3.3.1.4; smbtorture smb2.lease.lock1), without waiting for them.
	o.entry.BreakLevelII()
	switch {
	case wait:
		err = locks.LockOrWait(r.cancellable(), o, ranges, func() { r.goAsync() })
	default:
		err = locks.Lock(r.ctx(), o, ranges, false)
	}
	if err != nil {
		return lockStatus(err)
	}
	return nil
}

// lockSequences is Open.LockSequenceArray (MS-SMB2 3.3.1.10): for each of the 64 indexes a
// client may use, the sequence number of the last lock request that succeeded with it. The
// open's mu guards it.
type lockSequences struct {
	valid uint64 // bit i-1: entry i holds a number
	num   [64]uint8
}

// lockSeq is one LOCK request's place in its open's lockSequences.
type lockSeq struct {
	o        *open
	index    uint32 // 1..64; 0 when the request takes no part
	num      uint8
	isReplay bool
}

// lockSequence applies MS-SMB2 3.3.5.14 to a LOCK request: from SMB 2.1 on, a request whose
// LockSequenceIndex is 1..64 on an open that is durable, or on any open of a connection that
// advertised multichannel (3.x), is a replay when its LockSequenceNumber equals the one
// recorded for that index by the last successful request; otherwise the entry is invalidated
// until the request succeeds. (Resilient and persistent opens, the spec's other cases, are not
// offered.)
func (r *request) lockSequence(o *open, req *wire.LockRequest) lockSeq {
	di := r.c.neg.Load().di
	eligible := di.dialect != wire.DialectSMB202 && (o.durable != nil || di.capabilities&wire.CapMultiChannel != 0)
	if !eligible || req.LockSequenceIndex < 1 || req.LockSequenceIndex > 64 {
		return lockSeq{}
	}
	s := lockSeq{o: o, index: req.LockSequenceIndex, num: req.LockSequenceNumber}
	bit := uint64(1) << (s.index - 1)
	o.mu.Lock()
	if o.lockSeq.valid&bit != 0 {
		if o.lockSeq.num[s.index-1] == s.num {
			s.isReplay = true
		} else {
			o.lockSeq.valid &^= bit
		}
	}
	o.mu.Unlock()
	return s
}

// replayed reports whether the request repeats the last successful one of its index.
func (s lockSeq) replayed() bool { return s.isReplay }

// record remembers a successful request's sequence number under its index.
func (s lockSeq) record() {
	if s.index == 0 {
		return
	}
	s.o.mu.Lock()
	s.o.lockSeq.valid |= uint64(1) << (s.index - 1)
	s.o.lockSeq.num[s.index-1] = s.num
	s.o.mu.Unlock()
}

// lockStatus maps lock-table errors (see smb/vfs/locks.go for the choice of codes).
func lockStatus(err error) error {
	switch {
	case errors.Is(err, vfs.ErrLockConflict):
		return wire.StatusLockNotGranted
	case errors.Is(err, vfs.ErrRangeNotLocked):
		return wire.StatusRangeNotLocked
	case errors.Is(err, vfs.ErrInvalidRange):
		return wire.StatusInvalidLockRange
	case errors.Is(err, context.Canceled):
		return wire.StatusCancelled
	}
	return err
}

// checkIO refuses a read or write over a range another open has locked (MS-FSA 2.1.4.10).
func (o *open) checkIO(off, n uint64, write bool) error {
	if o.entry == nil {
		return nil
	}
	if err := o.entry.Locks().CheckIO(o, off, n, write); err != nil {
		if errors.Is(err, vfs.ErrInvalidRange) {
			return errInvalidParameter
		}
		return wire.StatusFileLockConflict
	}
	return nil
}
