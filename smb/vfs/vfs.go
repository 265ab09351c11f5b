// Package vfs is the contract between the SMB server and the storage that backs a share.
//
// The server owns the protocol: it parses paths, matches wildcards, encodes info classes and maps
// errors to NTSTATUS in one place. A backend owns semantics on its storage: it opens, creates,
// reads, writes, renames and deletes, and it keeps names confined beneath its root. Nothing here
// knows SMB wire formats; attribute bits and disposition values are file-system concepts that
// happen to share their numeric values with MS-FSCC so no translation table is needed.
//
// Backends: localfs (a directory of the host) and csv (a cluster shared volume).
package vfs

import (
	"context"
	"errors"
	"time"
)

// FS is one share's storage. Implementations must be safe for concurrent use.
type FS interface {
	// Open opens or creates the object at name. name is relative to the share root, uses '/'
	// as separator, has no leading or trailing slash, no "." or ".." elements, and "" is the
	// root itself. The server has already validated it; the backend must still keep every
	// resolution beneath its root (symlinks, races).
	Open(ctx context.Context, name string, req OpenRequest) (File, OpenAction, error)
	// StatFS reports capacity and the volume's identity.
	StatFS(ctx context.Context) (FSInfo, error)
}

// Disposition says what Open does when the object exists or not (MS-SMB2 2.2.13
// CreateDisposition; the same values).
type Disposition uint32

const (
	Supersede    Disposition = 0 // exists: replace (new object); absent: create
	OpenExisting Disposition = 1 // exists: open; absent: ErrNotFound
	Create       Disposition = 2 // exists: ErrExists; absent: create
	OpenIf       Disposition = 3 // exists: open; absent: create
	Overwrite    Disposition = 4 // exists: truncate to 0; absent: ErrNotFound
	OverwriteIf  Disposition = 5 // exists: truncate to 0; absent: create
)

// OpenAction reports what Open did (MS-SMB2 2.2.14 CreateAction values).
type OpenAction uint32

const (
	Superseded  OpenAction = 0
	Opened      OpenAction = 1
	Created     OpenAction = 2
	Overwritten OpenAction = 3
)

// Kind constrains what Open may open or create.
type Kind uint8

const (
	AnyKind       Kind = iota // open either; create a file
	FileOnly                  // must be (or create) a non-directory: ErrIsDir otherwise
	DirectoryOnly             // must be (or create) a directory: ErrNotDir otherwise
)

// OpenRequest carries what the client asked for that the backend needs to know.
type OpenRequest struct {
	Disposition  Disposition
	Kind         Kind
	Read         bool  // data will be read
	Write        bool  // data will be written (also needed for truncate, set times is separate)
	Attributes   Attr  // DOS attributes for a created or overwritten object (Normal/Directory ignored)
	Allocation   int64 // initial allocation hint for a created file, 0 for none
	WriteThrough bool  // every WriteAt is durable before it returns
	// CaseInsensitive asks the backend to match each path element case-insensitively when an
	// exact match does not exist (Windows clients expect this; POSIX clients do not).
	CaseInsensitive bool
}

// File is one open object. The server serialises nothing: methods may be called concurrently.
type File interface {
	ReadAt(p []byte, off int64) (int, error) // io.ReaderAt semantics; io.EOF at or past end
	WriteAt(p []byte, off int64) (int, error)
	Stat() (FileInfo, error)
	// SetInfo changes the fields that are non-nil. Setting a time to the zero Time is not allowed
	// (the server filters SMB's 0 = "leave unchanged").
	SetInfo(s SetInfo) error
	Truncate(size int64) error // set end of file
	// Allocate reserves space up to size without changing the end of file (FileAllocationInformation).
	// A size below the end of file truncates, as NTFS does.
	Allocate(size int64) error
	Sync() error
	// ReadDir lists a directory's entries, without "." and "..", in a stable order.
	ReadDir() ([]FileInfo, error)
	// Rename moves the object to newName (same form as FS.Open's name). With replace false an
	// existing target gives ErrExists; with replace true an existing file is replaced and an
	// existing directory gives ErrExists (MS-FSCC 2.4.42: directories are never replaced).
	Rename(newName string, replace bool) error
	// Remove deletes the object at its current name; a non-empty directory gives ErrNotEmpty.
	// The server calls it when the last handle with delete pending closes.
	Remove() error
	// Name is the object's current name relative to the root ("" for the root).
	Name() string
	Close() error
}

// Attr holds DOS attributes; values are those of MS-FSCC 2.6 FILE_ATTRIBUTE_*.
type Attr uint32

const (
	AttrReadOnly          Attr = 0x00000001
	AttrHidden            Attr = 0x00000002
	AttrSystem            Attr = 0x00000004
	AttrDirectory         Attr = 0x00000010
	AttrArchive           Attr = 0x00000020
	AttrNormal            Attr = 0x00000080
	AttrTemporary         Attr = 0x00000100
	AttrSparse            Attr = 0x00000200
	AttrReparsePoint      Attr = 0x00000400
	AttrCompressed        Attr = 0x00000800
	AttrOffline           Attr = 0x00001000
	AttrNotContentIndexed Attr = 0x00002000
	AttrEncrypted         Attr = 0x00004000
	AttrIntegrityStream   Attr = 0x00008000
	AttrNoScrubData       Attr = 0x00020000

	// AttrSettable are the bits a client may set and a backend stores; the others are derived.
	AttrSettable = AttrReadOnly | AttrHidden | AttrSystem | AttrArchive | AttrTemporary |
		AttrOffline | AttrNotContentIndexed
)

// FileInfo describes one object.
type FileInfo struct {
	Name           string // last path element, case as stored ("" for the root)
	ID             uint64 // stable for the object's lifetime, unique in the FS, never 0
	Size           int64  // end of file (0 for directories)
	Allocation     int64  // bytes allocated on storage
	Attributes     Attr   // includes AttrDirectory for directories; never 0 (AttrNormal alone)
	Links          uint32
	CreationTime   time.Time
	LastAccessTime time.Time
	LastWriteTime  time.Time
	ChangeTime     time.Time
}

// IsDir reports whether the object is a directory.
func (fi FileInfo) IsDir() bool { return fi.Attributes&AttrDirectory != 0 }

// SetInfo lists changes for File.SetInfo; nil fields stay as they are.
type SetInfo struct {
	CreationTime   *time.Time
	LastAccessTime *time.Time
	LastWriteTime  *time.Time
	ChangeTime     *time.Time
	Attributes     *Attr // only AttrSettable bits are kept
}

// FSInfo describes a share's volume.
type FSInfo struct {
	TotalBytes     uint64
	FreeBytes      uint64 // available to the caller
	BlockSize      uint32 // allocation unit
	SectorSize     uint32 // physical sector (reported for FileFsSectorSizeInformation)
	SerialNumber   uint32
	Label          string
	CreationTime   time.Time
	MaxNameLength  uint32 // in UTF-16 code units
	CaseSensitive  bool   // names differ by case only may coexist
	SupportsSparse bool
}

// Errors a backend returns; the server maps each to one NTSTATUS in one place. Backends wrap
// them with context (fmt.Errorf("open %q: %w", name, vfs.ErrNotFound)).
var (
	ErrNotFound     = errors.New("object not found") // last element missing
	ErrPathNotFound = errors.New("path not found")   // an intermediate element missing
	ErrExists       = errors.New("object exists")
	ErrIsDir        = errors.New("is a directory")
	ErrNotDir       = errors.New("not a directory")
	ErrNotEmpty     = errors.New("directory not empty")
	ErrAccess       = errors.New("access denied")
	ErrInvalidName  = errors.New("invalid name")
	ErrNoSpace      = errors.New("no space left")
	ErrEscape       = errors.New("path escapes the share root") // symlink or race pointing outside
	ErrReadOnly     = errors.New("object is read-only")
	ErrInUse        = errors.New("object in use")
	ErrNotSupported = errors.New("operation not supported")
	ErrIO           = errors.New("I/O error")
	// Errors from the open table.
	ErrSharingViolation = errors.New("sharing violation")
	ErrDeletePending    = errors.New("delete pending")
	ErrCannotDelete     = errors.New("cannot delete")
)
