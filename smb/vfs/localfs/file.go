package localfs

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// file is one open object: a descriptor resolved beneath the root, never O_PATH (so that
// fgetxattr, futimens and fchmod work on it). Data I/O goes straight to pread/pwrite on it
// without locks; recMu serialises the record's read-modify-write, mu the name.
type file struct {
	fs     *FS
	fd     int
	isDir  bool
	dev    uint64
	ino    uint64
	ci     bool // opened case-insensitively: names given to Rename are resolved the same way
	closed atomic.Bool

	recMu sync.Mutex // serialises SetInfo's read-modify-write of the record

	mu      sync.Mutex
	name    string
	nameGen uint64 // fs.dirRenames when name was last known right
}

var _ vfs.File = (*file)(nil)

func removeFlags(isDir bool) int {
	if isDir {
		return unix.AT_REMOVEDIR
	}
	return 0
}

var errClosed = fmt.Errorf("localfs: file already closed: %w", vfs.ErrIO)

// ReadAt implements io.ReaderAt on the descriptor: no lock, no allocation.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if f.closed.Load() {
		return 0, errClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("localfs: read %q at %d: negative offset: %w", f.Name(), off, vfs.ErrNotSupported)
	}
	n := 0
	for n < len(p) {
		m, err := unix.Pread(f.fd, p[n:], off+int64(n))
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return n, f.ioError("read", err)
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// WriteAt writes all of p at off.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if f.closed.Load() {
		return 0, errClosed
	}
	if f.isDir {
		return 0, fmt.Errorf("localfs: write %q: %w", f.Name(), vfs.ErrIsDir)
	}
	if off < 0 {
		return 0, fmt.Errorf("localfs: write %q at %d: negative offset: %w", f.Name(), off, vfs.ErrNotSupported)
	}
	n := 0
	for n < len(p) {
		m, err := unix.Pwrite(f.fd, p[n:], off+int64(n))
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return n, f.ioError("write", err)
		}
		if m == 0 {
			return n, fmt.Errorf("localfs: write %q: no progress: %w", f.Name(), vfs.ErrIO)
		}
		n += m
	}
	return n, nil
}

// ioError maps errors of calls on the descriptor. EBADF and EINVAL there mean the descriptor
// lacks the access (a read-only open asked to write or truncate).
func (f *file) ioError(op string, err error) error {
	if err == unix.EBADF || err == unix.EINVAL {
		return fmt.Errorf("localfs: %s %q: not opened for it: %w: %w", op, f.Name(), vfs.ErrAccess, err)
	}
	return opError(op, f.Name(), err, vfs.ErrNotFound)
}

func (f *file) statx(stx *unix.Statx_t) error {
	if err := unix.Statx(f.fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_SYNC_AS_STAT, statxMask, stx); err != nil {
		return opError("stat", f.Name(), err, vfs.ErrNotFound)
	}
	return nil
}

// Stat implements vfs.File.
func (f *file) Stat() (vfs.FileInfo, error) {
	if f.closed.Load() {
		return vfs.FileInfo{}, errClosed
	}
	var stx unix.Statx_t
	if err := f.statx(&stx); err != nil {
		return vfs.FileInfo{}, err
	}
	rec, hasRec := f.fs.readRecordFD(f.fd)
	_, base := splitName(f.Name())
	fi := infoOf(base, &stx, rec, hasRec)
	if blk := int64(stx.Blksize); blk > 0 && fi.Allocation > (fi.Size+blk-1)/blk*blk {
		fi.Allocation = dataAllocation(f.fd, fi.Allocation)
	}
	return fi, nil
}

// infoOf builds a FileInfo from statx and the optional record (see the package documentation
// for how absent fields are derived).
func infoOf(name string, stx *unix.Statx_t, rec dosRecord, hasRec bool) vfs.FileInfo {
	typ := uint32(stx.Mode) & unix.S_IFMT
	fi := vfs.FileInfo{
		Name:           name,
		ID:             fileID(stx.Ino),
		Size:           int64(stx.Size),
		Allocation:     int64(stx.Blocks) * 512,
		Attributes:     attrsOf(stx, rec, hasRec),
		Links:          stx.Nlink,
		LastAccessTime: tsTime(stx.Atime),
		LastWriteTime:  tsTime(stx.Mtime),
		ChangeTime:     tsTime(stx.Ctime),
		CreationTime:   creationFromStatx(stx),
	}
	if typ == unix.S_IFDIR {
		fi.Size = 0
	}
	if hasRec && rec.hasCreation {
		fi.CreationTime = rec.creationTime()
	}
	if hasRec && rec.changeCurrent(stx) {
		fi.ChangeTime = rec.changeTime()
	}
	return fi
}

// fileID is the inode number. Inode 0 does not name a file on Linux file systems, but the
// contract forbids ID 0 outright, so it is mapped to a value inode numbers do not reach.
func fileID(ino uint64) uint64 {
	if ino == 0 {
		return 1 << 63
	}
	return ino
}

func tsTime(ts unix.StatxTimestamp) time.Time { return time.Unix(ts.Sec, int64(ts.Nsec)) }

// creationFromStatx is btime where the file system keeps it, else the earlier of mtime and
// ctime (the best lower bound POSIX offers).
func creationFromStatx(stx *unix.Statx_t) time.Time {
	if stx.Mask&unix.STATX_BTIME != 0 && stx.Btime.Sec != 0 {
		return tsTime(stx.Btime)
	}
	m, c := tsTime(stx.Mtime), tsTime(stx.Ctime)
	if c.Before(m) {
		return c
	}
	return m
}

// derivedAttrs are the settable attributes of an object without a record.
func derivedAttrs(stx *unix.Statx_t) vfs.Attr {
	if uint32(stx.Mode)&unix.S_IFMT == unix.S_IFDIR {
		return 0
	}
	return vfs.AttrArchive
}

func attrsOf(stx *unix.Statx_t, rec dosRecord, hasRec bool) vfs.Attr {
	a := derivedAttrs(stx)
	if hasRec {
		a = rec.attrs & storedAttrs
	}
	switch uint32(stx.Mode) & unix.S_IFMT {
	case unix.S_IFDIR:
		a |= vfs.AttrDirectory
	case unix.S_IFREG:
		// The mode is the one truth for ReadOnly of files (see SetInfo).
		a &^= vfs.AttrReadOnly
		if stx.Mode&0o200 == 0 {
			a |= vfs.AttrReadOnly
		}
	case unix.S_IFLNK:
		a |= vfs.AttrReparsePoint
	}
	if a == 0 {
		a = vfs.AttrNormal
	}
	return a
}

// readRecordFD reads the record of an open object; false when absent, malformed or unsupported.
func (fs *FS) readRecordFD(fd int) (dosRecord, bool) {
	if fs.noXattrs.Load() {
		return dosRecord{}, false
	}
	var buf [recordLen + 8]byte
	n, err := unix.Fgetxattr(fd, xattrName, buf[:])
	if err != nil {
		return dosRecord{}, false
	}
	rec, err := decodeRecord(buf[:n])
	return rec, err == nil
}

// writeRecordFD stores rec. On a file system that refuses user xattrs the record is dropped
// (the documented fallback) instead of failing the operation. This is decided per call, not
// once per FS, because a share may span mounts of different file systems.
func (fs *FS) writeRecordFD(fd int, name string, rec dosRecord) error {
	if fs.noXattrs.Load() {
		return nil
	}
	var buf [recordLen]byte
	rec.encode(&buf)
	if err := unix.Fsetxattr(fd, xattrName, buf[:], 0); err != nil {
		if err == unix.EOPNOTSUPP {
			return nil
		}
		return opError("store attributes", name, err, vfs.ErrNotFound)
	}
	return nil
}

// setReadOnlyMode mirrors ReadOnly into the mode of a file: set clears every write bit, clear
// restores the owner's.
func (f *file) setReadOnlyMode(stx *unix.Statx_t, readOnly bool) error {
	if f.isDir {
		return nil
	}
	mode := uint32(stx.Mode) & 0o7777
	newMode := mode
	if readOnly {
		newMode &^= 0o222
	} else if mode&0o200 == 0 {
		newMode |= 0o200
	}
	if newMode == mode {
		return nil
	}
	if err := unix.Fchmod(f.fd, newMode); err != nil {
		return opError("chmod", f.Name(), err, vfs.ErrNotFound)
	}
	stx.Mode = uint16(uint32(stx.Mode)&unix.S_IFMT | newMode)
	return nil
}

// initRecord gives a created, overwritten or superseded object its attributes. The record is
// written only when it says something statx does not (fewer syscalls on the create path);
// resetCreation (supersede) records the current time as the new object's creation time.
func (f *file) initRecord(attrs vfs.Attr, resetCreation bool) error {
	var stx unix.Statx_t
	if err := f.statx(&stx); err != nil {
		return err
	}
	if err := f.setReadOnlyMode(&stx, attrs&vfs.AttrReadOnly != 0); err != nil {
		return err
	}
	rec := dosRecord{attrs: attrs & vfs.AttrSettable}
	if resetCreation {
		rec.hasCreation, rec.creation = true, time.Now().UnixNano()
	} else if old, ok := f.fs.readRecordFD(f.fd); ok && old.hasCreation {
		rec.hasCreation, rec.creation, rec.farCreation = true, old.creation, old.farCreation
	} else if stx.Mask&unix.STATX_BTIME == 0 {
		rec.setCreation(creationFromStatx(&stx))
	}
	plain := rec.attrs&^vfs.AttrReadOnly == derivedAttrs(&stx) && !rec.hasCreation
	if f.isDir {
		plain = rec.attrs == 0 && !rec.hasCreation
	}
	if plain {
		if _, had := f.fs.readRecordFD(f.fd); !had {
			return nil
		}
	}
	return f.fs.writeRecordFD(f.fd, f.Name(), rec)
}

// applyDisposition finishes opening an existing object: read-only enforcement and the
// overwrite family (MS-FSA 2.1.5.1.2.1: hidden and system must be kept by the caller's
// attributes or the open is denied; the new attributes are the caller's plus ARCHIVE).
func (f *file) applyDisposition(req vfs.OpenRequest) (vfs.OpenAction, error) {
	if f.isDir {
		if overwrites(req.Disposition) {
			return 0, fmt.Errorf("localfs: overwrite %q: %w", f.Name(), vfs.ErrIsDir)
		}
		return vfs.Opened, nil
	}
	if !req.Write && !overwrites(req.Disposition) {
		return vfs.Opened, nil
	}
	var stx unix.Statx_t
	if err := f.statx(&stx); err != nil {
		return 0, err
	}
	rec, hasRec := f.fs.readRecordFD(f.fd)
	cur := attrsOf(&stx, rec, hasRec)
	if cur&vfs.AttrReadOnly != 0 {
		return 0, fmt.Errorf("localfs: open %q for writing: %w", f.Name(), vfs.ErrReadOnly)
	}
	if !overwrites(req.Disposition) {
		return vfs.Opened, nil
	}
	want := req.Attributes & vfs.AttrSettable
	if cur&vfs.AttrHidden != 0 && want&vfs.AttrHidden == 0 || cur&vfs.AttrSystem != 0 && want&vfs.AttrSystem == 0 {
		return 0, fmt.Errorf("localfs: overwrite %q: hidden/system attributes not kept: %w", f.Name(), vfs.ErrAccess)
	}
	if err := unix.Ftruncate(f.fd, 0); err != nil {
		return 0, f.ioError("truncate", err)
	}
	if err := f.removeStreams(); err != nil {
		return 0, err
	}
	if req.Allocation > 0 {
		_ = unix.Fallocate(f.fd, unix.FALLOC_FL_KEEP_SIZE, 0, req.Allocation)
	}
	supersede := req.Disposition == vfs.Supersede
	if err := f.initRecord(want|vfs.AttrArchive, supersede); err != nil {
		return 0, err
	}
	if supersede {
		return vfs.Superseded, nil
	}
	return vfs.Overwritten, nil
}

// SetInfo implements vfs.File. Access and write times go to the inode (futimens on the
// descriptor); creation time, change time and attributes to the record, ReadOnly of a file
// also to the mode. Linux cannot set ctime, so a set change time is kept in the record and
// reported from there until it is set again.
func (f *file) SetInfo(s vfs.SetInfo) error {
	if f.closed.Load() {
		return errClosed
	}
	if s.LastAccessTime != nil || s.LastWriteTime != nil {
		ts := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if s.LastAccessTime != nil {
			ts[0] = timespecOf(*s.LastAccessTime)
		}
		if s.LastWriteTime != nil {
			ts[1] = timespecOf(*s.LastWriteTime)
		}
		if err := unix.UtimesNanoAt(f.fd, "", ts[:], unix.AT_EMPTY_PATH); err != nil {
			return opError("set times", f.Name(), err, vfs.ErrNotFound)
		}
	}
	if s.CreationTime == nil && s.ChangeTime == nil && s.Attributes == nil {
		return nil
	}
	f.recMu.Lock()
	defer f.recMu.Unlock()
	var stx unix.Statx_t
	if err := f.statx(&stx); err != nil {
		return err
	}
	rec, hasRec := f.fs.readRecordFD(f.fd)
	if !hasRec {
		rec = dosRecord{attrs: derivedAttrs(&stx)}
	}
	if s.Attributes != nil {
		rec.attrs = *s.Attributes&vfs.AttrSettable | rec.attrs&vfs.AttrSparse // sparse changes only by SetSparse
		if err := f.setReadOnlyMode(&stx, rec.attrs&vfs.AttrReadOnly != 0); err != nil {
			return err
		}
	}
	if s.CreationTime != nil {
		rec.setCreation(*s.CreationTime)
	}
	if rec.hasChange && !rec.changeCurrent(&stx) {
		rec.hasChange, rec.change, rec.farChange, rec.anchor = false, 0, false, 0 // superseded by a later change
	}
	if s.ChangeTime == nil {
		return f.fs.writeRecordFD(f.fd, f.Name(), rec)
	}
	// The anchor is taken right before the xattr write, the last thing to touch ctime here. If
	// this goroutine was descheduled in between for longer than changeWindow, the set value
	// would not stand; write it again with a fresh anchor (bounded).
	rec.setChange(*s.ChangeTime)
	for attempt := 0; ; attempt++ {
		rec.anchor = time.Now().UnixNano()
		if err := f.fs.writeRecordFD(f.fd, f.Name(), rec); err != nil {
			return err
		}
		if err := f.statx(&stx); err != nil {
			return err
		}
		if rec.changeCurrent(&stx) || attempt == 4 {
			return nil
		}
	}
}

// changeWindow is how far the real ctime may lie from the anchor of a client-set change time
// for that value to still stand. It covers the kernel's coarse clock lagging the wall clock by
// up to a tick and the syscalls between taking the anchor and the xattr write; a change made
// within it after a set change time is not reflected.
const changeWindow = 20 * time.Millisecond

// changeCurrent reports whether the client-set change time still stands: nothing changed the
// inode since it was set.
func (r dosRecord) changeCurrent(stx *unix.Statx_t) bool {
	if !r.hasChange {
		return false
	}
	d := tsTime(stx.Ctime).UnixNano() - r.anchor
	return d > -int64(changeWindow) && d < int64(changeWindow)
}

func timespecOf(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// Truncate implements vfs.File.
func (f *file) Truncate(size int64) error {
	if f.closed.Load() {
		return errClosed
	}
	if f.isDir {
		return fmt.Errorf("localfs: truncate %q: %w", f.Name(), vfs.ErrIsDir)
	}
	if size < 0 {
		return fmt.Errorf("localfs: truncate %q to %d: %w", f.Name(), size, vfs.ErrNotSupported)
	}
	if err := unix.Ftruncate(f.fd, size); err != nil {
		return f.ioError("truncate", err)
	}
	return nil
}

// Allocate implements vfs.File: fallocate with KEEP_SIZE, or a truncate below the end of
// file. File systems without fallocate keep the file as it is (allocation is advisory).
func (f *file) Allocate(size int64) error {
	if f.closed.Load() {
		return errClosed
	}
	if f.isDir {
		return fmt.Errorf("localfs: allocate %q: %w", f.Name(), vfs.ErrIsDir)
	}
	if size < 0 {
		return fmt.Errorf("localfs: allocate %q to %d: %w", f.Name(), size, vfs.ErrNotSupported)
	}
	var stx unix.Statx_t
	if err := unix.Statx(f.fd, "", unix.AT_EMPTY_PATH, unix.STATX_SIZE, &stx); err != nil {
		return opError("stat", f.Name(), err, vfs.ErrNotFound)
	}
	if size < int64(stx.Size) {
		return f.Truncate(size)
	}
	if size == 0 {
		return nil
	}
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_KEEP_SIZE, 0, size); err != nil {
		if err == unix.EOPNOTSUPP {
			return nil
		}
		return f.ioError("allocate", err)
	}
	return nil
}

// Sync implements vfs.File.
func (f *file) Sync() error {
	if f.closed.Load() {
		return errClosed
	}
	if err := unix.Fsync(f.fd); err != nil {
		return opError("sync", f.Name(), err, vfs.ErrNotFound)
	}
	return nil
}

// Name implements vfs.File.
func (f *file) Name() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshName()
	return f.name
}

// Close implements vfs.File; a second Close reports an error instead of closing a descriptor
// number the process may have reused.
func (f *file) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return errClosed
	}
	if err := unix.Close(f.fd); err != nil {
		return opError("close", f.Name(), err, vfs.ErrNotFound)
	}
	return nil
}

// SpliceFrom implements vfs.FileReceiver.
func (f *file) SpliceFrom(pipe int, off int64, n int) (int, error) {
	if f.closed.Load() {
		return 0, errClosed
	}
	if f.isDir {
		return 0, fmt.Errorf("localfs: write %q: %w", f.Name(), vfs.ErrIsDir)
	}
	for {
		m, err := unix.Splice(pipe, nil, f.fd, &off, n, unix.SPLICE_F_MOVE)
		switch err {
		case nil:
			return int(m), nil
		case unix.EINTR:
			continue
		default:
			return max(int(m), 0), f.ioError("write", err)
		}
	}
}

// SendFile implements vfs.FileSender.
func (f *file) SendFile(sock int, off int64, n int) (int, error) {
	if f.closed.Load() {
		return 0, errClosed
	}
	for {
		m, err := unix.Sendfile(sock, f.fd, &off, n)
		switch err {
		case nil:
			return m, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, err
		default:
			return max(m, 0), f.ioError("sendfile", err)
		}
	}
}
