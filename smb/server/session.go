package server

import (
	"context"
	"sync"

	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/sofs-dev/sofs/smb/crypto"
	"github.com/sofs-dev/sofs/smb/wire"
)

type sessionState uint8

const (
	sessionInProgress sessionState = iota
	sessionValid
	sessionExpired
)

// session is one authenticated user on one connection (MS-SMB2 3.3.1.8).
type session struct {
	id   uint64
	conn *conn

	mu       sync.Mutex
	state    sessionState
	exchange *auth.Exchange // the authentication under way
	user     auth.User
	guest    bool
	preauth  []byte // 3.1.1 session preauth integrity hash
	signer   crypto.Signer
	xform    *crypto.Transformer
	trees    map[uint32]*tree
	nextTree uint32
	opens    map[uint64]*open // by volatile FileId
	channels map[*conn]*channel
	// channelSeq numbers the channels in binding order.
	channelSeq uint64
	// ctx ends when the session does (logoff, or its last channel gone): work that belongs to
	// the session rather than to one connection waits on it (create replay, durable.go).
	ctx context.Context
	end context.CancelFunc

	// Fixed once the session is valid.
	signingRequired bool
	encryptData     bool
	dialect         wire.Dialect // Session.Connection.Dialect: channels must match it
	cipher          uint16
	signAlgo        uint16 // algorithm of Session.SigningKey (signingAlgorithm of its connection)
}

func (s *session) valid() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == sessionValid
}

func (s *session) transformer() *crypto.Transformer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.xform
}

func (s *session) tree(id uint32) *tree {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trees[id]
}

func (s *session) addTree(t *tree) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextTree++
	t.id = s.nextTree
	s.trees[t.id] = t
}

// removeTree disconnects a tree, closing its opens.
func (s *session) removeTree(id uint32) bool {
	s.mu.Lock()
	t := s.trees[id]
	delete(s.trees, id)
	var opens []*open
	for fid, o := range s.opens {
		if o.tree == t {
			opens = append(opens, o)
			delete(s.opens, fid)
		}
	}
	s.mu.Unlock()
	for _, o := range opens {
		o.close()
	}
	return t != nil
}

// addOpen records o in the session; false if the session has ended, when the caller owns o
// still (a create that outlived its session: keepOrClose).
func (s *session) addOpen(o *open) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == sessionExpired {
		return false
	}
	s.opens[o.id.Volatile] = o
	return true
}

// keepOrClose disposes of an open whose session ended before it was recorded: a durable open
// waits for a reconnect as the session's other opens do (logoff), any other closes.
func (s *session) keepOrClose(o *open) {
	if o.durable != nil {
		s.conn.srv.durables.keep(o)
		return
	}
	o.close()
}

func (s *session) open(volatile uint64) *open {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens[volatile]
}

func (s *session) takeOpen(volatile uint64) *open {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.opens[volatile]
	delete(s.opens, volatile)
	return o
}

// logoff closes everything the session holds and marks it expired; durable opens are kept for
// a reconnect instead (durable.go).
func (s *session) logoff() {
	s.mu.Lock()
	s.state = sessionExpired
	if s.end != nil {
		s.end()
	}
	opens := s.opens
	s.opens = map[uint64]*open{}
	s.trees = map[uint32]*tree{}
	s.mu.Unlock()
	for _, o := range opens {
		s.keepOrClose(o)
	}
}

// Server-wide session table: sessions are looked up by id from any connection (multichannel
// binding and encrypted frames name the session, not the connection).

func (s *Server) lookupSession(id uint64) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

func (s *Server) newSession(c *conn) *session {
	sess := &session{
		id:       s.nextSessionID.Add(1),
		conn:     c,
		trees:    make(map[uint32]*tree),
		opens:    make(map[uint64]*open),
		channels: make(map[*conn]*channel),
	}
	sess.ctx, sess.end = context.WithCancel(context.Background())
	s.mu.Lock()
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	c.mu.Lock()
	c.sessions[sess.id] = sess
	c.mu.Unlock()
	return sess
}

// removeSession takes the session out of the server's table and off every channel, so no
// connection reaches it any more (logoff on one channel ends it on all, MS-SMB2 3.3.5.6).
func (s *Server) removeSession(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess.id)
	s.mu.Unlock()
	for _, c := range sess.channelConns() {
		signer := sess.signerOn(c)
		c.mu.Lock()
		if c.sessions[sess.id] == sess {
			delete(c.sessions, sess.id)
			c.depart(sess, signer)
		}
		delete(c.binds, sess.id)
		c.mu.Unlock()
	}
}
