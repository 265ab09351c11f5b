package server

import (
	"log/slog"
	"testing"

	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/sofs-dev/sofs/smb/crypto"
)

func testServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Users: &auth.UserDB{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bareConn(s *Server) *conn {
	return &conn{srv: s, sessions: map[uint64]*session{}, binds: map[uint64]*binding{}}
}

// A session lives on every channel bound to it; removing it takes it off all of them, and each
// connection remembers the key its answers were signed with.
func TestSessionChannelsLifecycle(t *testing.T) {
	srv := testServer(t)
	c1, c2, c3 := bareConn(srv), bareConn(srv), bareConn(srv)
	s := srv.newSession(c1)
	k1, _ := crypto.NewCMACSigner(make([]byte, 16))
	k2 := crypto.NewHMACSigner([]byte("channel two key."))
	s.mu.Lock()
	s.signer, s.state = k1, sessionValid
	s.mu.Unlock()
	s.addChannel(c1, k1)
	s.addChannel(c2, k2)

	if c1.session(s.id) != s || c2.session(s.id) != s || c3.session(s.id) != nil {
		t.Fatal("the session is not reachable from exactly its two channels")
	}
	if s.signerOn(c2) != k2 || s.signerOn(c3) != k1 {
		t.Fatal("channel two must sign with its own key; an unbound connection sees Session.SigningKey")
	}
	if got := s.notifyConn(c1); got != c2 {
		t.Fatal("notifications go to the latest channel")
	}
	c2.closed.Store(true)
	if got := s.notifyConn(c3); got != c1 {
		t.Fatal("a closed channel is skipped for notifications")
	}
	if !s.dropChannel(c2) {
		t.Fatal("dropping one of two channels reports none left")
	}
	srv.removeSession(s)
	if c1.session(s.id) != nil || srv.lookupSession(s.id) != nil {
		t.Fatal("a removed session is still reachable")
	}
	if len(c1.departed) != 1 || c1.departed[0].signer != k1 {
		t.Fatalf("c1 remembers %v, want the session's channel key", c1.departed)
	}
}

// The departed list is bounded.
func TestDepartedBounded(t *testing.T) {
	srv := testServer(t)
	c := bareConn(srv)
	k := crypto.NewHMACSigner(make([]byte, 16))
	for i := range 3 * maxDeparted {
		c.depart(&session{id: uint64(i + 1)}, k)
	}
	if len(c.departed) != maxDeparted || c.departed[0].id != uint64(2*maxDeparted+1) {
		t.Fatalf("kept %d entries starting at %d", len(c.departed), c.departed[0].id)
	}
}
