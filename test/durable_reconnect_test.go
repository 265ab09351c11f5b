package test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/wire"
)

// durableCreate asks for a v2 durable handle (timeout in ms) with a lease.
func durableCreate(name string, leaseKey, createGUID wire.GUID, lease uint32, timeoutMS uint32) *wire.CreateRequest {
	dh := wire.DurableHandleRequestV2{Timeout: timeoutMS, CreateGUID: createGUID}
	return leaseCreate(name, leaseKey, lease, wire.FileShareRead, wire.CreateContextOf(wire.CtxNameDurableHandleRequestV2, &dh))
}

// durableReconnect reclaims a durable handle (DH2C) with its lease.
func durableReconnect(name string, leaseKey, createGUID wire.GUID, id wire.FileID) *wire.CreateRequest {
	dc := wire.DurableHandleReconnectV2{FileID: id, CreateGUID: createGUID}
	return leaseCreate(name, leaseKey, wire.LeaseReadCaching|wire.LeaseHandleCaching|wire.LeaseWriteCaching,
		wire.FileShareRead, wire.CreateContextOf(wire.CtxNameDurableHandleReconnectV2, &dc))
}

// reconnectUntil retries a reconnect while the server has not yet noticed the dropped
// connection (STATUS_OBJECT_NAME_NOT_FOUND: the open is still attached to it), up to a deadline.
func reconnectUntil(t *testing.T, s *sofsd, guid wire.GUID, req *wire.CreateRequest, deadline time.Time) (*rawClient, wire.CreateResponse, wire.Status) {
	t.Helper()
	for {
		c := dialRaw(t, s, guid)
		resp, st := c.create(req)
		if st != wire.StatusObjectNameNotFound || time.Now().After(deadline) {
			return c, resp, st
		}
		c.drop()
	}
}

// TestDurableHandleSurvivesDroppedConnection: a client writes through a durable handle, loses
// its TCP connection, reconnects within the timeout with DH2C and keeps writing on the same
// handle; the file holds both writes.
func TestDurableHandleSurvivesDroppedConnection(t *testing.T) {
	s := startSofsd(t)
	guid, leaseKey, createGUID := randomGUID(t), randomGUID(t), randomGUID(t)
	c1 := dialRaw(t, s, guid)
	resp, st := c1.create(durableCreate("durable.dat", leaseKey, createGUID,
		wire.LeaseReadCaching|wire.LeaseHandleCaching|wire.LeaseWriteCaching, 60000))
	if st != wire.StatusSuccess {
		t.Fatalf("create: %v", st)
	}
	if _, ok := wire.FindCreateContext(resp.Contexts, wire.CtxNameDurableHandleRequestV2); !ok {
		t.Fatal("durable handle not granted")
	}
	if l := grantedLease(t, resp); l.State != wire.LeaseReadCaching|wire.LeaseHandleCaching|wire.LeaseWriteCaching {
		t.Fatalf("lease state %#x, want RWH", l.State)
	}
	if st := c1.write(resp.FileID, 0, []byte("before the blip, ")); st != wire.StatusSuccess {
		t.Fatalf("write: %v", st)
	}
	c1.drop()

	c2, again, st := reconnectUntil(t, s, guid, durableReconnect("durable.dat", leaseKey, createGUID, resp.FileID), time.Now().Add(20*time.Second))
	if st != wire.StatusSuccess {
		t.Fatalf("durable reconnect: %v", st)
	}
	if again.FileID != resp.FileID {
		t.Fatalf("reconnected FileId %v, want %v", again.FileID, resp.FileID)
	}
	if st := c2.write(resp.FileID, 17, []byte("after the blip")); st != wire.StatusSuccess {
		t.Fatalf("write after reconnect: %v", st)
	}
	data, st := c2.read(resp.FileID, 0, 100)
	if st != wire.StatusSuccess || string(data) != "before the blip, after the blip" {
		t.Fatalf("read after reconnect: %q %v", data, st)
	}
	if st := c2.close(resp.FileID); st != wire.StatusSuccess {
		t.Fatalf("close: %v", st)
	}
	onDisk, err := os.ReadFile(filepath.Join(s.Dir, "durable.dat"))
	if err != nil || string(onDisk) != "before the blip, after the blip" {
		t.Fatalf("file on disk: %q %v", onDisk, err)
	}
}

// TestDurableHandleGoneAfterTimeout: a durable handle with a 2 s timeout holds its byte-range
// lock while its client is away, releases it once the timeout has passed (not before), and can
// no longer be reconnected.
func TestDurableHandleGoneAfterTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	s := startSofsd(t)
	guid, leaseKey, createGUID := randomGUID(t), randomGUID(t), randomGUID(t)
	c1 := dialRaw(t, s, guid)
	// RH, not RWH: the second client's open below then needs no break (W would go), so nothing
	// but the durable timeout can release the lock.
	resp, st := c1.create(durableCreate("scavenged.dat", leaseKey, createGUID,
		wire.LeaseReadCaching|wire.LeaseHandleCaching, uint32(timeout/time.Millisecond)))
	if st != wire.StatusSuccess {
		t.Fatalf("create: %v", st)
	}
	cc, ok := wire.FindCreateContext(resp.Contexts, wire.CtxNameDurableHandleRequestV2)
	var granted wire.DurableHandleResponseV2
	if !ok || granted.Decode(cc.Data) != nil || granted.Timeout != uint32(timeout/time.Millisecond) {
		t.Fatalf("durable handle: granted %v, timeout %d ms", ok, granted.Timeout)
	}
	if st := c1.lock(resp.FileID, 0, 10); st != wire.StatusSuccess {
		t.Fatalf("lock: %v", st)
	}

	// A second client opens the file without a lease and contends for the range.
	c2 := dialRaw(t, s, randomGUID(t))
	other, st := c2.create(&wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      wire.FileReadData | wire.FileReadAttributes,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite,
		CreateDisposition:  wire.FileOpen,
		Name:               "scavenged.dat",
	})
	if st != wire.StatusSuccess {
		t.Fatalf("second open: %v", st)
	}
	if st := c2.lock(other.FileID, 0, 10); st != wire.StatusLockNotGranted {
		t.Fatalf("lock while the durable holder is connected: %v, want STATUS_LOCK_NOT_GRANTED", st)
	}
	dropped := time.Now()
	c1.drop()
	// Poll the lock (each try fails at once) until the durable open is scavenged.
	deadline := dropped.Add(timeout + 30*time.Second)
	for {
		st := c2.lock(other.FileID, 0, 10)
		if st == wire.StatusSuccess {
			break
		}
		if st != wire.StatusLockNotGranted || time.Now().After(deadline) {
			t.Fatalf("lock after the drop: %v", st)
		}
		time.Sleep(50 * time.Millisecond) // poll interval, not synchronisation: the loop checks the condition
	}
	held := time.Since(dropped)
	if held < timeout {
		t.Fatalf("lock released %v after the drop, before the %v durable timeout", held, timeout)
	}
	t.Logf("lock released %v after the drop (durable timeout %v)", held, timeout)
	c3 := dialRaw(t, s, guid)
	if _, st := c3.create(durableReconnect("scavenged.dat", leaseKey, createGUID, resp.FileID)); st != wire.StatusObjectNameNotFound {
		t.Fatalf("reconnect after the timeout: %v, want STATUS_OBJECT_NAME_NOT_FOUND", st)
	}
}
