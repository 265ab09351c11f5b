package rpc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets: PDU framing and the pipe state machine, bind bodies, and the NDR request decoder of every
// served opnum. Seeds are the PDUs captured from smbclient/rpcclient (testdata/samba, also checked in as
// testdata/fuzz/<Target>/ corpus files) plus the test client's encodings.

func sambaFiles(t testing.TB, suffix string) [][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "samba", "*"+suffix))
	if err != nil || len(names) == 0 {
		t.Fatalf("no captures *%s: %v", suffix, err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkServerOutput drains the pipe and checks that everything it queued is a well-formed PDU of a type
// a server may send, within the negotiated fragment size.
func checkServerOutput(t *testing.T, p *Pipe) {
	for i := 0; ; i++ {
		b, more, err := p.Read(1 << 16)
		if errors.Is(err, ErrPipeEmpty) {
			return
		}
		if err != nil || more {
			t.Fatalf("read: more=%v err=%v", more, err)
		}
		h, err := parseHeader(b)
		if err != nil || int(h.FragLen) != len(b) || !h.littleEndian() || h.AuthLen != 0 {
			t.Fatalf("server PDU %d malformed: %+v %v", i, h, err)
		}
		switch h.Type {
		case ptypeResponse:
			if p.maxXmit == 0 || len(b) > p.maxXmit {
				t.Fatalf("response fragment of %d bytes with max_xmit_frag %d", len(b), p.maxXmit)
			}
		case ptypeFault, ptypeBindAck, ptypeBindNak, ptypeAlterContextResp:
		default:
			t.Fatalf("server sent ptype %d", h.Type)
		}
	}
}

func FuzzPipeWrite(f *testing.F) {
	bind := sambaFiles(f, "bind.bin")[0]
	f.Add(bind, uint16(0))
	for _, req := range sambaFiles(f, "-req.bin") {
		f.Add(append(append([]byte(nil), bind...), req...), uint16(len(bind)+3))
		f.Add(req, uint16(0))
	}
	win := tBind(11, 1, 5840, 5840, 0,
		tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}},
		tCtx{id: 1, abstract: tSrvsvc, transfers: [][20]byte{tNDR64}},
		tCtx{id: 2, abstract: tSrvsvc, transfers: [][20]byte{tBTFN}})
	f.Add(win, uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		p, err := testServer().OpenPipe("srvsvc")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		cut := min(int(split), len(data))
		for _, part := range [][]byte{data[:cut], data[cut:]} {
			if _, err := p.Write(part); err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrPipeFull) {
				t.Fatalf("write: %v", err)
			}
		}
		checkServerOutput(t, p)
	})
}

// FuzzPipeAfterBind starts from a bound association so that mutations reach request dispatch.
func FuzzPipeAfterBind(f *testing.F) {
	for _, req := range sambaFiles(f, "-req.bin") {
		f.Add(req)
	}
	for _, fr := range tRequest(9, 0, opNetrShareEnum, tShareEnumStub("x", 2, 10, 0), 16) {
		f.Add(fr)
	}
	bind := sambaFiles(f, "bind.bin")[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := testServer().OpenPipe("srvsvc")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if _, _, err := p.Transact(bind, 4280); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Write(data); err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("write: %v", err)
		}
		checkServerOutput(t, p)
	})
}

func FuzzParseBind(f *testing.F) {
	f.Add(sambaFiles(f, "bind.bin")[0])
	f.Add(tBind(14, 1, 4280, 4280, 9, tCtx{id: 3, abstract: tOther, transfers: [][20]byte{tNDR, tNDR64}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseHeader(data)
		if err != nil || int(h.FragLen) > len(data) {
			return
		}
		b, err := parseBind(h, data[:h.FragLen])
		if err != nil {
			return
		}
		for _, c := range b.Contexts {
			if len(c.Transfers) == 0 {
				t.Fatalf("context %d accepted with no transfer syntax", c.ContextID)
			}
		}
	})
}

// fuzzOpnum seeds with the captured request stubs of opnum and checks that whatever decodes is answered
// with a stub the test client decodes completely.
func fuzzOpnum(f *testing.F, opnum uint16, extra [][]byte, decodeOut func([]byte) error) {
	for _, req := range sambaFiles(f, "-req.bin") {
		h, err := parseHeader(req)
		if err != nil {
			f.Fatal(err)
		}
		r, err := parseRequest(h, req)
		if err != nil {
			f.Fatal(err)
		}
		if r.Opnum == opnum || (opnum == opNetrShareEnum && r.Opnum == opNetrShareEnumSticky) {
			f.Add(r.Stub)
		}
	}
	for _, e := range extra {
		f.Add(e)
	}
	iface := newSrvsvc(testServer())
	f.Fuzz(func(t *testing.T, stub []byte) {
		out, err := iface.Invoke(&Call{Opnum: opnum, Stub: stub, Caller: Caller{Admin: len(stub)%2 == 0}})
		if err != nil {
			if !errors.Is(err, ErrNDR) {
				t.Fatalf("opnum %d: non-NDR error %v", opnum, err)
			}
			return
		}
		if err := decodeOut(out); err != nil {
			t.Fatalf("opnum %d: our response does not decode: %v\n% x", opnum, err, out)
		}
	})
}

func FuzzNetrShareEnumRequest(f *testing.F) {
	fuzzOpnum(f, opNetrShareEnum, [][]byte{tShareEnumStub("a", 502, 1, 2), tShareEnumStub("", 7, 0, -1)}, func(b []byte) error {
		_, err := tDecodeShareEnum(b)
		return err
	})
}

func FuzzNetrShareGetInfoRequest(f *testing.F) {
	fuzzOpnum(f, opNetrShareGetInfo, [][]byte{tShareGetInfoStub("", "vms", 2), tShareGetInfoStub("", "VMS", 1005)}, func(b []byte) error {
		_, err := tDecodeShareGetInfo(b)
		return err
	})
}

func FuzzNetrServerGetInfoRequest(f *testing.F) {
	fuzzOpnum(f, opNetrServerGetInfo, [][]byte{tServerGetInfoStub("", 102), tServerGetInfoStub("x", 103)}, func(b []byte) error {
		_, err := tDecodeServerGetInfo(b)
		return err
	})
}

// FuzzNDRString checks that strings round-trip through the encoder and decoder.
func FuzzNDRString(f *testing.F) {
	for _, s := range []string{"", "share", "IPC$", `C:\dev\shm`, "ünïcode 😀", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > maxStringChars/2 {
			return
		}
		e := newNDREncoder()
		e.Uint16(1) // misalign so the string's alignment padding is exercised
		e.String(s)
		d := newNDRDecoder(e.Bytes())
		d.Uint16()
		got := d.String()
		if d.Err() != nil || got != s || d.Remaining() != 0 {
			t.Fatalf("round trip of %q: got %q, err %v, %d bytes left", s, got, d.Err(), d.Remaining())
		}
	})
}
