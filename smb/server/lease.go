package server

import (
	"errors"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// sendBreak sends an unsolicited OPLOCK_BREAK notification (MS-SMB2 3.3.4.6, 3.3.4.7) on the
// connection of the session that holds o now: MessageId 0xFFFFFFFFFFFFFFFF, no credits, not
// signed, encrypted when the session encrypts. A durable open with no session (its connection
// dropped) is closed instead.
func (o *open) sendBreak(body func([]byte) []byte) {
	o.mu.Lock()
	sess := o.sess
	o.mu.Unlock()
	o.sendBreakVia(sess, body)
}

// sendBreakVia is sendBreak through session sess (nil: the holder's connection is gone).
func (o *open) sendBreakVia(sess *session, body func([]byte) []byte) {
	if sess == nil {
		if o.durable != nil {
			// A disconnected durable holder cannot acknowledge: scavenge it now rather than make
			// the new open wait out the break timeout (the handle is lost, as on Windows).
			o.close()
		}
		return
	}
	// On a multichannel session the break goes out on the latest live channel, as Windows
	// does (channel.go; smbtorture smb2.multichannel.oplocks.test3_windows).
	c := sess.notifyConn(sess.conn)
	msg := make([]byte, wire.HeaderSize, wire.HeaderSize+48)
	h := wire.Header(msg)
	h.Init(wire.CmdOplockBreak)
	h.SetFlags(wire.FlagResponse)
	h.SetMessageID(^uint64(0))
	msg = body(msg)
	if sess.encryptData {
		if xf := sess.transformer(); xf != nil {
			msg = xf.Encrypt(nil, msg, sess.id)
		}
	}
	if err := c.writeFrame(msg); err != nil {
		c.log.Info("break notification not delivered", "file", o.id.Volatile, "err", err)
		return
	}
	if len(sess.channelConns()) == 1 {
		c.watchDelivery() // ackwatch.go
	}
}

// leaseBreaker returns the callback the open table calls when the lease o carries breaks.
func (o *open) leaseBreaker() vfs.LeaseBreakFunc {
	return func(b vfs.LeaseBreak) {
		n := wire.LeaseBreakNotification{
			LeaseKey:          wire.GUID(b.Key.Key),
			CurrentLeaseState: uint32(b.From),
			NewLeaseState:     uint32(b.To),
		}
		if b.V2 {
			n.NewEpoch = b.Epoch
		}
		if b.AckRequired {
			n.Flags = wire.LeaseBreakFlagAckRequired
		}
		o.mu.Lock()
		sess := o.sess
		o.mu.Unlock()
		if sess == nil && o.durable != nil && !b.Contended {
			// Nobody waits for this break and the holder is disconnected: acknowledge it on
			// the client's behalf, so the durable handle survives for its reconnect (a lock or
			// write by another client only revokes read caching).
			if b.AckRequired {
				_, _ = o.tree.share.opens.AckLeaseBreak(b.Key, b.To)
			}
			return
		}
		if sess != nil {
			// A lease belongs to the client, not to one open: the break goes to the client's
			// oldest live session, whichever connection the open came through (Samba sends it
			// on the client's first connection; smbtorture smb2.lease.v2_complex1).
			sess = sess.conn.srv.clientSession(b.Key.Client, sess)
		}
		o.sendBreakVia(sess, n.Append)
	}
}

// clientSession returns the oldest valid session established by a connection of the client
// with this ClientGuid, or fallback when there is none.
func (s *Server) clientSession(client [16]byte, fallback *session) *session {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	best := fallback
	for _, sess := range sessions {
		if best != nil && sess.id >= best.id || !sess.valid() {
			continue
		}
		if n := sess.conn.neg.Load(); n != nil && [16]byte(n.clientGUID) == client && !sess.conn.closed.Load() {
			best = sess
		}
	}
	return best
}

// leaseRequest is a decoded RqLs create context, kept for the response.
type leaseRequest struct {
	wire.Lease
	key vfs.LeaseKey
}

// leaseForCreate decodes the lease a CREATE asks for (MS-SMB2 3.3.5.9.8 v1, 3.3.5.9.11 v2). It
// returns nil when no lease applies: no RqLs context, oplock level not 0xFF, SMB 2.0.2 (leasing
// is not advertised), or a directory (directory leasing is not advertised). A v2 request on 2.1
// is read as v1.
func leaseForCreate(r *request, req *wire.CreateRequest, isDir bool) (*leaseRequest, error) {
	if req.RequestedOplockLevel != wire.OplockLevelLease || isDir {
		return nil, nil
	}
	return parseLease(r, req)
}

// checkDirLeaseKey refuses a directory open whose lease request names a key already leasing
// another object: directories get no lease (directory leasing is not advertised), but a key
// still identifies one object (MS-SMB2 3.3.5.9.8; smbtorture smb2.lease.request).
func checkDirLeaseKey(r *request, req *wire.CreateRequest, sh *shareState, id uint64) error {
	if req.RequestedOplockLevel != wire.OplockLevelLease {
		return nil
	}
	lr, err := parseLease(r, req)
	if err != nil || lr == nil {
		return err
	}
	if obj, ok := sh.opens.LeaseObject(lr.key); ok && obj != id {
		return errInvalidParameter
	}
	return nil
}

// parseLease decodes the RqLs context whatever the oplock level says (a durable reconnect
// ignores it, MS-SMB2 3.3.5.9.7).
func parseLease(r *request, req *wire.CreateRequest) (*leaseRequest, error) {
	n := r.c.neg.Load()
	if n == nil || n.di.capabilities&wire.CapLeasing == 0 {
		return nil, nil
	}
	cc, ok := wire.FindCreateContext(req.Contexts, wire.CtxNameRequestLease)
	if !ok {
		return nil, nil
	}
	data := cc.Data
	if !n.di.kdf && len(data) > 32 {
		data = data[:32] // lease v2 is SMB 3 only
	}
	lr := &leaseRequest{}
	if err := lr.Decode(data); err != nil {
		return nil, errInvalidParameter
	}
	lr.key = vfs.LeaseKey{Client: n.clientGUID, Key: lr.Key}
	return lr, nil
}

// vfsRequest is the open table's view of the lease request.
func (lr *leaseRequest) vfsRequest(o *open) *vfs.LeaseRequest {
	return &vfs.LeaseRequest{Key: lr.key, Want: vfs.LeaseState(lr.State), Epoch: lr.Epoch, V2: lr.V2, OnBreak: o.leaseBreaker()}
}

// responseContext is the RqLs context of the create response: the lease as granted now.
func (lr *leaseRequest) responseContext(info vfs.LeaseInfo) wire.CreateContext {
	// Answered in the lease's own version, not the request's (vfs.LeaseRequest.V2).
	resp := wire.Lease{V2: info.V2, Key: lr.Key, State: uint32(info.State)}
	if info.Breaking {
		resp.Flags |= wire.LeaseFlagBreakInProgress
	}
	if info.V2 {
		resp.Epoch = info.Epoch
		if lr.Flags&wire.LeaseFlagParentKeySet != 0 {
			resp.Flags |= wire.LeaseFlagParentKeySet
			resp.ParentKey = lr.ParentKey
		}
	}
	return wire.CreateContextOf(wire.CtxNameRequestLease, &resp)
}

// handleLeaseBreakAck implements the lease break acknowledgment (MS-SMB2 3.3.5.22.2). The lease is
// found by the connection's client GUID and the key, in whichever share holds it.
func handleLeaseBreakAck(r *request, ack *wire.LeaseBreakAck) error {
	n := r.c.neg.Load()
	if n == nil || n.di.capabilities&wire.CapLeasing == 0 {
		return wire.StatusNotSupported
	}
	key := vfs.LeaseKey{Client: n.clientGUID, Key: ack.LeaseKey}
	for _, sh := range r.c.srv.shares {
		if sh.opens == nil {
			continue
		}
		info, err := sh.opens.AckLeaseBreak(key, vfs.LeaseState(ack.LeaseState))
		switch {
		case errors.Is(err, vfs.ErrNoSuchLease):
			continue
		case errors.Is(err, vfs.ErrNoBreakInProgress):
			return wire.StatusUnsuccessful
		case errors.Is(err, vfs.ErrBadBreakLevel):
			return wire.StatusRequestNotAccepted
		case err != nil:
			return err
		}
		r.resp = (&wire.OplockBreakResponse{IsLease: true, Lease: wire.LeaseBreakAck{
			LeaseKey: ack.LeaseKey, LeaseState: uint32(info.State)}}).Append(r.resp)
		return nil
	}
	return wire.StatusObjectNameNotFound
}
