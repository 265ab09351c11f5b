package test

import (
	"testing"

	"github.com/sofs-dev/sofs/smb/wire"
)

// TestLeaseBreakRWHToRHAndWriteVisible: client 1 holds an RWH lease and has written; client 2
// opens the same file, which breaks client 1 to RH (acknowledgment required) and completes only
// after the acknowledgment, with RH for itself. Client 2's write then breaks client 1's read
// caching, and client 1 reads client 2's data.
func TestLeaseBreakRWHToRHAndWriteVisible(t *testing.T) {
	const rwh = wire.LeaseReadCaching | wire.LeaseHandleCaching | wire.LeaseWriteCaching
	const rh = wire.LeaseReadCaching | wire.LeaseHandleCaching
	s := startSofsd(t)
	c1, c2 := dialRaw(t, s, randomGUID(t)), dialRaw(t, s, randomGUID(t))
	key1, key2 := randomGUID(t), randomGUID(t)
	share := wire.FileShareRead | wire.FileShareWrite
	r1, st := c1.create(leaseCreate("lease.dat", key1, rwh, share))
	if st != wire.StatusSuccess {
		t.Fatalf("client 1 create: %v", st)
	}
	if l := grantedLease(t, r1); l.State != rwh {
		t.Fatalf("client 1 lease %#x, want RWH", l.State)
	}
	if st := c1.write(r1.FileID, 0, []byte("cached by one")); st != wire.StatusSuccess {
		t.Fatalf("client 1 write: %v", st)
	}

	pending := c2.createAsync(leaseCreate("lease.dat", key2, rwh, share), 0)
	b := c1.nextBreak()
	if !b.IsLease || b.Lease.LeaseKey != key1 || b.Lease.CurrentLeaseState != rwh || b.Lease.NewLeaseState != rh ||
		b.Lease.Flags&wire.LeaseBreakFlagAckRequired == 0 {
		t.Fatalf("break notification %+v, want key 1 RWH→RH with ack required", b)
	}
	if st := c1.ackLease(key1, rh); st != wire.StatusSuccess {
		t.Fatalf("acknowledging the break: %v", st)
	}
	r2, st := pending()
	if st != wire.StatusSuccess {
		t.Fatalf("client 2 create: %v", st)
	}
	if l := grantedLease(t, r2); l.State != rh {
		t.Fatalf("client 2 lease %#x, want RH (W only for a sole lease)", l.State)
	}

	if st := c2.write(r2.FileID, 0, []byte("written by two")); st != wire.StatusSuccess {
		t.Fatalf("client 2 write: %v", st)
	}
	b = c1.nextBreak()
	if !b.IsLease || b.Lease.LeaseKey != key1 || b.Lease.NewLeaseState != wire.LeaseNone {
		t.Fatalf("break on client 2's write %+v, want key 1 to none", b)
	}
	if b.Lease.Flags&wire.LeaseBreakFlagAckRequired != 0 {
		if st := c1.ackLease(key1, wire.LeaseNone); st != wire.StatusSuccess {
			t.Fatalf("acknowledging the second break: %v", st)
		}
	}
	data, st := c1.read(r1.FileID, 0, 64)
	if st != wire.StatusSuccess || string(data) != "written by two" {
		t.Fatalf("client 1 reads %q (%v), want client 2's write", data, st)
	}
	for _, c := range []struct {
		cl *rawClient
		id wire.FileID
	}{{c1, r1.FileID}, {c2, r2.FileID}} {
		if st := c.cl.close(c.id); st != wire.StatusSuccess {
			t.Fatalf("close: %v", st)
		}
	}
}
