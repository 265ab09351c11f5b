package test

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/sofs-dev/sofs/smb/wire"
)

// rawClient is a small SMB 3.0.2 client of our own on top of smb/wire, for what go-smb2 lacks:
// leases, lease break acknowledgments and durable handles. It speaks real TCP to a real sofsd,
// authenticates with raw NTLMv2 (MS-NLMP 3.1.5), does not sign, and keeps unsolicited break
// notifications on a channel.
type rawClient struct {
	t          testing.TB
	nc         net.Conn
	clientGUID wire.GUID
	sessionID  uint64
	treeID     uint32

	mu      sync.Mutex
	nextMID uint64
	pending map[uint64]chan []byte
	breaks  chan wire.OplockBreakNotify
	readErr chan error
}

const rawReplyTimeout = 60 * time.Second

// dialRaw connects, negotiates SMB 3.0.2 with clientGUID, authenticates as the test user and
// connects to the sofsd share.
func dialRaw(t testing.TB, s *sofsd, clientGUID wire.GUID) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, nc: nc, clientGUID: clientGUID, pending: map[uint64]chan []byte{},
		breaks: make(chan wire.OplockBreakNotify, 16), readErr: make(chan error, 1)}
	t.Cleanup(func() { nc.Close() })
	go c.readLoop()
	neg := wire.NegotiateRequest{SecurityMode: wire.SigningEnabled, Capabilities: wire.CapLeasing,
		ClientGUID: clientGUID, Dialects: []wire.Dialect{wire.DialectSMB302}}
	if _, st := c.call(wire.CmdNegotiate, neg.Append); st != wire.StatusSuccess {
		t.Fatalf("negotiate: %v", st)
	}
	c.authenticate(testUser, testPass)
	tc := wire.TreeConnectRequest{Path: `\\` + s.Host + `\` + s.Share}
	resp, st := c.call(wire.CmdTreeConnect, tc.Append)
	if st != wire.StatusSuccess {
		t.Fatalf("tree connect: %v", st)
	}
	c.treeID = wire.Header(resp).TreeID()
	return c
}

func (c *rawClient) readLoop() {
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			c.readErr <- err
			return
		}
		msg := make([]byte, binary.BigEndian.Uint32(hdr[:])&0xFFFFFF)
		if _, err := io.ReadFull(c.nc, msg); err != nil {
			c.readErr <- err
			return
		}
		h := wire.Header(msg)
		if h.Command() == wire.CmdOplockBreak && h.MessageID() == ^uint64(0) {
			var n wire.OplockBreakNotify
			if err := n.Decode(msg); err == nil {
				c.breaks <- n
			}
			continue
		}
		if h.Status() == wire.StatusPending && h.IsAsync() {
			continue // interim response: the final one follows with the same MessageId
		}
		c.mu.Lock()
		ch := c.pending[h.MessageID()]
		delete(c.pending, h.MessageID())
		c.mu.Unlock()
		if ch != nil {
			ch <- msg
		}
	}
}

// send writes one request and returns the channel its response arrives on.
func (c *rawClient) send(cmd wire.Command, flags wire.HeaderFlags, body func([]byte) []byte) chan []byte {
	return c.sendCharged(cmd, flags, 1, body)
}

// sendCharged sends a request with the given credit charge; it uses that many message ids.
func (c *rawClient) sendCharged(cmd wire.Command, flags wire.HeaderFlags, charge uint16, body func([]byte) []byte) chan []byte {
	msg := make([]byte, wire.HeaderSize, 512)
	h := wire.Header(msg)
	h.Init(cmd)
	c.mu.Lock()
	mid := c.nextMID
	c.nextMID += uint64(max(charge, 1))
	ch := make(chan []byte, 1)
	c.pending[mid] = ch
	c.mu.Unlock()
	h.SetMessageID(mid)
	h.SetCreditCharge(charge)
	h.SetCredits(64)
	h.SetFlags(flags)
	h.SetSessionID(c.sessionID)
	h.SetTreeID(c.treeID)
	msg = body(msg)
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(msg)))
	if _, err := c.nc.Write(append(frame, msg...)); err != nil {
		c.t.Fatalf("send %v: %v", cmd, err)
	}
	return ch
}

// wait returns the response on ch, failing the test when none arrives in time.
func (c *rawClient) wait(ch chan []byte) ([]byte, wire.Status) {
	select {
	case msg := <-ch:
		return msg, wire.Header(msg).Status()
	case err := <-c.readErr:
		c.t.Fatalf("connection ended while waiting for a reply: %v", err)
	case <-time.After(rawReplyTimeout):
		c.t.Fatal("no reply in time")
	}
	return nil, 0
}

func (c *rawClient) call(cmd wire.Command, body func([]byte) []byte) ([]byte, wire.Status) {
	return c.wait(c.send(cmd, 0, body))
}

// drop ends the TCP connection without LOGOFF or CLOSE, as a network failure would.
func (c *rawClient) drop() { c.nc.Close() }

// nextBreak returns the next break notification, failing the test when none comes in time.
func (c *rawClient) nextBreak() wire.OplockBreakNotify {
	select {
	case b := <-c.breaks:
		return b
	case <-time.After(rawReplyTimeout):
		c.t.Fatal("no break notification in time")
	}
	return wire.OplockBreakNotify{}
}

// create sends a CREATE and decodes the response.
func (c *rawClient) create(req *wire.CreateRequest) (wire.CreateResponse, wire.Status) {
	return c.createAsync(req, 0)()
}

// createAsync sends a CREATE now and returns a function that waits for its response.
func (c *rawClient) createAsync(req *wire.CreateRequest, flags wire.HeaderFlags) func() (wire.CreateResponse, wire.Status) {
	ch := c.send(wire.CmdCreate, flags, req.Append)
	return func() (wire.CreateResponse, wire.Status) {
		msg, st := c.wait(ch)
		var resp wire.CreateResponse
		if st == wire.StatusSuccess {
			if err := resp.Decode(msg); err != nil {
				c.t.Fatalf("create response: %v", err)
			}
		}
		return resp, st
	}
}

func (c *rawClient) write(id wire.FileID, off uint64, data []byte) wire.Status {
	w := wire.WriteRequest{FileID: id, Offset: off, Data: data}
	_, st := c.call(wire.CmdWrite, w.Append)
	return st
}

func (c *rawClient) read(id wire.FileID, off uint64, n uint32) ([]byte, wire.Status) {
	rq := wire.ReadRequest{FileID: id, Offset: off, Length: n}
	msg, st := c.call(wire.CmdRead, rq.Append)
	if st != wire.StatusSuccess {
		return nil, st
	}
	var resp wire.ReadResponse
	if err := resp.Decode(msg); err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	return resp.Data, st
}

func (c *rawClient) close(id wire.FileID) wire.Status {
	cl := wire.CloseRequest{FileID: id}
	_, st := c.call(wire.CmdClose, cl.Append)
	return st
}

// lock takes an exclusive byte-range lock that fails at once rather than waiting.
func (c *rawClient) lock(id wire.FileID, off, n uint64) wire.Status {
	const exclusiveFailImmediately = 0x2 | 0x10
	lk := wire.LockRequest{FileID: id, Locks: []wire.LockElement{{Offset: off, Length: n, Flags: exclusiveFailImmediately}}}
	_, st := c.call(wire.CmdLock, lk.Append)
	return st
}

func (c *rawClient) ackLease(key wire.GUID, state uint32) wire.Status {
	ack := wire.OplockBreakRequest{IsLease: true, Lease: wire.LeaseBreakAck{LeaseKey: key, LeaseState: state}}
	_, st := c.call(wire.CmdOplockBreak, ack.Append)
	return st
}

// leaseCreate is a CREATE for a file asking for a v2 lease, with extra contexts.
func leaseCreate(name string, key wire.GUID, state uint32, share uint32, extra ...wire.CreateContext) *wire.CreateRequest {
	lease := wire.Lease{V2: true, Key: key, State: state}
	return &wire.CreateRequest{
		RequestedOplockLevel: wire.OplockLevelLease,
		ImpersonationLevel:   wire.ImpersonationImpersonation,
		DesiredAccess:        wire.FileReadData | wire.FileWriteData | wire.FileReadAttributes | wire.Synchronize,
		ShareAccess:          share,
		CreateDisposition:    wire.FileOpenIf,
		CreateOptions:        wire.FileNonDirectoryFile,
		Name:                 name,
		Contexts:             append([]wire.CreateContext{wire.CreateContextOf(wire.CtxNameRequestLease, &lease)}, extra...),
	}
}

// grantedLease returns the lease of a create response.
func grantedLease(t testing.TB, resp wire.CreateResponse) wire.Lease {
	t.Helper()
	cc, ok := wire.FindCreateContext(resp.Contexts, wire.CtxNameRequestLease)
	if !ok || resp.OplockLevel != wire.OplockLevelLease {
		t.Fatalf("no lease granted (oplock level %#x, %d contexts)", resp.OplockLevel, len(resp.Contexts))
	}
	var l wire.Lease
	if err := l.Decode(cc.Data); err != nil {
		t.Fatal(err)
	}
	return l
}

func randomGUID(t testing.TB) wire.GUID {
	var g wire.GUID
	if _, err := rand.Read(g[:]); err != nil {
		t.Fatal(err)
	}
	return g
}

// NTLMv2 over raw NTLMSSP (MS-NLMP 3.1.5.1.2, 3.3.2): enough to authenticate without signing.

const (
	ntlmUnicode       = 0x00000001
	ntlmRequestTarget = 0x00000004
	ntlmSign          = 0x00000010
	ntlmNTLM          = 0x00000200
	ntlmAlwaysSign    = 0x00008000
	ntlmExtendedSec   = 0x00080000
	ntlmTargetInfo    = 0x00800000
	ntlm128           = 0x20000000
	ntlm56            = 0x80000000
)

func utf16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return b
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func (c *rawClient) sessionSetup(token []byte) ([]byte, wire.Status) {
	ss := wire.SessionSetupRequest{SecurityMode: 1, SecurityBuffer: token}
	msg, st := c.call(wire.CmdSessionSetup, ss.Append)
	if st != wire.StatusSuccess && st != wire.StatusMoreProcessingRequired {
		return nil, st
	}
	c.sessionID = wire.Header(msg).SessionID()
	var resp wire.SessionSetupResponse
	if err := resp.Decode(msg); err != nil {
		c.t.Fatalf("session setup response: %v", err)
	}
	return resp.SecurityBuffer, st
}

func (c *rawClient) authenticate(user, pass string) {
	neg := make([]byte, 32)
	copy(neg, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(neg[8:], 1)
	binary.LittleEndian.PutUint32(neg[12:], ntlmUnicode|ntlmRequestTarget|ntlmSign|ntlmNTLM|ntlmAlwaysSign|ntlmExtendedSec|ntlmTargetInfo|ntlm128|ntlm56)
	chal, st := c.sessionSetup(neg)
	if st != wire.StatusMoreProcessingRequired || len(chal) < 48 || !bytes.HasPrefix(chal, []byte("NTLMSSP\x00")) {
		c.t.Fatalf("NTLM challenge: status %v, %d bytes", st, len(chal))
	}
	flags := binary.LittleEndian.Uint32(chal[20:])
	serverChallenge := chal[24:32]
	tiLen, tiOff := int(binary.LittleEndian.Uint16(chal[40:])), int(binary.LittleEndian.Uint32(chal[44:]))
	if tiOff+tiLen > len(chal) {
		c.t.Fatalf("NTLM challenge: target info %d+%d beyond %d bytes", tiOff, tiLen, len(chal))
	}
	targetInfo := chal[tiOff : tiOff+tiLen]
	ts := binary.LittleEndian.AppendUint64(nil, uint64(time.Now().UnixNano()/100+116444736000000000))
	for p := targetInfo; len(p) >= 4; {
		id, n := binary.LittleEndian.Uint16(p), int(binary.LittleEndian.Uint16(p[2:]))
		if id == 0 || len(p) < 4+n {
			break
		}
		if id == 7 && n == 8 { // MsvAvTimestamp
			ts = p[4:12]
		}
		p = p[4+n:]
	}
	h := md4.New()
	h.Write(utf16le(pass))
	ntowf := hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)), utf16le(""))
	clientChallenge := make([]byte, 8)
	rand.Read(clientChallenge)
	blob := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	blob = append(blob, ts...)
	blob = append(blob, clientChallenge...)
	blob = append(blob, 0, 0, 0, 0)
	blob = append(blob, targetInfo...)
	blob = append(blob, 0, 0, 0, 0)
	nt := append(hmacMD5(ntowf, serverChallenge, blob), blob...)
	payload := [][]byte{make([]byte, 24), nt, utf16le(""), utf16le(user), utf16le("RAWTEST"), nil}
	const hdr = 88
	auth := make([]byte, hdr)
	copy(auth, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(auth[8:], 3)
	off := hdr
	for i, p := range payload {
		binary.LittleEndian.PutUint16(auth[12+8*i:], uint16(len(p)))
		binary.LittleEndian.PutUint16(auth[14+8*i:], uint16(len(p)))
		binary.LittleEndian.PutUint32(auth[16+8*i:], uint32(off))
		off += len(p)
		auth = append(auth, p...)
	}
	binary.LittleEndian.PutUint32(auth[60:], flags)
	if _, st := c.sessionSetup(auth); st != wire.StatusSuccess {
		c.t.Fatalf("NTLM authenticate: %v", st)
	}
}

func (c *rawClient) String() string { return fmt.Sprintf("raw client %x", c.clientGUID[:4]) }
