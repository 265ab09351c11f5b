package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Seeds: the real smbclient/Samba tokens in testdata plus tokens of the test client.

func captureSeeds(f *testing.F) [][]byte {
	ents, err := os.ReadDir(filepath.Join("testdata", "smbclient-samba"))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, e := range ents {
		out = append(out, readCapture(f, e.Name()))
	}
	return out
}

// ntlmInside returns the NTLMSSP message embedded in a token, if any.
func ntlmInside(tok []byte) []byte {
	if i := bytes.Index(tok, ntlmSignature); i >= 0 {
		return tok[i:]
	}
	return nil
}

func clientTokens(f *testing.F) [][]byte {
	a := testAcceptor(f)
	c := &testClient{spnego: true, user: "alice", password: "secret", mic: true, keyExch: true, mechListMIC: true}
	first := c.first()
	x := a.Start()
	out, _ := x.Step(first)
	second, err := c.second(out)
	if err != nil {
		f.Fatal(err)
	}
	final, _ := x.Step(second)
	return [][]byte{first, out, second, final, a.InitialToken()}
}

func allSeeds(f *testing.F) [][]byte {
	return append(captureSeeds(f), clientTokens(f)...)
}

func FuzzParseNTLMNegotiate(f *testing.F) {
	for _, s := range allSeeds(f) {
		if m := ntlmInside(s); m != nil {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parseNegotiate(b)
	})
}

func FuzzParseNTLMAuthenticate(f *testing.F) {
	for _, s := range allSeeds(f) {
		if m := ntlmInside(s); m != nil {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseAuthenticate(b)
		if err != nil {
			return
		}
		if m.micOffset != 0 && len(b) < m.micOffset+16 {
			t.Fatalf("MIC offset %d beyond %d-byte message", m.micOffset, len(b))
		}
		if len(m.ntResponse) > len(b) || len(m.encSessionKey) > len(b) {
			t.Fatal("field longer than the message")
		}
	})
}

func FuzzParseAVPairs(f *testing.F) {
	f.Add(encodeAVPairs([]avPair{{avNbDomainName, toUTF16("D")}, {avTimestamp, make([]byte, 8)}}))
	f.Add(nlmpTemp()[28:])
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := parseAVPairs(b)
		if err != nil {
			return
		}
		// Re-encoding reproduces the consumed pairs exactly (MsvAvEOL's length field is
		// ignored on input, so the terminator is compared by id only).
		enc := encodeAVPairs(pairs)
		n := len(enc) - 4
		if !bytes.Equal(enc[:n], b[:n]) || b[n] != 0 || b[n+1] != 0 {
			t.Fatalf("re-encoded AV pairs differ:\n%x\n%x", enc, b[:len(enc)])
		}
	})
}

func FuzzParseNegTokenInit(f *testing.F) {
	for _, s := range allSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		init, err := parseNegTokenInit(b)
		if err != nil {
			return
		}
		// mechTypesRaw is the exact input of mechListMIC and must parse back to the list.
		got, _, err := readElem(init.mechTypesRaw)
		if err != nil || got.tag != tagSequence {
			t.Fatalf("mechTypesRaw %x does not parse: %v", init.mechTypesRaw, err)
		}
	})
}

func FuzzParseNegTokenResp(f *testing.F) {
	for _, s := range allSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseNegTokenResp(b)
		if err != nil {
			return
		}
		// Our DER encoding of a decoded token decodes to the same fields.
		r2, err := parseNegTokenResp(encodeNegTokenResp(*r))
		if err != nil {
			t.Fatalf("re-encoded token does not parse: %v", err)
		}
		if r2.negState != r.negState || !bytes.Equal(r2.responseToken, r.responseToken) ||
			!bytes.Equal(r2.mechListMIC, r.mechListMIC) || !bytes.Equal(r2.supportedMech, r.supportedMech) {
			t.Fatalf("round trip changed the token: %+v vs %+v", r, r2)
		}
	})
}

func FuzzASN1Reader(f *testing.F) {
	for _, s := range allSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte{0x30, 0x84, 0x00, 0x00, 0x00, 0x02, 0x05, 0x00}) // long-form length
	f.Fuzz(func(t *testing.T, b []byte) {
		var walk func(b []byte, depth int)
		walk = func(b []byte, depth int) {
			if depth > maxASN1Depth {
				return
			}
			els, err := readAll(b)
			if err != nil {
				return
			}
			for _, e := range els {
				if len(e.raw) < len(e.content)+2 {
					t.Fatalf("element raw %d shorter than content %d + header", len(e.raw), len(e.content))
				}
				// DER re-encoding of what was read parses to the same content.
				re, rest, err := readElem(appendTLV(nil, e.tag, e.content))
				if err != nil || len(rest) != 0 || !bytes.Equal(re.content, e.content) {
					t.Fatalf("re-encode of tag %#x failed: %v", e.tag, err)
				}
				if e.tag&0x20 != 0 {
					walk(e.content, depth+1)
				}
			}
		}
		walk(b, 0)
	})
}

func FuzzParseUserDB(f *testing.F) {
	f.Add([]byte("sofs-users 1\ndomain-sid S-1-5-21-1-2-3\nuser:alice:1000:00112233445566778899aabbccddeeff\n"))
	f.Add([]byte("sofs-users 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := ParseUserDB(b)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to a file that parses to the same users.
		db2, err := ParseUserDB(db.encode())
		if err != nil {
			if len(db.users) == 0 && db.domainSID == "" {
				return // a header-only file encodes an empty domain-sid line
			}
			t.Fatalf("re-encoded database does not parse: %v", err)
		}
		if len(db2.Users()) != len(db.Users()) {
			t.Fatal("user count changed on round trip")
		}
		for _, u := range db.Users() {
			if v, ok := db2.Lookup(u.Name); !ok || v != u {
				t.Fatalf("user %q changed on round trip", u.Name)
			}
		}
	})
}

// FuzzExchange feeds arbitrary first and second tokens to a fresh exchange: it must
// never panic, and must never report success for a token pair not derived from the
// password.
func FuzzExchange(f *testing.F) {
	seeds := allSeeds(f)
	for i := 0; i+1 < len(seeds); i++ {
		f.Add(seeds[i], seeds[i+1])
	}
	a := testAcceptor(f)
	f.Fuzz(func(t *testing.T, first, second []byte) {
		x := a.Start()
		if _, err := x.Step(first); err != ErrContinue {
			return
		}
		if _, err := x.Step(second); err == nil {
			if r, _ := x.Result(); !r.Guest && !r.Anonymous {
				t.Fatalf("fuzzed tokens authenticated as %+v", r.User)
			}
		}
	})
}
