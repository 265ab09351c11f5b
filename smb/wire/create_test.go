package wire

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func genCreateCtxs() *rapid.Generator[[]CreateContext] {
	return rapid.Custom(func(t *rapid.T) []CreateContext {
		n := rapid.IntRange(0, 4).Draw(t, "n")
		if n == 0 {
			return nil
		}
		out := make([]CreateContext, n)
		for i := range out {
			out[i] = CreateContext{
				Name: rapid.SampledFrom([]string{CtxNameQueryMaximalAccess, CtxNameQueryOnDiskID, CtxNameRequestLease,
					CtxNameDurableHandleRequestV2, "0123456789abcdef"}).Draw(t, "name"),
				Data: genBytes(60).Draw(t, "data"),
			}
		}
		return out
	})
}

func TestCreateCloseFlushRoundTrip(t *testing.T) {
	t.Run("create request", func(t *testing.T) {
		roundTrip(t, CmdCreate, rapid.Custom(func(t *rapid.T) *CreateRequest {
			return &CreateRequest{SecurityFlags: rapid.Uint8().Draw(t, "sf"), RequestedOplockLevel: rapid.Uint8().Draw(t, "ol"),
				ImpersonationLevel: rapid.Uint32().Draw(t, "il"), SMBCreateFlags: rapid.Uint64().Draw(t, "cf"),
				DesiredAccess: rapid.Uint32().Draw(t, "da"), FileAttributes: rapid.Uint32().Draw(t, "fa"),
				ShareAccess: rapid.Uint32().Draw(t, "sa"), CreateDisposition: rapid.Uint32().Draw(t, "cd"),
				CreateOptions: rapid.Uint32().Draw(t, "co"), Name: genName().Draw(t, "name"), Contexts: genCreateCtxs().Draw(t, "ctx")}
		}))
	})
	t.Run("create response", func(t *testing.T) {
		roundTrip(t, CmdCreate, rapid.Custom(func(t *rapid.T) *CreateResponse {
			return &CreateResponse{OplockLevel: rapid.Uint8().Draw(t, "ol"), Flags: rapid.Uint8().Draw(t, "f"),
				CreateAction: rapid.Uint32().Draw(t, "ca"), CreationTime: rapid.Uint64().Draw(t, "t1"),
				LastAccessTime: rapid.Uint64().Draw(t, "t2"), LastWriteTime: rapid.Uint64().Draw(t, "t3"),
				ChangeTime: rapid.Uint64().Draw(t, "t4"), AllocationSize: rapid.Int64().Draw(t, "as"),
				EndOfFile: rapid.Int64().Draw(t, "eof"), FileAttributes: rapid.Uint32().Draw(t, "fa"),
				FileID: genFileID().Draw(t, "fid"), Contexts: genCreateCtxs().Draw(t, "ctx")}
		}))
	})
	t.Run("close request", func(t *testing.T) {
		roundTrip(t, CmdClose, rapid.Custom(func(t *rapid.T) *CloseRequest {
			return &CloseRequest{Flags: rapid.Uint16().Draw(t, "f"), FileID: genFileID().Draw(t, "fid")}
		}))
	})
	t.Run("close response", func(t *testing.T) {
		roundTrip(t, CmdClose, rapid.Custom(func(t *rapid.T) *CloseResponse {
			return &CloseResponse{Flags: rapid.Uint16().Draw(t, "f"), CreationTime: rapid.Uint64().Draw(t, "t1"),
				LastAccessTime: rapid.Uint64().Draw(t, "t2"), LastWriteTime: rapid.Uint64().Draw(t, "t3"),
				ChangeTime: rapid.Uint64().Draw(t, "t4"), AllocationSize: rapid.Int64().Draw(t, "as"),
				EndOfFile: rapid.Int64().Draw(t, "eof"), FileAttributes: rapid.Uint32().Draw(t, "fa")}
		}))
	})
	t.Run("flush request", func(t *testing.T) {
		roundTrip(t, CmdFlush, rapid.Custom(func(t *rapid.T) *FlushRequest { return &FlushRequest{FileID: genFileID().Draw(t, "fid")} }))
	})
}

// TestCreateContextLayout checks 2.2.13.2: name at 16, data 8-aligned after
// it, Next linking 8-aligned entries, 0 on the last.
func TestCreateContextLayout(t *testing.T) {
	lease := Lease{V2: true, Key: GUID{1, 2, 3}, State: LeaseReadCaching | LeaseHandleCaching, ParentKey: GUID{9}, Epoch: 3}
	ctxs := []CreateContext{
		CreateContextOf(CtxNameQueryMaximalAccess, &MaximalAccessRequest{}),
		CreateContextOf(CtxNameRequestLease, &lease),
		CreateContextOf(CtxNameDurableHandleRequestV2, &DurableHandleRequestV2{Timeout: 1000, CreateGUID: GUID{7}}),
	}
	b := AppendCreateContexts(nil, ctxs)
	// MxAc without data: 16 + 4 = 20 -> next at 24.
	if le.Uint32(b) != 24 || le.Uint16(b[4:]) != 16 || le.Uint16(b[6:]) != 4 || string(b[16:20]) != "MxAc" || le.Uint32(b[12:]) != 0 {
		t.Fatalf("MxAc entry % x", b[:24])
	}
	// RqLs at 24: data at 24 (16+4 -> 24), 52 bytes -> entry 76 -> next 80.
	e := b[24:]
	if le.Uint32(e) != 80 || le.Uint16(e[10:]) != 24 || le.Uint32(e[12:]) != 52 {
		t.Fatalf("RqLs entry % x", e[:24])
	}
	last := b[24+80:]
	if le.Uint32(last) != 0 || string(last[16:20]) != "DH2Q" || le.Uint32(last[12:]) != 32 {
		t.Fatalf("DH2Q entry % x", last[:24])
	}
	got, err := DecodeCreateContexts(b)
	if err != nil {
		t.Fatal(err)
	}
	var l2 Lease
	if err := l2.Decode(got[1].Data); err != nil || l2 != lease {
		t.Fatalf("lease %+v %v", l2, err)
	}
	if c, ok := FindCreateContext(got, CtxNameDurableHandleRequestV2); !ok || len(c.Data) != 32 {
		t.Fatal("find DH2Q")
	}
	var mx MaximalAccessRequest
	if err := mx.Decode(got[0].Data); err != nil || mx.HasTimestamp {
		t.Fatalf("MxAc %+v %v", mx, err)
	}
	for name, mutate := range map[string]func([]byte){
		"next unaligned":   func(b []byte) { le.PutUint32(b, 20) },
		"next beyond":      func(b []byte) { le.PutUint32(b, 4096) },
		"name beyond next": func(b []byte) { le.PutUint16(b[4:], 22) },
		"data beyond":      func(b []byte) { le.PutUint32(b[24+12:], 1000) },
		"empty name":       func(b []byte) { le.PutUint16(b[6:], 0) },
	} {
		m := append([]byte(nil), b...)
		mutate(m)
		if _, err := DecodeCreateContexts(m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTypedCreateContextsRoundTrip(t *testing.T) {
	type typed interface {
		Append([]byte) []byte
		Decode([]byte) error
	}
	rapid.Check(t, func(t *rapid.T) {
		ts := rapid.Uint64().Draw(t, "ts")
		v2 := rapid.Bool().Draw(t, "v2")
		lease := &Lease{V2: v2, Key: genGUID().Draw(t, "k"), State: rapid.Uint32().Draw(t, "s"), Flags: rapid.Uint32().Draw(t, "f"),
			Duration: rapid.Uint64().Draw(t, "d")}
		if v2 {
			lease.ParentKey, lease.Epoch = genGUID().Draw(t, "pk"), rapid.Uint16().Draw(t, "e")
		}
		for _, c := range []struct{ in, out typed }{
			{&MaximalAccessRequest{HasTimestamp: ts != 0, Timestamp: ts}, &MaximalAccessRequest{}},
			{&MaximalAccessResponse{QueryStatus: Status(rapid.Uint32().Draw(t, "qs")), MaximalAccess: rapid.Uint32().Draw(t, "ma")}, &MaximalAccessResponse{}},
			{&QueryOnDiskIDResponse{DiskFileID: rapid.Uint64().Draw(t, "df"), VolumeID: rapid.Uint64().Draw(t, "vol")}, &QueryOnDiskIDResponse{}},
			{&DurableHandleReconnect{FileID: genFileID().Draw(t, "fid")}, &DurableHandleReconnect{}},
			{&DurableHandleRequestV2{Timeout: rapid.Uint32().Draw(t, "to"), Flags: rapid.Uint32().Draw(t, "fl"), CreateGUID: genGUID().Draw(t, "g")}, &DurableHandleRequestV2{}},
			{&DurableHandleResponseV2{Timeout: rapid.Uint32().Draw(t, "to2"), Flags: rapid.Uint32().Draw(t, "fl2")}, &DurableHandleResponseV2{}},
			{&DurableHandleReconnectV2{FileID: genFileID().Draw(t, "fid2"), CreateGUID: genGUID().Draw(t, "g2"), Flags: rapid.Uint32().Draw(t, "fl3")}, &DurableHandleReconnectV2{}},
			{lease, &Lease{}},
			{&AllocationSizeContext{AllocationSize: rapid.Uint64().Draw(t, "al")}, &AllocationSizeContext{}},
			{&TimewarpToken{Timestamp: rapid.Uint64().Draw(t, "tw")}, &TimewarpToken{}},
			{&DurableHandleRequest{}, &DurableHandleRequest{}},
			{&DurableHandleResponse{}, &DurableHandleResponse{}},
		} {
			if err := c.out.Decode(c.in.Append(nil)); err != nil || !sameValue(c.in, c.out) {
				t.Fatalf("%T: %+v -> %+v (%v)", c.in, c.in, c.out, err)
			}
		}
	})
}

func TestReadWriteRoundTrip(t *testing.T) {
	t.Run("read request", func(t *testing.T) {
		roundTrip(t, CmdRead, rapid.Custom(func(t *rapid.T) *ReadRequest {
			return &ReadRequest{Padding: rapid.Uint8().Draw(t, "p"), Flags: rapid.Uint8().Draw(t, "f"), Length: rapid.Uint32().Draw(t, "l"),
				Offset: rapid.Uint64().Draw(t, "o"), FileID: genFileID().Draw(t, "fid"), MinimumCount: rapid.Uint32().Draw(t, "m"),
				Channel: rapid.Uint32().Draw(t, "c"), RemainingBytes: rapid.Uint32().Draw(t, "r"), ReadChannelInfo: genBytes(32).Draw(t, "ci")}
		}))
	})
	t.Run("read response", func(t *testing.T) {
		roundTrip(t, CmdRead, rapid.Custom(func(t *rapid.T) *ReadResponse {
			return &ReadResponse{DataRemaining: rapid.Uint32().Draw(t, "r"), Flags: rapid.Uint32().Draw(t, "f"), Data: genBytes(300).Draw(t, "d")}
		}))
	})
	t.Run("write request", func(t *testing.T) {
		roundTrip(t, CmdWrite, rapid.Custom(func(t *rapid.T) *WriteRequest {
			return &WriteRequest{Offset: rapid.Uint64().Draw(t, "o"), FileID: genFileID().Draw(t, "fid"), Channel: rapid.Uint32().Draw(t, "c"),
				RemainingBytes: rapid.Uint32().Draw(t, "r"), Flags: rapid.Uint32().Draw(t, "f"),
				WriteChannelInfo: genBytes(32).Draw(t, "ci"), Data: genBytes(300).Draw(t, "d")}
		}))
	})
	t.Run("write response", func(t *testing.T) {
		roundTrip(t, CmdWrite, rapid.Custom(func(t *rapid.T) *WriteResponse {
			return &WriteResponse{Count: rapid.Uint32().Draw(t, "c"), Remaining: rapid.Uint32().Draw(t, "r")}
		}))
	})
}

func TestWriteRequestDataAliasesMessage(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	msg := (&WriteRequest{Offset: 4096, Data: data}).Append(testHeader(CmdWrite))
	var w WriteRequest
	if err := w.Decode(msg); err != nil {
		t.Fatal(err)
	}
	if &w.Data[0] != &msg[WriteRequestDataOffset] || len(w.Data) != len(data) || cap(w.Data) != len(data) {
		t.Fatal("WriteRequest.Data is not a capacity-clipped sub-slice of the message")
	}
	if n := testing.AllocsPerRun(100, func() { _ = w.Decode(msg) }); n != 0 {
		t.Fatalf("WriteRequest.Decode allocates %v times", n)
	}
}

func TestReadResponseHeaderOnlyMatchesAppend(t *testing.T) {
	data := []byte("file contents")
	r := ReadResponse{DataRemaining: 0}
	full := r.Append(testHeader(CmdRead))
	zc := r.AppendHeaderOnly(testHeader(CmdRead), len(data))
	if len(zc) != ReadResponseDataOffset {
		t.Fatalf("header-only length %d", len(zc))
	}
	zc = append(zc, data...)
	r.Data = data
	full = r.Append(testHeader(CmdRead))
	if !bytes.Equal(full, zc) {
		t.Fatalf("\n% x\n% x", full, zc)
	}
	if full[HeaderSize+2] != 80 {
		t.Fatalf("data offset %d", full[HeaderSize+2])
	}
	buf := make([]byte, HeaderSize, 1<<16)
	if n := testing.AllocsPerRun(100, func() { _ = r.AppendHeaderOnly(buf[:HeaderSize], 4096) }); n != 0 {
		t.Fatalf("AppendHeaderOnly allocates %v times", n)
	}
}

func FuzzDecodeCreateRequest(f *testing.F) {
	fuzzDecode[CreateRequest](f, (&CreateRequest{Name: `dir\file.txt`, Contexts: []CreateContext{{Name: "MxAc"}, {Name: "QFid"}}}).Append(testHeader(CmdCreate)))
}

func FuzzDecodeCreateResponse(f *testing.F) {
	fuzzDecode[CreateResponse](f, (&CreateResponse{Contexts: []CreateContext{{Name: "MxAc", Data: make([]byte, 8)}}}).Append(testHeader(CmdCreate)))
}

func FuzzDecodeCloseRequest(f *testing.F) {
	fuzzDecode[CloseRequest](f, (&CloseRequest{Flags: 1}).Append(testHeader(CmdClose)))
}

func FuzzDecodeCloseResponse(f *testing.F) {
	fuzzDecode[CloseResponse](f, (&CloseResponse{Flags: 1}).Append(testHeader(CmdClose)))
}

func FuzzDecodeFlushRequest(f *testing.F) {
	fuzzDecode[FlushRequest](f, (&FlushRequest{}).Append(testHeader(CmdFlush)))
}

func FuzzDecodeReadRequest(f *testing.F) {
	fuzzDecode[ReadRequest](f, (&ReadRequest{Length: 65536}).Append(testHeader(CmdRead)))
}

func FuzzDecodeReadResponse(f *testing.F) {
	fuzzDecode[ReadResponse](f, (&ReadResponse{Data: []byte("abc")}).Append(testHeader(CmdRead)))
}

func FuzzDecodeWriteRequest(f *testing.F) {
	fuzzDecode[WriteRequest](f, (&WriteRequest{Data: []byte("abc")}).Append(testHeader(CmdWrite)))
}

// FuzzWritePayloadLen: the head check and DecodeHead must agree with the whole-message decoder
// about every frame they accept.
func FuzzWritePayloadLen(f *testing.F) {
	f.Add((&WriteRequest{Offset: 7, Data: make([]byte, 300)}).Append(testHeader(CmdWrite)))
	f.Add((&WriteRequest{Data: []byte("abc"), WriteChannelInfo: []byte("x")}).Append(testHeader(CmdWrite)))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < WriteHeadSize {
			if _, ok := WritePayloadLen(frame, len(frame)); ok {
				t.Fatal("accepted a frame shorter than a WRITE head")
			}
			return
		}
		n, ok := WritePayloadLen(frame[:WriteHeadSize], len(frame))
		if !ok {
			return
		}
		var head, whole WriteRequest
		if err := head.DecodeHead(frame[:WriteHeadSize], n); err != nil {
			t.Fatalf("DecodeHead refused what WritePayloadLen accepted: %v", err)
		}
		if err := whole.Decode(frame); err != nil {
			t.Fatalf("Decode refused what WritePayloadLen accepted: %v", err)
		}
		if len(whole.Data) != n || head.Offset != whole.Offset || head.FileID != whole.FileID || head.Flags != whole.Flags {
			t.Fatalf("head %+v and whole decode %+v (data %d, want %d) disagree", head, whole, len(whole.Data), n)
		}
	})
}

func FuzzDecodeWriteResponse(f *testing.F) {
	fuzzDecode[WriteResponse](f, (&WriteResponse{Count: 3}).Append(testHeader(CmdWrite)))
}

// FuzzDecodeCreateContexts covers the chain walker and every typed context.
func FuzzDecodeCreateContexts(f *testing.F) {
	f.Add(AppendCreateContexts(nil, []CreateContext{{Name: "MxAc"}, CreateContextOf("RqLs", &Lease{V2: true})}))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() { _, _ = DecodeCreateContexts(data) })
		ctxs, err := DecodeCreateContexts(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		back, err := DecodeCreateContexts(AppendCreateContexts(nil, ctxs))
		if err != nil || !sameValue(ctxs, back) {
			t.Fatalf("%+v -> %+v (%v)", ctxs, back, err)
		}
		for _, c := range ctxs {
			for _, d := range []interface{ Decode([]byte) error }{&MaximalAccessRequest{}, &MaximalAccessResponse{},
				&QueryOnDiskIDResponse{}, &DurableHandleRequest{}, &DurableHandleResponse{}, &DurableHandleReconnect{},
				&DurableHandleRequestV2{}, &DurableHandleResponseV2{}, &DurableHandleReconnectV2{}, &Lease{},
				&AllocationSizeContext{}, &TimewarpToken{}} {
				_ = d.Decode(c.Data)
			}
		}
	})
}
