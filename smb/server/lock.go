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
		r.resp = (&wire.LockResponse{}).Append(r.resp)
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
	switch {
	case wait:
		err = locks.LockOrWait(r.cancellable(), o, ranges, func() { r.goAsync() })
	default:
		err = locks.Lock(r.ctx(), o, ranges, false)
	}
	if err != nil {
		return lockStatus(err)
	}
	r.resp = (&wire.LockResponse{}).Append(r.resp)
	return nil
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
