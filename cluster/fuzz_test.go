package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// FuzzFSMApply feeds arbitrary log entries to the FSM: it must never panic, must refuse what
// it cannot decode, and must keep its invariants (every resource in an existing group, no
// dependency cycle, snapshots restore to the same state).
func FuzzFSMApply(f *testing.F) {
	seeds := []Command{
		{Op: OpPutResourceType, Type: &ResourceTypeInfo{Name: "marker"}},
		{Op: OpPutGroup, Group: &Group{Name: "g"}},
		{Op: OpPutResource, Resource: &Resource{Name: "a", Type: "marker", Group: "g", DependsOn: []string{"b"}}},
		{Op: OpPutNode, Node: &Node{ID: "n1"}},
		{Op: OpMoveGroup, Name: "g", Target: "n1"},
		{Op: OpGroupReleased, Name: "g", Target: "n1", Reason: "busy"},
		{Op: OpRemoveGroup, Name: "g"},
		{Op: OpSetResourceAdmin, Name: "a", Value: "offline"},
		{Op: OpSetNodeVersion, Node: &Node{ID: "n1", Version: "0.2.0", Level: 2}},
		{Op: OpSetClusterOptions, Cluster: &ClusterInfo{Witness: "n1", AccessPoint: "fs.example", FunctionalLevel: 2}},
		{Op: OpDestroyCluster},
	}
	for _, c := range seeds {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	f.Add([]byte(`{"op":"put-resource","resource":{"name":"x","depends_on":["x"]}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := newFSM()
		// A little fixed state first so the fuzzed entry has things to refer to.
		for i, c := range seeds[:4] {
			b, _ := json.Marshal(c)
			fs.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: b})
		}
		for i, part := range bytes.Split(data, []byte("\n")) {
			fs.Apply(&raft.Log{Index: uint64(10 + i), Type: raft.LogCommand, Data: part})
		}
		s := fs.state
		for name, r := range s.Resources {
			if _, ok := s.Groups[r.Group]; !ok {
				t.Fatalf("resource %s in missing group %q", name, r.Group)
			}
			if cyc := findCycle(s, r); cyc != nil {
				t.Fatalf("dependency cycle in state: %v", cyc)
			}
		}
		snap, err := fs.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		sink := &memSink{}
		if err := snap.Persist(sink); err != nil {
			t.Fatal(err)
		}
		g := newFSM()
		if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
			t.Fatalf("restore own snapshot: %v", err)
		}
	})
}

// FuzzParseJoinToken: the token parser never panics and accepts only <32 hex>.<64 hex>-shaped
// input.
func FuzzParseJoinToken(f *testing.F) {
	f.Add(strings.Repeat("a", 32) + "." + strings.Repeat("b", 64))
	f.Add("")
	f.Add(".")
	f.Fuzz(func(t *testing.T, tok string) {
		hash, fp, err := parseJoinToken(tok)
		if err != nil {
			return
		}
		if len(hash) != 64 || len(fp) != 64 {
			t.Fatalf("accepted %q: hash %q fp %q", tok, hash, fp)
		}
	})
}

// FuzzSnapshotRestore: arbitrary snapshot bytes are refused or restored, never a panic.
func FuzzSnapshotRestore(f *testing.F) {
	f.Add([]byte(`{"schema":1,"nodes":{"a":{"id":"a"}}}`))
	f.Add([]byte(`{"schema":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := newFSM()
		if err := fs.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			return
		}
		fs.state.Clone()
	})
}
