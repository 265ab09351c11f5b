package server

import (
	"strings"
	"sync"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// Durable handles (MS-SMB2 3.3.5.9.6/3.3.5.9.7 v1, 3.3.5.9.10/3.3.5.9.12 v2): an open granted
// durability outlives its connection for a timeout; the same user reconnects it with DHnC or DH2C
// (v2: the same CreateGuid) and continues. Tree disconnect closes it; a lost connection or a
// LOGOFF preserves it (as Windows and Samba do: smbtorture smb2.durable-open.reopen4). When the timeout passes, or another open needs a break the absent
// holder cannot acknowledge, the open is scavenged: closed, releasing its share mode, locks and
// lease. Persistent handles are not offered (SMB2_GLOBAL_CAP_PERSISTENT_HANDLES stays off).

// DefaultDurableTimeout caps the timeout a client may ask for (Config.DurableTimeout).
const DefaultDurableTimeout = 180 * time.Second

// durableV2DefaultTimeout is what a v2 request with Timeout 0 gets (Windows and Samba use 60 s).
const durableV2DefaultTimeout = 60 * time.Second

// durableState is what a durable open must remember to be reconnected.
type durableState struct {
	v2         bool
	createGUID wire.GUID
	clientGUID wire.GUID
	userSID    string
	timeout    time.Duration
	lease      *leaseRequest // the lease the open was created with; a reconnect must name it
	name       string        // the name it was opened by
	timer      *time.Timer   // runs while disconnected; guarded by durableTable.mu
	table      *durableTable
}

// durableTable holds the server's durable opens: the disconnected ones by persistent id, every v2
// one by client and create GUID (replay detection). One mutex guards it; never held across I/O.
type durableTable struct {
	mu           sync.Mutex
	all          map[uint64]*open // every durable open, attached or not, by persistent id
	disconnected map[uint64]*open
	reclaiming   map[uint64]*open // taken by a reconnect that has not finished (take)
	byCreateGUID map[[32]byte]*open
	replays      map[[32]byte]*replayEntry // creates with a create GUID, by client and create GUID
	parked       chan struct{}             // closed (and replaced) whenever an open is parked
}

// replayEntry is the replay cache entry of a CREATE that carried a DH2Q create GUID, durable or
// not (MS-SMB2 3.3.5.9.10): while the create runs it is pending (open nil) and a replay of it,
// from any channel, fails with STATUS_FILE_NOT_AVAILABLE instead of opening a second time; once
// it succeeded a replay answers from the open it made. The entry goes when the open closes or as
// soon as a later request names the open: the client has then seen the create response, so a
// create with that GUID is no longer a replay (Samba and Windows behave so: smbtorture
// smb2.replay.replay6). Fields are guarded by durableTable.mu.
type replayEntry struct {
	key    [32]byte
	table  *durableTable
	open   *open
	action uint32        // the CreateAction the first attempt answered
	lease  *leaseRequest // the lease the first attempt asked for (its response shape)
}

// reconnectWait bounds how long a reconnect waits for the server to notice that the open's old
// connection is gone: clients reconnect as soon as their socket fails, which can be before this
// side's read loop has torn the old connection down.
const reconnectWait = 2 * time.Second

func (d *durableTable) add(o *open) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.all == nil {
		d.all = make(map[uint64]*open)
	}
	d.all[o.id.Persistent] = o
	if o.durable.v2 {
		if d.byCreateGUID == nil {
			d.byCreateGUID = make(map[[32]byte]*open)
		}
		d.byCreateGUID[createGUIDKey(o.durable.clientGUID, o.durable.createGUID)] = o
	}
}

func createGUIDKey(client, create wire.GUID) [32]byte {
	var k [32]byte
	copy(k[:16], client[:])
	copy(k[16:], create[:])
	return k
}

// beginCreate applies the create-GUID checks of MS-SMB2 3.3.5.9.10 to a CREATE with DH2Q before
// anything is opened. It answers a replay of a create that is still running (FILE_NOT_AVAILABLE)
// or that succeeded (from its open), refuses a create GUID in use without the replay flag
// (DUPLICATE_OBJECTID), and otherwise records the create as pending: the caller must call
// endCreate when the create is over. A replay the cache does not know is a new create.
func (d *durableTable) beginCreate(r *request, req *wire.CreateRequest, dc *durableContexts) (handled bool, err error) {
	key := createGUIDKey(r.c.neg.Load().clientGUID, dc.req2.CreateGUID)
	replay := r.isReplay()
	d.mu.Lock()
	e := d.replays[key]
	if e != nil && e.open != nil {
		e.open.mu.Lock()
		closed := e.open.closed
		e.open.mu.Unlock()
		if closed { // its close is about to drop the entry
			delete(d.replays, key)
			e = nil
		}
	}
	switch {
	case e != nil && e.open == nil:
		d.mu.Unlock()
		if replay {
			return true, wire.StatusFileNotAvailable
		}
		return true, wire.StatusDuplicateObjectID
	case e != nil && replay:
		d.mu.Unlock()
		return true, answerReplay(r, req, e)
	case !replay && (e != nil || d.byCreateGUID[key] != nil):
		d.mu.Unlock()
		return true, wire.StatusDuplicateObjectID
	}
	if d.replays == nil {
		d.replays = make(map[[32]byte]*replayEntry)
	}
	dc.pending = &replayEntry{key: key, table: d}
	d.replays[key] = dc.pending
	d.mu.Unlock()
	return false, nil
}

// created fills the pending replay entry of a create that succeeded with the open it made.
func (d *durableTable) created(dc *durableContexts, o *open, action uint32, lr *leaseRequest) {
	if dc == nil || dc.pending == nil {
		return
	}
	e := dc.pending
	d.mu.Lock()
	if d.replays[e.key] == e {
		e.open, e.action, e.lease = o, action, lr
		o.replay.Store(e)
	}
	d.mu.Unlock()
	dc.pending = nil
}

// endCreate drops the replay entry of a create that did not succeed (called when the create
// handler returns; after created it does nothing).
func (d *durableTable) endCreate(dc *durableContexts) {
	if dc == nil || dc.pending == nil {
		return
	}
	d.mu.Lock()
	if d.replays[dc.pending.key] == dc.pending {
		delete(d.replays, dc.pending.key)
	}
	d.mu.Unlock()
	dc.pending = nil
}

// dropReplay ends the replay eligibility of o's create (a later request named the open, or it
// closed).
func (o *open) dropReplay() {
	e := o.replay.Swap(nil)
	if e == nil {
		return
	}
	e.table.mu.Lock()
	if e.table.replays[e.key] == e {
		delete(e.table.replays, e.key)
	}
	e.table.mu.Unlock()
}

// answerReplay answers a replayed CREATE from the open the first attempt made (MS-SMB2
// 3.3.5.9.10): the first CreateAction and FileId, the open's current lease or oplock, and the
// durable context when the open is durable and the caching the response names allows it. A
// replay naming another lease key, or a lease for an oplock open, is refused with
// STATUS_ACCESS_DENIED; a smaller oplock than the open holds is answered as asked (the open keeps
// its own); share access, disposition and attributes are not compared (smbtorture
// smb2.replay.replay-dhv2-oplock2/3, replay6 show Windows ignores them).
func answerReplay(r *request, req *wire.CreateRequest, e *replayEntry) error {
	o := e.open
	o.mu.Lock()
	owner := o.sess
	o.mu.Unlock()
	if owner != r.sess || o.tree != r.tree {
		return wire.StatusDuplicateObjectID
	}
	lr, err := leaseForCreate(r, req, false)
	if err != nil {
		return err
	}
	info, leased := o.entry.Lease()
	if lr != nil && (!leased || lr.key != info.Key) {
		return wire.StatusAccessDenied
	}
	fi, err := o.file.Stat()
	if err != nil {
		return err
	}
	resp := wire.CreateResponse{CreateAction: e.action, FileID: o.id}
	handleCached := false
	if leased && e.lease != nil {
		resp.OplockLevel = wire.OplockLevelLease
		resp.Contexts = append(resp.Contexts, e.lease.responseContext(info))
		handleCached = info.State&vfs.LeaseHandle != 0
	} else {
		resp.OplockLevel = min(uint8(o.entry.Oplock()), req.RequestedOplockLevel)
		handleCached = resp.OplockLevel == wire.OplockLevelBatch
	}
	if o.durable != nil && handleCached {
		resp.Contexts = append(resp.Contexts, o.durable.responseContext())
	}
	fillCreateTimes(&resp, fi)
	r.fileID = o.id
	r.resp = resp.Append(r.resp)
	return nil
}

// forget drops a closing open from the table.
func (d *durableTable) forget(o *open) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.disconnected[o.id.Persistent] == o {
		delete(d.disconnected, o.id.Persistent)
	}
	if d.all[o.id.Persistent] == o {
		delete(d.all, o.id.Persistent)
	}
	if o.durable.v2 {
		k := createGUIDKey(o.durable.clientGUID, o.durable.createGUID)
		if d.byCreateGUID[k] == o {
			delete(d.byCreateGUID, k)
		}
	}
	if o.durable.timer != nil {
		o.durable.timer.Stop()
		o.durable.timer = nil
	}
}

// keep parks a durable open whose connection dropped, until reconnect or timeout. An open whose
// break is awaiting acknowledgment is closed instead: its holder can no longer acknowledge, and
// the opener waiting for the break proceeds now rather than at the break timeout.
func (d *durableTable) keep(o *open) {
	if o.entry.SettleUncontendedBreak() {
		o.close() // somebody waits for a break this holder can no longer acknowledge
		return
	}
	o.mu.Lock()
	o.sess = nil
	o.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.disconnected == nil {
		d.disconnected = make(map[uint64]*open)
	}
	d.disconnected[o.id.Persistent] = o
	o.durable.timer = time.AfterFunc(o.durable.timeout, func() { o.close() })
	if d.parked != nil {
		close(d.parked)
		d.parked = nil
	}
}

// take removes a disconnected open for reconnection and marks it as being reclaimed until the
// caller's reclaimed; nil if there is none with that id. While one reconnect is reclaiming the
// open, another fails with STATUS_FILE_NOT_AVAILABLE rather than waiting for it or reporting
// the open gone (the client retries; Samba answers the same).
func (d *durableTable) take(persistent uint64) (*open, error) {
	deadline := time.NewTimer(reconnectWait)
	defer deadline.Stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.disconnected[persistent]
	for o == nil {
		if d.reclaiming[persistent] != nil {
			return nil, wire.StatusFileNotAvailable
		}
		if d.all[persistent] == nil {
			return nil, nil
		}
		// Still attached: wait (bounded) for its connection's teardown to park it.
		if d.parked == nil {
			d.parked = make(chan struct{})
		}
		parked := d.parked
		d.mu.Unlock()
		select {
		case <-parked:
		case <-deadline.C:
			d.mu.Lock()
			return nil, nil
		}
		d.mu.Lock()
		o = d.disconnected[persistent]
	}
	if o.durable.timer != nil && !o.durable.timer.Stop() {
		return nil, nil // the timeout fired: the open is being closed
	}
	o.durable.timer = nil
	delete(d.disconnected, persistent)
	if d.reclaiming == nil {
		d.reclaiming = make(map[uint64]*open)
	}
	d.reclaiming[persistent] = o
	return o, nil
}

// reclaimed ends the reclaim that take began: the open is attached again, or parked again by
// keepAgain.
func (d *durableTable) reclaimed(o *open) {
	d.mu.Lock()
	if d.reclaiming[o.id.Persistent] == o {
		delete(d.reclaiming, o.id.Persistent)
	}
	d.mu.Unlock()
}

// closeAll scavenges every disconnected open (server shutdown).
func (d *durableTable) closeAll() {
	d.mu.Lock()
	var opens []*open
	for _, o := range d.disconnected {
		opens = append(opens, o)
	}
	d.mu.Unlock()
	for _, o := range opens {
		o.close()
	}
}

// durableContexts are the durable-handle contexts of a CREATE, validated together.
type durableContexts struct {
	v1, v1Reconnect, v2, v2Reconnect bool
	req2                             wire.DurableHandleRequestV2
	reconnect                        wire.FileID
	reconnect2                       wire.DurableHandleReconnectV2
	pending                          *replayEntry // this create's replay entry while it runs (beginCreate)
}

// parseDurable reads and cross-checks the durable contexts (MS-SMB2 3.3.5.9: DHnQ with DH2Q, or a
// reconnect with a request, is STATUS_INVALID_PARAMETER). v2 contexts are ignored before SMB 3.
func parseDurable(r *request, req *wire.CreateRequest) (*durableContexts, error) {
	d := &durableContexts{}
	smb3 := r.c.neg.Load().di.kdf
	for _, cc := range req.Contexts {
		switch cc.Name {
		case wire.CtxNameDurableHandleRequest:
			var q wire.DurableHandleRequest
			if err := q.Decode(cc.Data); err != nil {
				return nil, errInvalidParameter
			}
			d.v1 = true
		case wire.CtxNameDurableHandleReconnect:
			var c wire.DurableHandleReconnect
			if err := c.Decode(cc.Data); err != nil {
				return nil, errInvalidParameter
			}
			d.v1Reconnect, d.reconnect = true, c.FileID
		case wire.CtxNameDurableHandleRequestV2:
			if !smb3 {
				continue
			}
			if err := d.req2.Decode(cc.Data); err != nil {
				return nil, errInvalidParameter
			}
			d.v2 = true
		case wire.CtxNameDurableHandleReconnectV2:
			if !smb3 {
				continue
			}
			if err := d.reconnect2.Decode(cc.Data); err != nil {
				return nil, errInvalidParameter
			}
			d.v2Reconnect = true
		}
	}
	n := 0
	for _, b := range []bool{d.v1, d.v1Reconnect, d.v2, d.v2Reconnect} {
		if b {
			n++
		}
	}
	// A v1 reconnect may carry a (ignored) DHnQ, as Windows clients send; any other pair is invalid.
	if n > 1 && !(n == 2 && d.v1 && d.v1Reconnect) {
		return nil, errInvalidParameter
	}
	if d.v1Reconnect {
		d.v1 = false
	}
	return d, nil
}

// durableBeforeCreate answers a CREATE that reconnects a durable handle or replays a v2 create
// (same CreateGuid). handled reports that the request was answered (or failed) here.
func durableBeforeCreate(r *request, req *wire.CreateRequest, d *durableContexts) (handled bool, err error) {
	switch {
	case d.v1Reconnect:
		return true, reconnectDurable(r, req, d.reconnect, false, wire.GUID{})
	case d.v2Reconnect:
		return true, reconnectDurable(r, req, d.reconnect2.FileID, true, d.reconnect2.CreateGUID)
	case d.v2:
		return r.c.srv.durables.beginCreate(r, req, d)
	}
	return false, nil
}

// reconnectDurable implements MS-SMB2 3.3.5.9.7 (DHnC) and 3.3.5.9.12 (DH2C).
func reconnectDurable(r *request, req *wire.CreateRequest, id wire.FileID, v2 bool, createGUID wire.GUID) error {
	srv := r.c.srv
	o, err := srv.durables.take(id.Persistent)
	if err != nil {
		return err
	}
	if o == nil {
		return wire.StatusObjectNameNotFound
	}
	defer srv.durables.reclaimed(o)
	ds := o.durable
	lr, _ := parseLease(r, req)
	// A v2 reconnect (DH2C) must name the open's create GUID (MS-SMB2 3.3.5.9.12). A v1 open's
	// is zero: DH2C with a zero GUID reclaims it (smbtorture smb2.durable-open.reopen2-lease),
	// with any other it fails (smb2.durable-v2-open.reopen2c); DHnC may reclaim a v2 open
	// (reopen2b). Otherwise only the FileId, the lease key and (for leases) the name are
	// checked: clients send the rest as they please.
	ok := (!v2 || ds.createGUID == createGUID) && o.tree.share == r.tree.share &&
		(ds.lease == nil) == (lr == nil) && (lr == nil || lr.key == ds.lease.key)
	if ok && ds.userSID != r.sess.user.SID {
		srv.durables.keepAgain(o)
		return wire.StatusAccessDenied
	}
	if !ok {
		srv.durables.keepAgain(o)
		return wire.StatusObjectNameNotFound
	}
	if ds.lease != nil && !strings.EqualFold(ds.name, req.Name) {
		// A lease names one file: reclaiming it under another name is invalid (MS-SMB2 3.3.5.9.7).
		srv.durables.keepAgain(o)
		return errInvalidParameter
	}
	o.mu.Lock()
	o.sess = r.sess
	o.mu.Unlock()
	o.tree = r.tree
	if !r.sess.addOpen(o) {
		srv.durables.keepAgain(o)
		return wire.StatusUserSessionDeleted
	}
	return answerExistingOpen(r, o, req, false)
}

// keepAgain returns an open taken for a reconnect that failed its checks, with a fresh timer.
func (d *durableTable) keepAgain(o *open) { d.keep(o) }

// answerExistingOpen builds a CREATE response for an open that already exists (reconnect, replay).
func answerExistingOpen(r *request, o *open, req *wire.CreateRequest, withDurable bool) error {
	fi, err := o.file.Stat()
	if err != nil {
		return err
	}
	r.fileID = o.id
	resp := wire.CreateResponse{OplockLevel: uint8(o.entry.Oplock()), CreateAction: wire.FileOpened, FileID: o.id}
	if info, ok := o.entry.Lease(); ok && o.durable.lease != nil {
		resp.OplockLevel = wire.OplockLevelLease
		resp.Contexts = append(resp.Contexts, o.durable.lease.responseContext(info))
	}
	if withDurable {
		resp.Contexts = append(resp.Contexts, o.durable.responseContext())
	}
	fillCreateTimes(&resp, fi)
	r.resp = resp.Append(r.resp)
	return nil
}

// grantDurable makes a new open durable when asked and allowed: it needs a batch oplock or a
// lease with handle caching (MS-SMB2 3.3.5.9.6, 3.3.5.9.10). It returns the response context, or
// nothing when not granted.
func grantDurable(r *request, req *wire.CreateRequest, o *open, d *durableContexts, lr *leaseRequest, granted vfs.OplockLevel) []wire.CreateContext {
	if !d.v1 && !d.v2 {
		return nil
	}
	cachedHandle := granted == vfs.OplockBatch
	if info, ok := o.entry.Lease(); ok && info.State&vfs.LeaseHandle != 0 {
		cachedHandle = true
	}
	if !cachedHandle || o.isDir {
		return nil
	}
	n := r.c.neg.Load()
	max := r.c.srv.cfg.DurableTimeout
	ds := &durableState{table: &r.c.srv.durables, name: req.Name, v2: d.v2, clientGUID: n.clientGUID, userSID: r.sess.user.SID, timeout: max, lease: lr}
	if d.v2 {
		ds.createGUID = d.req2.CreateGUID
		ds.timeout = durableV2DefaultTimeout
		if d.req2.Timeout != 0 {
			ds.timeout = time.Duration(d.req2.Timeout) * time.Millisecond
		}
		ds.timeout = min(ds.timeout, max)
	}
	o.durable = ds
	r.c.srv.durables.add(o)
	return []wire.CreateContext{ds.responseContext()}
}

func (ds *durableState) responseContext() wire.CreateContext {
	if ds.v2 {
		return wire.CreateContextOf(wire.CtxNameDurableHandleRequestV2,
			&wire.DurableHandleResponseV2{Timeout: uint32(ds.timeout / time.Millisecond)})
	}
	return wire.CreateContextOf(wire.CtxNameDurableHandleRequest, &wire.DurableHandleResponse{})
}
