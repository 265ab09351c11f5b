package wire

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func TestLockOplockNotifyRoundTrip(t *testing.T) {
	t.Run("lock request", func(t *testing.T) {
		roundTrip(t, CmdLock, rapid.Custom(func(t *rapid.T) *LockRequest {
			r := &LockRequest{LockSequenceNumber: rapid.Uint8Range(0, 15).Draw(t, "lsn"),
				LockSequenceIndex: rapid.Uint32Range(0, 1<<28-1).Draw(t, "lsi"), FileID: genFileID().Draw(t, "fid")}
			for i := rapid.IntRange(1, 5).Draw(t, "n"); i > 0; i-- {
				r.Locks = append(r.Locks, LockElement{rapid.Uint64().Draw(t, "o"), rapid.Uint64().Draw(t, "l"), rapid.Uint32().Draw(t, "f")})
			}
			return r
		}))
	})
	t.Run("oplock break request", func(t *testing.T) {
		roundTrip(t, CmdOplockBreak, rapid.Custom(func(t *rapid.T) *OplockBreakRequest {
			if rapid.Bool().Draw(t, "lease") {
				return &OplockBreakRequest{IsLease: true, Lease: LeaseBreakAck{Flags: rapid.Uint32().Draw(t, "f"),
					LeaseKey: genGUID().Draw(t, "k"), LeaseState: rapid.Uint32().Draw(t, "s"), LeaseDuration: rapid.Uint64().Draw(t, "d")}}
			}
			return &OplockBreakRequest{Oplock: OplockBreak{OplockLevel: rapid.Uint8().Draw(t, "l"), FileID: genFileID().Draw(t, "fid")}}
		}))
	})
	t.Run("oplock break notification", func(t *testing.T) {
		roundTrip(t, CmdOplockBreak, rapid.Custom(func(t *rapid.T) *OplockBreakNotify {
			if rapid.Bool().Draw(t, "lease") {
				return &OplockBreakNotify{IsLease: true, Lease: LeaseBreakNotification{NewEpoch: rapid.Uint16().Draw(t, "e"),
					Flags: rapid.Uint32().Draw(t, "f"), LeaseKey: genGUID().Draw(t, "k"), CurrentLeaseState: rapid.Uint32().Draw(t, "c"),
					NewLeaseState: rapid.Uint32().Draw(t, "n"), BreakReason: rapid.Uint32().Draw(t, "r"),
					AccessMaskHint: rapid.Uint32().Draw(t, "a"), ShareMaskHint: rapid.Uint32().Draw(t, "s")}}
			}
			return &OplockBreakNotify{Oplock: OplockBreak{OplockLevel: rapid.Uint8().Draw(t, "l"), FileID: genFileID().Draw(t, "fid")}}
		}))
	})
	t.Run("change notify request", func(t *testing.T) {
		roundTrip(t, CmdChangeNotify, rapid.Custom(func(t *rapid.T) *ChangeNotifyRequest {
			return &ChangeNotifyRequest{Flags: rapid.Uint16().Draw(t, "f"), OutputBufferLength: rapid.Uint32().Draw(t, "ol"),
				FileID: genFileID().Draw(t, "fid"), CompletionFilter: rapid.Uint32().Draw(t, "cf")}
		}))
	})
	t.Run("change notify response", func(t *testing.T) {
		roundTrip(t, CmdChangeNotify, rapid.Custom(func(t *rapid.T) *ChangeNotifyResponse {
			return &ChangeNotifyResponse{Output: genBytes(100).Draw(t, "o")}
		}))
	})
}

func TestLockLayout(t *testing.T) {
	m := (&LockRequest{LockSequenceNumber: 3, LockSequenceIndex: 5, Locks: []LockElement{{0, 10, LockFlagExclusiveLock}, {10, 5, LockFlagUnlock}}}).Append(testHeader(CmdLock))
	b := m[HeaderSize:]
	if len(b) != 24+48 || le.Uint16(b) != 48 || le.Uint16(b[2:]) != 2 || le.Uint32(b[4:]) != 5<<4|3 || le.Uint64(b[24+8:]) != 10 {
		t.Fatalf("% x", b)
	}
	if err := CheckRequestSize(CmdLock, m); err != nil {
		t.Fatal(err)
	}
	le.PutUint16(b[2:], 3)
	if err := (&LockRequest{}).Decode(m); !errors.Is(err, ErrMalformed) {
		t.Fatalf("count beyond body: %v", err)
	}
	le.PutUint16(b[2:], 0)
	if err := (&LockRequest{}).Decode(m); !errors.Is(err, ErrMalformed) {
		t.Fatalf("count 0: %v", err)
	}
}

func TestOplockBreakShapes(t *testing.T) {
	m := (&LeaseBreakAck{LeaseState: LeaseReadCaching}).Append(testHeader(CmdOplockBreak))
	if len(m) != HeaderSize+36 || CheckRequestSize(CmdOplockBreak, m) != nil {
		t.Fatalf("lease ack %d bytes", len(m)-HeaderSize)
	}
	var r OplockBreakRequest
	if err := r.Decode(m); err != nil || !r.IsLease || r.Lease.LeaseState != LeaseReadCaching {
		t.Fatalf("%+v %v", r, err)
	}
	n := (&LeaseBreakNotification{NewEpoch: 2}).Append(testHeader(CmdOplockBreak))
	if len(n) != HeaderSize+44 {
		t.Fatalf("lease notification %d bytes", len(n)-HeaderSize)
	}
	if err := r.Decode(n); !errors.Is(err, ErrMalformed) {
		t.Fatalf("notification shape accepted as ack: %v", err)
	}
}

func TestFileNotifyInformation(t *testing.T) {
	in := []FileNotifyInformation{{FileActionRenamedOldName, "a.txt"}, {FileActionRenamedNewName, "b"}, {FileActionAdded, "c"}}
	b, n := AppendFileNotifyInformation(nil, in, 1000)
	if n != 3 || le.Uint32(b) != 24 || le.Uint32(b[24:]) != 16 { // 12+10=22 -> 24; 12+2=14 -> 16
		t.Fatalf("n %d layout % x", n, b)
	}
	back, err := DecodeFileNotifyInformation(b)
	if err != nil || !sameValue(in, back) {
		t.Fatalf("%+v %v", back, err)
	}
	if _, n := AppendFileNotifyInformation(nil, in, 30); n != 1 {
		t.Fatalf("cap 30 wrote %d entries", n)
	}
}

func TestTransformHeader(t *testing.T) {
	buf := make([]byte, TransformHeaderSize, TransformHeaderSize+100)
	th := TransformHeader(buf)
	nonce := bytes.Repeat([]byte{0xAB}, 11)
	th.Init(0x1122334455667788, 80, nonce)
	buf = append(buf, make([]byte, 80)...)
	got, body, err := DecodeTransformHeader(buf)
	if err != nil || len(body) != 80 || got.SessionID() != 0x1122334455667788 || got.Flags() != TransformFlagEncrypted {
		t.Fatalf("%v %d", err, len(body))
	}
	aad := got.AAD()
	if len(aad) != 32 || !bytes.Equal(aad[:11], nonce) || le.Uint32(aad[16:]) != 80 || le.Uint64(aad[24:]) != 0x1122334455667788 {
		t.Fatalf("aad % x", aad)
	}
	if _, _, err := DecodeTransformHeader(buf[:len(buf)-1]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("size mismatch: %v", err)
	}
	ch := CompressionTransformHeader{OriginalCompressedSegmentSize: 1000, CompressionAlgorithm: CompressionLZ77, Offset: 4}
	enc := append(ch.Append(nil), make([]byte, 20)...)
	back, payload, err := DecodeCompressionTransformHeader(enc)
	if err != nil || back != ch || len(payload) != 20 {
		t.Fatalf("%+v %v", back, err)
	}
}

func FuzzDecodeLockRequest(f *testing.F) {
	fuzzDecode[LockRequest](f, (&LockRequest{Locks: []LockElement{{0, 1, LockFlagSharedLock}}}).Append(testHeader(CmdLock)))
}

func FuzzDecodeLockResponse(f *testing.F) {
	fuzzDecode[LockResponse](f, (&LockResponse{}).Append(testHeader(CmdLock)))
}

func FuzzDecodeOplockBreakRequest(f *testing.F) {
	fuzzDecode[OplockBreakRequest](f, (&OplockBreakRequest{IsLease: true}).Append(testHeader(CmdOplockBreak)),
		(&OplockBreakRequest{}).Append(testHeader(CmdOplockBreak)))
}

func FuzzDecodeOplockBreakNotify(f *testing.F) {
	fuzzDecode[OplockBreakNotify](f, (&OplockBreakNotify{IsLease: true}).Append(testHeader(CmdOplockBreak)))
}

func FuzzDecodeChangeNotifyRequest(f *testing.F) {
	fuzzDecode[ChangeNotifyRequest](f, (&ChangeNotifyRequest{CompletionFilter: 0x17}).Append(testHeader(CmdChangeNotify)))
}

func FuzzDecodeChangeNotifyResponse(f *testing.F) {
	out, _ := AppendFileNotifyInformation(nil, []FileNotifyInformation{{FileActionAdded, "x"}}, 100)
	fuzzDecode[ChangeNotifyResponse](f, (&ChangeNotifyResponse{Output: out}).Append(testHeader(CmdChangeNotify)))
}

func FuzzDecodeFileNotifyInformation(f *testing.F) {
	out, _ := AppendFileNotifyInformation(nil, []FileNotifyInformation{{FileActionAdded, "x"}, {FileActionRemoved, "yy"}}, 100)
	f.Add(out)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() { _, _ = DecodeFileNotifyInformation(data) })
		in, err := DecodeFileNotifyInformation(data)
		if err != nil {
			return
		}
		enc, n := AppendFileNotifyInformation(nil, in, 1<<30)
		back, err := DecodeFileNotifyInformation(enc)
		if n != len(in) || err != nil || !sameValue(in, back) {
			t.Fatalf("%+v %+v %v", in, back, err)
		}
	})
}

func FuzzDecodeTransformHeader(f *testing.F) {
	buf := make([]byte, TransformHeaderSize)
	TransformHeader(buf).Init(1, 64, make([]byte, 16))
	f.Add(append(buf, make([]byte, 64)...))
	f.Add((&CompressionTransformHeader{OriginalCompressedSegmentSize: 100}).Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		if th, _, err := DecodeTransformHeader(data); err == nil {
			_ = th.AAD()
			_ = th.Signature()
		}
		_, _, _ = DecodeCompressionTransformHeader(data)
	})
}

// TestRealTransformHeaders: frames of encrypted sessions (smbclient
// --client-protection=encrypt against Samba, 3.0 AES-128-CCM and 3.1.1
// AES-128-GCM) carry transform headers our view decodes: sizes match, the
// flags field is 1, the session id is set.
func TestRealTransformHeaders(t *testing.T) {
	frames := readSeeds(t, "FuzzDecodeTransformHeader")
	if len(frames) < 5 {
		t.Fatalf("only %d recorded encrypted frames", len(frames))
	}
	for i, f := range frames {
		th, body, err := DecodeTransformHeader(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if th.Flags() != TransformFlagEncrypted || th.SessionID() == 0 || len(body) != int(th.OriginalMessageSize()) {
			t.Fatalf("frame %d: flags %d session %#x size %d/%d", i, th.Flags(), th.SessionID(), th.OriginalMessageSize(), len(body))
		}
		if &th.AAD()[0] != &f[20] || len(th.AAD()) != 32 {
			t.Fatalf("frame %d: AAD is not bytes 20..51 of the frame", i)
		}
	}
}
