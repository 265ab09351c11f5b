package server

import (
	"github.com/sofs-dev/sofs/smb/crypto"
	"github.com/sofs-dev/sofs/smb/wire"
)

// Channels (MS-SMB2 3.3.1.8 Session.ChannelList): a session is usable on every connection bound
// to it. Each channel signs with its own key and with the algorithm its own connection
// negotiated (3.3.5.5.3); the first channel's key is Session.SigningKey. Encryption keys belong
// to the session, so every channel of an encrypting session shares one transformer.

// channel is one connection bound to a session.
type channel struct {
	signer crypto.Signer
	order  uint64 // binding order: the first channel is 1
}

// signerOn returns the signer for messages of s on connection c: the channel's, or, while c is
// only binding to s (no channel yet), Session.SigningKey with the session's own algorithm, which
// is what the client signs a binding request with (MS-SMB2 3.3.5.2.4, 3.2.4.1.1). Nil before
// the session has keys.
func (s *session) signerOn(c *conn) crypto.Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[c]; ch != nil {
		return ch.signer
	}
	return s.signer
}

// verifyOn checks a request's signature with the key of c's channel.
func (s *session) verifyOn(c *conn, msg []byte) bool {
	signer := s.signerOn(c)
	return signer != nil && signer.Verify(msg)
}

// verifySetup checks a SESSION_SETUP's signature with c's channel key (MS-SMB2 3.3.5.2.4). A
// request on a bound connection that carries Session.SigningKey's signature instead comes from
// a client holding no key for this channel (a second binding, or a re-authentication through a
// fresh channel object: smbtorture bind_negative_*). It is refused, and the refusal is signed
// with the key that client can check: a signature it cannot check makes it drop the connection.
func (c *conn) verifySetup(r *request, s *session) bool {
	if s.verifyOn(c, r.msg) {
		return true
	}
	s.mu.Lock()
	main, bound := s.signer, s.channels[c] != nil
	s.mu.Unlock()
	if bound && main != nil && main.Verify(r.msg) {
		r.signer = main
	}
	return false
}

// boundTo reports whether c is a channel of s.
func (s *session) boundTo(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels[c] != nil
}

// addChannel binds c to s and makes s reachable from c's session table.
func (s *session) addChannel(c *conn, signer crypto.Signer) {
	s.mu.Lock()
	s.channelSeq++
	s.channels[c] = &channel{signer: signer, order: s.channelSeq}
	s.mu.Unlock()
	c.mu.Lock()
	c.sessions[s.id] = s
	c.mu.Unlock()
}

// notifyConn picks the connection for a server-to-client notification of s (an oplock break):
// the most recently bound live channel, as Windows does (smbtorture
// smb2.multichannel.oplocks.test3_windows); fallback when s has none left.
func (s *session) notifyConn(fallback *conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	best, order := fallback, uint64(0)
	for c, ch := range s.channels {
		if ch.order > order && !c.closed.Load() {
			best, order = c, ch.order
		}
	}
	return best
}

// dropChannel removes c from s and reports whether other channels remain (the session lives on
// while it has one, MS-SMB2 3.3.7.1).
func (s *session) dropChannel(c *conn) (others bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.channels, c)
	return len(s.channels) > 0
}

// channelConns lists the connections bound to s (and the one that created it, which may still
// be authenticating).
func (s *session) channelConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.channels)+1)
	out = append(out, s.conn)
	for c := range s.channels {
		if c != s.conn {
			out = append(out, c)
		}
	}
	return out
}

// session returns the session id names on this connection: one created here or bound here
// (Connection.SessionTable plus the channels of multichannel sessions, MS-SMB2 3.3.5.2.9).
func (c *conn) session(id uint64) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[id]
}

// notOnThisConnection answers a request naming a session that is not bound to this connection
// with STATUS_USER_SESSION_DELETED. When the session exists on another channel the answer is
// signed with its key, as the client signed the request with it (smbtorture
// smb2.session.bind_negative_* and bind2 check this; Samba bug 14512).
func (c *conn) notOnThisConnection(r *request, sessionID uint64) wire.Status {
	if !r.hdr.IsSigned() || r.encrypted {
		return wire.StatusUserSessionDeleted
	}
	if s := c.srv.lookupSession(sessionID); s != nil && s.valid() {
		if s.verifyOn(c, r.msg) {
			r.sess = s
		}
		return wire.StatusUserSessionDeleted
	}
	// A session that just ended here: the client may not know yet and still requires signed
	// answers (smbtorture smb2.session.bind_invalid_auth, after a failed re-authentication on
	// another channel).
	c.mu.Lock()
	var signer crypto.Signer
	for _, d := range c.departed {
		if d.id == sessionID {
			signer = d.signer
		}
	}
	c.mu.Unlock()
	if signer != nil && signer.Verify(r.msg) {
		r.signer = signer
	}
	return wire.StatusUserSessionDeleted
}

// departedSession remembers the channel key of a session that ended on a connection.
type departedSession struct {
	id     uint64
	signer crypto.Signer
}

// maxDeparted bounds the departed sessions a connection remembers; older ones are forgotten.
const maxDeparted = 16

// depart records, with c.mu held, that s ended on c and the key its channel there signed with.
func (c *conn) depart(s *session, signer crypto.Signer) {
	if signer == nil {
		return
	}
	if len(c.departed) == maxDeparted {
		c.departed = c.departed[1:]
	}
	c.departed = append(c.departed, departedSession{id: s.id, signer: signer})
}

// signingAlgorithm is the algorithm a connection signs with: 3.1.1 negotiates it, 3.0 and 3.0.2
// use AES-CMAC, 2.x HMAC-SHA256 (MS-SMB2 3.1.4.1).
func signingAlgorithm(n *negotiation) uint16 {
	switch {
	case n.di.preauth:
		return n.signAlgo
	case n.di.kdf:
		return wire.SigningAESCMAC
	default:
		return wire.SigningHMACSHA256
	}
}
