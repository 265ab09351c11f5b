package auth

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// testClient is a test-only NTLMv2 initiator with optional SPNEGO wrapping. It builds
// messages the way Windows and Samba clients do (MS-NLMP 3.1.5) so the Acceptor is
// exercised end to end.
type testClient struct {
	user, domain, password string
	spnego                 bool
	mic                    bool   // send MsvAvFlags MIC-present and the MIC
	keyExch                bool   // negotiate KEY_EXCH with a random session key
	ntlmv1                 bool   // send a 24-byte (NTLMv1-style) NT response
	anonymous              bool   // empty user and responses
	mechListMIC            bool   // send an SPNEGO mechListMIC
	krbFirst               bool   // list Kerberos before NTLMSSP (forces renegotiation)
	mechTypes              []byte // DER MechTypeList sent
	negotiate, challenge   []byte // raw NTLM messages, for the MIC
	exported               []byte // exported session key
	flags                  uint32 // flags of the CHALLENGE
	keys                   *ntlmKeys
}

var oidTestKRB5 = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

func (c *testClient) negotiateMsg() []byte {
	flags := uint32(flagUnicode | flagRequestTarget | flagSign | flagNTLM | flagAlwaysSign |
		flagExtendedSecurity | flagVersion | flag128 | flag56)
	if c.keyExch {
		flags |= flagKeyExch
	}
	b := make([]byte, 40)
	copy(b, ntlmSignature)
	binary.LittleEndian.PutUint32(b[8:], ntlmNegotiate)
	binary.LittleEndian.PutUint32(b[12:], flags)
	putField(b[16:], 0, 40)
	putField(b[24:], 0, 40)
	copy(b[32:], ntlmVersion)
	c.negotiate = b
	return b
}

// first returns the first SESSION_SETUP token.
func (c *testClient) first() []byte {
	neg := c.negotiateMsg()
	if !c.spnego {
		return neg
	}
	if c.krbFirst {
		c.mechTypes = encodeMechTypes(oidTestKRB5, oidNTLMSSP)
		// An optimistic "Kerberos" token the acceptor must ignore.
		return encodeNegTokenInit(c.mechTypes, []byte("not a kerberos token"), nil)
	}
	c.mechTypes = encodeMechTypes(oidNTLMSSP)
	return encodeNegTokenInit(c.mechTypes, neg, nil)
}

// afterRenegotiation answers accept-incomplete/supportedMech=NTLMSSP with NEGOTIATE.
func (c *testClient) afterRenegotiation(in []byte) ([]byte, error) {
	resp, err := parseNegTokenResp(in)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(resp.supportedMech, oidNTLMSSP) || resp.negState != negStateAcceptIncomplete {
		return nil, fmt.Errorf("unexpected renegotiation reply %+v", resp)
	}
	return encodeNegTokenResp(negTokenResp{negState: negStateAbsent, responseToken: c.negotiate}), nil
}

// second consumes the CHALLENGE token and returns the AUTHENTICATE token.
func (c *testClient) second(in []byte) ([]byte, error) {
	chal := in
	if c.spnego {
		resp, err := parseNegTokenResp(in)
		if err != nil {
			return nil, err
		}
		if resp.negState != negStateAcceptIncomplete || !bytes.Equal(resp.supportedMech, oidNTLMSSP) {
			return nil, fmt.Errorf("challenge NegTokenResp state %d mech %x", resp.negState, resp.supportedMech)
		}
		chal = resp.responseToken
	}
	if err := checkHeader(chal, ntlmChallenge, 56); err != nil {
		return nil, err
	}
	c.challenge = chal
	c.flags = binary.LittleEndian.Uint32(chal[20:])
	var serverCh [8]byte
	copy(serverCh[:], chal[24:32])
	info, err := field(chal, 40)
	if err != nil {
		return nil, err
	}
	pairs, err := parseAVPairs(info)
	if err != nil {
		return nil, err
	}
	var ts []byte
	for _, p := range pairs {
		if p.id == avTimestamp {
			ts = p.value
		}
	}
	if c.mic {
		pairs = append(pairs, avPair{avFlags, []byte{avFlagMICPresent, 0, 0, 0}})
	}

	var lm, nt, encKey []byte
	switch {
	case c.anonymous:
		lm = []byte{0}
	case c.ntlmv1:
		lm, nt = make([]byte, 24), bytes.Repeat([]byte{7}, 24)
	default:
		blob := []byte{1, 1, 0, 0, 0, 0, 0, 0}
		blob = append(blob, ts...)
		blob = append(blob, []byte("clientch")...)
		blob = append(blob, 0, 0, 0, 0)
		blob = append(blob, encodeAVPairs(pairs)...)
		blob = append(blob, 0, 0, 0, 0)
		key := ntowfv2(NTHash(c.password), c.user, c.domain)
		proof := hmacMD5(key, serverCh[:], blob)
		nt = append(proof, blob...)
		lm = make([]byte, 24)
		base := hmacMD5(key, proof)
		c.exported = base
		if c.keyExch {
			c.exported = []byte("random-sessionk!")
			encKey = rc4Once(base, c.exported)
		}
	}
	user := c.user
	if c.anonymous {
		user = ""
	}
	payload := [][]byte{lm, nt, toUTF16(c.domain), toUTF16(user), toUTF16("TESTWS"), encKey}
	const hdr = 88
	b := make([]byte, hdr)
	copy(b, ntlmSignature)
	binary.LittleEndian.PutUint32(b[8:], ntlmAuthenticate)
	off := hdr
	for i, p := range payload {
		putField(b[12+8*i:], len(p), off)
		off += len(p)
		b = append(b, p...)
	}
	binary.LittleEndian.PutUint32(b[60:], c.flags)
	copy(b[64:], ntlmVersion)
	if c.mic && c.exported != nil {
		copy(b[72:], hmacMD5(c.exported, c.negotiate, c.challenge, b))
	}
	if !c.spnego {
		return b, nil
	}
	out := negTokenResp{negState: negStateAbsent, responseToken: b}
	if c.mechListMIC && c.exported != nil {
		c.keys = deriveNTLMKeys(c.exported, c.flags)
		out.mechListMIC = ntlmMAC(c.keys.clientSign, c.keys.clientSeal, c.keys.keyExch, 0, c.mechTypes)
	}
	return encodeNegTokenResp(out), nil
}

// checkFinal validates the acceptor's last token, including its mechListMIC.
func (c *testClient) checkFinal(out []byte) error {
	if !c.spnego {
		if len(out) != 0 {
			return fmt.Errorf("raw NTLMSSP final token %x", out)
		}
		return nil
	}
	resp, err := parseNegTokenResp(out)
	if err != nil {
		return err
	}
	if resp.negState != negStateAcceptCompleted {
		return fmt.Errorf("final negState %d", resp.negState)
	}
	if c.mechListMIC {
		if resp.mechListMIC == nil {
			return fmt.Errorf("acceptor sent no mechListMIC in reply to ours")
		}
		want := ntlmMAC(c.keys.serverSign, c.keys.serverSeal, c.keys.keyExch, 0, c.mechTypes)
		if !hmac.Equal(want, resp.mechListMIC) {
			return fmt.Errorf("acceptor mechListMIC %x, want %x", resp.mechListMIC, want)
		}
	}
	return nil
}

// run drives a full exchange and returns the acceptor's error (nil on success).
func (c *testClient) run(t *testing.T, a *Acceptor) (Result, error) {
	t.Helper()
	x := a.Start()
	out, err := x.Step(c.first())
	if err != ErrContinue {
		t.Fatalf("first step: %v", err)
	}
	if c.krbFirst {
		tok, err := c.afterRenegotiation(out)
		if err != nil {
			t.Fatal(err)
		}
		if out, err = x.Step(tok); err != ErrContinue {
			t.Fatalf("negotiate after renegotiation: %v", err)
		}
	}
	tok, err := c.second(out)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	out, err = x.Step(tok)
	if err != nil {
		if _, ok := x.Result(); ok {
			t.Fatal("Result reports success after a failed step")
		}
		return Result{}, err
	}
	if err := c.checkFinal(out); err != nil {
		t.Fatalf("final token: %v", err)
	}
	r, ok := x.Result()
	if !ok {
		t.Fatal("Step succeeded but Result is not ready")
	}
	return r, nil
}

// testAcceptor returns an Acceptor over a real user database file with alice/secret.
func testAcceptor(t testing.TB) *Acceptor {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users")
	if err := AddUser(path, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	db, err := LoadUserDB(path)
	if err != nil {
		t.Fatal(err)
	}
	return &Acceptor{
		Users: db, NetBIOSName: "SOFS1", NetBIOSDomain: "WORKGROUP",
		DNSName: "sofs1.example.test", DNSDomain: "example.test",
		Now: func() time.Time { return time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC) },
	}
}
