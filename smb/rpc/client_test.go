package rpc

// A test-side DCE/RPC client, written independently of the server's encoders: it builds client PDUs byte
// by byte and decodes server PDUs and srvsvc stubs with its own reader, which also records where referent
// ids sit so that stubs from different servers can be compared modulo pointer numbering.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"unicode/utf16"
)

var (
	tNDR   = [20]byte{0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0}
	tNDR64 = [20]byte{0x33, 0x05, 0x71, 0x71, 0xba, 0xbe, 0x37, 0x49, 0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36, 1, 0, 0, 0}
	// 6cb71c2c-9812-4540-0300-000000000000 v1.0: bind time feature negotiation, both features asked.
	tBTFN = [20]byte{0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45, 0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}
	// srvsvc 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0
	tSrvsvc = [20]byte{0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88, 3, 0, 0, 0}
	tOther  = [20]byte{0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 1, 0, 0, 0} // lsarpc
)

type tCtx struct {
	id        uint16
	abstract  [20]byte
	transfers [][20]byte
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

func tHeader(ptype, flags uint8, callID uint32) []byte {
	b := []byte{5, 0, ptype, flags, 0x10, 0, 0, 0, 0, 0, 0, 0}
	return le32(b, callID)
}

func tFinish(b []byte) []byte {
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// tBind builds a bind (ptype 11) or alter_context (ptype 14).
func tBind(ptype uint8, callID uint32, maxXmit, maxRecv uint16, assoc uint32, ctxs ...tCtx) []byte {
	b := tHeader(ptype, 3, callID)
	b = le16(b, maxXmit)
	b = le16(b, maxRecv)
	b = le32(b, assoc)
	b = append(b, byte(len(ctxs)), 0, 0, 0)
	for _, c := range ctxs {
		b = le16(b, c.id)
		b = append(b, byte(len(c.transfers)), 0)
		b = append(b, c.abstract[:]...)
		for _, t := range c.transfers {
			b = append(b, t[:]...)
		}
	}
	return tFinish(b)
}

// tRequest splits stub into request fragments carrying at most fragStub stub bytes each.
func tRequest(callID uint32, ctxID, opnum uint16, stub []byte, fragStub int) [][]byte {
	var out [][]byte
	rest := stub
	for first := true; first || len(rest) > 0; first = false {
		n := min(len(rest), fragStub)
		flags := uint8(0)
		if first {
			flags |= 1
		}
		if n == len(rest) {
			flags |= 2
		}
		b := tHeader(0, flags, callID)
		b = le32(b, uint32(len(rest)))
		b = le16(b, ctxID)
		b = le16(b, opnum)
		b = append(b, rest[:n]...)
		out = append(out, tFinish(b))
		rest = rest[n:]
	}
	return out
}

// tPDU is a decoded server PDU.
type tPDU struct {
	ptype, flags uint8
	callID       uint32
	body         []byte // everything after the 16-byte header
}

func tParsePDU(t testing.TB, b []byte) tPDU {
	t.Helper()
	if len(b) < 16 || b[0] != 5 || b[1] != 0 || b[4] != 0x10 {
		t.Fatalf("not a little-endian DCE/RPC 5.0 PDU: % x", b)
	}
	if fl := int(binary.LittleEndian.Uint16(b[8:])); fl != len(b) {
		t.Fatalf("frag_length %d, PDU is %d bytes", fl, len(b))
	}
	if al := binary.LittleEndian.Uint16(b[10:]); al != 0 {
		t.Fatalf("server sent auth_length %d", al)
	}
	return tPDU{ptype: b[2], flags: b[3], callID: binary.LittleEndian.Uint32(b[12:]), body: b[16:]}
}

type tResult struct {
	result, reason uint16
	transfer       [20]byte
}

type tBindAck struct {
	maxXmit, maxRecv uint16
	assoc            uint32
	secAddr          string
	results          []tResult
}

func tParseBindAck(t testing.TB, p tPDU) tBindAck {
	t.Helper()
	b := p.body
	var a tBindAck
	a.maxXmit = binary.LittleEndian.Uint16(b[0:])
	a.maxRecv = binary.LittleEndian.Uint16(b[2:])
	a.assoc = binary.LittleEndian.Uint32(b[4:])
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n > 0 {
		if b[10+n-1] != 0 {
			t.Fatalf("sec_addr not NUL-terminated")
		}
		a.secAddr = string(b[10 : 10+n-1])
	}
	off := 16 + 10 + n // offset in the PDU
	off = (off + 3) &^ 3
	off -= 16
	nres := int(b[off])
	off += 4
	for i := 0; i < nres; i++ {
		var r tResult
		r.result = binary.LittleEndian.Uint16(b[off:])
		r.reason = binary.LittleEndian.Uint16(b[off+2:])
		copy(r.transfer[:], b[off+4:off+24])
		a.results = append(a.results, r)
		off += 24
	}
	if off != len(b) {
		t.Fatalf("bind_ack has %d trailing bytes", len(b)-off)
	}
	return a
}

type tFault struct {
	status        uint32
	didNotExecute bool
}

func tParseFault(t testing.TB, p tPDU) tFault {
	t.Helper()
	if p.ptype != 3 || len(p.body) < 16 {
		t.Fatalf("want fault PDU, got ptype %d body % x", p.ptype, p.body)
	}
	return tFault{status: binary.LittleEndian.Uint32(p.body[8:]), didNotExecute: p.flags&0x20 != 0}
}

// tClient drives a Pipe like an SMB client: transceive for the first fragment, READs for the rest.
type tClient struct {
	t       testing.TB
	pipe    *Pipe
	callID  uint32
	readMax int
	frags   []tPDU // every fragment of the last call
}

// newTClient opens srvsvc as an administrator, who may use every served level.
func newTClient(t testing.TB, s *Server) *tClient {
	t.Helper()
	return newTClientAs(t, s, Caller{User: "admin", Admin: true})
}

func newTClientAs(t testing.TB, s *Server, caller Caller) *tClient {
	t.Helper()
	p, err := s.OpenPipeAs("srvsvc", caller)
	if err != nil {
		t.Fatalf("OpenPipe: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return &tClient{t: t, pipe: p, readMax: 65536}
}

// readPDU reads one whole fragment, following STATUS_BUFFER_OVERFLOW continuations.
func (c *tClient) readPDU(first []byte, more bool) []byte {
	c.t.Helper()
	buf := append([]byte(nil), first...)
	for more {
		b, m, err := c.pipe.Read(c.readMax)
		if err != nil {
			c.t.Fatalf("read continuation: %v", err)
		}
		buf = append(buf, b...)
		more = m
	}
	return buf
}

func (c *tClient) transact(in []byte) tPDU {
	c.t.Helper()
	b, more, err := c.pipe.Transact(in, c.readMax)
	if err != nil {
		c.t.Fatalf("transact: %v", err)
	}
	return tParsePDU(c.t, c.readPDU(b, more))
}

func (c *tClient) bind(ctxs ...tCtx) tBindAck {
	c.t.Helper()
	c.callID++
	p := c.transact(tBind(11, c.callID, 4280, 4280, 0, ctxs...))
	if p.ptype != 12 || p.callID != c.callID {
		c.t.Fatalf("bind answered with ptype %d call %d", p.ptype, p.callID)
	}
	return tParseBindAck(c.t, p)
}

func (c *tClient) bindSrvsvc() {
	c.t.Helper()
	a := c.bind(tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}})
	if len(a.results) != 1 || a.results[0].result != 0 {
		c.t.Fatalf("srvsvc bind not accepted: %+v", a.results)
	}
}

// call sends one request (fragmented at fragStub stub bytes) and returns the reassembled response stub,
// or the fault.
func (c *tClient) call(ctxID, opnum uint16, stub []byte, fragStub int) ([]byte, *tFault) {
	c.t.Helper()
	c.callID++
	frags := tRequest(c.callID, ctxID, opnum, stub, fragStub)
	for _, f := range frags[:len(frags)-1] {
		if _, err := c.pipe.Write(f); err != nil {
			c.t.Fatalf("write fragment: %v", err)
		}
	}
	p := c.transact(frags[len(frags)-1])
	c.frags = []tPDU{p}
	if p.ptype == 3 {
		f := tParseFault(c.t, p)
		return nil, &f
	}
	var out []byte
	for {
		if p.ptype != 2 || p.callID != c.callID {
			c.t.Fatalf("want response for call %d, got ptype %d call %d", c.callID, p.ptype, p.callID)
		}
		if len(out) == 0 && p.flags&1 == 0 {
			c.t.Fatalf("first response fragment lacks PFC_FIRST_FRAG")
		}
		allocHint := binary.LittleEndian.Uint32(p.body[0:])
		stubPart := p.body[8:]
		if int(allocHint) < len(stubPart) {
			c.t.Fatalf("alloc_hint %d below fragment stub %d", allocHint, len(stubPart))
		}
		out = append(out, stubPart...)
		if p.flags&2 != 0 {
			break
		}
		if len(stubPart)%8 != 0 {
			c.t.Fatalf("non-last fragment carries %d stub bytes, not a multiple of 8", len(stubPart))
		}
		b, more, err := c.pipe.Read(c.readMax)
		if err != nil {
			c.t.Fatalf("read next fragment: %v", err)
		}
		p = tParsePDU(c.t, c.readPDU(b, more))
		c.frags = append(c.frags, p)
	}
	if _, _, err := c.pipe.Read(c.readMax); !errors.Is(err, ErrPipeEmpty) {
		c.t.Fatalf("pipe not empty after the last fragment: %v", err)
	}
	return out, nil
}

// --- test-side NDR ---

type tWriter struct {
	b   []byte
	ref uint32
}

func (w *tWriter) align(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}
func (w *tWriter) u32(v uint32) { w.align(4); w.b = le32(w.b, v) }
func (w *tWriter) ptr(nonNull bool) {
	if !nonNull {
		w.u32(0)
		return
	}
	w.ref += 4
	w.u32(0x00020000 + w.ref)
}
func (w *tWriter) str(s string) {
	u := utf16.Encode([]rune(s))
	w.u32(uint32(len(u) + 1))
	w.u32(0)
	w.u32(uint32(len(u) + 1))
	for _, c := range u {
		w.b = le16(w.b, c)
	}
	w.b = append(w.b, 0, 0)
}

// tShareEnumStub encodes the [in] side of NetrShareEnum; resume < 0 sends a null resume handle.
func tShareEnumStub(server string, level, prefMax uint32, resume int64) []byte {
	var w tWriter
	w.ptr(true)
	w.str(server)
	w.u32(level)
	w.u32(level)
	if shareEnumArms[level] {
		w.ptr(true) // container
		w.u32(0)    // EntriesRead
		w.u32(0)    // Buffer: null
	}
	w.u32(prefMax)
	w.ptr(resume >= 0)
	if resume >= 0 {
		w.u32(uint32(resume))
	}
	return w.b
}

func tShareGetInfoStub(server, share string, level uint32) []byte {
	var w tWriter
	w.ptr(true)
	w.str(server)
	w.str(share)
	w.u32(level)
	return w.b
}

func tServerGetInfoStub(server string, level uint32) []byte {
	var w tWriter
	w.ptr(true)
	w.str(server)
	w.u32(level)
	return w.b
}

// tReader decodes NDR and remembers where pointers were, for normalised comparisons.
type tReader struct {
	b    []byte
	off  int
	ptrs []int
	err  error
}

func (r *tReader) failf(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: "+format, append([]any{r.off}, a...)...)
	}
}
func (r *tReader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	r.off = (r.off + 3) &^ 3
	if r.off+4 > len(r.b) {
		r.failf("short read")
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}
func (r *tReader) ptr() bool {
	r.off = (r.off + 3) &^ 3
	r.ptrs = append(r.ptrs, r.off)
	return r.u32() != 0
}
func (r *tReader) str() string {
	max, off, act := r.u32(), r.u32(), r.u32()
	if r.err != nil {
		return ""
	}
	if off != 0 || act > max || act == 0 || r.off+int(act)*2 > len(r.b) {
		r.failf("bad string header max=%d off=%d actual=%d", max, off, act)
		return ""
	}
	u := make([]uint16, act)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(r.b[r.off+2*i:])
	}
	r.off += int(act) * 2
	if u[act-1] != 0 {
		r.failf("string not NUL-terminated")
	}
	return string(utf16.Decode(u[:act-1]))
}
func (r *tReader) optStr(present bool) string {
	if !present {
		return "<null>"
	}
	return r.str()
}

// normalized returns the stub with every non-null referent id replaced by 1, so that stubs of two
// servers that number their pointers differently compare equal when their layouts are.
func (r *tReader) normalized() []byte {
	out := append([]byte(nil), r.b...)
	for _, p := range r.ptrs {
		if binary.LittleEndian.Uint32(out[p:]) != 0 {
			binary.LittleEndian.PutUint32(out[p:], 1)
		}
	}
	return out
}

func (r *tReader) done() error {
	if r.err == nil && r.off != len(r.b) {
		r.failf("%d trailing bytes", len(r.b)-r.off)
	}
	return r.err
}

// tShareInfo is a decoded SHARE_INFO_x entry; fields absent at a level keep their zero values.
type tShareInfo struct {
	Name, Comment, Path, Passwd string
	Type, Flags, MaxUses        uint32
}

func tDecodeShareFixed(r *tReader, level uint32) (info tShareInfo, ptrs []bool) {
	if level == 1005 {
		info.Flags = r.u32()
		return
	}
	ptrs = append(ptrs, r.ptr())
	if level == 0 {
		return
	}
	info.Type = r.u32()
	ptrs = append(ptrs, r.ptr())
	switch level {
	case 501:
		info.Flags = r.u32()
	case 2, 502:
		r.u32() // permissions
		info.MaxUses = r.u32()
		r.u32() // current uses
		ptrs = append(ptrs, r.ptr(), r.ptr())
		if level == 502 {
			r.u32()
			if r.ptr() {
				r.failf("security descriptor decoding not implemented in the test client")
			}
		}
	}
	return
}

func tDecodeShareDeferred(r *tReader, level uint32, info *tShareInfo, ptrs []bool) {
	if level == 1005 {
		return
	}
	info.Name = r.optStr(ptrs[0])
	if level == 0 {
		return
	}
	info.Comment = r.optStr(ptrs[1])
	if level == 2 || level == 502 {
		info.Path = r.optStr(ptrs[2])
		info.Passwd = r.optStr(ptrs[3])
	}
}

type tShareEnumResult struct {
	Level        uint32
	Shares       []tShareInfo
	Total        uint32
	HasResume    bool
	Resume       uint32
	Status       uint32
	NullArm      bool
	reader       *tReader
	servedLevels bool
}

func tDecodeShareEnum(stub []byte) (tShareEnumResult, error) {
	r := &tReader{b: stub}
	var res tShareEnumResult
	res.reader = r
	res.Level = r.u32()
	if d := r.u32(); d != res.Level {
		return res, fmt.Errorf("discriminant %d != level %d", d, res.Level)
	}
	if shareEnumArms[res.Level] {
		if r.ptr() {
			n := r.u32()
			if r.ptr() {
				if m := r.u32(); m != n {
					return res, fmt.Errorf("array conformance %d != EntriesRead %d", m, n)
				}
				var ptrs [][]bool
				for i := uint32(0); i < n && r.err == nil; i++ {
					info, p := tDecodeShareFixed(r, res.Level)
					res.Shares = append(res.Shares, info)
					ptrs = append(ptrs, p)
				}
				for i := range res.Shares {
					tDecodeShareDeferred(r, res.Level, &res.Shares[i], ptrs[i])
				}
			} else if n != 0 {
				return res, fmt.Errorf("EntriesRead %d with null buffer", n)
			}
		} else {
			res.NullArm = true
		}
	}
	res.Total = r.u32()
	if r.ptr() {
		res.HasResume = true
		res.Resume = r.u32()
	}
	res.Status = r.u32()
	return res, r.done()
}

type tShareGetInfoResult struct {
	Level   uint32
	Info    tShareInfo
	NullArm bool
	Status  uint32
	reader  *tReader
}

func tDecodeShareGetInfo(stub []byte) (tShareGetInfoResult, error) {
	r := &tReader{b: stub}
	res := tShareGetInfoResult{reader: r}
	res.Level = r.u32()
	if shareInfoArms[res.Level] {
		if r.ptr() {
			info, p := tDecodeShareFixed(r, res.Level)
			tDecodeShareDeferred(r, res.Level, &info, p)
			res.Info = info
		} else {
			res.NullArm = true
		}
	}
	res.Status = r.u32()
	return res, r.done()
}

type tServerInfo struct {
	Level                    uint32
	PlatformID               uint32
	Name, Comment, UserPath  string
	VersionMajor, VersionMin uint32
	Type                     uint32
	Users, Disc, Hidden      uint32
	NullArm                  bool
	Status                   uint32
	reader                   *tReader
}

func tDecodeServerGetInfo(stub []byte) (tServerInfo, error) {
	r := &tReader{b: stub}
	res := tServerInfo{reader: r}
	res.Level = r.u32()
	switch res.Level {
	case 100, 101, 102:
		if r.ptr() {
			res.PlatformID = r.u32()
			namePtr := r.ptr()
			var commentPtr, userPathPtr bool
			if res.Level >= 101 {
				res.VersionMajor, res.VersionMin, res.Type = r.u32(), r.u32(), r.u32()
				commentPtr = r.ptr()
			}
			if res.Level == 102 {
				res.Users, res.Disc, res.Hidden = r.u32(), r.u32(), r.u32()
				r.u32()
				r.u32()
				r.u32()
				userPathPtr = r.ptr()
			}
			res.Name = r.optStr(namePtr)
			if res.Level >= 101 {
				res.Comment = r.optStr(commentPtr)
			}
			if res.Level == 102 {
				res.UserPath = r.optStr(userPathPtr)
			}
		} else {
			res.NullArm = true
		}
	default:
		if !serverInfoArms[res.Level] {
			break
		}
		if r.ptr() {
			return res, fmt.Errorf("level %d arm decoding not implemented in the test client", res.Level)
		}
		res.NullArm = true
	}
	res.Status = r.u32()
	return res, r.done()
}
