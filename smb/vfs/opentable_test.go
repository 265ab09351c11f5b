package vfs

import (
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func TestShareModes(t *testing.T) {
	tab := NewOpenTable()
	rw := AccessReadData | AccessWriteData
	a, err := tab.Open(1, rw, ShareRead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Open(1, AccessReadData, ShareRead|ShareWrite); err != nil {
		t.Fatalf("reader sharing read+write refused: %v", err)
	}
	if _, err := tab.Open(1, AccessWriteData, ShareRead|ShareWrite); !errors.Is(err, ErrSharingViolation) {
		t.Fatalf("writer admitted although the first open shares read only: %v", err)
	}
	if _, err := tab.Open(1, AccessReadData, ShareRead); !errors.Is(err, ErrSharingViolation) {
		t.Fatalf("open not sharing write admitted beside a writer: %v", err)
	}
	if _, err := tab.Open(1, AccessReadAttr, 0); err != nil {
		t.Fatalf("attribute-only open refused: %v", err)
	}
	a.Close()
	// Only the reader that shares read+write remains: a writer sharing read+write may now join.
	if _, err := tab.Open(1, AccessWriteData, ShareRead|ShareWrite); err != nil {
		t.Fatalf("writer refused after the exclusive open closed: %v", err)
	}
}

func TestDeleteOnClose(t *testing.T) {
	tab := NewOpenTable()
	all := ShareRead | ShareWrite | ShareDelete
	a, _ := tab.Open(7, AccessDelete, all)
	b, _ := tab.Open(7, AccessReadData, all)
	a.SetDeleteOnClose()
	if a.Close() {
		t.Fatal("delete reported while another open remains")
	}
	if _, err := tab.Open(7, AccessReadData, all); !errors.Is(err, ErrDeletePending) {
		t.Fatalf("open of a delete-pending object: %v", err)
	}
	if !b.Close() {
		t.Fatal("last close did not report delete")
	}
	if _, err := tab.Open(7, AccessReadData, all); err != nil {
		t.Fatalf("id reusable after delete: %v", err)
	}
}

func TestDispositionCanBeCleared(t *testing.T) {
	tab := NewOpenTable()
	a, _ := tab.Open(3, AccessDelete, ShareDelete)
	a.SetDeletePending(true)
	a.SetDeletePending(false)
	if a.Close() {
		t.Fatal("cleared disposition still deleted")
	}
}

// TestShareModeSymmetry: whether B can join A equals whether A could join B.
func TestShareModeSymmetry(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		acc := func(l string) Access {
			return Access(rapid.SampledFrom([]uint32{0x1, 0x2, 0x4, 0x20, 0x80, 0x10000, 0x3, 0x10003}).Draw(t, l))
		}
		sh := func(l string) ShareMode { return ShareMode(rapid.IntRange(0, 7).Draw(t, l)) }
		a1, s1, a2, s2 := acc("a1"), sh("s1"), acc("a2"), sh("s2")
		t1 := NewOpenTable()
		_, _ = t1.Open(1, a1, s1)
		_, e1 := t1.Open(1, a2, s2)
		t2 := NewOpenTable()
		_, _ = t2.Open(1, a2, s2)
		_, e2 := t2.Open(1, a1, s1)
		if (e1 == nil) != (e2 == nil) {
			t.Fatalf("asymmetric: %v vs %v", e1, e2)
		}
	})
}

// DeletePendingWait fires when a delete-on-close open closes while another open remains, and
// when a disposition sets delete pending; it is already closed while delete is pending.
func TestDeletePendingWait(t *testing.T) {
	tab := NewOpenTable()
	watcher, err := tab.Open(1, AccessReadData, ShareRead|ShareWrite|ShareDelete)
	if err != nil {
		t.Fatal(err)
	}
	doomed := watcher.DeletePendingWait()
	deleter, err := tab.Open(1, AccessDelete, ShareRead|ShareWrite|ShareDelete)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-doomed:
		t.Fatal("fired before delete was pending")
	default:
	}
	deleter.SetDeleteOnClose()
	if deleter.Close() {
		t.Fatal("deleted with an open left")
	}
	select {
	case <-doomed:
	default:
		t.Fatal("delete-on-close close did not fire it")
	}
	watcher.SetDeletePending(false)
	again := watcher.DeletePendingWait()
	watcher.SetDeletePending(true)
	select {
	case <-again:
	default:
		t.Fatal("disposition did not fire it")
	}
	select {
	case <-watcher.DeletePendingWait():
	default:
		t.Fatal("not closed while delete is pending")
	}
}

// A named stream's open (registered under its own key) must share delete for its object to be
// opened for DELETE, keeps the object's pending delete alive, and is refused once it is set;
// the last stream close hands the deletion to the caller.
func TestStreamOpensAndBaseDelete(t *testing.T) {
	const base, streamKey = 7, 1<<63 | 99
	tab := NewOpenTable()
	s1, err := tab.Open(streamKey, AccessReadData, ShareRead)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.LinkBase(base); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Open(base, AccessDelete, ShareRead|ShareWrite|ShareDelete); !errors.Is(err, ErrSharingViolation) {
		t.Fatalf("DELETE open beside a stream without share-delete: %v", err)
	}
	if _, err := tab.Open(base, AccessReadData, ShareRead|ShareWrite|ShareDelete); err != nil {
		t.Fatalf("read open of the base: %v", err)
	}
	s1.Close()

	s2, _ := tab.Open(streamKey, AccessReadData, ShareRead|ShareDelete)
	if err := s2.LinkBase(base); err != nil {
		t.Fatal(err)
	}
	del, err := tab.Open(base, AccessDelete, ShareRead|ShareWrite|ShareDelete)
	if err != nil {
		t.Fatalf("DELETE open beside a share-delete stream: %v", err)
	}
	del.SetDeleteOnClose()
	for o := range tab.objs[base].opens {
		if o != del {
			o.Close() // the read open from above
		}
	}
	if del.Close() {
		t.Fatal("base deleted while a stream is open")
	}
	if _, err := tab.Open(base, AccessReadData, ShareRead); !errors.Is(err, ErrDeletePending) {
		t.Fatalf("open of a doomed base: %v", err)
	}
	s3, _ := tab.Open(1<<63|100, AccessReadData, ShareRead|ShareDelete)
	if err := s3.LinkBase(base); !errors.Is(err, ErrDeletePending) {
		t.Fatalf("stream of a doomed base: %v", err)
	}
	s3.Close()
	if s3.BaseDeleteDue() {
		t.Fatal("a refused stream open was handed the deletion")
	}
	s2.Close()
	if !s2.BaseDeleteDue() {
		t.Fatal("last stream close did not hand over the deletion")
	}
}
