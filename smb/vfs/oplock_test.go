package vfs

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

const all = ShareRead | ShareWrite | ShareDelete

func TestBatchGrantedOnlyToSoleOpen(t *testing.T) {
	tab := NewOpenTable()
	a, lvl, err := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockBatch})
	if err != nil || lvl != OplockBatch {
		t.Fatalf("first open: level %d, %v", lvl, err)
	}
	_ = a
	// A second open of another object is unaffected.
	if _, lvl, _ := tab.OpenOplock(context.Background(), 2, AccessReadData, all, OplockRequest{Want: OplockExclusive}); lvl != OplockExclusive {
		t.Fatalf("other object: level %d", lvl)
	}
}

// TestBreakWaitsForAck: a second open breaks the batch holder to Level II and proceeds only once
// the holder acknowledges; both then hold Level II.
func TestBreakWaitsForAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		breaks := make(chan OplockLevel, 1)
		a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData, all,
			OplockRequest{Want: OplockBatch, OnBreak: func(to OplockLevel) { breaks <- to }})
		type result struct {
			lvl OplockLevel
			err error
		}
		done := make(chan result, 1)
		go func() {
			_, lvl, err := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockBatch})
			done <- result{lvl, err}
		}()
		if to := <-breaks; to != OplockLevelII {
			t.Fatalf("break to %d, want Level II", to)
		}
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("second open completed before the holder acknowledged")
		default:
		}
		if err := a.AckBreak(OplockBatch); !errors.Is(err, ErrBadBreakLevel) {
			t.Fatalf("ack above the break level: %v", err)
		}
		if err := a.AckBreak(OplockLevelII); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.lvl != OplockLevelII || a.Oplock() != OplockLevelII {
			t.Fatalf("after ack: new open %d %v, holder %d", r.lvl, r.err, a.Oplock())
		}
		if err := a.AckBreak(OplockNone); !errors.Is(err, ErrNoBreakInProgress) {
			t.Fatalf("second ack: %v", err)
		}
	})
}

// TestBreakTimeout: a holder that never answers loses its oplock after the break timeout.
func TestBreakTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockExclusive, OnBreak: func(OplockLevel) {}})
		start := time.Now()
		_, lvl, err := tab.OpenOplock(context.Background(), 1, AccessWriteData, all, OplockRequest{BreakToNone: true})
		if err != nil || lvl != OplockNone {
			t.Fatalf("second open: %d %v", lvl, err)
		}
		if waited := time.Since(start); waited != DefaultBreakTimeout {
			t.Fatalf("waited %v, want the break timeout %v", waited, DefaultBreakTimeout)
		}
		if a.Oplock() != OplockNone {
			t.Fatalf("holder kept level %d after the timeout", a.Oplock())
		}
	})
}

// TestHolderCloseReleasesWaiter: closing instead of acknowledging (the usual batch answer)
// lets the waiting open proceed, and the new open becomes the sole holder.
func TestHolderCloseReleasesWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		broke := make(chan struct{}, 1)
		a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData, ShareRead,
			OplockRequest{Want: OplockBatch, OnBreak: func(OplockLevel) { broke <- struct{}{} }})
		done := make(chan error, 1)
		go func() {
			// Would be a sharing violation while a is open (a does not share write).
			_, _, err := tab.OpenOplock(context.Background(), 1, AccessWriteData, all, OplockRequest{})
			done <- err
		}()
		<-broke
		a.Close()
		if err := <-done; err != nil {
			t.Fatalf("open after the holder closed: %v", err)
		}
	})
}

// TestWriteBreaksLevelII: a write through one open removes the others' Level II oplocks.
func TestWriteBreaksLevelII(t *testing.T) {
	tab := NewOpenTable()
	var got []OplockLevel
	a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockLevelII, OnBreak: func(to OplockLevel) { got = append(got, to) }})
	b, _, _ := tab.OpenOplock(context.Background(), 1, AccessWriteData, all, OplockRequest{Want: OplockLevelII})
	b.BreakLevelII()
	if a.Oplock() != OplockNone || len(got) != 1 || got[0] != OplockNone {
		t.Fatalf("holder level %d, notifications %v", a.Oplock(), got)
	}
	if b.Oplock() != OplockLevelII {
		t.Fatal("the writer's own Level II was broken")
	}
}

// TestStatOpenDoesNotBreak: an attribute-only open leaves a batch oplock alone.
func TestStatOpenDoesNotBreak(t *testing.T) {
	tab := NewOpenTable()
	broke := false
	a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockBatch, OnBreak: func(OplockLevel) { broke = true }})
	if _, _, err := tab.OpenOplock(context.Background(), 1, AccessReadAttr, 0, OplockRequest{}); err != nil {
		t.Fatal(err)
	}
	if broke || a.Oplock() != OplockBatch {
		t.Fatalf("stat open broke the batch oplock (level now %d)", a.Oplock())
	}
}

// TestExclusiveSharingViolationWithoutBreak: a conflicting open against an exclusive (not batch)
// holder fails at once and does not break it.
func TestExclusiveSharingViolationWithoutBreak(t *testing.T) {
	tab := NewOpenTable()
	broke := false
	a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData|AccessWriteData, 0, OplockRequest{Want: OplockExclusive, OnBreak: func(OplockLevel) { broke = true }})
	if _, _, err := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{}); !errors.Is(err, ErrSharingViolation) {
		t.Fatalf("want a sharing violation, got %v", err)
	}
	if broke || a.Oplock() != OplockExclusive {
		t.Fatal("the exclusive oplock was broken by an open that could not succeed")
	}
}
