package server

import (
	"strings"

	"github.com/sofs-dev/sofs/smb/wire"
)

// tree is one tree connect: a session's use of a share (MS-SMB2 3.3.1.9).
type tree struct {
	id            uint32
	share         *shareState
	encrypt       bool   // every request on this tree must arrive encrypted
	maximalAccess uint32 // what any open through this tree can be granted
}

// Access masks for tree connects (MS-SMB2 2.2.10 MaximalAccess).
const (
	accessFull     = 0x001F01FF
	accessReadOnly = 0x001200A9
)

// handleTreeConnect implements MS-SMB2 3.3.5.7.
func handleTreeConnect(r *request) error {
	var req wire.TreeConnectRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	// Path is \\server\share; only the share part matters (the client may use any of our names).
	name := req.Path
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	sh := r.c.srv.share(name)
	if sh == nil {
		return wire.StatusBadNetworkName
	}
	n := r.c.neg.Load()
	di, cipher := n.di, n.cipher
	t := &tree{share: sh, maximalAccess: accessFull}
	if sh.ReadOnly {
		t.maximalAccess = accessReadOnly
	}
	resp := wire.TreeConnectResponse{ShareType: wire.ShareTypeDisk, MaximalAccess: t.maximalAccess}
	if sh.ipc {
		resp.ShareType = wire.ShareTypePipe
		resp.ShareFlags = wire.ShareFlagNoCaching
	}
	if sh.RequireEncryption && !r.sess.encryptData {
		// A share that requires encryption needs a client that can encrypt (3.3.5.7).
		if !di.encryption || cipher == 0 || r.sess.transformer() == nil {
			return wire.StatusAccessDenied
		}
		t.encrypt = true
	}
	if t.encrypt || r.sess.encryptData {
		resp.ShareFlags |= wire.ShareFlagEncryptData
	}
	r.sess.addTree(t)
	if sh.removed.Load() { // RemoveShare ran between the lookup and addTree (shares.go)
		r.sess.removeTree(t.id)
		return wire.StatusBadNetworkName
	}
	r.tree = t
	wire.Header(r.resp).SetTreeID(t.id)
	r.resp = resp.Append(r.resp)
	return nil
}

// handleTreeDisconnect implements MS-SMB2 3.3.5.8: the tree's opens are closed.
func handleTreeDisconnect(r *request) error {
	var req wire.TreeDisconnectRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	if !r.sess.removeTree(r.tree.id) {
		return wire.StatusNetworkNameDeleted
	}
	r.resp = (&wire.TreeDisconnectResponse{}).Append(r.resp)
	return nil
}
