package auth

import (
	"bytes"
	"errors"
	"testing"
)

func TestAcceptorNTLMv2Variants(t *testing.T) {
	a := testAcceptor(t)
	cases := map[string]testClient{
		"spnego plain":         {spnego: true},
		"spnego mic":           {spnego: true, mic: true},
		"spnego keyexch":       {spnego: true, keyExch: true},
		"spnego mic keyexch":   {spnego: true, mic: true, keyExch: true, mechListMIC: true},
		"spnego mechListMIC":   {spnego: true, mechListMIC: true},
		"spnego krb5 first":    {spnego: true, krbFirst: true, mic: true, keyExch: true, mechListMIC: true},
		"raw ntlmssp":          {},
		"raw ntlmssp mic kx":   {mic: true, keyExch: true},
		"user name other case": {spnego: true, user: "ALICE"},
		"any domain as sent":   {spnego: true, domain: "SomeDomain"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.user == "" {
				c.user = "alice"
			}
			c.password = "secret"
			r, err := c.run(t, a)
			if err != nil {
				t.Fatalf("logon failed: %v", err)
			}
			if r.User.Name != "alice" || r.Guest || r.Anonymous {
				t.Fatalf("result %+v", r)
			}
			if !bytes.Equal(r.SessionKey, c.exported) || len(r.SessionKey) != 16 {
				t.Fatalf("session key %x, client has %x", r.SessionKey, c.exported)
			}
			if r.User.RID != 1000 || r.User.SID == "" {
				t.Fatalf("user identity %+v", r.User)
			}
		})
	}
}

func TestAcceptorRefusals(t *testing.T) {
	a := testAcceptor(t)
	cases := map[string]testClient{
		"wrong password": {spnego: true, user: "alice", password: "wrong"},
		"unknown user":   {spnego: true, user: "mallory", password: "secret"},
		"ntlmv1":         {spnego: true, user: "alice", password: "secret", ntlmv1: true},
		"anonymous":      {spnego: true, anonymous: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.run(t, a)
			if !errors.Is(err, ErrLogonFailure) {
				t.Fatalf("err = %v, want ErrLogonFailure", err)
			}
		})
	}
}

func TestAcceptorGuestWhenAllowed(t *testing.T) {
	a := testAcceptor(t)
	a.AllowGuest = true
	c := testClient{spnego: true, anonymous: true}
	r, err := c.run(t, a)
	if err != nil || !r.Anonymous || r.SessionKey != nil {
		t.Fatalf("anonymous with AllowGuest: %+v %v", r, err)
	}
	c = testClient{spnego: true, user: "mallory", password: "x"}
	r, err = c.run(t, a)
	if err != nil || !r.Guest || r.SessionKey != nil {
		t.Fatalf("unknown user with AllowGuest: %+v %v", r, err)
	}
	// A known user with a wrong password is never downgraded to guest.
	c = testClient{spnego: true, user: "alice", password: "x"}
	if _, err := c.run(t, a); !errors.Is(err, ErrLogonFailure) {
		t.Fatalf("wrong password with AllowGuest: %v", err)
	}
}

// Tampering with the AUTHENTICATE message after the MIC was computed must be detected
// (here: the workstation name, which NTProofStr does not cover).
func TestAcceptorMICTamper(t *testing.T) {
	a := testAcceptor(t)
	c := testClient{user: "alice", password: "secret", mic: true}
	x := a.Start()
	out, err := x.Step(c.first())
	if err != ErrContinue {
		t.Fatal(err)
	}
	tok, err := c.second(out)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(tok, toUTF16("TESTWS"))
	tok[i] = 'X'
	if _, err := x.Step(tok); !errors.Is(err, ErrLogonFailure) {
		t.Fatalf("tampered message: %v", err)
	}
	// The exchange is dead afterwards.
	if _, err := x.Step(tok); err == nil {
		t.Fatal("failed exchange accepted another step")
	}
}

func TestAcceptorBadMechListMIC(t *testing.T) {
	a := testAcceptor(t)
	c := testClient{spnego: true, user: "alice", password: "secret", mechListMIC: true}
	x := a.Start()
	out, _ := x.Step(c.first())
	tok, err := c.second(out)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := parseNegTokenResp(tok)
	resp.mechListMIC[6] ^= 1
	if _, err := x.Step(encodeNegTokenResp(*resp)); !errors.Is(err, ErrLogonFailure) {
		t.Fatalf("bad mechListMIC: %v", err)
	}
	if _, ok := x.Result(); ok {
		t.Fatal("result available after failure")
	}
}

func TestAcceptorChallengeContents(t *testing.T) {
	a := testAcceptor(t)
	a.Rand = bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	c := testClient{spnego: true}
	out, err := a.Start().Step(c.first())
	if err != ErrContinue {
		t.Fatal(err)
	}
	resp, err := parseNegTokenResp(out)
	if err != nil {
		t.Fatal(err)
	}
	chal := resp.responseToken
	if !bytes.Equal(chal[24:32], []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("server challenge %x", chal[24:32])
	}
	name, _ := field(chal, 12)
	if s, _ := fromUTF16(name); s != "SOFS1" {
		t.Fatalf("target name %q", s)
	}
	info, _ := field(chal, 40)
	pairs, err := parseAVPairs(info)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint16]string{avNbDomainName: "WORKGROUP", avNbComputerName: "SOFS1",
		avDNSDomainName: "example.test", avDNSComputerName: "sofs1.example.test"}
	seenTS := false
	for _, p := range pairs {
		if p.id == avTimestamp {
			seenTS = len(p.value) == 8
			continue
		}
		if s, _ := fromUTF16(p.value); want[p.id] != s {
			t.Errorf("AV pair %d = %q, want %q", p.id, s, want[p.id])
		}
		delete(want, p.id)
	}
	if len(want) != 0 || !seenTS {
		t.Fatalf("missing AV pairs %v, timestamp %v", want, seenTS)
	}
}

func TestInitialTokenParses(t *testing.T) {
	a := testAcceptor(t)
	tok := a.InitialToken()
	init, err := parseNegTokenInit(tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(init.mechTypes) != 1 || !bytes.Equal(init.mechTypes[0], oidNTLMSSP) {
		t.Fatalf("mechTypes %x", init.mechTypes)
	}
	if !bytes.Contains(tok, []byte(negHintName)) {
		t.Fatal("negHints missing")
	}
}

func TestAcceptorMalformedAndUnsupported(t *testing.T) {
	a := testAcceptor(t)
	if _, err := a.Start().Step([]byte{0x60, 0x03, 0x06, 0x01}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated token: %v", err)
	}
	onlyKrb := encodeNegTokenInit(encodeMechTypes(oidTestKRB5), []byte("x"), nil)
	out, err := a.Start().Step(onlyKrb)
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("kerberos-only: %v", err)
	}
	if resp, perr := parseNegTokenResp(out); perr != nil || resp.negState != negStateReject {
		t.Fatalf("kerberos-only reply: %+v %v", resp, perr)
	}
}

func TestAcceptorEmptyFirstTokenGetsInitialToken(t *testing.T) {
	a := testAcceptor(t)
	x := a.Start()
	out, err := x.Step(nil)
	if err != ErrContinue || !bytes.Equal(out, a.InitialToken()) {
		t.Fatalf("empty first token: %x, %v", out, err)
	}
	c := testClient{spnego: true, user: "alice", password: "secret"}
	out, err = x.Step(c.first())
	if err != ErrContinue {
		t.Fatal(err)
	}
	tok, err := c.second(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Step(tok); err != nil {
		t.Fatalf("logon after empty first token: %v", err)
	}
}
