package csv

import (
	"bytes"
	"testing"
)

// Each on-disk decoder must reject or accept arbitrary bytes without panicking, and whatever it
// accepts must re-encode to something it decodes the same way.

func FuzzSuperblock(f *testing.F) {
	sb := &Superblock{FormatVersion: FormatVersion, BlockSize: BlockSize, TotalBlocks: 1000, JournalStart: 2,
		JournalBlocks: 64, CheckpointBlocks: 16, OwnerEpoch: 3, Label: "x"}
	sb.CheckpointStart = [2]uint64{66, 82}
	sb.DataStart = 98
	f.Add(sb.encode())
	f.Add([]byte("SOFSCSV1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSuperblock(b)
		if err != nil {
			return
		}
		gen := s.Generation
		again, err := decodeSuperblock(s.encode())
		if err != nil || again.Generation != gen || again.Label != s.Label || again.DataStart != s.DataStart {
			t.Fatalf("re-decode: %v %+v", err, again)
		}
	})
}

func FuzzJournalBatch(f *testing.F) {
	recs := []record{
		{kind: recCreate, id: 5, other: 1, name: "a", times: [4]int64{1, 2, 3, 4}},
		{kind: recMap, id: 5, fileBlock: 1, phys: 100, count: 3, size: 9000},
		{kind: recRename, id: 5, other: 1, name: "b"},
		{kind: recSetInfo, id: 5, mask: setAttrs, attrs: 0x20},
		{kind: recClone, id: 6, other: 5, fileBlock: 0, phys: 1, count: 2, size: -1},
		{kind: recUnmap, id: 5, fileBlock: 0, count: 1},
		{kind: recSetSize, id: 5, size: 10},
		{kind: recSetSD, id: 5, name: "sd"},
		{kind: recRemove, id: 5},
	}
	f.Add(encodeBatch(77, 1, 10, recs))
	f.Add(encodeBatch(77, 1, 10, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		bt, err := decodeBatch(b, 77)
		if err != nil {
			return
		}
		again, err := decodeBatch(encodeBatch(77, bt.epoch, bt.firstSeq, bt.records), 77)
		if err != nil || len(again.records) != len(bt.records) || again.firstSeq != bt.firstSeq {
			t.Fatalf("re-decode: %v", err)
		}
		// Applying decoded records to a state must never panic (errors are fine).
		s := newState(100, 1000, 1)
		for i := range bt.records {
			s.apply(&bt.records[i])
		}
		checkState(s)
	})
}

func FuzzCheckpoint(f *testing.F) {
	s := newState(100, 1000, 1)
	for _, r := range []record{
		{kind: recCreate, id: 2, other: 1, name: "d", dir: true},
		{kind: recCreate, id: 3, other: 2, name: "f"},
		{kind: recMap, id: 3, fileBlock: 0, phys: 100, count: 4, size: 16384},
		{kind: recCreate, id: 4, other: 1, name: "g"},
		{kind: recClone, id: 4, other: 3, fileBlock: 0, phys: 0, count: 4, size: 16384},
		{kind: recSetSD, id: 4, name: "sd"},
		{kind: recSetSD, id: 3, name: "sd"},
	} {
		if err := s.apply(&r); err != nil {
			f.Fatal(err)
		}
	}
	h := &checkpointHeader{generation: 2, tag: 9, journalPos: 5, nextSeq: 6}
	f.Add(h.encode(), encodeState(s))
	f.Fuzz(func(t *testing.T, hb, payload []byte) {
		if h, err := decodeCheckpointHeader(hb); err == nil {
			if again, err := decodeCheckpointHeader(h.encode()); err != nil || *again != *h {
				t.Fatalf("header re-decode: %v", err)
			}
		}
		st, err := decodeState(payload, 1<<16)
		if err != nil {
			return
		}
		checkState(st)
		if enc := encodeState(st); !bytes.Equal(encodeState(mustDecode(t, enc)), enc) {
			t.Fatal("state encoding not stable")
		}
	})
}

func mustDecode(t *testing.T, b []byte) *state {
	s, err := decodeState(b, 1<<16)
	if err != nil {
		t.Fatalf("decode own encoding: %v", err)
	}
	return s
}
