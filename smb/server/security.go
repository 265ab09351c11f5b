package server

import (
	"encoding/binary"

	"github.com/sofs-dev/sofs/smb/acl"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// Security descriptors (QUERY_INFO / SET_INFO with InfoType SECURITY, MS-SMB2 3.3.5.20.3 and
// 3.3.5.21.3) are stored by backends that implement vfs.Securable. An object that never had one
// reports what it would have inherited from the default share root descriptor.
//
// Opens are checked against the descriptors (access.go), so the share advertises
// FILE_PERSISTENT_ACLS when its backend stores them.

// token returns the session's user as an access token.
func (s *session) token() acl.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	sid, err := acl.ParseSID(s.user.SID)
	if err != nil {
		sid = acl.AnonymousSID
	}
	return acl.Token{User: sid, Groups: []acl.SID{acl.AuthenticatedUsersSID, acl.UsersSID}}
}

// descriptor returns the object's descriptor: stored, or the default it would inherit.
func descriptor(sess *session, o *open) (*acl.SecurityDescriptor, error) {
	if _, ok := o.file.(vfs.Securable); !ok {
		return nil, wire.StatusNotSupported
	}
	return effectiveDescriptor(sess.token(), o.file, o.isDir, nil)
}

func querySecurity(r *request, o *open, info uint32, limit uint32) ([]byte, error) {
	if need := acl.QueryAccess(info); need != 0 && !o.has(need) {
		return nil, wire.StatusAccessDenied
	}
	sd, err := descriptor(r.sess, o)
	if err != nil {
		return nil, err
	}
	out := sd.Select(info).Encode()
	if uint32(len(out)) > limit {
		// MS-SMB2 3.3.5.20.3: too small a buffer gets STATUS_BUFFER_TOO_SMALL with the size the
		// descriptor needs as a 4-byte ErrorData.
		r.resp = (&wire.ErrorResponse{ErrorData: binary.LittleEndian.AppendUint32(nil, uint32(len(out)))}).Append(r.resp[:wire.HeaderSize])
		r.status = wire.StatusBufferTooSmall
		return nil, errBodyDone
	}
	return out, nil
}

func setSecurity(r *request, o *open, info uint32, buf []byte) error {
	if need := acl.SetAccess(info); need != 0 && !o.has(need) {
		return wire.StatusAccessDenied
	}
	sec, ok := o.file.(vfs.Securable)
	if !ok {
		return wire.StatusNotSupported
	}
	upd, err := acl.Decode(buf)
	if err != nil {
		return errInvalidParameter
	}
	if info&acl.OwnerSecurityInformation != 0 && upd.Owner != nil && !r.sess.token().MaySetOwner(*upd.Owner) {
		return wire.StatusInvalidOwner
	}
	cur, err := descriptor(r.sess, o)
	if err != nil {
		return err
	}
	return sec.SetSecurityDescriptor(acl.Merge(cur, upd, info).Encode())
}
