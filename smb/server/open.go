package server

import (
	"sync"
	"sync/atomic"

	"github.com/sofs-dev/sofs/smb/rpc"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// open is one SMB handle (MS-SMB2 3.3.1.10): a file, a directory or a named pipe.
type open struct {
	id     wire.FileID
	tree   *tree
	file   vfs.File  // nil for pipes
	pipe   *rpc.Pipe // nil for files
	entry  *vfs.Open // share-mode and delete-pending registration
	access uint32    // granted access
	isDir  bool
	// durable is set once at create when the open is granted durability (durable.go).
	durable *durableState
	// replay is the open's replay cache entry until a later request names it (durable.go).
	replay atomic.Pointer[replayEntry]

	mu        sync.Mutex // guards the small fields below; never held across I/O
	closed    bool
	sess      *session     // the session holding the open; break notifications go to its connection
	dirMu     sync.Mutex   // serialises QUERY_DIRECTORY on this handle (held across ReadDir)
	dir       *dirCursor   // QUERY_DIRECTORY state, guarded by dirMu
	notify    *notifyState // CHANGE_NOTIFY watch, started by the first request
	position  int64        // FilePositionInformation (kept, never used for I/O)
	mode      uint32       // FileModeInformation
	writeThru bool
	csn       channelSequence // MS-SMB2 3.3.5.2.10 (channelseq.go)
	lockSeq   lockSequences   // MS-SMB2 3.3.5.14 (lock.go)
	resumeKey [24]byte        // FSCTL_SRV_REQUEST_RESUME_KEY, zero until asked (fsctl_fs.go)

	writeTime writeTimeState // delayed last-write-time updates (writetime.go)
}

// close releases the handle; when it is the last open of an object with delete pending, the
// object is deleted first (MS-SMB2 3.3.5.10, MS-FSA 2.1.5.4).
func (o *open) close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	n := o.notify
	o.mu.Unlock()
	o.dropReplay()
	if o.durable != nil {
		o.durable.table.forget(o)
	}
	if n != nil {
		n.close() // pending CHANGE_NOTIFY requests complete with STATUS_NOTIFY_CLEANUP
	}
	if o.pipe != nil {
		return o.pipe.Close()
	}
	var err error
	deleteNow := false
	if o.entry != nil {
		// Locks go with the handle; waiters on them are woken (MS-FSA 2.1.5.4).
		o.entry.Locks().ReleaseAll(o)
		// Leave the open table before the write-time update: on a volume that update is a
		// journal commit, and until the entry goes a create of the same name still sees this
		// open (a pending delete it keeps alive, a share mode). smbtorture's smb2.read opens
		// again the file the previous test's dropped connection held, and saw DELETE_PENDING.
		deleteNow = o.entry.Close()
	}
	if deleteNow {
		err = o.file.Remove() // a file about to go needs no write time
	} else {
		o.closeWriteTime()
	}
	if cerr := o.file.Close(); err == nil {
		err = cerr
	}
	if o.entry != nil && o.entry.BaseDeleteDue() {
		// The last open stream of a file deleted meanwhile: the file goes now (streams.go).
		if rerr := removeStreamBase(o); err == nil {
			err = rerr
		}
	}
	return err
}

// has reports whether the open was granted any of the access bits.
func (o *open) has(bits uint32) bool { return o.access&bits != 0 }

// allFF is the FileId that means "the FileId of the previous request in this compound".
var allFF = wire.FileID{Persistent: ^uint64(0), Volatile: ^uint64(0)}

// lookupOpen resolves a request's FileId (MS-SMB2 3.3.5.2.7.2 for compounds).
func (r *request) lookupOpen(id wire.FileID) (*open, error) {
	if id == allFF {
		if r.fileID == (wire.FileID{}) {
			return nil, wire.StatusFileClosed
		}
		id = r.fileID
	}
	o := r.sess.open(id.Volatile)
	if o == nil || o.id.Persistent != id.Persistent || o.tree != r.tree {
		return nil, wire.StatusFileClosed
	}
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return nil, wire.StatusFileClosed
	}
	if err := r.admitChannelSequence(o); err != nil {
		return nil, err
	}
	if o.replay.Load() != nil {
		o.dropReplay() // the client has seen the create response: no replay of it any more
	}
	r.fileID = o.id
	return o, nil
}
