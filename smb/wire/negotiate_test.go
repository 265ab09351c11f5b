package wire

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func genNegCtxs() *rapid.Generator[[]NegotiateContext] {
	return rapid.Custom(func(t *rapid.T) []NegotiateContext {
		n := rapid.IntRange(0, 5).Draw(t, "n")
		if n == 0 {
			return nil
		}
		out := make([]NegotiateContext, n)
		for i := range out {
			out[i] = NegotiateContext{
				Type: NegotiateContextType(rapid.Uint16().Draw(t, "type")),
				Data: genBytes(40).Draw(t, "data"),
			}
		}
		return out
	})
}

func genNegotiateRequest() *rapid.Generator[*NegotiateRequest] {
	return rapid.Custom(func(t *rapid.T) *NegotiateRequest {
		r := &NegotiateRequest{
			SecurityMode: rapid.Uint16().Draw(t, "sm"),
			Capabilities: rapid.Uint32().Draw(t, "caps"),
			ClientGUID:   genGUID().Draw(t, "guid"),
			Dialects: rapid.SliceOfN(rapid.SampledFrom([]Dialect{DialectSMB202, DialectSMB21, DialectSMB30,
				DialectSMB302, DialectSMB311, 0x0222}), 1, 6).Draw(t, "dialects"),
		}
		if r.offers311() {
			r.Contexts = genNegCtxs().Draw(t, "ctxs")
		} else {
			r.ClientStartTime = rapid.Uint64().Draw(t, "start")
		}
		return r
	})
}

func genNegotiateResponse() *rapid.Generator[*NegotiateResponse] {
	return rapid.Custom(func(t *rapid.T) *NegotiateResponse {
		r := &NegotiateResponse{
			SecurityMode:    rapid.Uint16().Draw(t, "sm"),
			DialectRevision: rapid.SampledFrom([]Dialect{DialectSMB202, DialectSMB21, DialectSMB30, DialectSMB311, DialectWildcard}).Draw(t, "d"),
			ServerGUID:      genGUID().Draw(t, "guid"),
			Capabilities:    rapid.Uint32().Draw(t, "caps"),
			MaxTransactSize: rapid.Uint32().Draw(t, "mt"),
			MaxReadSize:     rapid.Uint32().Draw(t, "mr"),
			MaxWriteSize:    rapid.Uint32().Draw(t, "mw"),
			SystemTime:      rapid.Uint64().Draw(t, "st"),
			ServerStartTime: rapid.Uint64().Draw(t, "sst"),
			SecurityBuffer:  genBytes(100).Draw(t, "sec"),
		}
		if r.DialectRevision == DialectSMB311 {
			r.Contexts = genNegCtxs().Draw(t, "ctxs")
		}
		return r
	})
}

func TestNegotiateRoundTrip(t *testing.T) {
	t.Run("request", func(t *testing.T) { roundTrip(t, CmdNegotiate, genNegotiateRequest()) })
	t.Run("response", func(t *testing.T) { roundTrip(t, CmdNegotiate, genNegotiateResponse()) })
}

// TestNegotiateRequestLayout checks the encoder against the layout of MS-SMB2
// 2.2.3 and 2.2.3.1 byte by byte, for a 3.1.1 request like Windows sends.
func TestNegotiateRequestLayout(t *testing.T) {
	pre := PreauthIntegrityCapabilities{HashAlgorithms: []uint16{HashSHA512}, Salt: bytes.Repeat([]byte{0x5A}, 32)}
	enc := EncryptionCapabilities{Ciphers: []uint16{CipherAES128GCM, CipherAES128CCM}}
	r := NegotiateRequest{
		SecurityMode: SigningEnabled,
		Capabilities: CapDFS | CapLeasing | CapLargeMTU,
		Dialects:     []Dialect{DialectSMB202, DialectSMB21, DialectSMB30, DialectSMB302, DialectSMB311},
		Contexts:     []NegotiateContext{NegotiateContextOf(CtxPreauthIntegrity, &pre), NegotiateContextOf(CtxEncryption, &enc)},
	}
	msg := r.Append(testHeader(CmdNegotiate))
	b := msg[HeaderSize:]
	// 36 fixed + 10 dialect bytes = body ends at 64+46 = 110; contexts at 112.
	if le.Uint16(b) != 36 || le.Uint16(b[2:]) != 5 || le.Uint32(b[28:]) != 112 || le.Uint16(b[32:]) != 2 {
		t.Fatalf("fixed part % x", b[:36])
	}
	if !bytes.Equal(b[36:46], []byte{0x02, 0x02, 0x10, 0x02, 0x00, 0x03, 0x02, 0x03, 0x11, 0x03}) {
		t.Fatalf("dialects % x", b[36:46])
	}
	ctx := msg[112:]
	// Preauth: type 1, len 38, reserved, count 1, salt 32, SHA-512.
	if !bytes.Equal(ctx[:14], []byte{1, 0, 38, 0, 0, 0, 0, 0, 1, 0, 32, 0, 1, 0}) {
		t.Fatalf("preauth context % x", ctx[:14])
	}
	// Next context at 8+38 = 46 -> aligned 48.
	if !bytes.Equal(ctx[48:62], []byte{2, 0, 6, 0, 0, 0, 0, 0, 2, 0, 2, 0, 1, 0}) {
		t.Fatalf("encryption context % x", ctx[48:62])
	}
	var back NegotiateRequest
	if err := back.Decode(msg); err != nil {
		t.Fatal(err)
	}
	var pre2 PreauthIntegrityCapabilities
	var enc2 EncryptionCapabilities
	if err := pre2.Decode(back.Contexts[0].Data); err != nil || !sameValue(pre, pre2) {
		t.Fatalf("preauth %+v %v", pre2, err)
	}
	if err := enc2.Decode(back.Contexts[1].Data); err != nil || !sameValue(enc, enc2) {
		t.Fatalf("encryption %+v %v", enc2, err)
	}
}

func TestNegotiateContextTypesRoundTrip(t *testing.T) {
	type typed interface {
		Append([]byte) []byte
		Decode([]byte) error
	}
	check := func(t *rapid.T, in typed, out typed) {
		if err := out.Decode(in.Append(nil)); err != nil {
			t.Fatalf("%T: %v", in, err)
		}
		if !sameValue(in, out) {
			t.Fatalf("%T: %+v != %+v", in, in, out)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		check(t, &PreauthIntegrityCapabilities{HashAlgorithms: genU16s(1, 4).Draw(t, "h"), Salt: genBytes(64).Draw(t, "s")}, &PreauthIntegrityCapabilities{})
		check(t, &EncryptionCapabilities{Ciphers: genU16s(0, 4).Draw(t, "c")}, &EncryptionCapabilities{})
		check(t, &CompressionCapabilities{Flags: rapid.Uint32().Draw(t, "f"), Algorithms: genU16s(0, 4).Draw(t, "a")}, &CompressionCapabilities{})
		check(t, &NetnameNegotiateContextID{NetName: genName().Draw(t, "n")}, &NetnameNegotiateContextID{})
		check(t, &TransportCapabilities{Flags: rapid.Uint32().Draw(t, "f")}, &TransportCapabilities{})
		check(t, &RDMATransformCapabilities{TransformIDs: genU16s(0, 3).Draw(t, "r")}, &RDMATransformCapabilities{})
		check(t, &SigningCapabilities{Algorithms: genU16s(0, 3).Draw(t, "s")}, &SigningCapabilities{})
	})
}

func TestNegotiateRequestMalformed(t *testing.T) {
	good := (&NegotiateRequest{Dialects: []Dialect{DialectSMB311}, Contexts: []NegotiateContext{{Type: 1, Data: []byte{1, 0, 0, 0, 1, 0}}}}).Append(testHeader(CmdNegotiate))
	cases := map[string]func([]byte){
		"dialect count beyond body": func(m []byte) { le.PutUint16(m[HeaderSize+2:], 500) },
		"zero dialects":             func(m []byte) { le.PutUint16(m[HeaderSize+2:], 0) },
		"context offset huge":       func(m []byte) { le.PutUint32(m[HeaderSize+28:], 0xFFFFFFF0) },
		"context count beyond":      func(m []byte) { le.PutUint16(m[HeaderSize+32:], 3) },
		"context length beyond":     func(m []byte) { le.PutUint16(m[104+2:], 200) },
		"structure size":            func(m []byte) { le.PutUint16(m[HeaderSize:], 37) },
	}
	for name, mutate := range cases {
		m := append([]byte(nil), good...)
		mutate(m)
		if err := (&NegotiateRequest{}).Decode(m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if err := (&NegotiateRequest{}).Decode(good); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeNegotiateRequest(f *testing.F) {
	fuzzDecode[NegotiateRequest](f, (&NegotiateRequest{Dialects: []Dialect{DialectSMB202, DialectSMB311},
		Contexts: []NegotiateContext{{Type: CtxPreauthIntegrity, Data: []byte{1, 0, 0, 0, 1, 0}}}}).Append(testHeader(CmdNegotiate)))
}

func FuzzDecodeNegotiateResponse(f *testing.F) {
	fuzzDecode[NegotiateResponse](f, (&NegotiateResponse{DialectRevision: DialectSMB311, SecurityBuffer: []byte("spnego"),
		Contexts: []NegotiateContext{{Type: CtxEncryption, Data: []byte{1, 0, 2, 0}}}}).Append(testHeader(CmdNegotiate)))
}

// FuzzDecodeNegotiateContexts covers the typed context decoders.
func FuzzDecodeNegotiateContexts(f *testing.F) {
	f.Add([]byte{1, 0, 38, 0, 0, 0, 0, 0, 1, 0, 32, 0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() { _, _ = DecodeNegotiateContexts(data, maxContexts) })
		ctxs, err := DecodeNegotiateContexts(data, 8)
		if err != nil {
			ctxs, _ = DecodeNegotiateContexts(data, 1)
		}
		for _, c := range ctxs {
			for _, d := range []interface{ Decode([]byte) error }{&PreauthIntegrityCapabilities{}, &EncryptionCapabilities{},
				&CompressionCapabilities{}, &NetnameNegotiateContextID{}, &TransportCapabilities{}, &RDMATransformCapabilities{}, &SigningCapabilities{}} {
				if err := d.Decode(c.Data); err != nil && !errors.Is(err, ErrMalformed) {
					t.Fatalf("%T: %v", d, err)
				}
			}
		}
	})
}
