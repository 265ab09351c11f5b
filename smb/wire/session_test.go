package wire

import (
	"bytes"
	"net/netip"
	"testing"

	"pgregory.net/rapid"
)

func TestSessionTreeRoundTrip(t *testing.T) {
	t.Run("session setup request", func(t *testing.T) {
		roundTrip(t, CmdSessionSetup, rapid.Custom(func(t *rapid.T) *SessionSetupRequest {
			return &SessionSetupRequest{Flags: rapid.Uint8().Draw(t, "f"), SecurityMode: rapid.Uint8().Draw(t, "sm"),
				Capabilities: rapid.Uint32().Draw(t, "c"), Channel: rapid.Uint32().Draw(t, "ch"),
				SecurityBuffer: genBytes(200).Draw(t, "sec"), PreviousSessionID: rapid.Uint64().Draw(t, "prev")}
		}))
	})
	t.Run("session setup response", func(t *testing.T) {
		roundTrip(t, CmdSessionSetup, rapid.Custom(func(t *rapid.T) *SessionSetupResponse {
			return &SessionSetupResponse{SessionFlags: rapid.Uint16().Draw(t, "f"), SecurityBuffer: genBytes(200).Draw(t, "sec")}
		}))
	})
	t.Run("tree connect request", func(t *testing.T) {
		roundTrip(t, CmdTreeConnect, rapid.Custom(func(t *rapid.T) *TreeConnectRequest {
			r := &TreeConnectRequest{Flags: rapid.Uint16().Draw(t, "f") &^ TreeConnectFlagExtensionPresent, Path: genName().Draw(t, "p")}
			if n := rapid.IntRange(0, 3).Draw(t, "n"); n > 0 {
				r.Flags |= TreeConnectFlagExtensionPresent
				for i := 0; i < n; i++ {
					r.Contexts = append(r.Contexts, TreeConnectContext{Type: rapid.Uint16().Draw(t, "t"), Data: genBytes(30).Draw(t, "d")})
				}
			}
			return r
		}))
	})
	t.Run("tree connect response", func(t *testing.T) {
		roundTrip(t, CmdTreeConnect, rapid.Custom(func(t *rapid.T) *TreeConnectResponse {
			return &TreeConnectResponse{ShareType: rapid.Uint8().Draw(t, "st"), ShareFlags: rapid.Uint32().Draw(t, "sf"),
				Capabilities: rapid.Uint32().Draw(t, "c"), MaximalAccess: rapid.Uint32().Draw(t, "ma")}
		}))
	})
	t.Run("error response", func(t *testing.T) {
		roundTrip(t, CmdCreate, rapid.Custom(func(t *rapid.T) *ErrorResponse {
			r := &ErrorResponse{}
			if rapid.Bool().Draw(t, "ctx") {
				n := rapid.IntRange(1, 3).Draw(t, "n")
				for i := 0; i < n; i++ {
					r.Contexts = append(r.Contexts, ErrorContext{ID: rapid.Uint32().Draw(t, "id"), Data: genBytes(40).Draw(t, "d")})
				}
			} else {
				r.ErrorData = genBytes(40).Draw(t, "d")
			}
			return r
		}))
	})
}

func TestEmptyBodies(t *testing.T) {
	for _, c := range []struct {
		cmd Command
		c   codec
	}{{CmdLogoff, &LogoffRequest{}}, {CmdLogoff, &LogoffResponse{}}, {CmdTreeDisconnect, &TreeDisconnectRequest{}},
		{CmdTreeDisconnect, &TreeDisconnectResponse{}}, {CmdEcho, &EchoRequest{}}, {CmdEcho, &EchoResponse{}}, {CmdCancel, &CancelRequest{}}} {
		m := c.c.Append(testHeader(c.cmd))
		if !bytes.Equal(m[HeaderSize:], []byte{4, 0, 0, 0}) {
			t.Fatalf("%T: % x", c.c, m[HeaderSize:])
		}
		if err := c.c.Decode(m); err != nil {
			t.Fatal(err)
		}
		if err := c.c.Decode(m[:HeaderSize+3]); err == nil {
			t.Fatalf("%T: truncated body accepted", c.c)
		}
	}
}

func TestErrorResponseEmptyHasOneByte(t *testing.T) {
	m := (&ErrorResponse{}).Append(testHeader(CmdRead))
	if !bytes.Equal(m[HeaderSize:], []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("% x", m[HeaderSize:])
	}
}

func TestShareRedirectLayout(t *testing.T) {
	sr := ShareRedirect{ResourceName: "data", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::1")}}
	d := sr.Append(nil)
	// 24-byte fixed part, two 24-byte MOVE_DST_IPADDR, then the name at 72.
	if le.Uint32(d) != 48 || le.Uint32(d[4:]) != 3 || le.Uint32(d[8:]) != 72 || le.Uint32(d[12:]) != 8 || le.Uint32(d[20:]) != 2 {
		t.Fatalf("fixed part % x", d[:24])
	}
	if le.Uint32(d[24:]) != 1 || !bytes.Equal(d[32:36], []byte{192, 0, 2, 7}) || le.Uint32(d[48:]) != 2 {
		t.Fatalf("addresses % x", d[24:72])
	}
	m := (&ErrorResponse{Contexts: []ErrorContext{{ID: ErrorIDShareRedirect, Data: d}}}).Append(testHeader(CmdTreeConnect))
	var er ErrorResponse
	if err := er.Decode(m); err != nil {
		t.Fatal(err)
	}
	var back ShareRedirect
	if len(er.Contexts) != 1 || er.Contexts[0].ID != ErrorIDShareRedirect {
		t.Fatalf("%+v", er)
	}
	if err := back.Decode(er.Contexts[0].Data); err != nil || !sameValue(sr, back) {
		t.Fatalf("%+v %v", back, err)
	}
}

func TestSMB1Negotiate(t *testing.T) {
	in := []string{"PC NETWORK PROGRAM 1.0", "NT LM 0.12", "SMB 2.002", "SMB 2.???"}
	got, err := ParseSMB1Negotiate(AppendSMB1Negotiate(nil, in))
	if err != nil || !sameValue(got, in) {
		t.Fatalf("%q %v", got, err)
	}
	m := AppendSMB1Negotiate(nil, in)
	if _, err := ParseSMB1Negotiate(m[:len(m)-1]); err == nil {
		t.Fatal("truncated accepted")
	}
}

func FuzzDecodeSessionSetupRequest(f *testing.F) {
	fuzzDecode[SessionSetupRequest](f, (&SessionSetupRequest{SecurityBuffer: []byte("NTLMSSP\x00")}).Append(testHeader(CmdSessionSetup)))
}

func FuzzDecodeSessionSetupResponse(f *testing.F) {
	fuzzDecode[SessionSetupResponse](f, (&SessionSetupResponse{SecurityBuffer: []byte("x")}).Append(testHeader(CmdSessionSetup)))
}

func FuzzDecodeTreeConnectRequest(f *testing.F) {
	fuzzDecode[TreeConnectRequest](f, (&TreeConnectRequest{Path: `\\s\x`, Contexts: []TreeConnectContext{{Type: 1, Data: []byte{1}}}}).Append(testHeader(CmdTreeConnect)))
}

func FuzzDecodeTreeConnectResponse(f *testing.F) {
	fuzzDecode[TreeConnectResponse](f, (&TreeConnectResponse{ShareType: 1}).Append(testHeader(CmdTreeConnect)))
}

func FuzzDecodeErrorResponse(f *testing.F) {
	fuzzDecode[ErrorResponse](f, (&ErrorResponse{Contexts: []ErrorContext{{ID: ErrorIDShareRedirect, Data: (&ShareRedirect{ResourceName: "x"}).Append(nil)}}}).Append(testHeader(CmdTreeConnect)))
}

func FuzzDecodeShareRedirect(f *testing.F) {
	f.Add((&ShareRedirect{ResourceName: "x", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}).Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() { _ = (&ShareRedirect{}).Decode(data) })
		var s ShareRedirect
		if s.Decode(data) != nil {
			return
		}
		var s2 ShareRedirect
		if err := s2.Decode(s.Append(nil)); err != nil || !sameValue(s, s2) {
			t.Fatalf("%+v %+v %v", s, s2, err)
		}
	})
}

func FuzzDecodeEmptyBodies(f *testing.F) {
	f.Add((&EchoRequest{}).Append(testHeader(CmdEcho)))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []codec{&LogoffRequest{}, &LogoffResponse{}, &TreeDisconnectRequest{}, &TreeDisconnectResponse{},
			&EchoRequest{}, &EchoResponse{}, &CancelRequest{}, &FlushResponse{}} {
			_ = c.Decode(data)
		}
		_, _, _ = NextMessage(data)
		_ = CheckRequestSize(Header(append(make([]byte, 0, HeaderSize), data...)).commandOrZero(), data)
	})
}

func FuzzParseSMB1Negotiate(f *testing.F) {
	f.Add(AppendSMB1Negotiate(nil, []string{"NT LM 0.12", "SMB 2.002", "SMB 2.???"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() { _, _ = ParseSMB1Negotiate(data) })
		d, err := ParseSMB1Negotiate(data)
		if err != nil {
			return
		}
		d2, err := ParseSMB1Negotiate(AppendSMB1Negotiate(nil, d))
		if err != nil || !sameValue(d, d2) {
			t.Fatalf("%q %q %v", d, d2, err)
		}
	})
}

func TestSymlinkErrorRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := SymlinkError{UnparsedPathLength: rapid.Uint16().Draw(t, "u"), SubstituteName: genName().Draw(t, "s"),
			PrintName: genName().Draw(t, "p"), Flags: rapid.Uint32().Draw(t, "f")}
		b := s.Append(nil)
		if int(le.Uint32(b)) != len(b)-4 || le.Uint32(b[8:]) != IOReparseTagSymlink {
			t.Fatalf("header % x", b[:28])
		}
		var back SymlinkError
		if err := back.Decode(b); err != nil || back != s {
			t.Fatalf("%+v -> %+v (%v)", s, back, err)
		}
	})
}

func FuzzDecodeSymlinkError(f *testing.F) {
	f.Add((&SymlinkError{SubstituteName: `\??\C:\x`, PrintName: `C:\x`}).Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s SymlinkError
		if s.Decode(data) != nil {
			return
		}
		var s2 SymlinkError
		if err := s2.Decode(s.Append(nil)); err != nil || s != s2 {
			t.Fatalf("%+v %+v %v", s, s2, err)
		}
	})
}
