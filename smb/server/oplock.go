package server

import (
	"errors"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// oplockBreaker returns the callback the open table calls when o's oplock breaks: an
// OPLOCK_BREAK notification (MS-SMB2 2.2.23.1, 3.3.4.6) to whoever holds o now.
func (o *open) oplockBreaker() vfs.BreakFunc {
	return func(to vfs.OplockLevel) {
		o.sendBreak((&wire.OplockBreak{OplockLevel: uint8(to), FileID: o.id}).Append)
	}
}

// handleOplockBreak implements the oplock break acknowledgment (MS-SMB2 3.3.5.22.1); lease
// acknowledgments go to handleLeaseBreakAck (lease.go).
func handleOplockBreak(r *request) error {
	var req wire.OplockBreakRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	if req.IsLease {
		return handleLeaseBreakAck(r, &req.Lease)
	}
	o, err := r.lookupOpen(req.Oplock.FileID)
	if err != nil {
		return err
	}
	if o.entry == nil {
		return wire.StatusInvalidOplockProtocol
	}
	level := vfs.OplockLevel(req.Oplock.OplockLevel)
	if level != vfs.OplockNone && level != vfs.OplockLevelII {
		return errInvalidParameter
	}
	if err := o.entry.AckBreak(level); err != nil {
		if errors.Is(err, vfs.ErrBadBreakLevel) {
			return errInvalidParameter
		}
		return wire.StatusInvalidOplockProtocol
	}
	r.resp = (&wire.OplockBreakResponse{Oplock: wire.OplockBreak{OplockLevel: uint8(level), FileID: o.id}}).Append(r.resp)
	return nil
}
