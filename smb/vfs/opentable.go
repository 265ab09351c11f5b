package vfs

import (
	"fmt"
	"sync"
	"time"
)

// Access is an open's granted access, with the MS-FSCC/MS-SMB2 2.2.13.1 bit values.
type Access uint32

const (
	AccessReadData    Access = 0x00000001
	AccessWriteData   Access = 0x00000002
	AccessAppendData  Access = 0x00000004
	AccessReadEA      Access = 0x00000008
	AccessWriteEA     Access = 0x00000010
	AccessExecute     Access = 0x00000020
	AccessDeleteChild Access = 0x00000040
	AccessReadAttr    Access = 0x00000080
	AccessWriteAttr   Access = 0x00000100
	AccessDelete      Access = 0x00010000
	AccessReadControl Access = 0x00020000
	AccessWriteDAC    Access = 0x00040000
	AccessWriteOwner  Access = 0x00080000
	AccessSynchronize Access = 0x00100000
)

// ShareMode says which other opens an open tolerates (MS-SMB2 2.2.13 ShareAccess).
type ShareMode uint32

const (
	ShareRead   ShareMode = 0x1
	ShareWrite  ShareMode = 0x2
	ShareDelete ShareMode = 0x4
)

// OpenTable holds the opens of every object of one FS, keyed by file id: the state that must be
// consistent whichever connection (or, later, node) an open came through. It checks share modes
// (MS-FSA 2.1.5.1.2, "Algorithm to Check Sharing Access") and keeps delete-pending state so the
// last close deletes. It knows nothing of SMB messages. One mutex guards it; it never does I/O.
type OpenTable struct {
	// BreakTimeout bounds the wait for an oplock break acknowledgment (DefaultBreakTimeout if 0).
	BreakTimeout time.Duration

	mu     sync.Mutex
	objs   map[uint64]*object
	leases map[LeaseKey]*lease // lease.go
}

type object struct {
	opens         map[*Open]struct{}
	deletePending bool
	locks         *LockTable // byte-range locks, alive while the object has opens
	// deleted is closed when delete pending becomes set (nil until someone waits for it).
	deleted chan struct{}
	// streamOpens are the open named streams of this object (LinkBase): they share its
	// delete-pending state and keep it (and its deletion) alive while open.
	streamOpens map[*Open]struct{}
}

// setDeletePendingLocked sets the object's delete-pending state and wakes DeletePendingWait.
func (obj *object) setDeletePendingLocked(v bool) {
	obj.deletePending = v
	if v && obj.deleted != nil {
		close(obj.deleted)
		obj.deleted = nil
	}
}

// Open is one registered open of an object.
type Open struct {
	table         *OpenTable
	id            uint64
	access        Access
	share         ShareMode
	deleteOnClose bool
	closed        bool

	locks *LockTable

	oplock   OplockLevel
	onBreak  BreakFunc
	breaking bool // a break to breakTo awaits acknowledgment
	breakTo  OplockLevel
	broken   chan struct{} // closed when the break completes (ack, timeout or close)

	lease *lease // the open's lease (lease.go); an open has a lease or an oplock, not both

	base          *object // the object whose named stream this open is (LinkBase), or nil
	baseID        uint64
	baseDeleteDue bool // Close left the base object to be deleted by the caller
}

// NewOpenTable returns an empty table.
func NewOpenTable() *OpenTable { return &OpenTable{objs: make(map[uint64]*object)} }

// dataAccess reports whether an access mask takes part in share-mode checks: opens for attributes,
// security or synchronisation only never conflict (MS-FSA 2.1.5.1.2).
func dataAccess(a Access) bool {
	return a&(AccessReadData|AccessWriteData|AccessAppendData|AccessExecute|AccessDelete) != 0
}

// conflicts reports whether an open with access a and share s conflicts with an existing open.
func conflicts(a Access, s ShareMode, o *Open) bool {
	if !dataAccess(a) || !dataAccess(o.access) {
		return false
	}
	if o.share&ShareRead == 0 && a&(AccessReadData|AccessExecute) != 0 ||
		o.share&ShareWrite == 0 && a&(AccessWriteData|AccessAppendData) != 0 ||
		o.share&ShareDelete == 0 && a&AccessDelete != 0 {
		return true
	}
	return s&ShareRead == 0 && o.access&(AccessReadData|AccessExecute) != 0 ||
		s&ShareWrite == 0 && o.access&(AccessWriteData|AccessAppendData) != 0 ||
		s&ShareDelete == 0 && o.access&AccessDelete != 0
}

// Check reports whether an open of object id with access and share would be allowed now,
// without registering it (used before a create that would overwrite or supersede).
func (t *OpenTable) Check(id uint64, access Access, share ShareMode) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checkLocked(id, access, share)
}

func (t *OpenTable) checkLocked(id uint64, access Access, share ShareMode) error {
	obj := t.objs[id]
	if obj == nil {
		return nil
	}
	if obj.deletePending {
		return fmt.Errorf("object %d: %w", id, ErrDeletePending)
	}
	for o := range obj.opens {
		if conflicts(access, share, o) {
			return fmt.Errorf("object %d: %w", id, ErrSharingViolation)
		}
	}
	// Deleting a file deletes its streams: an open for DELETE needs every open stream of the
	// object to share delete (Windows, Samba; smbtorture smb2.streams.delete).
	if access&AccessDelete != 0 {
		for so := range obj.streamOpens {
			if so.share&ShareDelete == 0 {
				return fmt.Errorf("object %d: stream open without FILE_SHARE_DELETE: %w", id, ErrSharingViolation)
			}
		}
	}
	return nil
}

// LinkBase records that the open is of a named stream of object baseID (the open itself being
// registered under the stream's own key, for share modes of its own): the base's delete
// pending applies to it (ErrDeletePending when already set; the caller then closes the open),
// an open of the base for DELETE must be shared with it, and deleting the base waits for it
// to close (BaseDeleteDue).
func (o *Open) LinkBase(baseID uint64) error {
	t := o.table
	t.mu.Lock()
	defer t.mu.Unlock()
	base := t.objs[baseID]
	if base != nil && base.deletePending {
		return fmt.Errorf("object %d: %w", baseID, ErrDeletePending)
	}
	if base == nil {
		base = &object{opens: make(map[*Open]struct{}), locks: NewLockTable()}
		t.objs[baseID] = base
	}
	if base.streamOpens == nil {
		base.streamOpens = make(map[*Open]struct{})
	}
	base.streamOpens[o] = struct{}{}
	o.base, o.baseID = base, baseID
	return nil
}

// BaseDeleteDue reports, after Close, that this stream open was the last thing keeping its
// delete-pending base object: the caller must now delete the base.
func (o *Open) BaseDeleteDue() bool {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	return o.baseDeleteDue
}

// unlinkBaseLocked drops a closing stream open from its base object.
func (t *OpenTable) unlinkBaseLocked(o *Open) {
	base := o.base
	if base == nil {
		return
	}
	o.base = nil
	delete(base.streamOpens, o)
	if len(base.opens) == 0 && len(base.streamOpens) == 0 && t.objs[o.baseID] == base {
		delete(t.objs, o.baseID)
		o.baseDeleteDue = base.deletePending
	}
}

// Open registers an open of object id, or fails with ErrSharingViolation or ErrDeletePending.
func (t *OpenTable) Open(id uint64, access Access, share ShareMode) (*Open, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkLocked(id, access, share); err != nil {
		return nil, err
	}
	obj := t.objs[id]
	if obj == nil {
		obj = &object{opens: make(map[*Open]struct{}), locks: NewLockTable()}
		t.objs[id] = obj
	}
	o := &Open{table: t, id: id, access: access, share: share, locks: obj.locks}
	obj.opens[o] = struct{}{}
	return o, nil
}

// Locks returns the byte-range lock table of the open's object (shared by all its opens).
func (o *Open) Locks() *LockTable { return o.locks }

// SetDeleteOnClose marks the open so that closing it sets delete pending (FILE_DELETE_ON_CLOSE).
func (o *Open) SetDeleteOnClose() {
	o.table.mu.Lock()
	o.deleteOnClose = true
	o.table.mu.Unlock()
}

// SetDeletePending sets or clears the object's delete-pending state (FileDispositionInformation).
func (o *Open) SetDeletePending(v bool) {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	if obj := o.table.objs[o.id]; obj != nil {
		obj.setDeletePendingLocked(v)
	}
}

// closedChan is returned by DeletePendingWait when delete is already pending.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// DeletePendingWait returns a channel closed once the object's delete is pending (at once if
// it is now): a CHANGE_NOTIFY pending on a directory completes when the directory is doomed.
func (o *Open) DeletePendingWait() <-chan struct{} {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	obj := o.table.objs[o.id]
	if obj == nil || o.closed {
		return nil
	}
	if obj.deletePending {
		return closedChan
	}
	if obj.deleted == nil {
		obj.deleted = make(chan struct{})
	}
	return obj.deleted
}

// DeletePending reports whether the object will be deleted when its last open closes.
func (o *Open) DeletePending() bool {
	o.table.mu.Lock()
	defer o.table.mu.Unlock()
	obj := o.table.objs[o.id]
	return obj != nil && (obj.deletePending || o.deleteOnClose)
}

// Close unregisters the open. It reports whether the caller must now delete the object: this was
// the last open and delete is pending (set directly, or by a delete-on-close open closing).
func (o *Open) Close() (deleteNow bool) {
	t := o.table
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.closed {
		return false
	}
	o.closed = true
	if o.breaking {
		o.breaking = false
		close(o.broken) // a closed holder no longer blocks anyone
	}
	o.oplock = OplockNone
	t.detachLeaseLocked(o)
	t.unlinkBaseLocked(o)
	obj := t.objs[o.id]
	if obj == nil {
		return false
	}
	if o.deleteOnClose {
		obj.setDeletePendingLocked(true)
	}
	delete(obj.opens, o)
	if len(obj.opens) > 0 {
		return false
	}
	if len(obj.streamOpens) > 0 {
		// Open streams keep the object, and its pending delete, until the last one closes.
		return false
	}
	delete(t.objs, o.id)
	return obj.deletePending
}

// Rekey moves an object's opens to a new id (a backend whose ids change on rename; rare).
func (t *OpenTable) Rekey(from, to uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if obj, ok := t.objs[from]; ok && from != to {
		delete(t.objs, from)
		t.objs[to] = obj
		for o := range obj.opens {
			o.id = to
			if o.lease != nil {
				o.lease.objID = to
			}
		}
	}
}
