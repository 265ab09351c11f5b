package rpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestOpenPipeNames(t *testing.T) {
	s := sambaLikeServer()
	for _, name := range []string{"srvsvc", "SRVSVC", `\srvsvc`, `\PIPE\srvsvc`, `\pipe\SrvSvc`} {
		p, err := s.OpenPipe(name)
		if err != nil {
			t.Fatalf("OpenPipe(%q): %v", name, err)
		}
		p.Close()
	}
	for _, name := range []string{"lsarpc", "", `\PIPE\`, "srvsvc2", `PIPE\`} {
		if _, err := s.OpenPipe(name); !errors.Is(err, ErrNoSuchPipe) {
			t.Fatalf("OpenPipe(%q) = %v, want ErrNoSuchPipe", name, err)
		}
	}
}

// A Windows client offers NDR, NDR64 and the bind time feature negotiation pseudo syntax in three
// presentation contexts (MS-RPCE 3.3.1.5.3).
func TestBindWindowsStyleContexts(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	a := c.bind(
		tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}},
		tCtx{id: 1, abstract: tSrvsvc, transfers: [][20]byte{tNDR64}},
		tCtx{id: 2, abstract: tSrvsvc, transfers: [][20]byte{tBTFN}},
	)
	want := []tResult{
		{result: 0, reason: 0, transfer: tNDR},
		{result: 2, reason: 2}, // provider_rejection, proposed_transfer_syntaxes_not_supported
		{result: 3, reason: 2}, // negotiate_ack: KeepConnectionOnOrphan only
	}
	if fmt.Sprint(a.results) != fmt.Sprint(want) {
		t.Fatalf("results %+v, want %+v", a.results, want)
	}
	if a.maxXmit != 4280 || a.maxRecv != 4280 || a.assoc == 0 || a.secAddr != `\PIPE\srvsvc` {
		t.Fatalf("bind_ack %+v", a)
	}
	// The accepted context works; the rejected ones are unknown interfaces.
	if _, f := c.call(0, opNetrServerGetInfo, tServerGetInfoStub(`\\x`, 100), 4096); f != nil {
		t.Fatalf("call on accepted context faulted %#x", f.status)
	}
	for _, id := range []uint16{1, 2, 9} {
		if _, f := c.call(id, opNetrServerGetInfo, tServerGetInfoStub(`\\x`, 100), 4096); f == nil || f.status != FaultUnknownInterface || !f.didNotExecute {
			t.Fatalf("call on context %d: fault %+v, want nca_s_unk_if", id, f)
		}
	}
}

func TestBindRejections(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	a := c.bind(
		tCtx{id: 0, abstract: tOther, transfers: [][20]byte{tNDR}},
		tCtx{id: 1, abstract: tSrvsvc, transfers: [][20]byte{tNDR64, tNDR}}, // NDR chosen from the list
	)
	want := []tResult{{result: 2, reason: 1}, {result: 0, transfer: tNDR}}
	if fmt.Sprint(a.results) != fmt.Sprint(want) {
		t.Fatalf("results %+v, want %+v", a.results, want)
	}
	// A newer major version of srvsvc is not ours.
	v4 := tSrvsvc
	v4[16] = 4
	c2 := newTClient(t, sambaLikeServer())
	if a := c2.bind(tCtx{id: 0, abstract: v4, transfers: [][20]byte{tNDR}}); a.results[0].result != 2 || a.results[0].reason != 1 {
		t.Fatalf("srvsvc v4 bind result %+v", a.results)
	}
}

func TestBindNaks(t *testing.T) {
	nakReason := func(t *testing.T, p tPDU) uint16 {
		t.Helper()
		if p.ptype != 13 {
			t.Fatalf("want bind_nak, got ptype %d", p.ptype)
		}
		return binary.LittleEndian.Uint16(p.body)
	}
	srvsvc := tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}}

	t.Run("second bind", func(t *testing.T) {
		c := newTClient(t, sambaLikeServer())
		c.bindSrvsvc()
		if r := nakReason(t, c.transact(tBind(11, 7, 4280, 4280, 0, srvsvc))); r != nakReasonNotSpecified {
			t.Fatalf("reason %d", r)
		}
	})
	t.Run("auth verifier", func(t *testing.T) {
		c := newTClient(t, sambaLikeServer())
		b := tBind(11, 1, 4280, 4280, 0, srvsvc)
		// sec_trailer: NTLMSSP (10), connect level, pad 0, reserved, context 0, then 16 bytes of token.
		b = append(b, 10, 2, 0, 0, 0, 0, 0, 0)
		b = append(b, make([]byte, 16)...)
		binary.LittleEndian.PutUint16(b[10:], 16)
		b = tFinish(b)
		if r := nakReason(t, c.transact(b)); r != nakAuthTypeNotRecognized {
			t.Fatalf("reason %d", r)
		}
	})
	t.Run("big-endian", func(t *testing.T) {
		c := newTClient(t, sambaLikeServer())
		b := tBind(11, 1, 4280, 4280, 0, srvsvc)
		b[4] = 0x00 // big-endian integers: re-encode the header fields the parser needs for framing
		binary.BigEndian.PutUint16(b[8:], uint16(len(b)))
		if r := nakReason(t, c.transact(b)); r != nakReasonNotSpecified {
			t.Fatalf("reason %d", r)
		}
	})
	t.Run("no contexts", func(t *testing.T) {
		c := newTClient(t, sambaLikeServer())
		if r := nakReason(t, c.transact(tBind(11, 1, 4280, 4280, 0))); r != nakReasonNotSpecified {
			t.Fatalf("reason %d", r)
		}
	})
}

func TestAlterContext(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	c.bindSrvsvc()
	p := c.transact(tBind(14, 50, 4280, 4280, 0, tCtx{id: 5, abstract: tSrvsvc, transfers: [][20]byte{tNDR}}))
	if p.ptype != 15 {
		t.Fatalf("want alter_context_resp, got ptype %d", p.ptype)
	}
	a := tParseBindAck(t, p)
	if len(a.results) != 1 || a.results[0].result != 0 || a.secAddr != "" {
		t.Fatalf("alter_context_resp %+v", a)
	}
	if _, f := c.call(5, opNetrServerGetInfo, tServerGetInfoStub(`\\x`, 100), 4096); f != nil {
		t.Fatalf("call on altered context faulted %#x", f.status)
	}
	// alter_context before any bind is a protocol error.
	c2 := newTClient(t, sambaLikeServer())
	if f := tParseFault(t, c2.transact(tBind(14, 1, 4280, 4280, 0, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}}))); f.status != FaultProtocolError {
		t.Fatalf("fault %#x", f.status)
	}
}

func TestFaults(t *testing.T) {
	t.Run("request before bind", func(t *testing.T) {
		c := newTClient(t, sambaLikeServer())
		if _, f := c.call(0, opNetrShareEnum, tShareEnumStub("x", 1, 0xFFFFFFFF, 0), 4096); f == nil || f.status != FaultProtocolError {
			t.Fatalf("fault %+v", f)
		}
	})
	c := newTClient(t, sambaLikeServer())
	c.bindSrvsvc()
	for _, op := range []uint16{0, 14, 17, 20, 22, 35, 37, 200, 0xFFFF} {
		if _, f := c.call(0, op, nil, 4096); f == nil || f.status != FaultOpRangeError || !f.didNotExecute {
			t.Fatalf("opnum %d: fault %+v, want nca_s_op_rng_error with PFC_DID_NOT_EXECUTE", op, f)
		}
	}
	for _, op := range []uint16{opNetrShareEnum, opNetrShareGetInfo, opNetrServerGetInfo, opNetrShareEnumSticky} {
		good := map[uint16][]byte{
			opNetrShareEnum:       tShareEnumStub("x", 1, 0xFFFFFFFF, 0),
			opNetrShareEnumSticky: tShareEnumStub("x", 1, 0xFFFFFFFF, 0),
			opNetrShareGetInfo:    tShareGetInfoStub("x", "share", 1),
			opNetrServerGetInfo:   tServerGetInfoStub("x", 101),
		}[op]
		for _, cut := range []int{0, 3, len(good) / 2, len(good) - 1} {
			if _, f := c.call(0, op, good[:cut], 4096); f == nil || f.status != FaultNDR {
				t.Fatalf("opnum %d with %d of %d stub bytes: fault %+v, want nca_s_fault_ndr", op, cut, len(good), f)
			}
		}
	}
	// A string whose actual count exceeds its maximum count.
	bad := tShareGetInfoStub("x", "share", 1)
	binary.LittleEndian.PutUint32(bad[28:], 99) // actual count of the share name
	if _, f := c.call(0, opNetrShareGetInfo, bad, 4096); f == nil || f.status != FaultNDR {
		t.Fatalf("fault %+v, want nca_s_fault_ndr", f)
	}
	// The association keeps working after faults.
	if _, f := c.call(0, opNetrShareGetInfo, tShareGetInfoStub("x", "share", 1), 4096); f != nil {
		t.Fatalf("call after faults: %+v", f)
	}
	// A big-endian request is refused with a fault, not misread.
	req := tRequest(99, 0, opNetrServerGetInfo, tServerGetInfoStub("x", 100), 4096)[0]
	req[4] = 0
	binary.BigEndian.PutUint16(req[8:], uint16(len(req)))
	binary.BigEndian.PutUint32(req[12:], 99)
	if f := tParseFault(t, c.transact(req)); f.status != FaultUnsupportedType {
		t.Fatalf("big-endian request: fault %#x", f.status)
	}
}

func TestFramingErrorBreaksPipe(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	c.bindSrvsvc()
	if _, err := c.pipe.Write([]byte{4, 0, 0, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("version 4 PDU: %v, want ErrProtocol", err)
	}
	if _, err := c.pipe.Write(tRequest(3, 0, 21, nil, 10)[0]); !errors.Is(err, ErrProtocol) {
		t.Fatalf("write after framing error: %v", err)
	}
	c2 := newTClient(t, sambaLikeServer())
	if _, err := c2.pipe.Write([]byte{5, 0, 11, 3, 0x10, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("frag_length 8: %v, want ErrProtocol", err)
	}
}

func TestPipeClose(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	c.bindSrvsvc()
	if err := c.pipe.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.pipe.Write([]byte{5}); !errors.Is(err, ErrPipeClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, _, err := c.pipe.Read(10); !errors.Is(err, ErrPipeClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if _, _, err := c.pipe.Transact([]byte{5}, 10); !errors.Is(err, ErrPipeClosed) {
		t.Fatalf("transact after close: %v", err)
	}
	if err := c.pipe.Close(); !errors.Is(err, ErrPipeClosed) {
		t.Fatalf("second close: %v", err)
	}
}

// Bytes arrive in arbitrary pieces: one byte per write, then all PDUs glued into one write. The answers
// must be the same as with one PDU per write.
func TestSplitAndGluedWrites(t *testing.T) {
	bind := tBind(11, 1, 4280, 4280, 0, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}})
	reqs := [][]byte{bind}
	reqs = append(reqs, tRequest(2, 0, opNetrShareEnum, tShareEnumStub("h", 1, 0xFFFFFFFF, 0), 16)...)
	reqs = append(reqs, tRequest(3, 0, opNetrShareGetInfo, tShareGetInfoStub("h", "IPC$", 2), 8)...)
	reqs = append(reqs, tRequest(4, 0, 99, nil, 8)...)

	drain := func(p *Pipe) [][]byte {
		var out [][]byte
		for {
			b, more, err := p.Read(1 << 16)
			if errors.Is(err, ErrPipeEmpty) {
				return out
			}
			if err != nil || more {
				t.Fatalf("read: more=%v err=%v", more, err)
			}
			out = append(out, b)
		}
	}
	open := func() *Pipe {
		p, err := sambaLikeServer().OpenPipe("srvsvc")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}

	perPDU := open()
	for _, r := range reqs {
		if _, err := perPDU.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	want := drain(perPDU)
	if len(want) != 4 {
		t.Fatalf("want 4 answers (bind_ack, 2 responses, fault), got %d", len(want))
	}

	byteWise := open()
	for _, r := range reqs {
		for i := range r {
			if _, err := byteWise.Write(r[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	glued := open()
	if _, err := glued.Write(bytes.Join(reqs, nil)); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*Pipe{"byte-wise": byteWise, "glued": glued} {
		got := drain(p)
		if len(got) != len(want) {
			t.Fatalf("%s: %d answers, want %d", name, len(got), len(want))
		}
		for i := range got {
			// Association group ids differ per pipe; everything else must match.
			if i == 0 {
				copy(got[i][20:24], want[i][20:24])
			}
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: answer %d differs\n got % x\nwant % x", name, i, got[i], want[i])
			}
		}
	}
}

type manyShares int

func (n manyShares) Shares() []Share {
	out := make([]Share, n)
	for i := range out {
		out[i] = Share{Name: fmt.Sprintf("share%04d", i), Comment: fmt.Sprintf("comment for share number %d – ünïcode", i), Path: fmt.Sprintf(`D:\vol\s%d`, i)}
	}
	return out
}

// A large enumeration is split at the negotiated fragment size, and each fragment at the SMB read size.
func TestResponseFragmentation(t *testing.T) {
	const n = 300
	s := &Server{ServerName: "BIG", Shares: manyShares(n)}
	c := newTClient(t, s)
	c.readMax = 1000 // smaller than a fragment: every fragment needs STATUS_BUFFER_OVERFLOW continuations
	c.callID++
	ack := tParseBindAck(t, c.transact(tBind(11, c.callID, 2048, 1500, 0x1234, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}})))
	if ack.maxXmit != 1500 || ack.maxRecv != 2048 || ack.assoc != 0x1234 {
		t.Fatalf("bind_ack %+v: want our max_xmit 1500 (client's max_recv), max_recv 2048, assoc echoed", ack)
	}
	stub, f := c.call(0, opNetrShareEnum, tShareEnumStub("BIG", 2, 0xFFFFFFFF, -1), 64)
	if f != nil {
		t.Fatalf("fault %#x", f.status)
	}
	if len(c.frags) < 10 {
		t.Fatalf("%d fragments, expected many", len(c.frags))
	}
	for i, fr := range c.frags {
		if l := 16 + len(fr.body); l > 1500 {
			t.Fatalf("fragment %d is %d bytes, above max_xmit_frag 1500", i, l)
		}
		if (i == 0) != (fr.flags&1 != 0) || (i == len(c.frags)-1) != (fr.flags&2 != 0) {
			t.Fatalf("fragment %d flags %#x", i, fr.flags)
		}
	}
	res, err := tDecodeShareEnum(stub)
	if err != nil {
		t.Fatal(err)
	}
	want := manyShares(n).Shares()
	if len(res.Shares) != n || res.Total != n || res.Status != 0 || res.HasResume {
		t.Fatalf("got %d shares total %d status %d resume %v", len(res.Shares), res.Total, res.Status, res.HasResume)
	}
	for i, s := range res.Shares {
		if s.Name != want[i].Name || s.Comment != want[i].Comment || s.Path != want[i].Path || s.Passwd != "<null>" || s.MaxUses != 0xFFFFFFFF {
			t.Fatalf("share %d = %+v, want %+v", i, s, want[i])
		}
	}
}

func TestRequestReassemblyLimits(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	c.bindSrvsvc()
	// A fragment continuing a call that never started.
	mid := tRequest(40, 0, opNetrServerGetInfo, tServerGetInfoStub("x", 100), 8)[1]
	if f := tParseFault(t, c.transact(mid)); f.status != FaultProtocolError {
		t.Fatalf("fault %#x", f.status)
	}
	// An orphaned PDU drops a half-received call: its last fragment then has no start.
	frags := tRequest(41, 0, opNetrServerGetInfo, tServerGetInfoStub("x", 100), 8)
	for _, f := range frags[:len(frags)-1] {
		c.pipe.Write(f)
	}
	c.pipe.Write(tFinish(tHeader(19, 3, 41)))
	if f := tParseFault(t, c.transact(frags[len(frags)-1])); f.status != FaultProtocolError {
		t.Fatalf("after orphaned: fault %#x", f.status)
	}
	// A request above the reassembly limit is refused without buffering it all.
	big := make([]byte, 60000)
	c.callID = 100
	for i := 0; i < maxCallStub/len(big)+1; i++ {
		flags := uint8(0)
		if i == 0 {
			flags = 1
		}
		b := tHeader(0, flags, 100)
		b = le32(b, 0)
		b = le16(b, 0)
		b = le16(b, opNetrServerGetInfo)
		b = tFinish(append(b, big...))
		c.pipe.Write(b)
	}
	out, _, err := c.pipe.Read(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	if f := tParseFault(t, tParsePDU(t, out)); f.status != FaultRemoteNoMemory {
		t.Fatalf("oversized call: fault %#x", f.status)
	}
}

func TestTransactBusyAndEmpty(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	if _, _, err := c.pipe.Read(100); !errors.Is(err, ErrPipeEmpty) {
		t.Fatalf("read of empty pipe: %v", err)
	}
	bind := tBind(11, 1, 4280, 4280, 0, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}})
	if _, err := c.pipe.Write(bind); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.pipe.Transact(bind, 100); !errors.Is(err, ErrPipeBusy) {
		t.Fatalf("transact with unread bind_ack: %v, want ErrPipeBusy", err)
	}
	b, more, err := c.pipe.Read(10)
	if err != nil || !more || len(b) != 10 {
		t.Fatalf("partial read: %d bytes more=%v err=%v", len(b), more, err)
	}
	if _, _, err := c.pipe.Read(0); err == nil {
		t.Fatalf("read of 0 bytes accepted")
	}
}

// Pipes are used from several SMB requests at once (a pending READ and a WRITE); run with -race.
func TestConcurrentPipes(t *testing.T) {
	s := &Server{ServerName: "C", Shares: manyShares(20)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.OpenPipe("srvsvc")
			if err != nil {
				errs <- err
				return
			}
			defer p.Close()
			bind := tBind(11, 1, 4280, 4280, 0, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}})
			if _, _, err := p.Transact(bind, 4280); err != nil {
				errs <- err
				return
			}
			for i := 0; i < 20; i++ {
				req := tRequest(uint32(2+i), 0, opNetrShareEnum, tShareEnumStub("C", 1, 0xFFFFFFFF, 0), 4096)[0]
				if _, _, err := p.Transact(req, 8192); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// C706 clients may send rpc_vers_minor 1; the PDU formats are the same.
func TestBindMinorVersion1(t *testing.T) {
	c := newTClient(t, sambaLikeServer())
	b := tBind(11, 1, 4280, 4280, 0, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}})
	b[1] = 1
	p := c.transact(b)
	if p.ptype != 12 || tParseBindAck(t, p).results[0].result != 0 {
		t.Fatalf("5.1 bind answered with ptype %d", p.ptype)
	}
}
