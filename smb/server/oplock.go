package server

import (
	"errors"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// oplockBreaker returns the callback the open table calls when an open's oplock breaks: it sends
// an OPLOCK_BREAK notification (MS-SMB2 2.2.23.1, 3.3.4.6) on a channel of the session holding the open.
// Notifications are unsolicited: MessageId 0xFFFFFFFFFFFFFFFF, no credits, not signed; they are
// encrypted when the session encrypts.
func (c *conn) oplockBreaker(sess *session, id wire.FileID) vfs.BreakFunc {
	return func(to vfs.OplockLevel) {
		msg := make([]byte, wire.HeaderSize, wire.HeaderSize+24)
		h := wire.Header(msg)
		h.Init(wire.CmdOplockBreak)
		h.SetFlags(wire.FlagResponse)
		h.SetMessageID(^uint64(0))
		msg = (&wire.OplockBreak{OplockLevel: uint8(to), FileID: id}).Append(msg)
		if sess.encryptData {
			if xf := sess.transformer(); xf != nil {
				msg = xf.Encrypt(nil, msg, sess.id)
			}
		}
		if err := sess.notifyConn(c).writeFrame(msg); err != nil {
			c.log.Info("oplock break notification not delivered", "file", id.Volatile, "err", err)
		}
	}
}

// handleOplockBreak implements the oplock break acknowledgment (MS-SMB2 3.3.5.22.1). Leases are
// never granted yet, so a lease acknowledgment has nothing to acknowledge.
func handleOplockBreak(r *request) error {
	var req wire.OplockBreakRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	if req.IsLease {
		return wire.StatusObjectNameNotFound // no such lease (3.3.5.22.2)
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
