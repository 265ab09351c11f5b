package localfs

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// Named streams are stored as user xattrs (streamname.go), as Samba's streams_xattr does. The
// size of one stream is bounded by what the kernel lets one xattr value hold: XATTR_SIZE_MAX,
// 64 KiB, on every file system (setxattr refuses more with E2BIG), and less where the file
// system stores all of an inode's xattrs in one block: ext4 without the ea_inode feature keeps
// every xattr of a file (DOS record, security descriptor and streams together) in about 4 KiB.
// Writing past either limit gives vfs.ErrNoSpace, which the server reports as STATUS_DISK_FULL,
// as Samba does.
//
// A write to a stream rewrites its whole xattr. Writes through this FS to the streams of one
// object are serialised (objectLocks), so concurrent writers through different handles do not
// lose each other's data; a local process writing the same xattr at the same time can.

const maxStreamSize = 64 << 10 // XATTR_SIZE_MAX of <linux/limits.h>

var _ vfs.Streamer = (*FS)(nil)

// objectLocks serialises read-modify-write of one object's xattrs across handles.
type objectLocks struct {
	mu sync.Mutex
	m  map[dirKey]*objectLock
}

type objectLock struct {
	mu   sync.Mutex
	refs int
}

func (l *objectLocks) lock(key dirKey) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[dirKey]*objectLock)
	}
	ol := l.m[key]
	if ol == nil {
		ol = &objectLock{}
		l.m[key] = ol
	}
	ol.refs++
	l.mu.Unlock()
	ol.mu.Lock()
	return func() {
		ol.mu.Unlock()
		l.mu.Lock()
		if ol.refs--; ol.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
}

// stream is an open named stream: the object's descriptor (a file handle of its own) plus the
// stream's name as stored.
type stream struct {
	base     *file
	name     string // as stored (case preserved)
	xname    string // the xattr holding it
	writable bool   // opened for data writes; without, WriteAt and Truncate give ErrAccess
}

var (
	_ vfs.File      = (*stream)(nil)
	_ vfs.Securable = (*stream)(nil)
)

// streamCreates reports whether a disposition creates what is absent.
func streamCreates(d vfs.Disposition) bool {
	return d == vfs.Supersede || d == vfs.Create || d == vfs.OpenIf || d == vfs.OverwriteIf
}

// openStream opens or creates stream sname of object. A missing object is created (as a file)
// when the disposition creates, as Windows does for "new.txt:stream".
func (fs *FS) openStream(ctx context.Context, object, sname string, req vfs.OpenRequest) (vfs.File, vfs.OpenAction, error) {
	full := object + ":" + sname
	if req.Kind == vfs.DirectoryOnly {
		return nil, 0, fmt.Errorf("localfs: open %q: a stream is not a directory: %w", full, vfs.ErrNotDir)
	}
	if fs.noXattrs.Load() {
		return nil, 0, fmt.Errorf("localfs: open %q: named streams need xattrs: %w", full, vfs.ErrNotSupported)
	}
	baseReq := vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.AnyKind, Read: true, CaseInsensitive: req.CaseInsensitive}
	if streamCreates(req.Disposition) {
		baseReq.Disposition = vfs.OpenIf
		baseReq.Attributes = req.Attributes
	}
	bf, baseAction, err := fs.Open(ctx, object, baseReq)
	if err != nil {
		return nil, 0, err
	}
	base := bf.(*file)
	s, action, err := base.attachStream(sname, req)
	if err != nil {
		if baseAction == vfs.Created {
			base.Remove() // created only for this stream
		}
		base.Close()
		return nil, 0, err
	}
	return s, action, nil
}

// attachStream finds (case-insensitively, as NTFS matches stream names) or creates the stream
// on the object open as f and applies the disposition. f becomes the stream's on success.
func (f *file) attachStream(sname string, req vfs.OpenRequest) (*stream, vfs.OpenAction, error) {
	writes := req.Write || overwrites(req.Disposition)
	full := f.Name() + ":" + sname
	unlock := f.fs.objLocks.lock(dirKey{f.dev, f.ino})
	defer unlock()
	stored, found, err := f.findStream(sname)
	if err != nil {
		return nil, 0, err
	}
	if writes || (!found && streamCreates(req.Disposition)) {
		// The ReadOnly attribute covers every stream of a file (MS-FSA 2.1.5.1.2.1), creating
		// one included. localfs enforces it itself since the server usually runs as root.
		var stx unix.Statx_t
		if err := f.statx(&stx); err != nil {
			return nil, 0, err
		}
		rec, hasRec := f.fs.readRecordFD(f.fd)
		if !f.isDir && attrsOf(&stx, rec, hasRec)&vfs.AttrReadOnly != 0 {
			return nil, 0, fmt.Errorf("localfs: open %q for writing: %w", full, vfs.ErrReadOnly)
		}
	}
	s := &stream{base: f, name: sname, writable: writes || !found}
	if found {
		s.name = stored
	}
	s.xname = streamXattrPrefix + encodeStreamName(s.name)
	if !found {
		if !streamCreates(req.Disposition) {
			return nil, 0, fmt.Errorf("localfs: open %q: %w", full, vfs.ErrNotFound)
		}
		if err := unix.Fsetxattr(f.fd, s.xname, nil, unix.XATTR_CREATE); err != nil {
			return nil, 0, s.xattrError("create", err)
		}
		return s, vfs.Created, nil
	}
	switch req.Disposition {
	case vfs.Create:
		return nil, 0, fmt.Errorf("localfs: create %q: %w", s.Name(), vfs.ErrExists)
	case vfs.Supersede, vfs.Overwrite, vfs.OverwriteIf:
		if err := unix.Fsetxattr(f.fd, s.xname, nil, unix.XATTR_REPLACE); err != nil {
			return nil, 0, s.xattrError("overwrite", err)
		}
		if req.Disposition == vfs.Supersede {
			return s, vfs.Superseded, nil
		}
		return s, vfs.Overwritten, nil
	}
	return s, vfs.Opened, nil
}

// findStream returns the stored spelling of the stream equal to sname: the exact one if it
// exists, else the first in byte order that matches case-insensitively. Called with the
// object's lock held.
func (f *file) findStream(sname string) (string, bool, error) {
	xname := streamXattrPrefix + encodeStreamName(sname)
	if _, err := unix.Fgetxattr(f.fd, xname, nil); err == nil {
		return sname, true, nil
	} else if err != unix.ENODATA {
		return "", false, opError("read stream", f.Name()+":"+sname, err, vfs.ErrNotFound)
	}
	names, err := f.streamNames()
	if err != nil {
		return "", false, err
	}
	key := foldKey(sname)
	for _, n := range names {
		if foldKey(n) == key {
			return n, true, nil
		}
	}
	return "", false, nil
}

// streamNames lists the object's named streams in byte order.
func (f *file) streamNames() ([]string, error) {
	size := 1024
	for attempt := 0; ; attempt++ {
		buf := make([]byte, size)
		n, err := unix.Flistxattr(f.fd, buf)
		if err == unix.ERANGE && attempt < 8 {
			if size, err = unix.Flistxattr(f.fd, nil); err != nil {
				return nil, opError("list streams", f.Name(), err, vfs.ErrNotFound)
			}
			size += 256
			continue
		}
		if err == unix.EOPNOTSUPP {
			return nil, nil
		}
		if err != nil {
			return nil, opError("list streams", f.Name(), err, vfs.ErrNotFound)
		}
		var names []string
		for _, x := range strings.Split(string(buf[:n]), "\x00") {
			enc, ok := strings.CutPrefix(x, streamXattrPrefix)
			if !ok {
				continue
			}
			if name, ok := decodeStreamName(enc); ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		return names, nil
	}
}

// removeStreams drops every named stream: overwriting or superseding a file's unnamed stream
// replaces the whole file, named streams included (what Windows does; smbtorture's
// streams create-disposition test checks it).
func (f *file) removeStreams() error {
	if f.fs.noXattrs.Load() {
		return nil
	}
	unlock := f.fs.objLocks.lock(dirKey{f.dev, f.ino})
	defer unlock()
	names, err := f.streamNames()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := unix.Fremovexattr(f.fd, streamXattrPrefix+encodeStreamName(n)); err != nil && err != unix.ENODATA {
			return opError("remove stream", f.Name()+":"+n, err, vfs.ErrNotFound)
		}
	}
	return nil
}

// Streams implements vfs.Streamer. name is an object name (no stream part); a Windows client's
// spelling that differs in case from the stored one is resolved as Open does case-insensitively.
func (fs *FS) Streams(ctx context.Context, name string) ([]vfs.StreamInfo, error) {
	object, sname, err := splitStream(name)
	if err != nil {
		return nil, err
	}
	if sname != "" || object != name {
		return nil, fmt.Errorf("localfs: list streams of %q: a stream has no streams: %w", name, vfs.ErrInvalidName)
	}
	bf, _, err := fs.Open(ctx, name, vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true, CaseInsensitive: true})
	if err != nil {
		return nil, err
	}
	f := bf.(*file) // a name without a stream part opens an object
	defer f.Close()
	var infos []vfs.StreamInfo
	if !f.isDir {
		var stx unix.Statx_t
		if err := f.statx(&stx); err != nil {
			return nil, err
		}
		infos = append(infos, vfs.StreamInfo{Size: int64(stx.Size), Allocation: int64(stx.Blocks) * 512})
	}
	if fs.noXattrs.Load() {
		return infos, nil
	}
	names, err := f.streamNames()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		size, err := unix.Fgetxattr(f.fd, streamXattrPrefix+encodeStreamName(n), nil)
		if err == unix.ENODATA {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, opError("stat stream", f.Name()+":"+n, err, vfs.ErrNotFound)
		}
		infos = append(infos, vfs.StreamInfo{Name: n, Size: int64(size), Allocation: int64(size)})
	}
	return infos, nil
}

// xattrError maps errors of the stream's xattr calls: E2BIG (a value past XATTR_SIZE_MAX) is
// out of space like ENOSPC, ENODATA means the stream was removed.
func (s *stream) xattrError(op string, err error) error {
	switch err {
	case unix.E2BIG:
		return fmt.Errorf("localfs: %s %q: stream larger than the file system stores: %w: %w", op, s.Name(), vfs.ErrNoSpace, err)
	case unix.ENODATA:
		return fmt.Errorf("localfs: %s %q: stream removed: %w: %w", op, s.Name(), vfs.ErrNotFound, err)
	}
	return opError(op, s.Name(), err, vfs.ErrNotFound)
}

// value reads the whole stream. The size may change between asking and reading (ERANGE);
// then it asks again.
func (s *stream) value() ([]byte, error) {
	for attempt := 0; ; attempt++ {
		size, err := unix.Fgetxattr(s.base.fd, s.xname, nil)
		if err != nil {
			return nil, s.xattrError("read", err)
		}
		buf := make([]byte, size)
		n, err := unix.Fgetxattr(s.base.fd, s.xname, buf)
		if err == unix.ERANGE && attempt < 8 {
			continue
		}
		if err != nil {
			return nil, s.xattrError("read", err)
		}
		return buf[:n], nil
	}
}

// store writes the whole stream; it must already exist (a removed stream is not revived).
func (s *stream) store(v []byte) error {
	if len(v) > maxStreamSize {
		return fmt.Errorf("localfs: write %q: %d bytes, streams hold at most %d: %w", s.Name(), len(v), maxStreamSize, vfs.ErrNoSpace)
	}
	if err := unix.Fsetxattr(s.base.fd, s.xname, v, unix.XATTR_REPLACE); err != nil {
		return s.xattrError("write", err)
	}
	return nil
}

// ReadAt implements vfs.File with io.ReaderAt semantics.
func (s *stream) ReadAt(p []byte, off int64) (int, error) {
	if s.base.closed.Load() {
		return 0, errClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("localfs: read %q at %d: negative offset: %w", s.Name(), off, vfs.ErrNotSupported)
	}
	v, err := s.value()
	if err != nil {
		return 0, err
	}
	if off >= int64(len(v)) {
		return 0, io.EOF
	}
	n := copy(p, v[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// modify runs a read-modify-write of the stream under the object's lock.
func (s *stream) modify(op string, change func(v []byte) ([]byte, error)) error {
	if s.base.closed.Load() {
		return errClosed
	}
	if !s.writable {
		return fmt.Errorf("localfs: %s %q: not opened for writing: %w", op, s.Name(), vfs.ErrAccess)
	}
	unlock := s.base.fs.objLocks.lock(dirKey{s.base.dev, s.base.ino})
	defer unlock()
	v, err := s.value()
	if err != nil {
		return err
	}
	if v, err = change(v); err != nil {
		return err
	}
	return s.store(v)
}

// WriteAt implements vfs.File. A write ending past maxStreamSize writes nothing.
func (s *stream) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("localfs: write %q at %d: negative offset: %w", s.Name(), off, vfs.ErrNotSupported)
	}
	if off > maxStreamSize || int64(len(p)) > maxStreamSize-off {
		return 0, fmt.Errorf("localfs: write %q: %d bytes at %d, streams hold at most %d: %w", s.Name(), len(p), off, maxStreamSize, vfs.ErrNoSpace)
	}
	err := s.modify("write", func(v []byte) ([]byte, error) {
		end := int(off) + len(p)
		if end > len(v) {
			v = append(v, make([]byte, end-len(v))...)
		}
		copy(v[off:], p)
		return v, nil
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Truncate implements vfs.File.
func (s *stream) Truncate(size int64) error {
	if size < 0 {
		return fmt.Errorf("localfs: truncate %q to %d: %w", s.Name(), size, vfs.ErrNotSupported)
	}
	if size > maxStreamSize {
		return fmt.Errorf("localfs: truncate %q to %d, streams hold at most %d: %w", s.Name(), size, maxStreamSize, vfs.ErrNoSpace)
	}
	return s.modify("truncate", func(v []byte) ([]byte, error) {
		if int(size) <= len(v) {
			return v[:size], nil
		}
		return append(v, make([]byte, int(size)-len(v))...), nil
	})
}

// Allocate implements vfs.File: xattrs have no separate allocation, so only a size below the
// end of the stream does anything (it truncates, as NTFS does).
func (s *stream) Allocate(size int64) error {
	if s.base.closed.Load() {
		return errClosed
	}
	v, err := s.value()
	if err != nil {
		return err
	}
	if size < int64(len(v)) {
		return s.Truncate(size)
	}
	if size > maxStreamSize {
		return fmt.Errorf("localfs: allocate %q to %d, streams hold at most %d: %w", s.Name(), size, maxStreamSize, vfs.ErrNoSpace)
	}
	return nil
}

// Stat implements vfs.File: size and allocation are the stream's, the rest the object's. A
// stream is data even on a directory, so the directory attribute is not reported for it.
func (s *stream) Stat() (vfs.FileInfo, error) {
	fi, err := s.base.Stat()
	if err != nil {
		return vfs.FileInfo{}, err
	}
	v, err := s.value()
	if err != nil {
		return vfs.FileInfo{}, err
	}
	fi.Name += ":" + s.name
	fi.Size, fi.Allocation = int64(len(v)), int64(len(v))
	if fi.Attributes&vfs.AttrDirectory != 0 {
		fi.Attributes &^= vfs.AttrDirectory
		if fi.Attributes == 0 {
			fi.Attributes = vfs.AttrNormal
		}
	}
	return fi, nil
}

// SetInfo implements vfs.File: times and attributes belong to the object.
func (s *stream) SetInfo(si vfs.SetInfo) error { return s.base.SetInfo(si) }

// Sync implements vfs.File.
func (s *stream) Sync() error { return s.base.Sync() }

// ReadDir implements vfs.File: a stream is not a directory.
func (s *stream) ReadDir() ([]vfs.FileInfo, error) {
	return nil, fmt.Errorf("localfs: list %q: %w", s.Name(), vfs.ErrNotDir)
}

// Rename implements vfs.File. Renaming streams (FileRenameInformation with a ":name" target,
// MS-FSA 2.1.5.14.11.1) is not supported yet.
func (s *stream) Rename(newName string, replace bool) error {
	return fmt.Errorf("localfs: rename stream %q: %w", s.Name(), vfs.ErrNotSupported)
}

// Remove implements vfs.File: it removes the stream only.
func (s *stream) Remove() error {
	if s.base.closed.Load() {
		return errClosed
	}
	unlock := s.base.fs.objLocks.lock(dirKey{s.base.dev, s.base.ino})
	defer unlock()
	if err := unix.Fremovexattr(s.base.fd, s.xname); err != nil {
		return s.xattrError("remove", err)
	}
	return nil
}

// Name implements vfs.File: "object:stream".
func (s *stream) Name() string { return s.base.Name() + ":" + s.name }

// Close implements vfs.File.
func (s *stream) Close() error { return s.base.Close() }

// SecurityDescriptor implements vfs.Securable: a stream shares its object's descriptor.
func (s *stream) SecurityDescriptor() ([]byte, error) { return s.base.SecurityDescriptor() }

// SetSecurityDescriptor implements vfs.Securable.
func (s *stream) SetSecurityDescriptor(sd []byte) error { return s.base.SetSecurityDescriptor(sd) }
