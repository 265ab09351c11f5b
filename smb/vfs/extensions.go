package vfs

import (
	"context"
	"time"
)

// Optional capabilities. A backend implements these on its FS or File values when it supports
// them; the server checks with a type assertion and advertises a capability only when present
// (FILE_NAMED_STREAMS, FILE_PERSISTENT_ACLS, change notification).

// Named streams (MS-FSCC 2.1.5.2, "file:stream:$DATA"). A backend that implements Streamer on its
// FS accepts names of the form "path/file:stream" in Open (the stream part never contains '/')
// and creates, opens, reads, writes, truncates and removes streams through the ordinary File
// methods. "path/file::$DATA" and "path/file" are the same (unnamed) data stream.
type Streamer interface {
	// Streams lists an object's streams: the unnamed data stream first (Name ""), for files only.
	Streams(ctx context.Context, name string) ([]StreamInfo, error)
}

// StreamInfo describes one stream of an object.
type StreamInfo struct {
	Name       string // without the leading ':' and the ":$DATA" suffix; "" is the unnamed stream
	Size       int64
	Allocation int64
}

// Securable is implemented by Files whose backend stores a security descriptor with each object
// (self-relative SECURITY_DESCRIPTOR bytes, MS-DTYP 2.4.6). The server parses, checks and
// inherits descriptors; the backend only stores them.
type Securable interface {
	// SecurityDescriptor returns the stored descriptor, or ErrNotFound when none was ever set.
	SecurityDescriptor() ([]byte, error)
	SetSecurityDescriptor(sd []byte) error
}

// Watcher is implemented by backends that can report changes beneath a directory, made through
// any handle or directly on the storage (CHANGE_NOTIFY, MS-SMB2 3.3.5.19).
type Watcher interface {
	// Watch reports changes under dir (recursively when tree) on the returned channel until ctx
	// ends; the channel is then closed. A watch that falls behind reports Overflow once and
	// drops changes until the consumer catches up.
	Watch(ctx context.Context, dir string, tree bool) (<-chan Change, error)
}

// SyncWatcher is implemented by Watchers whose changes reach the channel some time after the
// operation that made them (localfs reads them from inotify). WatchSync is Watch plus mark:
// each call of mark puts a Change with Marker set on the channel after every change made
// before the call, so a consumer that waits for it has seen them all (a CHANGE_NOTIFY that
// follows a client's own operation reports it, as on Windows, where notification is part of
// the operation). mark does not block.
type SyncWatcher interface {
	WatchSync(ctx context.Context, dir string, tree bool) (changes <-chan Change, mark func() error, err error)
}

// ChangeAction is MS-FSCC 2.7.1 FILE_NOTIFY_INFORMATION Action.
type ChangeAction uint32

const (
	ChangeAdded          ChangeAction = 1
	ChangeRemoved        ChangeAction = 2
	ChangeModified       ChangeAction = 3
	ChangeRenamedOldName ChangeAction = 4
	ChangeRenamedNewName ChangeAction = 5
	ChangeAddedStream    ChangeAction = 6
	ChangeRemovedStream  ChangeAction = 7
	ChangeModifiedStream ChangeAction = 8
)

// ChangeFilter bits say what kind of change happened (MS-SMB2 2.2.35 CompletionFilter values), so
// the server can match a request's completion filter.
type ChangeFilter uint32

const (
	FilterFileName    ChangeFilter = 0x001
	FilterDirName     ChangeFilter = 0x002
	FilterAttributes  ChangeFilter = 0x004
	FilterSize        ChangeFilter = 0x008
	FilterLastWrite   ChangeFilter = 0x010
	FilterLastAccess  ChangeFilter = 0x020
	FilterCreation    ChangeFilter = 0x040
	FilterEA          ChangeFilter = 0x080
	FilterSecurity    ChangeFilter = 0x100
	FilterStreamName  ChangeFilter = 0x200
	FilterStreamSize  ChangeFilter = 0x400
	FilterStreamWrite ChangeFilter = 0x800
)

// Change is one reported change.
type Change struct {
	Action   ChangeAction
	Filter   ChangeFilter
	Name     string // relative to the watched directory, '/'-separated
	Overflow bool   // changes were lost: the client must re-enumerate (STATUS_NOTIFY_ENUM_DIR)
	Marker   bool   // no change: a SyncWatcher mark, delivered after the changes before it
	Time     time.Time
}

// Range is a byte range of a file.
type Range struct{ Offset, Length int64 }

// The capabilities below are implemented on an FS and take the FS's own Files (csv's Volume has
// this shape); a File of another FS gives ErrNotSupported.

// RangeCloner is implemented by backends that copy a range between two of their files without
// the data passing through the server (FSCTL_SRV_COPYCHUNK, MS-SMB2 3.3.5.15.6), sharing storage
// where they can (reflink, copy-on-write blocks) and copying otherwise.
type RangeCloner interface {
	// CloneRange makes length bytes of dst at dstOff a copy of src at srcOff, extending dst as
	// needed. The range is clamped to src's end of file; it returns the bytes copied. src and
	// dst may be the same file, but the ranges must not overlap.
	CloneRange(dst File, dstOff int64, src File, srcOff int64, length int64) (int64, error)
}

// ExtentDuplicator is implemented by backends that can make a range of one file share storage
// with another (FSCTL_DUPLICATE_EXTENTS_TO_FILE, MS-FSCC 2.3.8): the call either shares the
// blocks or fails with ErrNotSupported (the file system cannot reflink these files). The server
// checks that offsets and length are multiples of FSInfo.BlockSize (or end at src's end of file).
type ExtentDuplicator interface {
	DuplicateExtents(dst File, dstOff int64, src File, srcOff int64, length int64) error
}

// RangeZeroer is implemented by backends that can zero a range and release its storage
// (FSCTL_SET_ZERO_DATA on a sparse file, MS-FSCC 2.3.85). The end of file does not change.
type RangeZeroer interface {
	ZeroRange(f File, off, length int64) error
}

// AllocationMapper is implemented by backends that know which parts of a file hold storage
// (FSCTL_QUERY_ALLOCATED_RANGES, MS-FSCC 2.3.52). The ranges are within [off, off+length),
// in order and merged.
type AllocationMapper interface {
	AllocatedRanges(f File, off, length int64) ([]Range, error)
}

// Sparser is implemented by backends that keep the sparse attribute (FSCTL_SET_SPARSE, MS-FSCC
// 2.3.64): once set, Stat reports AttrSparse and the server may release zeroed ranges. The
// server advertises FILE_SUPPORTS_SPARSE_FILES only for such backends.
type Sparser interface {
	SetSparse(f File, sparse bool) error
}

// WriteZeros writes zeros over [off, end) of f, 1 MiB at a time: zeroing for backends and files
// that cannot release a range (FSCTL_SET_ZERO_DATA on a file that is not sparse).
func WriteZeros(f File, off, end int64) error {
	zeros := make([]byte, min(max(end-off, 0), 1<<20))
	for pos := off; pos < end; pos += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), end-pos)], pos); err != nil {
			return err
		}
	}
	return nil
}

// FileReceiver is a File that can take bytes straight from a pipe with splice(2), so a plain
// WRITE's data goes from the socket to the page cache without passing through the server's
// memory (the receiving half of FileSender). The server uses it only for WRITEs it neither
// verifies a signature on nor decrypts.
type FileReceiver interface {
	// SpliceFrom makes one splice(2) call: up to n bytes from the pipe's read end into the file
	// at off. It returns the bytes moved.
	SpliceFrom(pipe int, off int64, n int) (int, error)
}

// FileSender is a File that can move a byte range straight to a socket with sendfile(2), so a
// READ's data goes from the page cache to the network without passing through the server's
// memory. The server uses it only for responses it neither signs nor encrypts.
type FileSender interface {
	// SendFile makes one sendfile(2) call: up to n bytes of the file at off to the socket sock.
	// It returns the bytes sent; a full non-blocking socket gives unix.EAGAIN, end of file 0, nil.
	SendFile(sock int, off int64, n int) (int, error)
}
