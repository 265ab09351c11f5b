package rpc

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Errors a Pipe returns to the SMB server, which maps them to NTSTATUS codes.
var (
	ErrNoSuchPipe = errors.New("rpc: no such pipe")                   // STATUS_OBJECT_NAME_NOT_FOUND
	ErrPipeEmpty  = errors.New("rpc: no data queued on the pipe")     // STATUS_PIPE_EMPTY / pend the read
	ErrPipeBusy   = errors.New("rpc: pipe has unread data")           // STATUS_PIPE_BUSY on transceive
	ErrPipeClosed = errors.New("rpc: pipe closed")                    // STATUS_PIPE_CLOSING / FILE_CLOSED
	ErrProtocol   = errors.New("rpc: DCE/RPC protocol error on pipe") // STATUS_INVALID_PARAMETER; pipe unusable
	ErrPipeFull   = errors.New("rpc: too many unread response bytes") // STATUS_INSUFFICIENT_RESOURCES
)

const (
	// serverMaxFrag is the fragment size we offer; 4280 is what Windows and Samba answer on named pipes.
	serverMaxFrag = 4280
	// maxCallStub bounds a reassembled request: srvsvc requests are a few hundred bytes.
	maxCallStub = 1 << 20
	// maxQueuedOut bounds response bytes a client has not read yet, so a client that writes without
	// reading cannot make us buffer without limit.
	maxQueuedOut = 4 << 20
)

// Fault is an error a handler returns to make the call fail with a fault PDU carrying Status.
type Fault struct{ Status uint32 }

func (f *Fault) Error() string { return fmt.Sprintf("rpc: fault 0x%08x", f.Status) }

// Caller is who opened the pipe, as the SMB session authenticated them.
type Caller struct {
	User      string
	Admin     bool // member of Administrators / Server Operators: may read admin-only info levels
	Anonymous bool // null or guest session: only the basic share levels (0 and 1) are enumerable
}

// Call is one reassembled request handed to an Interface.
type Call struct {
	Opnum  uint16
	Stub   []byte // NDR 2.0 little-endian [in] parameters
	Caller Caller
}

// Interface is one RPC interface an endpoint serves. Invoke runs one operation and returns the response
// stub; a *Fault error (or ErrNDR, which maps to nca_s_fault_ndr) becomes a fault PDU. Invoke must be
// safe for concurrent use by different pipes.
type Interface struct {
	Name   string
	Syntax SyntaxID
	Invoke func(c *Call) ([]byte, error)
}

// endpoint is what one pipe name serves: the secondary address the bind_ack names and its interfaces.
type endpoint struct {
	secAddr    string
	interfaces []*Interface
}

// Share is one share as srvsvc reports it (MS-SRVS 2.2.4.22 SHARE_INFO_2 fields).
type Share struct {
	Name    string
	Type    uint32 // STYPE_DISKTREE=0, STYPE_IPC=3, | STYPE_SPECIAL=0x80000000 for hidden admin shares
	Comment string
	Path    string // local path shown to administrators (shi2_path), e.g. `C:\shares\x`; may be empty
	Flags   uint32 // shi1005_flags / shi501_flags (MS-SRVS 2.2.4.29): caching mode, access-based enumeration…
}

// Share types (MS-SRVS 2.2.2.4).
const (
	STypeDiskTree  uint32 = 0x00000000
	STypePrintQ    uint32 = 0x00000001
	STypeDevice    uint32 = 0x00000002
	STypeIPC       uint32 = 0x00000003
	STypeTemporary uint32 = 0x40000000
	STypeSpecial   uint32 = 0x80000000
)

// ShareSource yields the current shares; it is called once per request so changes show up at once.
// The IPC$ share is listed only if the source returns it.
type ShareSource interface{ Shares() []Share }

// Server serves DCE/RPC over SMB named pipes. The zero value plus ServerName and Shares is ready to use.
type Server struct {
	ServerName string      // NetBIOS-style name reported by NetrServerGetInfo (sv100_name)
	Comment    string      // server comment (sv101_comment); may be empty
	Shares     ShareSource // shares for srvsvc; nil means none

	assocGroups atomic.Uint32
	initOnce    sync.Once
	endpoints   map[string]endpoint
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.endpoints = map[string]endpoint{
			"srvsvc": {secAddr: `\PIPE\srvsvc`, interfaces: []*Interface{newSrvsvc(s)}},
		}
	})
}

// newAssocGroup hands out association group ids for binds that ask for a new group (assoc_group_id 0).
func (s *Server) newAssocGroup() uint32 {
	const base = 0x53f0
	return base + s.assocGroups.Add(1)
}

// normalizePipeName accepts the forms clients use: "srvsvc" (SMB2 CREATE on IPC$), "\srvsvc",
// "\PIPE\srvsvc" (SMB1), any case.
func normalizePipeName(name string) string {
	n := strings.TrimLeft(name, `\`)
	if len(n) > 5 && strings.EqualFold(n[:5], `PIPE\`) {
		n = n[5:]
	}
	return strings.ToLower(n)
}

// OpenPipe opens one instance of the named pipe for an ordinary (non-administrator) caller. Unknown names
// return ErrNoSuchPipe.
func (s *Server) OpenPipe(name string) (*Pipe, error) { return s.OpenPipeAs(name, Caller{}) }

// OpenPipeAs opens the pipe for caller; administrators may read the admin-only srvsvc levels (share
// paths: SHARE_INFO_2/502, SERVER_INFO_102), as on Windows (MS-SRVS 3.1.4.8, 3.1.4.10, 3.1.4.17).
func (s *Server) OpenPipeAs(name string, caller Caller) (*Pipe, error) {
	s.init()
	ep, ok := s.endpoints[normalizePipeName(name)]
	if !ok {
		return nil, fmt.Errorf("open pipe %q: %w", name, ErrNoSuchPipe)
	}
	return &Pipe{server: s, ep: ep, caller: caller}, nil
}

// Pipe is one open named-pipe instance: an RPC association with its bind state, partially received
// PDUs and queued response fragments. Its methods are safe for concurrent use.
//
// The pipe is message-mode as on Windows: each response fragment is one message, so Read never returns
// bytes of two fragments together, and a fragment larger than the read is continued by the next Read.
type Pipe struct {
	server *Server
	ep     endpoint
	caller Caller

	mu         sync.Mutex
	closed     bool
	broken     error  // set after a framing error; the byte stream cannot be resynchronised
	in         []byte // received bytes not yet forming a whole PDU
	out        [][]byte
	outOff     int // bytes of out[0] already read
	outBytes   int
	bound      bool
	maxXmit    int // largest fragment we send
	assocGroup uint32
	contexts   map[uint16]*Interface
	features   uint16 // bind time features acknowledged (MS-RPCE 3.3.1.5.3)
	call       *partialCall
}

// partialCall collects the fragments of one request (C706 12.4.3).
type partialCall struct {
	callID    uint32
	contextID uint16
	opnum     uint16
	stub      []byte
}

// Write accepts client bytes (an SMB WRITE or the input of a transceive). Bytes may hold several PDUs or
// part of one; whole PDUs are processed at once and their responses queued for Read.
func (p *Pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.writeLocked(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p *Pipe) writeLocked(b []byte) error {
	if p.closed {
		return ErrPipeClosed
	}
	if p.broken != nil {
		return p.broken
	}
	if p.outBytes > maxQueuedOut {
		return fmt.Errorf("pipe write of %d bytes with %d response bytes unread: %w", len(b), p.outBytes, ErrPipeFull)
	}
	p.in = append(p.in, b...)
	for len(p.in) >= headerLen {
		h, err := parseHeader(p.in)
		if err != nil {
			p.in = nil
			p.broken = fmt.Errorf("pipe %s: %v: %w", p.ep.secAddr, err, ErrProtocol)
			return p.broken
		}
		if len(p.in) < int(h.FragLen) {
			break
		}
		pdu := p.in[:h.FragLen:h.FragLen]
		p.handlePDU(h, pdu)
		p.in = p.in[h.FragLen:]
	}
	if len(p.in) == 0 {
		p.in = nil // drop the backing array once nothing is pending
	}
	return nil
}

// Read returns up to max bytes of the next queued response fragment. more reports that the fragment has
// bytes beyond max, which the SMB server answers with STATUS_BUFFER_OVERFLOW; the rest comes with the next
// Read. ErrPipeEmpty means nothing is queued.
func (p *Pipe) Read(max int) (b []byte, more bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readLocked(max)
}

func (p *Pipe) readLocked(max int) ([]byte, bool, error) {
	if p.closed {
		return nil, false, ErrPipeClosed
	}
	if max <= 0 {
		return nil, false, fmt.Errorf("pipe read of %d bytes: %w", max, ErrProtocol)
	}
	if len(p.out) == 0 {
		return nil, false, ErrPipeEmpty
	}
	frag := p.out[0][p.outOff:]
	if len(frag) > max {
		p.outOff += max
		p.outBytes -= max
		return frag[:max:max], true, nil
	}
	p.out[0] = nil
	p.out = p.out[1:]
	p.outOff = 0
	p.outBytes -= len(frag)
	return frag, false, nil
}

// Transact is FSCTL_PIPE_TRANSCEIVE: write in, then read the first response fragment. Like NPFS it refuses
// with ErrPipeBusy when earlier responses are still unread.
func (p *Pipe) Transact(in []byte, max int) (out []byte, more bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false, ErrPipeClosed
	}
	if len(p.out) > 0 {
		return nil, false, fmt.Errorf("pipe transceive with %d unread fragments: %w", len(p.out), ErrPipeBusy)
	}
	if err := p.writeLocked(in); err != nil {
		return nil, false, err
	}
	return p.readLocked(max)
}

// Close releases the pipe; later calls fail with ErrPipeClosed.
func (p *Pipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPipeClosed
	}
	p.closed = true
	p.in, p.out, p.call, p.contexts = nil, nil, nil, nil
	return nil
}

func (p *Pipe) queue(pdus ...[]byte) {
	for _, b := range pdus {
		p.out = append(p.out, b)
		p.outBytes += len(b)
	}
}

// handlePDU processes one whole PDU.
func (p *Pipe) handlePDU(h header, b []byte) {
	switch h.Type {
	case ptypeBind:
		p.handleBind(h, b, false)
	case ptypeAlterContext:
		p.handleBind(h, b, true)
	case ptypeRequest:
		p.handleRequest(h, b)
	case ptypeOrphaned:
		// MS-RPCE 3.3.1.5.10: the client abandoned the call; drop its fragments, send nothing.
		if p.call != nil && p.call.callID == h.CallID {
			p.call = nil
		}
	case ptypeCoCancel, ptypeAuth3:
		// Calls run to completion synchronously, so there is nothing to cancel; rpc_auth_3 only
		// follows a bind with authentication, which we refuse. Neither gets an answer.
	default:
		p.queue(appendFault(h.CallID, 0, FaultProtocolError, true))
	}
}

func (p *Pipe) handleBind(h header, b []byte, alter bool) {
	if !h.littleEndian() {
		// We only produce and parse little-endian NDR; a big-endian client cannot use us.
		p.rejectBind(h, alter, nakReasonNotSpecified)
		return
	}
	if h.AuthLen != 0 {
		// SMB already authenticated the pipe's user; RPC-level authentication is not offered.
		p.rejectBind(h, alter, nakAuthTypeNotRecognized)
		return
	}
	if !alter && p.bound {
		// C706 12.6.4.3: one bind per association; later changes use alter_context.
		p.rejectBind(h, alter, nakReasonNotSpecified)
		return
	}
	if alter && !p.bound {
		p.queue(appendFault(h.CallID, 0, FaultProtocolError, true))
		return
	}
	req, err := parseBind(h, b)
	if err != nil || len(req.Contexts) == 0 {
		p.rejectBind(h, alter, nakReasonNotSpecified)
		return
	}
	if p.contexts == nil {
		p.contexts = make(map[uint16]*Interface)
	}
	results := make([]contextResult, 0, len(req.Contexts))
	for _, c := range req.Contexts {
		results = append(results, p.negotiateContext(c))
	}
	if !alter {
		p.bound = true
		p.maxXmit = clampFrag(req.MaxRecvFrag)
		p.assocGroup = req.AssocGroupID
		if p.assocGroup == 0 {
			p.assocGroup = p.server.newAssocGroup()
		}
		p.queue(appendBindAck(ptypeBindAck, h.CallID, uint16(p.maxXmit), uint16(clampFrag(req.MaxXmitFrag)), p.assocGroup, p.ep.secAddr, results))
		return
	}
	p.queue(appendBindAck(ptypeAlterContextResp, h.CallID, uint16(p.maxXmit), uint16(p.maxXmit), p.assocGroup, "", results))
}

// clampFrag picks the fragment size for one direction: no larger than the peer can take or than we offer,
// no smaller than the size every implementation must accept (C706 12.6.3.1 MustRecvFragSize).
func clampFrag[T ~uint16 | ~int](peer T) int {
	n := int(peer)
	if n > serverMaxFrag {
		n = serverMaxFrag
	}
	if n < mustRecvFragSize {
		n = mustRecvFragSize
	}
	return n
}

func (p *Pipe) rejectBind(h header, alter bool, reason uint16) {
	if alter {
		// alter_context has no nak; C706 12.5.2.x answers a failed alter_context with a fault.
		p.queue(appendFault(h.CallID, 0, FaultProtocolError, true))
		return
	}
	p.queue(appendBindNak(h.CallID, reason))
}

// negotiateContext decides one presentation context (C706 12.6.4.4 p_result_list, MS-RPCE 3.3.1.5.3).
func (p *Pipe) negotiateContext(c contextElem) contextResult {
	if len(c.Transfers) == 1 {
		if bits, ok := isBindTimeFeature(c.Transfers[0]); ok {
			// negotiate_ack carries the features both sides support in the reason field and a zero
			// transfer syntax; the context id is not usable for calls.
			p.features = bits & supportedBindTimeFeatures
			return contextResult{Result: resultNegotiateAck, Reason: p.features}
		}
	}
	var iface *Interface
	for _, i := range p.ep.interfaces {
		// C706 12.6.3.1: major versions must match; a client minor version up to ours is compatible.
		if i.Syntax.UUID == c.Abstract.UUID && i.Syntax.Major == c.Abstract.Major && c.Abstract.Minor <= i.Syntax.Minor {
			iface = i
			break
		}
	}
	if iface == nil {
		return contextResult{Result: resultProviderRejection, Reason: reasonAbstractSyntaxNS}
	}
	for _, ts := range c.Transfers {
		if ts == TransferNDR {
			p.contexts[c.ContextID] = iface
			return contextResult{Result: resultAcceptance, Reason: reasonNotSpecified, Transfer: TransferNDR}
		}
	}
	return contextResult{Result: resultProviderRejection, Reason: reasonTransferSyntaxesNS}
}

func (p *Pipe) handleRequest(h header, b []byte) {
	if !p.bound {
		p.call = nil
		p.queue(appendFault(h.CallID, 0, FaultProtocolError, true))
		return
	}
	req, err := parseRequest(h, b)
	if err != nil || h.AuthLen != 0 {
		// A malformed request or an auth verifier on an association without security context.
		p.call = nil
		p.queue(appendFault(h.CallID, req.ContextID, FaultProtocolError, true))
		return
	}
	if !h.littleEndian() {
		p.call = nil
		p.queue(appendFault(h.CallID, req.ContextID, FaultUnsupportedType, true))
		return
	}
	if h.Flags&pfcFirstFrag != 0 {
		p.call = &partialCall{callID: h.CallID, contextID: req.ContextID, opnum: req.Opnum}
	} else if p.call == nil || p.call.callID != h.CallID {
		// A middle or last fragment of a call we have no start of.
		p.queue(appendFault(h.CallID, req.ContextID, FaultProtocolError, true))
		return
	}
	call := p.call
	if len(call.stub)+len(req.Stub) > maxCallStub {
		p.call = nil
		p.queue(appendFault(h.CallID, call.contextID, FaultRemoteNoMemory, true))
		return
	}
	call.stub = append(call.stub, req.Stub...)
	if h.Flags&pfcLastFrag == 0 {
		return
	}
	p.call = nil
	p.dispatch(call)
}

func (p *Pipe) dispatch(call *partialCall) {
	iface, ok := p.contexts[call.contextID]
	if !ok {
		p.queue(appendFault(call.callID, call.contextID, FaultUnknownInterface, true))
		return
	}
	stub, err := iface.Invoke(&Call{Opnum: call.opnum, Stub: call.stub, Caller: p.caller})
	if err != nil {
		var f *Fault
		switch {
		case errors.As(err, &f):
			p.queue(appendFault(call.callID, call.contextID, f.Status, f.Status == FaultOpRangeError))
		case errors.Is(err, ErrNDR):
			p.queue(appendFault(call.callID, call.contextID, FaultNDR, true))
		default:
			p.queue(appendFault(call.callID, call.contextID, FaultUnspecified, false))
		}
		return
	}
	p.queue(appendResponses(nil, call.callID, call.contextID, stub, p.maxXmit)...)
}
