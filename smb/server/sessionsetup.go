package server

import (
	"errors"
	"strings"

	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/sofs-dev/sofs/smb/crypto"
	"github.com/sofs-dev/sofs/smb/wire"
)

// handleSessionSetup implements MS-SMB2 3.3.5.5: a new session, a continuing leg of one, or the
// re-authentication of an established session.
func handleSessionSetup(r *request) error {
	c := r.c
	var req wire.SessionSetupRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	if req.Flags&wire.SessionFlagBinding != 0 {
		return handleBind(r, &req)
	}
	n := c.neg.Load()
	di, cipher, signAlgo := n.di, n.cipher, n.signAlgo
	c.mu.Lock()
	connPreauth := c.preauth
	c.mu.Unlock()

	sess := r.sess
	if sess == nil {
		sess = c.srv.newSession(c)
		sess.preauth = append([]byte(nil), connPreauth...)
		r.sess = sess
	}
	sess.mu.Lock()
	if sess.state == sessionExpired {
		sess.mu.Unlock()
		return wire.StatusUserSessionDeleted
	}
	reauth := sess.state == sessionValid
	if sess.exchange == nil {
		sess.exchange = c.srv.acceptor.Start()
	}
	x := sess.exchange
	if di.preauth && !reauth {
		sess.preauth = crypto.PreauthHash(sess.preauth, r.msg)
	}
	sess.mu.Unlock()
	wire.Header(r.resp).SetSessionID(sess.id)

	out, err := x.Step(req.SecurityBuffer)
	switch {
	case errors.Is(err, auth.ErrContinue):
		r.status = wire.StatusMoreProcessingRequired
		r.resp = (&wire.SessionSetupResponse{SecurityBuffer: out}).Append(r.resp)
		if di.preauth && !reauth {
			r.after = func(resp []byte) {
				sess.mu.Lock()
				sess.preauth = crypto.PreauthHash(sess.preauth, resp)
				sess.mu.Unlock()
			}
		}
		return nil
	case err != nil:
		c.log.Info("authentication failed", "session", sess.id, "err", err)
		sess.mu.Lock()
		sess.exchange = nil
		sess.mu.Unlock()
		// A failed session setup ends the session, re-authentication included (MS-SMB2
		// 3.3.5.5.3): its handles close and their pending requests complete.
		c.srv.removeSession(sess)
		if reauth {
			sess.logoff()
		}
		r.sess = nil
		return wire.StatusLogonFailure
	}
	res, _ := x.Result()
	sess.mu.Lock()
	sess.exchange = nil
	sess.mu.Unlock()
	if res.Anonymous || res.Guest {
		// Only reachable with AllowGuest; such sessions neither sign nor encrypt (3.3.5.5.3).
		if !reauth {
			sess.mu.Lock()
			sess.guest = true
			sess.state = sessionValid
			sess.mu.Unlock()
			c.authenticated.Store(true)
		}
		flags := wire.SessionFlagIsGuest
		if res.Anonymous {
			flags = wire.SessionFlagIsNull
		}
		r.resp = (&wire.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out}).Append(r.resp)
		return nil
	}
	if reauth {
		// Re-authentication keeps the session's keys (MS-SMB2 3.3.5.5.3); the user must not change.
		if sess.user.Name != "" && !strings.EqualFold(sess.user.Name, res.User.Name) {
			return wire.StatusAccessDenied
		}
		r.resp = (&wire.SessionSetupResponse{SecurityBuffer: out}).Append(r.resp)
		return nil
	}
	if err := c.establish(sess, di, res, req.SecurityMode, cipher, signAlgo); err != nil {
		c.srv.removeSession(sess)
		return err
	}
	sess.addChannel(c, sess.signer) // the first channel signs with Session.SigningKey
	var flags uint16
	if sess.encryptData {
		flags |= wire.SessionFlagEncryptData
	}
	r.resp = (&wire.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out}).Append(r.resp)
	r.signSess = sess
	r.signAlways = di.signFinalSessionSetup || sess.signingRequired
	c.authenticated.Store(true)
	if prev := req.PreviousSessionID; prev != 0 && prev != sess.id {
		c.srv.expirePrevious(prev, res.User.Name)
	}
	return nil
}

// establish derives the session's keys and fixes its signing and encryption requirements.
func (c *conn) establish(sess *session, di dialectInfo, res auth.Result, clientSecMode uint8, cipher, signAlgo uint16) error {
	cfg := &c.srv.cfg
	// The session key is the first 16 bytes of the GSS key, zero-padded (MS-SMB2 3.3.5.5.3).
	key := make([]byte, 16)
	copy(key, res.SessionKey)
	sess.mu.Lock()
	defer sess.mu.Unlock()
	keys := crypto.DeriveKeys(crypto.KeyParams{Dialect: uint16(di.dialect), SessionKey: key, PreauthHash: sess.preauth, Cipher: cipher})
	signer, err := newSigner(di, signAlgo, keys.Signing)
	if err != nil {
		return err
	}
	sess.signer = signer
	sess.dialect, sess.cipher, sess.signAlgo = di.dialect, cipher, signingAlgorithm(c.neg.Load())
	sess.user = res.User
	sess.signingRequired = cfg.RequireSigning || clientSecMode&uint8(wire.SigningRequired) != 0
	canEncrypt := di.encryption && cipher != 0
	if cfg.RequireEncryption {
		if !canEncrypt {
			c.log.Info("refusing session: encryption required but the client cannot encrypt", "dialect", di.dialect.String())
			return wire.StatusAccessDenied
		}
		sess.encryptData = true
	}
	if canEncrypt {
		xf, err := crypto.NewTransformer(cipher, keys.ServerOut, keys.ServerIn)
		if err != nil {
			return err
		}
		sess.xform = xf
	}
	sess.state = sessionValid
	return nil
}

// expirePrevious logs off a session the client names as its previous one after a reconnect,
// if it belongs to the same user (MS-SMB2 3.3.5.5.3).
func (s *Server) expirePrevious(id uint64, user string) {
	old := s.lookupSession(id)
	if old == nil {
		return
	}
	old.mu.Lock()
	same := strings.EqualFold(old.user.Name, user)
	old.mu.Unlock()
	if same {
		s.removeSession(old)
		old.logoff()
	}
}

// handleLogoff implements MS-SMB2 3.3.5.6. The response is signed with the session's key, so the
// session is removed from the tables now and its opens closed.
func handleLogoff(r *request) error {
	var req wire.LogoffRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	r.c.srv.removeSession(r.sess)
	r.sess.logoff()
	r.resp = (&wire.LogoffResponse{}).Append(r.resp)
	return nil
}

func handleEcho(r *request) error {
	r.resp = (&wire.EchoResponse{}).Append(r.resp)
	return nil
}
