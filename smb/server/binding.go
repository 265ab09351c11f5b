package server

import (
	"errors"
	"strings"

	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/sofs-dev/sofs/smb/crypto"
	"github.com/sofs-dev/sofs/smb/wire"
)

// Session binding (MS-SMB2 3.3.5.5.2): a client adds a connection to an existing 3.x session by
// authenticating again on it with SMB2_SESSION_FLAG_BINDING, signing the request with the
// session's key. Success makes the connection a channel of the session with its own signing key.

// binding is one session binding under way on a connection: its own authentication and, for
// 3.1.1, its own preauth integrity hash (Connection.PreauthSessionTable, MS-SMB2 3.3.5.5.2).
type binding struct {
	exchange *auth.Exchange
	preauth  []byte
}

// isBindingRequest reports whether a SESSION_SETUP request asks to bind (its Flags byte, MS-SMB2
// 2.2.5); a body too short to say is not one (the handler refuses it).
func isBindingRequest(msg []byte) bool {
	const flagsOffset = wire.HeaderSize + 2
	return len(msg) > flagsOffset && msg[flagsOffset]&wire.SessionFlagBinding != 0
}

// authorizeBinding finds the session a binding request names in the server-wide table (the
// connection does not know it yet) and checks the signature with the key the client must use:
// Session.SigningKey, or the channel's key if this connection is already bound (MS-SMB2
// 3.3.5.2.4, 3.3.5.2.9).
func (c *conn) authorizeBinding(r *request, sessionID uint64) wire.Status {
	s := c.srv.lookupSession(sessionID)
	if s == nil || !s.valid() {
		return wire.StatusUserSessionDeleted
	}
	r.sess = s
	if r.hdr.IsSigned() && !r.encrypted && !c.verifySetup(r, s) {
		return wire.StatusAccessDenied
	}
	return wire.StatusSuccess
}

// maxChannels caps the channels of one session, as Windows does (smbtorture
// smb2.multichannel.generic.num_channels expects the 33rd binding to fail).
const maxChannels = 32

// bindRefusal returns the status a binding request gets before any authentication, or success
// when it may proceed. The checks and their order follow MS-SMB2 3.3.5.5.2 as Windows answers
// them (smbtorture smb2.session.bind_negative_* records Windows' statuses): the signing
// algorithms first, then the dialect, the cipher, the dialect match and the user.
func bindRefusal(r *request, s *session) wire.Status {
	if !r.hdr.IsSigned() {
		return wire.StatusInvalidParameter
	}
	n := r.c.neg.Load()
	connAlgo := signingAlgorithm(n)
	s.mu.Lock()
	sessAlgo, sessCipher, sessDialect, guest := s.signAlgo, s.cipher, s.dialect, s.guest
	bound, channels := s.channels[r.c] != nil, len(s.channels)
	s.mu.Unlock()
	switch {
	case sessAlgo == wire.SigningAESGMAC && connAlgo != sessAlgo:
		return wire.StatusRequestOutOfSequence
	case connAlgo == wire.SigningAESGMAC && connAlgo != sessAlgo:
		return wire.StatusNotSupported
	case !n.di.kdf:
		return wire.StatusRequestNotAccepted // 2.x has no multichannel
	case n.cipher != sessCipher, n.di.dialect != sessDialect:
		return wire.StatusInvalidParameter
	case bound:
		return wire.StatusRequestNotAccepted // already a channel of this session
	case guest:
		return wire.StatusNotSupported // anonymous and guest sessions have no keys to bind with
	case channels >= maxChannels:
		return wire.StatusInsufficientResources
	}
	return wire.StatusSuccess
}

// handleBind runs one leg of a session binding. A refused or failed binding leaves the session
// and its other channels untouched.
func handleBind(r *request, req *wire.SessionSetupRequest) error {
	c, s := r.c, r.sess
	if s == nil {
		return errInvalidParameter // binding needs a session id (MS-SMB2 3.3.5.5.2)
	}
	if st := bindRefusal(r, s); st != wire.StatusSuccess {
		return st
	}
	n := c.neg.Load()
	c.mu.Lock()
	b := c.binds[s.id]
	if b == nil {
		b = &binding{exchange: c.srv.acceptor.Start(), preauth: append([]byte(nil), c.preauth...)}
		c.binds[s.id] = b
	}
	if n.di.preauth {
		b.preauth = crypto.PreauthHash(b.preauth, r.msg)
	}
	c.mu.Unlock()

	out, err := b.exchange.Step(req.SecurityBuffer)
	if errors.Is(err, auth.ErrContinue) {
		r.status = wire.StatusMoreProcessingRequired
		r.resp = (&wire.SessionSetupResponse{SecurityBuffer: out}).Append(r.resp)
		if n.di.preauth {
			r.after = func(resp []byte) {
				c.mu.Lock()
				b.preauth = crypto.PreauthHash(b.preauth, resp)
				c.mu.Unlock()
			}
		}
		return nil
	}
	c.mu.Lock()
	delete(c.binds, s.id)
	c.mu.Unlock()
	if err != nil {
		c.log.Info("session binding: authentication failed", "session", s.id, "err", err)
		return wire.StatusLogonFailure
	}
	res, _ := b.exchange.Result()
	s.mu.Lock()
	user, encrypt := s.user.Name, s.encryptData
	s.mu.Unlock()
	if res.Anonymous || res.Guest || !strings.EqualFold(res.User.Name, user) {
		// Binding as someone else (MS-SMB2 3.3.5.5.3: the user must be the session's).
		return wire.StatusAccessDenied
	}
	// The channel's signing key comes from this authentication's key and, for 3.1.1, the
	// binding's own preauth hash (MS-SMB2 3.3.5.5.3, 3.2.5.3.1).
	key := make([]byte, 16)
	copy(key, res.SessionKey)
	keys := crypto.DeriveKeys(crypto.KeyParams{Dialect: uint16(n.di.dialect), SessionKey: key, PreauthHash: b.preauth, Cipher: n.cipher})
	signer, err := newSigner(n.di, n.signAlgo, keys.Signing)
	if err != nil {
		return err
	}
	s.addChannel(c, signer)
	var flags uint16
	if encrypt {
		flags |= wire.SessionFlagEncryptData
	}
	r.resp = (&wire.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out}).Append(r.resp)
	r.signAlways = true // signed with the new channel key, which proves it to the client
	c.authenticated.Store(true)
	return nil
}
