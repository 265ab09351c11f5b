package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sofs-dev/sofs/smb/crypto"
	"github.com/sofs-dev/sofs/smb/wire"
)

// Direct TCP transport (MS-SMB2 2.1): each message is preceded by a zero byte and a 24-bit
// big-endian length.
const (
	frameHeaderSize = 4
	maxFrameLen     = 1<<24 - 1
	// handshakeFrameLimit bounds frames before a session exists: negotiate and session setup
	// messages are small, so a hostile client cannot make us allocate megabytes unauthenticated.
	handshakeFrameLimit = 64 << 10
)

// errDropConnection tells the pipeline to close the connection without a response (MS-SMB2
// requires this for sequence-number violations, bad signatures on encrypted frames, etc.).
var errDropConnection = errors.New("drop connection")

// errBodyDone tells the pipeline the handler already wrote an error response body and set
// r.status (an error that carries data, such as STATUS_BUFFER_TOO_SMALL with the size needed).
var errBodyDone = errors.New("error body written")

// negotiation is the immutable outcome of NEGOTIATE on a connection.
type negotiation struct {
	di             dialectInfo
	clientGUID     wire.GUID
	clientCaps     uint32
	clientSecMode  uint16
	clientDialects []wire.Dialect
	cipher         uint16 // negotiated cipher (3.1.1 context, or AES-128-CCM for 3.0/3.0.2)
	signAlgo       uint16 // negotiated 3.1.1 signing algorithm
	maxRead        uint32
	maxWrite       uint32
	maxTransact    uint32
}

// conn is one client transport connection.
type conn struct {
	srv     *Server
	nc      net.Conn
	ctx     context.Context // ends when the connection closes: waits on its behalf stop
	stop    context.CancelFunc
	log     *slog.Logger
	credits *creditWindow
	slots   chan struct{} // bounds requests in flight
	wmu     sync.Mutex    // serialises frame writes
	closed  atomic.Bool
	// authenticated switches the read deadline from the handshake timeout to the idle timeout.
	authenticated atomic.Bool

	// neg is what NEGOTIATE settled, published once and never changed: requests read it
	// without locking. Nil until negotiated.
	neg atomic.Pointer[negotiation]

	mu           sync.Mutex          // guards the preauth hash and the maps below
	preauth      []byte              // connection preauth integrity hash (3.1.1)
	sessions     map[uint64]*session // created here or bound here (channels)
	binds        map[uint64]*binding // session bindings under way on this connection
	departed     []departedSession   // sessions that ended here lately, to sign their last words
	pendingMsg   map[uint64]*request // cancellable requests by MessageId
	pendingAsync map[uint64]*request // async requests by AsyncId
	nextAsync    uint64
	// earlyCancels remembers CANCELs that arrived before their request registered (frames are
	// handled concurrently, so a client's immediate CANCEL can overtake its request).
	earlyCancels []uint64

	// Pipes that WRITE data is spliced into (recvfile.go), and the socket it comes from.
	pipeMu      sync.Mutex
	pipes       []*recvPipe // empty, for later WRITEs
	pipesClosed bool
	rawOnce     sync.Once
	rawConn     syscall.RawConn
}

// maxEarlyCancels bounds the early-cancel memory; older entries are forgotten.
const maxEarlyCancels = 64

func newConn(s *Server, nc net.Conn) *conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		srv:          s,
		nc:           nc,
		ctx:          ctx,
		stop:         cancel,
		log:          s.log.With("client", nc.RemoteAddr().String()),
		credits:      newCreditWindow(s.cfg.MaxCredits),
		slots:        make(chan struct{}, s.cfg.MaxOutstanding),
		sessions:     make(map[uint64]*session),
		binds:        make(map[uint64]*binding),
		pendingMsg:   make(map[uint64]*request),
		pendingAsync: make(map[uint64]*request),
	}
}

// readBufferSize is the connection's read buffer: room for a few small requests.
const readBufferSize = 16 << 10

// serve reads frames until the connection fails, idles out or the server shuts down.
func (c *conn) serve() {
	defer c.teardown()
	var hdr [frameHeaderSize]byte
	var inflight sync.WaitGroup
	defer func() {
		// The connection is gone once reading ends: stop it first, so that requests blocked
		// on it (a pending CHANGE_NOTIFY, a lock wait) end instead of holding teardown back.
		c.close()
		inflight.Wait()
	}()
	// Frames are handled concurrently, but each starts only once the frame before it has
	// passed its ordering point: at once for most frames, after registering its request for a
	// chain that starts with CHANGE_NOTIFY. So two notifies on one handle queue in the order the
	// client sent them, and a CLOSE sent after a notify finds it pending and completes it with
	// STATUS_NOTIFY_CLEANUP instead of overtaking it (smbtorture smb2.notify.double and dir).
	prevTurn := make(chan struct{})
	close(prevTurn)
	// Reads go through a small buffer so a frame's length prefix and a small request arrive in
	// one read system call (and pipelined small requests in one for several); a large WRITE's
	// payload bypasses it, bufio reading straight into the frame once its buffer is drained.
	rd := bufio.NewReaderSize(c.nc, readBufferSize)
	for {
		timeout := c.srv.cfg.HandshakeTimeout
		limit := handshakeFrameLimit
		if c.authenticated.Load() {
			timeout = c.srv.cfg.IdleTimeout
			limit = int(c.srv.cfg.MaxIOSize) + 1<<20 // payload + headers, compounds, transform
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			c.logEnd(err)
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:]) & maxFrameLen)
		if hdr[0] != 0 || n < 4 || n > limit {
			c.log.Warn("dropping connection: bad frame", "type", hdr[0], "length", n, "limit", limit)
			return
		}
		// A large plain WRITE is read up to its data, which goes into a pipe for the handler
		// to splice into the file (recvfile.go).
		dataLen, plainWrite := 0, false
		if c.authenticated.Load() && n >= wire.WriteHeadSize+recvFileMin {
			if head, err := rd.Peek(wire.WriteHeadSize); err == nil {
				dataLen, plainWrite = wire.WritePayloadLen(head, n)
			}
		}
		var frame []byte
		var payload *writePayload
		var err error
		if plainWrite {
			frame, payload, err = c.readPlainWrite(rd, n, dataLen)
		} else {
			frame = getBuf(n)[:n]
			if _, err = io.ReadFull(rd, frame); err != nil {
				putBuf(frame)
			}
		}
		if err != nil {
			c.logEnd(err)
			return
		}
		c.slots <- struct{}{}
		inflight.Add(1)
		after, turn := prevTurn, make(chan struct{})
		prevTurn = turn
		go func() {
			var once sync.Once
			release := func() { once.Do(func() { close(turn) }) }
			defer release()
			defer func() { putBuf(frame); <-c.slots; inflight.Done() }()
			if payload != nil {
				defer payload.discard() // a request refused before its data was needed
			}
			defer func() {
				// A bug in a handler must not take every other client down with it: log it
				// loudly (tests fail on it) and drop only this connection.
				if p := recover(); p != nil {
					c.log.Error("panic while handling a request; closing connection", "panic", p, "stack", string(debug.Stack()))
					c.close()
				}
			}()
			<-after // every earlier frame is past its ordering point
			if err := c.handleFrame(frame, payload, release); err != nil {
				c.log.Debug("closing connection", "reason", err)
				c.close()
			}
		}()
	}
}

func (c *conn) logEnd(err error) {
	if errors.Is(err, io.EOF) || c.closed.Load() {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.log.Info("reaping idle connection")
		return
	}
	c.log.Debug("connection read ended", "err", err)
}

func (c *conn) close() {
	if c.closed.CompareAndSwap(false, true) {
		c.stop()
		c.nc.Close()
	}
}

// teardown releases everything the connection held: sessions, trees, opens.
func (c *conn) teardown() {
	c.close()
	c.closePipes()
	c.mu.Lock()
	sessions := make([]*session, 0, len(c.sessions))
	for _, s := range c.sessions {
		sessions = append(sessions, s)
	}
	c.sessions = map[uint64]*session{}
	c.binds = map[uint64]*binding{}
	c.mu.Unlock()
	for _, s := range sessions {
		// A session outlives one of its channels (MS-SMB2 3.3.7.1): only the last one ends it.
		if s.dropChannel(c) {
			continue
		}
		c.srv.removeSession(s)
		s.logoff()
	}
}

// writeFrame sends one transport frame made of the given parts.
func (c *conn) writeFrame(parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeFrameLocked(n, parts...)
}

// writeFrameLocked writes the frame header for a frame of n bytes and the parts that begin it;
// the caller holds wmu and writes whatever of n the parts do not cover.
func (c *conn) writeFrameLocked(n int, parts ...[]byte) error {
	var hdr [frameHeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(n))
	bufs := make(net.Buffers, 0, len(parts)+1)
	bufs = append(bufs, hdr[:])
	bufs = append(bufs, parts...)
	_, err := bufs.WriteTo(c.nc)
	return err
}

// handleFrame runs one frame through the pipeline. release lets the next frame start (see
// serve); it may be called more than once.
//
// payload is the data of a plain WRITE still in the socket (frame then holds only its head), or
// nil.
func (c *conn) handleFrame(frame []byte, payload *writePayload, release func()) error {
	if payload != nil {
		return c.handleChainPayload(frame, nil, release, payload)
	}
	switch {
	case bytes.HasPrefix(frame, []byte("\xffSMB")):
		release()
		return c.handleSMB1(frame)
	case bytes.HasPrefix(frame, []byte("\xfdSMB")):
		return c.handleEncrypted(frame, release)
	case bytes.HasPrefix(frame, []byte("\xfeSMB")):
		return c.handleChainPayload(frame, nil, release, nil)
	default:
		// Includes compressed frames (0xFC): we never negotiate compression.
		return errDropConnection
	}
}

// handleEncrypted decrypts a transform frame (MS-SMB2 3.3.5.2.1.1) and handles the chain inside.
// Any failure to find the session or authenticate the ciphertext terminates the connection.
func (c *conn) handleEncrypted(frame []byte, release func()) error {
	if len(frame) < 52 {
		return errDropConnection
	}
	sid := binary.LittleEndian.Uint64(frame[44:])
	sess := c.srv.lookupSession(sid)
	if sess == nil || sess.transformer() == nil {
		return errDropConnection
	}
	msg, gotSID, err := sess.transformer().DecryptInPlace(frame)
	if err != nil || gotSID != sid {
		c.log.Warn("dropping connection: decryption failed", "session", sid, "err", err)
		return errDropConnection
	}
	return c.handleChain(msg, sess, release)
}

// request is one message of a chain on its way through the pipeline.
type request struct {
	c         *conn
	msg       []byte
	hdr       wire.Header
	cmd       wire.Command
	encrypted bool     // arrived inside a transform
	sess      *session // effective session (nil before authentication)
	tree      *tree
	fileID    wire.FileID // effective FileId for related operations (set by handlers)
	resp      []byte      // response: header at [0:64], body after
	status    wire.Status
	// noResponse: CANCEL and other messages answered by nothing.
	noResponse bool
	// signAlways: sign the response even if the request was not signed (final session setup).
	signAlways bool
	// signer session for the response when it differs from sess (session setup creates it).
	signSess *session
	// unverified: the request failed its signature, signing or encryption check.
	unverified bool
	// signer, when set, signs the response instead of the channel's key (verifySetup).
	signer crypto.Signer
	// csnOpen is the open whose channel sequence admitted this request (channelseq.go).
	csnOpen *open
	// after runs once the response bytes are final (signed), before encryption: preauth hashing.
	after func(resp []byte)
	// sendfile is READ data left in the file, to follow resp on the wire (sendfile.go).
	sendfile *fileSend
	// payload is a WRITE's data still in the connection (recvfile.go).
	payload *writePayload

	chain   *chain // the chain this request arrived in
	last    bool   // last request of its chain (only the last may go async)
	asyncID uint64 // non-zero once an interim response went out
	// asyncRefused: the request would have blocked but was not last in its chain, so it failed
	// without effect; related requests after it proceed normally.
	asyncRefused bool
	reqCtx       context.Context
	cancel       context.CancelFunc
}

// chain holds the responses of one received chain that are not sent yet.
type chain struct {
	reqs    []*request
	encSess *session
	// createErr is the status of the chain's last CREATE when it failed: related requests
	// after it fail the same way (MS-SMB2 3.3.5.2.7.2), while a failed READ or WRITE does not
	// fail what follows it (smbtorture compound.related4 and related6, as Samba and Windows).
	createErr wire.Status
	// ordered, when set, lets the connection's next frame start: the chain starts with a
	// CHANGE_NOTIFY, which calls it once its request is registered (notify.go).
	ordered func()
}

// releaseOrder lets the next frame of the connection start (see serve).
func (ch *chain) releaseOrder() {
	if ch.ordered != nil {
		ch.ordered()
	}
}

// handleChain processes a chain of compounded messages and sends their responses as one frame.
// encSess is the session whose key decrypted the frame, or nil.
func (c *conn) handleChain(buf []byte, encSess *session, release func()) error {
	return c.handleChainPayload(buf, encSess, release, nil)
}

// handleChainPayload is handleChain for a chain whose one WRITE has its data still in the
// connection (payload, or nil for an ordinary chain).
func (c *conn) handleChainPayload(buf []byte, encSess *session, release func(), payload *writePayload) error {
	ch := &chain{encSess: encSess}
	// Only a chain that starts with CHANGE_NOTIFY holds the next frame back, and only until
	// the notify is queued: nothing before that point waits for another frame.
	if wire.CheckHeader(buf) == nil && wire.Header(buf).Command() == wire.CmdChangeNotify {
		ch.ordered = release
	} else {
		release()
	}
	var prev *request
	for rest := buf; len(rest) > 0; {
		msg, next, err := wire.NextMessage(rest)
		if err != nil {
			return errDropConnection
		}
		r := &request{c: c, msg: msg, hdr: wire.Header(msg), encrypted: encSess != nil, chain: ch, last: len(next) == 0, payload: payload}
		err = c.process(r, prev)
		c.forgetPending(r)
		if err != nil {
			return err
		}
		if r.cmd == wire.CmdCreate && !r.asyncRefused {
			ch.createErr = wire.StatusSuccess
			if r.status != wire.StatusSuccess {
				ch.createErr = r.status
			}
		}
		if !r.noResponse {
			ch.reqs = append(ch.reqs, r)
		}
		prev = r
		rest = next
	}
	return c.send(ch.reqs, ch.encSess)
}

// refuseUnencrypted fails a plain request on a session that encrypts (MS-SMB2 3.3.5.2.9) and
// encrypts the refusal, as Windows and Samba do: the client can read it with the session's
// keys whatever channel it came on, where a signature might be one it cannot check.
func (c *conn) refuseUnencrypted(r *request, s *session) wire.Status {
	if !s.encryptData {
		return wire.StatusSuccess
	}
	if r.chain.encSess == nil && s.transformer() != nil {
		r.chain.encSess = s
	}
	return wire.StatusAccessDenied
}

// process runs the pipeline for one message; it returns an error only to drop the connection.
func (c *conn) process(r *request, prev *request) error {
	if err := wire.CheckHeader(r.msg); err != nil || r.hdr.IsResponse() {
		return errDropConnection
	}
	r.cmd = r.hdr.Command()
	if r.cmd == wire.CmdCancel {
		r.noResponse = true
		c.cancel(r)
		return nil
	}
	neg := c.neg.Load()
	if neg == nil && r.cmd != wire.CmdNegotiate {
		return errDropConnection // MS-SMB2 3.3.5.2: nothing before NEGOTIATE
	}
	charge := r.hdr.CreditCharge()
	if neg == nil || !neg.di.multiCredit {
		charge = 1
	}
	if !c.credits.consume(r.hdr.MessageID(), charge) {
		c.log.Warn("dropping connection: message id outside the credit window", "mid", r.hdr.MessageID(), "charge", charge)
		return errDropConnection
	}

	sessionID, treeID := r.hdr.SessionID(), r.hdr.TreeID()
	if r.hdr.IsRelated() {
		if prev == nil {
			// A chain that starts related has no FileId to inherit; what follows fails the
			// same way (smbtorture compound.related9).
			r.chain.createErr = wire.StatusInvalidParameter
			return c.fail(r, sessionID, treeID, wire.StatusInvalidParameter)
		}
		sessionID, treeID, r.fileID = prev.hdr.SessionID(), prev.hdr.TreeID(), prev.fileID
		if prev.sess != nil {
			sessionID = prev.sess.id
		}
		if prev.tree != nil {
			treeID = prev.tree.id
		}
		// MS-SMB2 3.3.5.2.7.2: an operation that takes its FileId from a failed CREATE fails
		// the same way (chain.createErr; a CREATE that could not go async in mid-chain does
		// not count, smbtorture compound.interim2). Malformed or unknown commands are refused
		// first.
		if !knownCommand(r.cmd) {
			return c.fail(r, sessionID, treeID, wire.StatusInvalidParameter)
		}
		if usesFileID(r.cmd) && r.chain.createErr != wire.StatusSuccess {
			return c.fail(r, sessionID, treeID, r.chain.createErr)
		}
	}
	r.resp = getBuf(64 << 10)[:wire.HeaderSize]
	wire.Header(r.resp).InitResponse(r.hdr)
	wire.Header(r.resp).SetSessionID(sessionID)
	wire.Header(r.resp).SetTreeID(treeID)

	if st := c.authorize(r, sessionID, treeID); st != wire.StatusSuccess {
		// Every ACCESS_DENIED of authorize is a failed signature, signing or encryption check.
		r.unverified = st == wire.StatusAccessDenied && r.signer == nil
		return c.finish(r, st, nil)
	}
	if err := wire.CheckRequestSize(r.cmd, r.msg); err != nil {
		return c.finish(r, wire.StatusInvalidParameter, nil)
	}
	var h handlerFunc
	if int(r.cmd) < len(handlers) {
		h = handlers[r.cmd]
	}
	if h == nil {
		return c.finish(r, wire.StatusNotSupported, nil)
	}
	if c.log.Enabled(c.ctx, slog.LevelDebug) {
		c.log.Debug("request", "cmd", r.cmd.String(), "mid", r.hdr.MessageID(), "session", sessionID, "tree", treeID, "last", r.last)
	}
	err := h(r)
	r.finishChannelSequence()
	if errors.Is(err, errDropConnection) {
		return err
	}
	if errors.Is(err, errBodyDone) {
		return c.finish(r, r.status, nil)
	}
	return c.finish(r, r.status, err)
}

// authorize finds the session and tree, verifies the signature and the encryption requirement
// (MS-SMB2 3.3.5.2.4, 3.3.5.2.9, 3.3.5.2.11).
func (c *conn) authorize(r *request, sessionID uint64, treeID uint32) wire.Status {
	switch r.cmd {
	case wire.CmdNegotiate:
		return wire.StatusSuccess
	case wire.CmdSessionSetup:
		// The handler resolves the session itself (new, continuing, re-authenticating), but a
		// re-authentication on an established session must be signed like any other request.
		if sessionID == 0 {
			return wire.StatusSuccess
		}
		if binding := isBindingRequest(r.msg); binding {
			return c.authorizeBinding(r, sessionID)
		}
		s := c.session(sessionID)
		if s == nil {
			return c.notOnThisConnection(r, sessionID)
		}
		r.sess = s
		if s.valid() && !r.encrypted {
			// A re-authentication of an encrypting session must be encrypted (MS-SMB2
			// 3.2.4.1.8 exempts only binding); a signature cannot stand in for it.
			if st := c.refuseUnencrypted(r, s); st != wire.StatusSuccess {
				return st
			}
			if r.hdr.IsSigned() {
				if !c.verifySetup(r, s) {
					return wire.StatusAccessDenied
				}
			} else if s.signingRequired || s.encryptData {
				return wire.StatusAccessDenied
			}
		}
		return wire.StatusSuccess
	case wire.CmdEcho:
		if sessionID == 0 {
			return wire.StatusSuccess
		}
	}
	s := c.session(sessionID)
	if s == nil {
		return c.notOnThisConnection(r, sessionID)
	}
	if !s.valid() {
		return wire.StatusUserSessionDeleted
	}
	r.sess = s
	if !r.encrypted && r.cmd != wire.CmdEcho {
		if st := c.refuseUnencrypted(r, s); st != wire.StatusSuccess {
			return st
		}
	}
	if !r.encrypted {
		if r.hdr.IsSigned() {
			if !s.verifyOn(c, r.msg) {
				c.log.Warn("signature check failed", "session", s.id, "cmd", r.cmd.String())
				return wire.StatusAccessDenied
			}
		} else if s.signingRequired && r.cmd != wire.CmdEcho {
			return wire.StatusAccessDenied
		}
	}
	if !needsTree(r.cmd) {
		return wire.StatusSuccess
	}
	t := s.tree(treeID)
	if t == nil {
		return wire.StatusNetworkNameDeleted
	}
	r.tree = t
	if t.encrypt && !r.encrypted {
		return wire.StatusAccessDenied
	}
	return wire.StatusSuccess
}

func knownCommand(cmd wire.Command) bool { return cmd <= wire.CmdOplockBreak }

// usesFileID reports whether a command's request names an open by FileId.
func usesFileID(cmd wire.Command) bool {
	switch cmd {
	case wire.CmdClose, wire.CmdFlush, wire.CmdRead, wire.CmdWrite, wire.CmdLock, wire.CmdIoctl,
		wire.CmdQueryDirectory, wire.CmdChangeNotify, wire.CmdQueryInfo, wire.CmdSetInfo, wire.CmdOplockBreak:
		return true
	}
	return false
}

func needsTree(cmd wire.Command) bool {
	switch cmd {
	case wire.CmdNegotiate, wire.CmdSessionSetup, wire.CmdLogoff, wire.CmdTreeConnect, wire.CmdEcho, wire.CmdCancel:
		return false
	}
	return true
}

// fail answers r with an error status when the pipeline stopped before building a response.
func (c *conn) fail(r *request, sessionID uint64, treeID uint32, st wire.Status) error {
	r.resp = make([]byte, wire.HeaderSize, 128)
	wire.Header(r.resp).InitResponse(r.hdr)
	wire.Header(r.resp).SetSessionID(sessionID)
	wire.Header(r.resp).SetTreeID(treeID)
	return c.finish(r, st, nil)
}

// finish sets the status (from err when non-nil), adds an error body when the handler produced
// none, and grants credits.
func (c *conn) finish(r *request, st wire.Status, err error) error {
	if err != nil {
		st = c.statusFor(err, r)
		r.resp = r.resp[:wire.HeaderSize]
		c.log.Debug("request failed", "cmd", r.cmd.String(), "mid", r.hdr.MessageID(), "status", st.String(), "err", err)
	} else if st != wire.StatusSuccess && st != wire.StatusMoreProcessingRequired && st != wire.StatusBufferOverflow {
		c.log.Debug("request failed", "cmd", r.cmd.String(), "mid", r.hdr.MessageID(), "status", st.String())
	}
	r.status = st
	h := wire.Header(r.resp)
	h.SetStatus(st)
	if len(r.resp) == wire.HeaderSize {
		r.resp = (&wire.ErrorResponse{}).Append(r.resp)
		h = wire.Header(r.resp)
	}
	if r.asyncID != 0 {
		// The final response of an async operation carries its AsyncId; its credits were
		// granted in the interim response (MS-SMB2 3.3.4.2).
		h.SetFlags(h.Flags() | wire.FlagAsync)
		h.SetAsyncID(r.asyncID)
		h.SetCredits(0)
		return nil
	}
	h.SetCredits(c.credits.grant(r.hdr.Credits()))
	return nil
}

// send signs, chains, hashes and (when needed) encrypts the responses, then writes one frame.
func (c *conn) send(reqs []*request, encSess *session) error {
	if len(reqs) == 0 {
		return nil
	}
	if r := reqs[0]; len(reqs) == 1 && r.sendfile != nil && r.after == nil && encSess == nil && !c.signs(r, false) {
		defer putBuf(r.resp)
		if err := c.writeFrameSendfile(r.resp, r.sendfile); err != nil {
			return errDropConnection
		}
		return nil
	}
	for i, r := range reqs {
		if r.sendfile != nil {
			var err error
			if r.resp, err = r.sendfile.materialize(r.resp); err != nil {
				return errDropConnection
			}
			r.sendfile = nil
		}
		if len(reqs) > 1 {
			// Every response of a compound is 8-byte aligned, the last one included (Windows
			// and Samba pad it; smbtorture smb2.compound.compound-padding checks).
			r.resp = wire.Pad8(r.resp)
		}
		if i < len(reqs)-1 {
			wire.Header(r.resp).SetNextCommand(uint32(len(r.resp)))
		}
		c.sign(r, encSess != nil)
		if r.after != nil {
			r.after(r.resp)
		}
	}
	defer func() {
		for _, r := range reqs {
			putBuf(r.resp)
		}
	}()
	var payload []byte
	if len(reqs) == 1 {
		payload = reqs[0].resp
	} else {
		n := 0
		for _, r := range reqs {
			n += len(r.resp)
		}
		payload = getBuf(n)
		defer putBuf(payload)
		for _, r := range reqs {
			payload = append(payload, r.resp...)
		}
	}
	if encSess != nil {
		xf := encSess.transformer()
		enc := getBuf(len(payload) + xf.Overhead() + 16) // Encrypt needs room for the AEAD tag
		defer putBuf(enc)
		payload = xf.Encrypt(enc, payload, encSess.id)
	}
	if err := c.writeFrame(payload); err != nil {
		return errDropConnection
	}
	return nil
}

// sign signs a response when its session signs (MS-SMB2 3.3.4.1.1): encrypted responses are never
// signed; otherwise sign when the request was signed, the session requires signing, or the
// handler asked (final session setup).
func (c *conn) sign(r *request, encrypted bool) {
	signer := c.responseSigner(r, encrypted)
	if signer == nil {
		return
	}
	h := wire.Header(r.resp)
	h.SetFlags(h.Flags() | wire.FlagSigned)
	signer.Sign(r.resp)
}

// signs reports whether the response to r will be signed.
func (c *conn) signs(r *request, encrypted bool) bool { return c.responseSigner(r, encrypted) != nil }

// responseSigner is the signer of r's response, or nil when it goes unsigned.
func (c *conn) responseSigner(r *request, encrypted bool) crypto.Signer {
	s := r.signSess
	if s == nil {
		s = r.sess
	}
	if encrypted || r.status == wire.StatusPending {
		return nil
	}
	signer := r.signer
	if signer == nil {
		if s == nil || r.unverified {
			// A request that failed its signature or signing check gets an unsigned answer:
			// the peer may not hold the key, and a signature it cannot check makes it drop
			// the connection (smbtorture smb2.session.bind_negative_smb3signCtoH*).
			return nil
		}
		signer = s.signerOn(c)
	}
	if signer == nil {
		return nil
	}
	if !(r.hdr.IsSigned() || (s != nil && s.signingRequired) || r.signAlways) {
		return nil
	}
	return signer
}

// cancel handles SMB2 CANCEL (MS-SMB2 3.3.5.16): it finds the pending request by AsyncId (or by
// MessageId for one not yet async) and cancels its wait; the request then completes with
// STATUS_CANCELLED. CANCEL itself gets no response and consumes no credit.
func (c *conn) cancel(r *request) {
	c.mu.Lock()
	var target *request
	if r.hdr.IsAsync() {
		target = c.pendingAsync[r.hdr.AsyncID()]
	} else {
		target = c.pendingMsg[r.hdr.MessageID()]
		if target == nil {
			if len(c.earlyCancels) == maxEarlyCancels {
				c.earlyCancels = c.earlyCancels[1:]
			}
			c.earlyCancels = append(c.earlyCancels, r.hdr.MessageID())
		}
	}
	c.mu.Unlock()
	if target != nil && target.cancel != nil {
		target.cancel()
	}
}

// cancellable gives the request its own context that CANCEL can end, and registers it.
func (r *request) cancellable() context.Context { return r.cancellableFrom(r.c.ctx) }

// cancellableFrom is cancellable with a parent other than the connection's context (the first
// call decides).
func (r *request) cancellableFrom(parent context.Context) context.Context {
	if r.reqCtx == nil {
		r.reqCtx, r.cancel = context.WithCancel(parent)
		c := r.c
		mid := r.hdr.MessageID()
		c.mu.Lock()
		c.pendingMsg[mid] = r
		for i, m := range c.earlyCancels {
			if m == mid {
				c.earlyCancels = append(c.earlyCancels[:i], c.earlyCancels[i+1:]...)
				r.cancel()
				break
			}
		}
		c.mu.Unlock()
	}
	return r.reqCtx
}

// goAsync answers a request that is about to block with an interim STATUS_PENDING response
// (MS-SMB2 3.3.4.2), sending first whatever responses of its chain precede it. Only the last
// request of a chain can go async; others keep blocking synchronously. It reports whether the
// request went async.
func (r *request) goAsync() bool {
	c := r.c
	if !r.last || r.asyncID != 0 {
		return false
	}
	r.cancellable()
	c.mu.Lock()
	c.nextAsync++
	r.asyncID = c.nextAsync
	c.pendingAsync[r.asyncID] = r
	c.mu.Unlock()
	interim := &request{c: c, hdr: r.hdr, sess: r.sess, status: wire.StatusPending}
	interim.resp = make([]byte, wire.HeaderSize, wire.HeaderSize+16)
	copy(interim.resp, r.resp[:wire.HeaderSize])
	h := wire.Header(interim.resp)
	h.SetFlags(h.Flags() | wire.FlagAsync)
	h.SetAsyncID(r.asyncID)
	h.SetStatus(wire.StatusPending)
	h.SetCredits(c.credits.grant(r.hdr.Credits()))
	interim.resp = (&wire.ErrorResponse{}).Append(interim.resp)
	ch := r.chain
	out := append(ch.reqs, interim)
	ch.reqs = nil
	if err := c.send(out, ch.encSess); err != nil {
		c.close()
	}
	return true
}

// forgetPending drops a finished request from the cancel tables.
func (c *conn) forgetPending(r *request) {
	if r.reqCtx == nil {
		return
	}
	c.mu.Lock()
	delete(c.pendingMsg, r.hdr.MessageID())
	if r.asyncID != 0 {
		delete(c.pendingAsync, r.asyncID)
	}
	c.mu.Unlock()
	r.cancel()
}
