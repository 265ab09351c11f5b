// Package server is the SMB 2/3 server: it owns connections, credits, compounding, signing,
// encryption, sessions, trees and handles, and calls a vfs.FS for everything a share stores.
//
// One fixed pipeline runs for every request (conn.go): decrypt → validate → session/tree →
// verify signature → handler → credits → sign → compound → preauth hash → encrypt. Per-dialect
// differences live in the dialect table (dialect.go), not in handlers. Errors from handlers and
// backends become one NTSTATUS in one place (status.go).
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/sofs-dev/sofs/smb/rpc"
	"github.com/sofs-dev/sofs/smb/vfs"
)

// Share is one disk share.
type Share struct {
	Name              string
	Comment           string
	FS                vfs.FS
	ReadOnly          bool
	RequireEncryption bool
	// CaseSensitive turns off case-insensitive name lookup (on by default, as Windows clients expect).
	CaseSensitive bool
}

// Config holds the server's settings. Zero values take the documented defaults.
type Config struct {
	Shares []Share
	// Users authenticates clients (NTLMv2 over SPNEGO). Required.
	Users *auth.UserDB
	// ServerName is the NetBIOS-style name reported in NTLM target info (default "SOFS").
	ServerName string
	// Domain is the NetBIOS domain reported to clients (default "WORKGROUP").
	Domain string
	// ServerGUID identifies the server; keep it stable across restarts (default random).
	ServerGUID [16]byte
	// RequireSigning makes every non-guest session sign every message.
	RequireSigning bool
	// RequireEncryption makes every SMB 3.x session encrypt; clients that cannot are refused.
	RequireEncryption bool
	// MaxIOSize caps READ, WRITE and transact sizes for 2.1+ (default 8 MiB).
	MaxIOSize uint32
	// MaxCredits caps the credits a client may hold on one connection (default 8192).
	MaxCredits uint32
	// MaxOutstanding caps requests processed at once per connection (default 256); the read loop
	// stops reading while the cap is reached, which pushes back on the client through TCP.
	MaxOutstanding int
	// HandshakeTimeout bounds how long a connection may take to negotiate and authenticate
	// (default 30 s): half-open connections are reaped.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that sends nothing for this long (default 15 min; clients
	// send ECHO keep-alives far more often).
	IdleTimeout time.Duration
	// DurableTimeout caps how long a durable handle outlives its connection (default 180 s).
	DurableTimeout time.Duration
	Logger         *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Users == nil {
		return errors.New("server config: no user database")
	}
	if c.ServerName == "" {
		c.ServerName = "SOFS"
	}
	if c.Domain == "" {
		c.Domain = "WORKGROUP"
	}
	if c.ServerGUID == ([16]byte{}) {
		if _, err := rand.Read(c.ServerGUID[:]); err != nil {
			return fmt.Errorf("server config: server guid: %w", err)
		}
	}
	if c.MaxIOSize == 0 {
		c.MaxIOSize = 8 << 20
	}
	if c.MaxIOSize < 64<<10 || c.MaxIOSize > 8<<20 {
		return fmt.Errorf("server config: MaxIOSize %d outside 64 KiB..8 MiB", c.MaxIOSize)
	}
	if c.MaxCredits == 0 {
		c.MaxCredits = 8192
	}
	if c.MaxOutstanding <= 0 {
		c.MaxOutstanding = 256
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 15 * time.Minute
	}
	if c.DurableTimeout <= 0 {
		c.DurableTimeout = DefaultDurableTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	seen := map[string]bool{"IPC$": true}
	for _, s := range c.Shares {
		key := strings.ToUpper(s.Name)
		if !validShareName(s.Name) || seen[key] {
			return fmt.Errorf("server config: bad or duplicate share name %q", s.Name)
		}
		if s.FS == nil {
			return fmt.Errorf("server config: share %q has no file system", s.Name)
		}
		seen[key] = true
	}
	return nil
}

// Server serves SMB on any number of listeners.
type Server struct {
	cfg       Config
	log       *slog.Logger
	acceptor  *auth.Acceptor
	rpc       *rpc.Server
	startTime time.Time

	sharesMu   sync.RWMutex           // guards shares (AddShare/RemoveShare, shares.go)
	shares     map[string]*shareState // upper-case name → share
	interfaces interfaceSource        // the host's network interfaces (netinfo.go)

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	sessions  map[uint64]*session
	closing   bool
	wg        sync.WaitGroup

	nextSessionID atomic.Uint64
	nextHandle    atomic.Uint64

	durables durableTable // durable.go
}

// shareState is a share plus the open state every connection sees.
type shareState struct {
	Share
	opens   *vfs.OpenTable
	ipc     bool
	removed atomic.Bool // set by RemoveShare before it closes the share's trees
}

// New validates cfg and returns a server ready to Serve.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "SMB"),
		startTime:  time.Now(),
		shares:     make(map[string]*shareState),
		listeners:  make(map[net.Listener]struct{}),
		conns:      make(map[*conn]struct{}),
		sessions:   make(map[uint64]*session),
		interfaces: hostInterfaces,
	}
	s.acceptor = &auth.Acceptor{
		Users:         cfg.Users,
		NetBIOSName:   strings.ToUpper(cfg.ServerName),
		NetBIOSDomain: strings.ToUpper(cfg.Domain),
		DNSName:       strings.ToLower(cfg.ServerName),
		DNSDomain:     strings.ToLower(cfg.Domain),
	}
	for _, sh := range cfg.Shares {
		s.shares[strings.ToUpper(sh.Name)] = &shareState{Share: sh, opens: vfs.NewOpenTable()}
	}
	s.shares["IPC$"] = &shareState{Share: Share{Name: "IPC$", Comment: "IPC Service"}, ipc: true}
	s.rpc = &rpc.Server{ServerName: strings.ToUpper(cfg.ServerName), Shares: shareLister{s}}
	// Session ids: random high bits make ids from different server lifetimes unlikely to collide.
	var b [2]byte
	_, _ = rand.Read(b[:])
	s.nextSessionID.Store(uint64(b[0])<<40 | uint64(b[1])<<32)
	return s, nil
}

// ListenAndServe listens on addr and serves until Shutdown.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("smb server closed")

// Serve accepts connections on ln until Shutdown or a listener error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting, closes every connection (open handles are closed, pending deletes
// happen) and waits for connection goroutines to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.durables.closeAll()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
