package server

import (
	"crypto/rand"
	"slices"
	"time"

	"github.com/sofs-dev/sofs/smb/crypto"
	"github.com/sofs-dev/sofs/smb/wire"
)

// handleSMB1 answers a multi-protocol SMB1 NEGOTIATE (MS-SMB2 3.3.5.3.1): if the client offers
// "SMB 2.???" we answer with the SMB2 wildcard dialect 0x02FF and wait for an SMB2 NEGOTIATE; if it
// offers only "SMB 2.002" we settle on 2.0.2. Anything else in SMB1 is dropped.
func (c *conn) handleSMB1(frame []byte) error {
	dialects, err := wire.ParseSMB1Negotiate(frame)
	if err != nil {
		return errDropConnection
	}
	if c.neg.Load() != nil {
		return errDropConnection
	}
	var choice wire.Dialect
	switch {
	case slices.Contains(dialects, "SMB 2.???"):
		choice = wire.DialectWildcard
	case slices.Contains(dialects, "SMB 2.002"):
		choice = wire.DialectSMB202
	default:
		return errDropConnection
	}
	// The SMB1 negotiate consumes message id 0 (MS-SMB2 3.3.5.2.3).
	if !c.credits.consume(0, 1) {
		return errDropConnection
	}
	resp := make([]byte, wire.HeaderSize, 256)
	h := wire.Header(resp)
	h.Init(wire.CmdNegotiate)
	h.SetFlags(wire.FlagResponse)
	h.SetCredits(c.credits.grant(1))
	if choice == wire.DialectSMB202 {
		di, _ := lookupDialect(wire.DialectSMB202)
		if !c.setNegotiated(&negotiation{di: di}) {
			return errDropConnection
		}
	}
	resp = c.negotiateResponse(choice).Append(resp)
	return c.writeFrame(resp)
}

func (c *conn) negotiateResponse(d wire.Dialect) *wire.NegotiateResponse {
	cfg := &c.srv.cfg
	di, _ := lookupDialect(d)
	max := cfg.MaxIOSize
	if !di.multiCredit {
		max = 64 << 10 // 2.0.2 and the wildcard answer
	}
	secMode := wire.SigningEnabled
	if cfg.RequireSigning {
		secMode |= wire.SigningRequired
	}
	return &wire.NegotiateResponse{
		SecurityMode:    secMode,
		DialectRevision: d,
		ServerGUID:      wire.GUID(cfg.ServerGUID),
		Capabilities:    di.capabilities,
		MaxTransactSize: max,
		MaxReadSize:     max,
		MaxWriteSize:    max,
		SystemTime:      wire.FiletimeFromTime(time.Now()),
		SecurityBuffer:  c.srv.acceptor.InitialToken(),
	}
}

// setNegotiated publishes the outcome of NEGOTIATE once; a second NEGOTIATE on the connection
// loses the race and is refused.
func (c *conn) setNegotiated(n *negotiation) bool {
	n.maxRead, n.maxWrite, n.maxTransact = 64<<10, 64<<10, 64<<10
	if n.di.multiCredit {
		m := c.srv.cfg.MaxIOSize
		n.maxRead, n.maxWrite, n.maxTransact = m, m, m
	}
	return c.neg.CompareAndSwap(nil, n)
}

// handleNegotiate implements MS-SMB2 3.3.5.4.
func handleNegotiate(r *request) error {
	c := r.c
	if c.neg.Load() != nil {
		return errDropConnection // a second NEGOTIATE on a connection terminates it
	}
	var req wire.NegotiateRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	if len(req.Dialects) == 0 {
		return errInvalidParameter
	}
	di, ok := selectDialect(req.Dialects)
	if !ok {
		return wire.StatusNotSupported
	}
	resp := c.negotiateResponse(di.dialect)
	var cipher, signAlgo uint16
	if di.dialect == wire.DialectSMB30 || di.dialect == wire.DialectSMB302 {
		if req.Capabilities&wire.CapEncryption != 0 {
			cipher = wire.CipherAES128CCM // the only cipher before 3.1.1
		}
	}
	if di.preauth {
		var err error
		cipher, signAlgo, resp.Contexts, err = negotiateContexts(req.Contexts)
		if err != nil {
			return err
		}
	}
	if !c.setNegotiated(&negotiation{di: di, cipher: cipher, signAlgo: signAlgo, clientGUID: req.ClientGUID,
		clientCaps: req.Capabilities, clientSecMode: req.SecurityMode, clientDialects: req.Dialects}) {
		return errDropConnection
	}
	r.resp = resp.Append(r.resp)
	if di.preauth {
		reqCopy := r.msg
		r.after = func(respBytes []byte) {
			c.mu.Lock()
			c.preauth = crypto.PreauthHash(crypto.PreauthHash(make([]byte, 64), reqCopy), respBytes)
			c.mu.Unlock()
		}
	}
	return nil
}

// negotiateContexts processes a 3.1.1 client's negotiate contexts (MS-SMB2 3.3.5.4) and builds
// ours: preauth integrity is mandatory; a cipher and a signing algorithm are chosen from our
// preference lists when the client offers them.
func negotiateContexts(in []wire.NegotiateContext) (cipher, signAlgo uint16, out []wire.NegotiateContext, err error) {
	var havePreauth, sawCipher, sawSigning bool
	seen := map[wire.NegotiateContextType]bool{}
	signAlgo = wire.SigningAESCMAC
	for _, ctx := range in {
		if seen[ctx.Type] && (ctx.Type == wire.CtxPreauthIntegrity || ctx.Type == wire.CtxEncryption ||
			ctx.Type == wire.CtxSigning || ctx.Type == wire.CtxCompression) {
			return 0, 0, nil, errInvalidParameter // duplicates are refused (3.3.5.4)
		}
		seen[ctx.Type] = true
		switch ctx.Type {
		case wire.CtxPreauthIntegrity:
			var p wire.PreauthIntegrityCapabilities
			if err := p.Decode(ctx.Data); err != nil || len(p.HashAlgorithms) == 0 {
				return 0, 0, nil, errInvalidParameter
			}
			if !slices.Contains(p.HashAlgorithms, wire.HashSHA512) {
				return 0, 0, nil, wire.StatusSMBNoPreauthIntegrityHashOverlap
			}
			havePreauth = true
		case wire.CtxEncryption:
			var e wire.EncryptionCapabilities
			if err := e.Decode(ctx.Data); err != nil || len(e.Ciphers) == 0 {
				return 0, 0, nil, errInvalidParameter
			}
			sawCipher = true
			for _, pref := range cipherPreference {
				if slices.Contains(e.Ciphers, pref) {
					cipher = pref
					break
				}
			}
		case wire.CtxSigning:
			var s wire.SigningCapabilities
			if err := s.Decode(ctx.Data); err != nil || len(s.Algorithms) == 0 {
				return 0, 0, nil, errInvalidParameter
			}
			sawSigning = true
			for _, pref := range signingPreference {
				if slices.Contains(s.Algorithms, pref) {
					signAlgo = pref
					break
				}
			}
		}
	}
	if !havePreauth {
		return 0, 0, nil, errInvalidParameter
	}
	salt := make([]byte, 32)
	_, _ = rand.Read(salt)
	out = append(out, wire.NegotiateContextOf(wire.CtxPreauthIntegrity,
		&wire.PreauthIntegrityCapabilities{HashAlgorithms: []uint16{wire.HashSHA512}, Salt: salt}))
	if sawCipher {
		// Cipher 0 tells the client we share no cipher (3.3.5.4).
		out = append(out, wire.NegotiateContextOf(wire.CtxEncryption, &wire.EncryptionCapabilities{Ciphers: []uint16{cipher}}))
	}
	if sawSigning {
		out = append(out, wire.NegotiateContextOf(wire.CtxSigning, &wire.SigningCapabilities{Algorithms: []uint16{signAlgo}}))
	}
	return cipher, signAlgo, out, nil
}
