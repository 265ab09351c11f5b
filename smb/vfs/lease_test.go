package vfs

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

const rwh = LeaseRead | LeaseHandle | LeaseWrite

func leaseKey(client, key byte) LeaseKey {
	return LeaseKey{Client: [16]byte{client}, Key: [16]byte{key}}
}

func openLease(t *testing.T, tab *OpenTable, id uint64, share ShareMode, key LeaseKey, want LeaseState, onBreak LeaseBreakFunc) (*Open, LeaseInfo) {
	t.Helper()
	o, _, err := tab.OpenOplock(context.Background(), id, AccessReadData|AccessWriteData, share,
		OplockRequest{Lease: &LeaseRequest{Key: key, Want: want, OnBreak: onBreak}})
	if err != nil {
		t.Fatal(err)
	}
	info, ok := o.Lease()
	if !ok {
		t.Fatal("open has no lease")
	}
	return o, info
}

// TestLeaseBreakRWHToRHWaitsForAck: a second key's open breaks RWH to RH, waits for the
// acknowledgment, and gets RH itself (W only for a sole lease).
func TestLeaseBreakRWHToRHWaitsForAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		breaks := make(chan LeaseBreak, 2)
		k1, k2 := leaseKey(1, 1), leaseKey(2, 1)
		_, info := openLease(t, tab, 7, all, k1, rwh, func(b LeaseBreak) { breaks <- b })
		if info.State != rwh {
			t.Fatalf("sole open: %v, want RWH", info.State)
		}
		done := make(chan LeaseInfo, 1)
		go func() {
			_, info := openLease(t, tab, 7, all, k2, rwh, nil)
			done <- info
		}()
		b := <-breaks
		if b.Key != k1 || b.From != rwh || b.To != LeaseRead|LeaseHandle || !b.AckRequired {
			t.Fatalf("break %+v, want RWH→RH with ack", b)
		}
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("second open completed before the acknowledgment")
		default:
		}
		if _, err := tab.AckLeaseBreak(k1, rwh); !errors.Is(err, ErrBadBreakLevel) {
			t.Fatalf("ack above the break state: %v", err)
		}
		if _, err := tab.AckLeaseBreak(k1, LeaseRead|LeaseHandle); err != nil {
			t.Fatal(err)
		}
		if got := <-done; got.State != LeaseRead|LeaseHandle {
			t.Fatalf("second lease %v, want RH", got.State)
		}
		if _, err := tab.AckLeaseBreak(k1, LeaseRead); !errors.Is(err, ErrNoBreakInProgress) {
			t.Fatalf("ack with no break: %v", err)
		}
	})
}

// TestLeaseBreakTimeout: a holder that never acknowledges loses all caching when the break
// timeout passes (Samba; smbtorture smb2.lease.timeout), and the waiting open proceeds then,
// not before.
func TestLeaseBreakTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		tab.BreakTimeout = 10 * time.Second
		k1 := leaseKey(1, 1)
		openLease(t, tab, 7, all, k1, rwh, func(LeaseBreak) {})
		start := time.Now()
		openLease(t, tab, 7, all, leaseKey(2, 2), LeaseRead, nil)
		if waited := time.Since(start); waited != 10*time.Second {
			t.Fatalf("waited %v, want the 10 s break timeout", waited)
		}
		if info, _ := tab.LeaseOf(k1); info.State != LeaseNone || info.Breaking {
			t.Fatalf("after the timeout: %+v, want no caching and no break in progress", info)
		}
	})
}

// TestLeaseHandleBreakResolvesSharingViolation: an open that conflicts with an RH holder's share
// mode breaks H; when the holder closes its cached handle instead of acknowledging, the new open
// succeeds. Without H, the conflict fails at once.
func TestLeaseHandleBreakResolvesSharingViolation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		var holder *Open
		holder, _ = openLease(t, tab, 7, ShareRead, leaseKey(1, 1), LeaseRead|LeaseHandle, func(b LeaseBreak) {
			if b.To&LeaseHandle == 0 {
				go holder.Close()
			}
		})
		if _, _, err := tab.OpenOplock(context.Background(), 7, AccessWriteData, all, OplockRequest{}); err != nil {
			t.Fatalf("open after the holder closed: %v", err)
		}
		tab2 := NewOpenTable()
		openLease(t, tab2, 7, ShareRead, leaseKey(1, 1), LeaseRead, nil)
		if _, _, err := tab2.OpenOplock(context.Background(), 7, AccessWriteData, all, OplockRequest{}); !errors.Is(err, ErrSharingViolation) {
			t.Fatalf("conflict with an R holder: %v, want sharing violation", err)
		}
	})
}

// TestLeaseKeyBoundToOneObject: a key names one object; the same key on another is refused and
// the same key on its own object shares (and upgrades) the lease.
func TestLeaseKeyBoundToOneObject(t *testing.T) {
	tab := NewOpenTable()
	k := leaseKey(1, 1)
	openLease(t, tab, 7, all, k, LeaseRead, nil)
	if _, _, err := tab.OpenOplock(context.Background(), 8, AccessReadData, all, OplockRequest{Lease: &LeaseRequest{Key: k, Want: LeaseRead}}); !errors.Is(err, ErrLeaseKeyInUse) {
		t.Fatalf("same key on another object: %v", err)
	}
	if _, info := openLease(t, tab, 7, all, k, rwh, nil); info.State != rwh {
		t.Fatalf("upgrade by the same key: %v, want RWH", info.State)
	}
}

// TestLeaseProperties drives random opens, closes, writes and acknowledgments (acks arrive
// synchronously, so no open waits) and checks the invariants after every step: a W lease is the
// only lease of its object and no other open is outside it; every state is one of
// none/R/RH/RW/RWH; a lease outlives no open of its own.
func TestLeaseProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tab := NewOpenTable()
		var opens []*Open
		for range rapid.IntRange(1, 40).Draw(t, "steps") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				obj := uint64(rapid.IntRange(1, 2).Draw(t, "obj"))
				key := leaseKey(byte(rapid.IntRange(1, 3).Draw(t, "client")), byte(obj))
				want := LeaseState(rapid.IntRange(0, 7).Draw(t, "want"))
				var req OplockRequest
				if rapid.Bool().Draw(t, "leased") {
					req.Lease = &LeaseRequest{Key: key, Want: want, OnBreak: func(b LeaseBreak) {
						if b.AckRequired {
							go tab.AckLeaseBreak(b.Key, b.To)
						}
					}}
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				o, _, err := tab.OpenOplock(ctx, obj, AccessReadData|AccessWriteData, all, req)
				cancel()
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				opens = append(opens, o)
			case 2:
				if len(opens) > 0 {
					i := rapid.IntRange(0, len(opens)-1).Draw(t, "close")
					opens[i].Close()
					opens = append(opens[:i], opens[i+1:]...)
				}
			case 3:
				if len(opens) > 0 {
					opens[rapid.IntRange(0, len(opens)-1).Draw(t, "writer")].BreakLevelII()
				}
			}
			checkLeaseInvariants(t, tab)
		}
	})
}

func checkLeaseInvariants(t *rapid.T, tab *OpenTable) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for key, l := range tab.leases {
		switch l.state {
		case LeaseNone, LeaseRead, LeaseRead | LeaseHandle, LeaseRead | LeaseWrite, rwh:
		default:
			t.Fatalf("lease %v in state %v", key, l.state)
		}
		obj := tab.objs[l.objID]
		if obj == nil || l.opens <= 0 {
			t.Fatalf("lease %v outlives its opens", key)
		}
		if l.state&LeaseWrite == 0 || l.breaking {
			continue
		}
		for o := range obj.opens {
			if o.lease != l {
				t.Fatalf("lease %v holds W beside another open", key)
			}
		}
	}
}

// TestLeaseStepsDownOneAckAtATime: an RWH holder broken by a plain open (W goes) and then by an
// overwrite (all goes) is stepped down RWH → RH → R → none, one acknowledgment at a time, the
// continued steps keeping the first break's epoch; both waiting opens go ahead only at the end.
// An overwrite meeting a lease without W is not held up at all.
func TestLeaseStepsDownOneAckAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tab := NewOpenTable()
		breaks := make(chan LeaseBreak, 4)
		k1 := leaseKey(1, 1)
		openLease(t, tab, 7, all, k1, rwh, func(b LeaseBreak) { breaks <- b })
		opened := make(chan error, 2)
		open := func(overwrite bool) {
			_, _, err := tab.OpenOplock(context.Background(), 7, AccessReadData|AccessWriteData, all, OplockRequest{BreakToNone: overwrite})
			opened <- err
		}
		go open(false)
		synctest.Wait()
		first := <-breaks
		if first.From != rwh || first.To != LeaseRead|LeaseHandle || !first.AckRequired {
			t.Fatalf("first break %+v, want RWH to RH with acknowledgment", first)
		}
		go open(true)
		synctest.Wait()
		if len(breaks) != 0 || len(opened) != 0 {
			t.Fatalf("the overwrite started a break (%d) or an open went ahead (%d) before the acknowledgment", len(breaks), len(opened))
		}
		for _, step := range []struct{ acked, next LeaseState }{{LeaseRead | LeaseHandle, LeaseRead}, {LeaseRead, LeaseNone}} {
			info, err := tab.AckLeaseBreak(k1, step.acked)
			if err != nil || info.State != step.acked {
				t.Fatalf("ack %v: %+v, %v", step.acked, info, err)
			}
			synctest.Wait()
			b := <-breaks
			if b.From != step.acked || b.To != step.next || b.Epoch != first.Epoch {
				t.Fatalf("after acknowledging %v: break %+v, want %v to %v at epoch %d", step.acked, b, step.acked, step.next, first.Epoch)
			}
			if step.next != LeaseNone && len(opened) != 0 {
				t.Fatalf("an open went ahead while the lease was still at %v", step.acked)
			}
		}
		for range 2 {
			if err := <-opened; err != nil {
				t.Fatal(err)
			}
		}

		k2 := leaseKey(2, 2)
		openLease(t, tab, 8, all, k2, LeaseRead|LeaseHandle, func(b LeaseBreak) { breaks <- b })
		if _, _, err := tab.OpenOplock(context.Background(), 8, AccessReadData|AccessWriteData, all, OplockRequest{BreakToNone: true}); err != nil {
			t.Fatal(err) // returning at all is the point: no W to wait for
		}
		if b := <-breaks; b.From != LeaseRead|LeaseHandle || b.To != LeaseNone || !b.AckRequired || b.Contended {
			t.Fatalf("overwrite beside RH: break %+v, want RH to none, acknowledged, nobody waiting", b)
		}
	})
}
