package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Errors of an exchange. ErrLogonFailure is wrapped with the reason; the SMB server maps
// it to STATUS_LOGON_FAILURE, ErrNotSupported to STATUS_NOT_SUPPORTED (or
// STATUS_INVALID_PARAMETER for malformed tokens), and sends the output token of an
// ErrContinue step with STATUS_MORE_PROCESSING_REQUIRED.
var (
	ErrContinue     = errors.New("auth: more processing required")
	ErrLogonFailure = errors.New("auth: logon failure")
	ErrNotSupported = errors.New("auth: not supported")
	// ErrMalformed marks undecodable client tokens. It wraps ErrLogonFailure, so a
	// server that only tests for ErrLogonFailure answers STATUS_LOGON_FAILURE; one that
	// tests ErrMalformed first can answer STATUS_INVALID_PARAMETER instead.
	ErrMalformed = fmt.Errorf("%w: malformed security token", ErrLogonFailure)
)

// Acceptor authenticates clients with NTLMv2 inside SPNEGO (or raw NTLMSSP). Its fields
// are read-only once the first exchange starts; one Acceptor serves all connections.
type Acceptor struct {
	Users         *UserDB
	NetBIOSName   string // computer name, e.g. "SOFS1"
	NetBIOSDomain string // e.g. "WORKGROUP"
	DNSName       string // e.g. "sofs1.example.com"
	DNSDomain     string // e.g. "example.com"
	AllowGuest    bool   // map anonymous logons and unknown users to guest sessions
	Now           func() time.Time
	Rand          io.Reader
}

func (a *Acceptor) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Acceptor) rand() io.Reader {
	if a.Rand != nil {
		return a.Rand
	}
	return rand.Reader
}

// InitialToken is the SPNEGO NegTokenInit2 for the SMB2 NEGOTIATE response's security
// buffer: it advertises NTLMSSP as the only mechanism.
func (a *Acceptor) InitialToken() []byte {
	return encodeNegTokenInit2(oidNTLMSSP)
}

// Result is the outcome of a successful exchange.
type Result struct {
	User       User
	SessionKey []byte // exported session key, 16 bytes; nil for guest and anonymous
	Guest      bool
	Anonymous  bool
}

// exchange states.
const (
	stateStart         = iota // nothing received yet
	stateWantNegotiate        // told the client to switch to NTLMSSP; waiting for NEGOTIATE
	stateWantAuth             // sent CHALLENGE; waiting for AUTHENTICATE
	stateDone
	stateFailed
)

// Exchange is one authentication conversation (one SESSION_SETUP sequence). It is not
// safe for concurrent use; the server calls Step once per SESSION_SETUP request.
type Exchange struct {
	a      *Acceptor
	state  int
	spnego bool // the client wraps tokens in SPNEGO

	// SPNEGO: the client's MechTypeList as sent and whether NTLMSSP was its first choice;
	// a mechListMIC is mandatory when it was not (RFC 4178 section 5).
	mechTypesRaw []byte
	ntlmFirst    bool

	negotiate []byte // raw NTLM NEGOTIATE, for the MIC
	challenge []byte // raw NTLM CHALLENGE we sent
	serverCh  [8]byte
	flags     uint32

	result Result
}

// Start begins an exchange.
func (a *Acceptor) Start() *Exchange { return &Exchange{a: a} }

// Result returns the authenticated identity once Step has returned a nil error.
func (x *Exchange) Result() (Result, bool) {
	return x.result, x.state == stateDone
}

// Step consumes the client's security buffer and returns the buffer to send back. err is
// ErrContinue while the exchange needs another round trip, nil when complete, and any
// other error (wrapping ErrLogonFailure, ErrNotSupported or ErrMalformed) ends it.
func (x *Exchange) Step(in []byte) (out []byte, err error) {
	out, err = x.step(in)
	if err != nil && !errors.Is(err, ErrContinue) {
		x.state = stateFailed
	}
	return out, err
}

func (x *Exchange) step(in []byte) ([]byte, error) {
	switch x.state {
	case stateStart:
		return x.first(in)
	case stateWantNegotiate:
		resp, err := parseNegTokenResp(in)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if len(resp.responseToken) == 0 {
			return nil, fmt.Errorf("%w: NegTokenResp without an NTLMSSP NEGOTIATE", ErrMalformed)
		}
		return x.onNegotiate(resp.responseToken)
	case stateWantAuth:
		if !x.spnego {
			return x.onAuthenticate(in, nil)
		}
		resp, err := parseNegTokenResp(in)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if resp.negState == negStateReject {
			return nil, fmt.Errorf("%w: client rejected the negotiation", ErrLogonFailure)
		}
		return x.onAuthenticate(resp.responseToken, resp)
	case stateDone:
		return nil, fmt.Errorf("%w: exchange already complete", ErrNotSupported)
	default:
		return nil, fmt.Errorf("%w: exchange already failed", ErrLogonFailure)
	}
}

// first handles the client's first token: SPNEGO NegTokenInit or raw NTLMSSP NEGOTIATE.
func (x *Exchange) first(in []byte) ([]byte, error) {
	if len(in) == 0 {
		// A client that ignored the NEGOTIATE response's token asks for it again with an
		// empty buffer (Samba answers the same way); the exchange stays at its start.
		return x.a.InitialToken(), ErrContinue
	}
	if bytes.HasPrefix(in, ntlmSignature) {
		return x.onNegotiate(in)
	}
	init, err := parseNegTokenInit(in)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	x.spnego = true
	// Copied: Step must not keep the caller's buffer, which the server reuses between legs.
	x.mechTypesRaw = bytes.Clone(init.mechTypesRaw)
	idx := -1
	for i, m := range init.mechTypes {
		if bytes.Equal(m, oidNTLMSSP) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return encodeNegTokenResp(negTokenResp{negState: negStateReject}),
			fmt.Errorf("%w: client offers no NTLMSSP mechanism", ErrNotSupported)
	}
	x.ntlmFirst = idx == 0
	if idx != 0 || len(init.mechToken) == 0 {
		// The optimistic token (if any) belongs to a mechanism we do not accept: tell
		// the client to continue with NTLMSSP (RFC 4178 section 3.2, step 3).
		x.state = stateWantNegotiate
		return encodeNegTokenResp(negTokenResp{negState: negStateAcceptIncomplete, supportedMech: oidNTLMSSP}), ErrContinue
	}
	return x.onNegotiate(init.mechToken)
}

// onNegotiate answers an NTLM NEGOTIATE with a CHALLENGE.
func (x *Exchange) onNegotiate(tok []byte) ([]byte, error) {
	neg, err := parseNegotiate(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if neg.flags&flagUnicode == 0 {
		return nil, fmt.Errorf("%w: NTLM client without Unicode support", ErrNotSupported)
	}
	if _, err := io.ReadFull(x.a.rand(), x.serverCh[:]); err != nil {
		return nil, fmt.Errorf("ntlm challenge: random: %w", err)
	}
	// Echo the session-security options the client asked for and add the ones NTLMv2
	// needs; LM_KEY and datagram mode are never offered (MS-NLMP 3.2.5.1.1).
	x.flags = flagUnicode | flagRequestTarget | flagNTLM | flagTargetTypeServer |
		flagExtendedSecurity | flagTargetInfo | flagVersion |
		neg.flags&(flagSign|flagSeal|flagAlwaysSign|flagKeyExch|flag128|flag56)
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], filetime(x.a.now()))
	x.negotiate = append([]byte(nil), tok...)
	x.challenge = encodeChallenge(challengeParams{
		flags:      x.flags,
		challenge:  x.serverCh,
		targetName: x.a.NetBIOSName,
		targetInfo: []avPair{
			{avNbDomainName, toUTF16(x.a.NetBIOSDomain)},
			{avNbComputerName, toUTF16(x.a.NetBIOSName)},
			{avDNSDomainName, toUTF16(x.a.DNSDomain)},
			{avDNSComputerName, toUTF16(x.a.DNSName)},
			{avTimestamp, ts[:]},
		},
	})
	x.state = stateWantAuth
	if !x.spnego {
		return x.challenge, ErrContinue
	}
	return encodeNegTokenResp(negTokenResp{
		negState:      negStateAcceptIncomplete,
		supportedMech: oidNTLMSSP,
		responseToken: x.challenge,
	}), ErrContinue
}

// onAuthenticate verifies the AUTHENTICATE message; resp is the SPNEGO wrapper, if any.
func (x *Exchange) onAuthenticate(tok []byte, resp *negTokenResp) ([]byte, error) {
	auth, err := parseAuthenticate(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}

	// Anonymous: no user and no NT response (MS-NLMP 3.2.5.1.2).
	if auth.user == "" && len(auth.ntResponse) == 0 && (len(auth.lmResponse) == 0 || bytes.Equal(auth.lmResponse, []byte{0})) {
		if !x.a.AllowGuest {
			return nil, fmt.Errorf("%w: anonymous logon refused", ErrLogonFailure)
		}
		x.result = Result{Anonymous: true}
		return x.finish(nil, nil, resp)
	}
	switch n := len(auth.ntResponse); {
	case n == 0:
		return nil, fmt.Errorf("%w: LM-only response from %q refused", ErrLogonFailure, auth.user)
	case n == 24:
		return nil, fmt.Errorf("%w: NTLMv1 response from %q refused (NTLMv2 only)", ErrLogonFailure, auth.user)
	case n < 16+28+4:
		return nil, fmt.Errorf("%w: %d-byte NT response is not NTLMv2", ErrMalformed, n)
	}
	blob := auth.ntResponse[16:]
	if blob[0] != 1 || blob[1] != 1 {
		return nil, fmt.Errorf("%w: NTLMv2 blob version %d.%d", ErrMalformed, blob[0], blob[1])
	}
	clientAV, err := parseAVPairs(blob[28:])
	if err != nil {
		return nil, fmt.Errorf("%w: NTLMv2 blob: %w", ErrMalformed, err)
	}

	user, known := x.a.Users.Lookup(accountName(auth.user, auth.domain))
	if !known {
		if x.a.AllowGuest {
			x.result = Result{Guest: true, User: User{Name: auth.user}}
			return x.finish(nil, nil, resp)
		}
		return nil, fmt.Errorf("%w: unknown user %q", ErrLogonFailure, auth.user)
	}
	// The client computes NTOWFv2 with the user and domain strings it sent; the user
	// database is domain-less, so any domain is accepted but used exactly as sent.
	ok, baseKey := ntlmv2Verify(ntowfv2(user.NTHash, auth.user, auth.domain), x.serverCh, auth.ntResponse)
	if !ok {
		return nil, fmt.Errorf("%w: wrong password for %q (domain %q)", ErrLogonFailure, auth.user, auth.domain)
	}
	// For NTLMv2 KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1).
	exported := baseKey
	if x.flags&flagKeyExch != 0 && auth.flags&flagKeyExch != 0 {
		if len(auth.encSessionKey) != 16 {
			return nil, fmt.Errorf("%w: KEY_EXCH with a %d-byte EncryptedRandomSessionKey", ErrMalformed, len(auth.encSessionKey))
		}
		exported = rc4Once(baseKey, auth.encSessionKey)
	}

	micPresent := false
	for _, p := range clientAV {
		if p.id == avFlags && len(p.value) == 4 && binary.LittleEndian.Uint32(p.value)&avFlagMICPresent != 0 {
			micPresent = true
		}
	}
	if micPresent {
		if auth.micOffset == 0 {
			return nil, fmt.Errorf("%w: MsvAvFlags announce a MIC but the message has no room for it", ErrMalformed)
		}
		zeroed := append([]byte(nil), auth.raw...)
		got := append([]byte(nil), zeroed[auth.micOffset:auth.micOffset+16]...)
		clear(zeroed[auth.micOffset : auth.micOffset+16])
		want := hmacMD5(exported, x.negotiate, x.challenge, zeroed)
		if !hmac.Equal(got, want) {
			return nil, fmt.Errorf("%w: bad NTLM MIC for %q", ErrLogonFailure, auth.user)
		}
	}
	x.result = Result{User: user, SessionKey: exported}
	return x.finish(exported, auth, resp)
}

// accountName maps the user field to a database name: a UPN "name@realm" sent with an
// empty domain (MS-NLMP 3.1.5.1.2 allows it) names the account "name". Database names
// cannot contain '@', so this is unambiguous. NTOWFv2 still uses the strings as sent.
func accountName(user, domain string) string {
	if i := strings.LastIndexByte(user, '@'); i > 0 && domain == "" {
		return user[:i]
	}
	return user
}

// finish produces the final token: nothing for raw NTLMSSP, otherwise an accept-completed
// NegTokenResp, with mechListMIC handling per RFC 4178 section 5 and MS-SPNG 3.3.5.1.
func (x *Exchange) finish(exported []byte, auth *ntlmAuthenticateMsg, resp *negTokenResp) ([]byte, error) {
	if !x.spnego {
		x.state = stateDone
		return nil, nil
	}
	out := negTokenResp{negState: negStateAcceptCompleted}
	if exported != nil {
		keys := deriveNTLMKeys(exported, x.flags)
		if resp != nil && resp.mechListMIC != nil {
			want := ntlmMAC(keys.clientSign, keys.clientSeal, keys.keyExch, 0, x.mechTypesRaw)
			if !hmac.Equal(want, resp.mechListMIC) {
				x.result = Result{}
				return nil, fmt.Errorf("%w: bad SPNEGO mechListMIC", ErrLogonFailure)
			}
		}
		// A client that did not send a mechListMIC is not required to when NTLMSSP was
		// its first choice. When it was not, RFC 4178 section 5 wants the MIC exchange;
		// we still accept its absence (NTLMSSP is the only mechanism we offer, so there
		// is nothing to downgrade to) but send ours so a strict client can check it.
		if (resp != nil && resp.mechListMIC != nil) || !x.ntlmFirst {
			out.mechListMIC = ntlmMAC(keys.serverSign, keys.serverSeal, keys.keyExch, 0, x.mechTypesRaw)
		}
	}
	x.state = stateDone
	return encodeNegTokenResp(out), nil
}
