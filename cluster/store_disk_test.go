package cluster

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestDiskStoreRestart proves the real store (bolt log, file snapshots, TCP transport) keeps the
// config DB across a restart, both from the log and from a snapshot plus log tail.
func TestDiskStoreRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() *Store {
		tr, err := raft.NewTCPTransport("127.0.0.21:0", nil, 3, 5*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := OpenStore(StoreConfig{NodeID: "a", Dir: dir, Transport: tr, Timing: FastTiming,
			Bootstrap: []raft.Server{{ID: "a", Address: tr.LocalAddr()}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitLeader := func(s *Store) {
		t.Helper()
		select {
		case <-s.raft.LeaderCh():
		case <-time.After(10 * time.Second):
			t.Fatal("single node did not become leader")
		}
	}
	s := open()
	waitLeader(s)
	mustApply(t, s, Command{Op: OpSetProp, Key: "before-snapshot", Value: "1"})
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, Command{Op: OpSetProp, Key: "after-snapshot", Value: "2"})
	s.Close()

	// The restart uses a new ephemeral port; a single-node cluster's stored configuration still
	// names the old address, which is fine because it only talks to itself. The state must be
	// back before any new write.
	s = open()
	defer s.Close()
	waitLeader(s)
	r := mustApply(t, s, Command{Op: OpReadProp, Key: "after-snapshot"})
	if r.Value != "2" {
		t.Fatalf("after-snapshot = %q", r.Value)
	}
	s.Read(func(st *State) {
		if st.Props["before-snapshot"] != "1" {
			t.Fatalf("snapshot state lost: %+v", st.Props)
		}
	})
}
