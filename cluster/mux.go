package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// DefaultPort is the cluster port, as in Windows failover clustering.
const DefaultPort = 3343

// Stream tags: the first byte a client sends after the TLS handshake selects the service.
const (
	tagRaft       byte = 'R'
	tagMemberlist byte = 'M'
	tagAdmin      byte = 'A'
	tagJoin       byte = 'J' // the only service reachable without a cluster certificate
)

// Mux is the node's single mTLS listener. It multiplexes raft, memberlist streams, the admin
// API and the join service by a one-byte tag after the TLS handshake. A peer without a
// certificate signed by the cluster CA can reach only the join service.
type Mux struct {
	ln   net.Listener
	id   *TLSIdentity
	log  *slog.Logger
	subs map[byte]*chanListener

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewMux listens on addr.
func NewMux(addr string, id *TLSIdentity, log *slog.Logger) (*Mux, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster listener %s: %w", addr, err)
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Mux{ln: ln, id: id, log: log.With("component", "NET"), subs: map[byte]*chanListener{}}
	for _, t := range []byte{tagRaft, tagMemberlist, tagAdmin, tagJoin} {
		m.subs[t] = newChanListener(ln.Addr())
	}
	m.wg.Add(1)
	go m.serve()
	return m, nil
}

// Addr is the bound address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Listener returns the listener for one tag.
func (m *Mux) Listener(tag byte) net.Listener { return m.subs[tag] }

// Close stops accepting and closes every sub-listener.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	err := m.ln.Close()
	for _, s := range m.subs {
		s.Close()
	}
	m.wg.Wait()
	return err
}

func (m *Mux) serve() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		go m.handle(c)
	}
}

func (m *Mux) handle(raw net.Conn) {
	tc := tls.Server(raw, m.id.serverConfig())
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		m.log.Debug("TLS handshake failed", "remote", raw.RemoteAddr(), "err", err)
		raw.Close()
		return
	}
	var tag [1]byte
	if _, err := tc.Read(tag[:]); err != nil {
		tc.Close()
		return
	}
	raw.SetDeadline(time.Time{})
	sub, ok := m.subs[tag[0]]
	if !ok {
		m.log.Warn("unknown stream tag", "remote", raw.RemoteAddr(), "tag", tag[0])
		tc.Close()
		return
	}
	if tag[0] != tagJoin && len(tc.ConnectionState().VerifiedChains) == 0 {
		m.log.Warn("refused connection without a cluster certificate", "remote", raw.RemoteAddr(), "tag", string(tag[:]))
		tc.Close()
		return
	}
	if !sub.deliver(tc) {
		tc.Close()
	}
}

// dialTag opens an mTLS stream to addr for tag.
func dialTag(ctx context.Context, id *TLSIdentity, addr string, tag byte) (net.Conn, error) {
	return dialTagVia(ctx, id, addr, tag, nil)
}

// rawDialer opens the TCP connection under the TLS stream; nil means a plain net.Dialer.
// Tests inject one that opens sockets inside a network namespace.
type rawDialer func(ctx context.Context, network, addr string) (net.Conn, error)

// dialTagVia is dialTag over connections from raw.
func dialTagVia(ctx context.Context, id *TLSIdentity, addr string, tag byte, raw rawDialer) (net.Conn, error) {
	if raw == nil {
		raw = (&net.Dialer{}).DialContext
	}
	rc, err := raw(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := tls.Client(rc, id.clientConfig())
	if err := c.HandshakeContext(ctx); err != nil {
		rc.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if _, err := c.Write([]byte{tag}); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return c, nil
}

// chanListener is a net.Listener fed by the mux.
type chanListener struct {
	addr   net.Addr
	ch     chan net.Conn
	done   chan struct{}
	closeO sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	case <-time.After(10 * time.Second): // nobody accepting: drop rather than pile up
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closeO.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// raftStream is raft's StreamLayer over the mux.
type raftStream struct {
	*chanListener
	id        *TLSIdentity
	advertise net.Addr
}

func (r *raftStream) Addr() net.Addr { return r.advertise }

func (r *raftStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialTag(ctx, r.id, string(address), tagRaft)
}

// errNoCert is returned by the join client when the server's CA does not match the token.
var errNoCert = errors.New("server certificate does not match the join token's CA fingerprint")
