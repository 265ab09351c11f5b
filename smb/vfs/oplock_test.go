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

// TestWriteBreaksLevelII: a write through one open removes every Level II oplock of the
// object, the writer's own too.
func TestWriteBreaksLevelII(t *testing.T) {
	tab := NewOpenTable()
	var got []OplockLevel
	a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockLevelII, OnBreak: func(to OplockLevel) { got = append(got, to) }})
	b, _, _ := tab.OpenOplock(context.Background(), 1, AccessWriteData, all, OplockRequest{Want: OplockLevelII})
	b.BreakLevelII()
	if a.Oplock() != OplockNone || len(got) != 1 || got[0] != OplockNone {
		t.Fatalf("holder level %d, notifications %v", a.Oplock(), got)
	}
	if b.Oplock() != OplockNone {
		t.Fatal("the writer's own Level II was kept")
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

// TestStatOpenBesideBatchGetsNoOplock: an attributes-only open breaks no batch oplock, and so
// cannot be granted Level II beside it (smbtorture smb2.oplock.batch8, exclusive4); once the
// batch holder has been broken, later opens get Level II.
func TestStatOpenBesideBatchGetsNoOplock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		breaks := make(chan OplockLevel, 2)
		a, _, _ := tab.OpenOplock(context.Background(), 1, AccessWriteAttr, all,
			OplockRequest{Want: OplockBatch, OnBreak: func(to OplockLevel) { breaks <- to }})
		_, lvl, err := tab.OpenOplock(context.Background(), 1, AccessReadAttr|AccessWriteAttr|AccessSynchronize, all, OplockRequest{Want: OplockBatch})
		if err != nil || lvl != OplockNone {
			t.Fatalf("stat open beside batch: level %d, %v; want none", lvl, err)
		}
		if len(breaks) != 0 || a.Oplock() != OplockBatch {
			t.Fatalf("stat open broke the batch oplock (holder %d)", a.Oplock())
		}
		done := make(chan OplockLevel, 1)
		go func() {
			_, lvl, _ := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockBatch})
			done <- lvl
		}()
		if to := <-breaks; to != OplockLevelII {
			t.Fatalf("data open broke to %d, want Level II", to)
		}
		if err := a.AckBreak(OplockLevelII); err != nil {
			t.Fatal(err)
		}
		if lvl := <-done; lvl != OplockLevelII {
			t.Fatalf("data open after the break: level %d, want Level II", lvl)
		}
	})
}

// TestWriteBreaksOwnLevelII: a write breaks every Level II oplock, the writer's own included
// (smbtorture smb2.oplock.batch1, brl1, levelii500), and leaves other opens' batch oplocks alone.
func TestWriteBreaksOwnLevelII(t *testing.T) {
	tab := NewOpenTable()
	var got []OplockLevel
	a, lvl, _ := tab.OpenOplock(context.Background(), 1, AccessReadData|AccessWriteData, all,
		OplockRequest{Want: OplockLevelII, OnBreak: func(to OplockLevel) { got = append(got, to) }})
	if lvl != OplockLevelII {
		t.Fatalf("Level II request: got %d", lvl)
	}
	a.BreakLevelII()
	if a.Oplock() != OplockNone || len(got) != 1 || got[0] != OplockNone {
		t.Fatalf("after own write: holder %d, breaks %v; want none and one break to none", a.Oplock(), got)
	}
	if err := a.AckBreak(OplockNone); !errors.Is(err, ErrNoBreakInProgress) {
		t.Fatalf("ack of a Level II break: %v, want ErrNoBreakInProgress", err)
	}
	b, _, _ := tab.OpenOplock(context.Background(), 2, AccessReadData|AccessWriteData, all, OplockRequest{Want: OplockBatch})
	b.BreakLevelII()
	if b.Oplock() != OplockBatch {
		t.Fatalf("own write broke a batch oplock to %d", b.Oplock())
	}
}

// TestDeletePendingFailsBeforeBreaking: an open of an object whose delete is pending fails at
// once, without breaking the holder's oplock (smbtorture smb2.oplock.doc).
func TestDeletePendingFailsBeforeBreaking(t *testing.T) {
	tab := NewOpenTable()
	broke := false
	a, _, _ := tab.OpenOplock(context.Background(), 1, AccessReadData|AccessDelete, all,
		OplockRequest{Want: OplockBatch, OnBreak: func(OplockLevel) { broke = true }})
	a.SetDeletePending(true)
	_, _, err := tab.OpenOplock(context.Background(), 1, AccessReadData, all, OplockRequest{Want: OplockBatch})
	if !errors.Is(err, ErrDeletePending) {
		t.Fatalf("open of a delete-pending object: %v, want ErrDeletePending", err)
	}
	if broke || a.Oplock() != OplockBatch {
		t.Fatalf("the holder's batch oplock broke (now %d)", a.Oplock())
	}
}
