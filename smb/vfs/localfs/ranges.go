package localfs

import (
	"errors"
	"fmt"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// Range operations for server-side copy, reflink, sparse files and allocation maps, done by the
// kernel on the descriptors: copy_file_range (which reflinks or copies in the kernel),
// FICLONERANGE, fallocate(PUNCH_HOLE) and lseek(SEEK_DATA/SEEK_HOLE).

// storedAttrs are the DOS attributes the record keeps: what clients set, plus the sparse flag
// that only SetSparse changes.
const storedAttrs = vfs.AttrSettable | vfs.AttrSparse

var (
	_ vfs.RangeCloner      = (*FS)(nil)
	_ vfs.ExtentDuplicator = (*FS)(nil)
	_ vfs.RangeZeroer      = (*FS)(nil)
	_ vfs.AllocationMapper = (*FS)(nil)
	_ vfs.Sparser          = (*FS)(nil)
)

// dataFile returns f as an open regular file of this FS (streams and other backends' files are
// not: the server falls back to reading and writing for those).
func (fs *FS) dataFile(f vfs.File, op string) (*file, error) {
	h, ok := f.(*file)
	if !ok || h.fs != fs {
		return nil, fmt.Errorf("localfs: %s: not a file of this share: %w", op, vfs.ErrNotSupported)
	}
	if h.closed.Load() {
		return nil, errClosed
	}
	if h.isDir {
		return nil, fmt.Errorf("localfs: %s %q: %w", op, h.Name(), vfs.ErrIsDir)
	}
	return h, nil
}

func (f *file) size() (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, opError("stat", f.Name(), err, vfs.ErrNotFound)
	}
	return st.Size, nil
}

// CloneRange implements vfs.RangeCloner with copy_file_range, falling back to pread/pwrite
// where the kernel cannot copy between the two files.
func (fs *FS) CloneRange(dst vfs.File, dstOff int64, src vfs.File, srcOff int64, length int64) (int64, error) {
	d, err := fs.dataFile(dst, "clone")
	if err != nil {
		return 0, err
	}
	s, err := fs.dataFile(src, "clone")
	if err != nil {
		return 0, err
	}
	if dstOff < 0 || srcOff < 0 || length < 0 {
		return 0, fmt.Errorf("localfs: clone %d bytes from %d to %d: %w", length, srcOff, dstOff, vfs.ErrNotSupported)
	}
	size, err := s.size()
	if err != nil {
		return 0, err
	}
	length = max(0, min(length, size-srcOff))
	var done int64
	for done < length {
		so, do := srcOff+done, dstOff+done
		n, err := unix.CopyFileRange(s.fd, &so, d.fd, &do, int(min(length-done, 1<<30)), 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EXDEV || err == unix.EINVAL || err == unix.EOPNOTSUPP || err == unix.ENOSYS:
			m, err := copyByHand(d, dstOff+done, s, srcOff+done, length-done)
			return done + m, err
		case err != nil:
			return done, d.ioError("copy range", err)
		case n == 0:
			return done, nil // src shrank meanwhile
		}
		done += int64(n)
	}
	return done, nil
}

// copyByHand copies through a buffer of at most 1 MiB.
func copyByHand(d *file, dstOff int64, s *file, srcOff, length int64) (int64, error) {
	buf := make([]byte, min(length, 1<<20))
	var done int64
	for done < length {
		chunk := buf[:min(int64(len(buf)), length-done)]
		n, err := s.ReadAt(chunk, srcOff+done)
		if n > 0 {
			if _, werr := d.WriteAt(chunk[:n], dstOff+done); werr != nil {
				return done, werr
			}
			done += int64(n)
		}
		if err != nil || n == 0 {
			return done, nil // end of src
		}
	}
	return done, nil
}

// DuplicateExtents implements vfs.ExtentDuplicator with FICLONERANGE: the blocks are shared
// (btrfs, XFS with reflink, bcachefs) or the call fails with vfs.ErrNotSupported.
func (fs *FS) DuplicateExtents(dst vfs.File, dstOff int64, src vfs.File, srcOff int64, length int64) error {
	d, err := fs.dataFile(dst, "duplicate extents")
	if err != nil {
		return err
	}
	s, err := fs.dataFile(src, "duplicate extents")
	if err != nil {
		return err
	}
	if length == 0 {
		return nil // FICLONERANGE would read 0 as "to the end of src"
	}
	if dstOff < 0 || srcOff < 0 || length < 0 {
		return fmt.Errorf("localfs: duplicate %d bytes from %d to %d: %w", length, srcOff, dstOff, vfs.ErrNotSupported)
	}
	arg := unix.FileCloneRange{Src_fd: int64(s.fd), Src_offset: uint64(srcOff), Src_length: uint64(length), Dest_offset: uint64(dstOff)}
	for {
		err = unix.IoctlFileCloneRange(d.fd, &arg)
		if err != unix.EINTR {
			break
		}
	}
	switch err {
	case nil:
		return nil
	case unix.EOPNOTSUPP, unix.EXDEV, unix.EINVAL, unix.ENOTTY, unix.ENOSYS, unix.EBADF:
		return fmt.Errorf("localfs: duplicate extents of %q into %q: the file system cannot share blocks: %w: %w", s.Name(), d.Name(), vfs.ErrNotSupported, err)
	default:
		return d.ioError("duplicate extents", err)
	}
}

// ZeroRange implements vfs.RangeZeroer: the range is punched out (its blocks released), or
// zeroed in place where the file system cannot punch holes.
func (fs *FS) ZeroRange(f vfs.File, off, length int64) error {
	h, err := fs.dataFile(f, "zero range")
	if err != nil {
		return err
	}
	if off < 0 || length < 0 {
		return fmt.Errorf("localfs: zero %d bytes at %d: %w", length, off, vfs.ErrNotSupported)
	}
	if length == 0 {
		return nil
	}
	for _, mode := range []uint32{unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE, unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE} {
		err = unix.Fallocate(h.fd, mode, off, length)
		if err != unix.EOPNOTSUPP {
			break
		}
	}
	if err != unix.EOPNOTSUPP {
		if err != nil {
			return h.ioError("zero range", err)
		}
		return nil
	}
	// Neither: write zeros over the part below the end of file.
	size, err := h.size()
	if err != nil {
		return err
	}
	return vfs.WriteZeros(h, off, min(off+length, size))
}

// AllocatedRanges implements vfs.AllocationMapper with SEEK_DATA/SEEK_HOLE; a file system
// without them reports the whole range below the end of file as allocated.
func (fs *FS) AllocatedRanges(f vfs.File, off, length int64) ([]vfs.Range, error) {
	h, err := fs.dataFile(f, "allocated ranges")
	if err != nil {
		return nil, err
	}
	size, err := h.size()
	if err != nil {
		return nil, err
	}
	if off < 0 || length < 0 {
		return nil, fmt.Errorf("localfs: allocated ranges at %d+%d: %w", off, length, vfs.ErrNotSupported)
	}
	end := min(off+length, size)
	if off+length < off { // overflow: to the end of file
		end = size
	}
	var out []vfs.Range
	for pos := off; pos < end; {
		data, err := unix.Seek(h.fd, pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // no data after pos
		}
		if err == unix.EINVAL || err == unix.EOPNOTSUPP {
			return []vfs.Range{{Offset: pos, Length: end - pos}}, nil
		}
		if err != nil {
			return nil, h.ioError("seek data", err)
		}
		if data >= end {
			break
		}
		hole, err := unix.Seek(h.fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, h.ioError("seek hole", err)
		}
		hole = min(hole, end)
		if n := len(out); n > 0 && out[n-1].Offset+out[n-1].Length == data {
			out[n-1].Length += hole - data
		} else {
			out = append(out, vfs.Range{Offset: data, Length: hole - data})
		}
		pos = hole
	}
	return out, nil
}

// SetSparse implements vfs.Sparser: the flag lives in the record. Clearing it allocates the
// file's holes, as NTFS does (MS-FSA 2.1.5.10.24), where the file system can.
func (fs *FS) SetSparse(f vfs.File, sparse bool) error {
	h, err := fs.dataFile(f, "set sparse")
	if err != nil {
		return err
	}
	if fs.noXattrs.Load() {
		return fmt.Errorf("localfs: set sparse on %q: xattrs disabled: %w", h.Name(), vfs.ErrNotSupported)
	}
	h.recMu.Lock()
	defer h.recMu.Unlock()
	var stx unix.Statx_t
	if err := h.statx(&stx); err != nil {
		return err
	}
	rec, hasRec := fs.readRecordFD(h.fd)
	if !hasRec {
		rec = dosRecord{attrs: derivedAttrs(&stx)}
	}
	if sparse {
		rec.attrs |= vfs.AttrSparse
	} else {
		if rec.attrs&vfs.AttrSparse != 0 && stx.Size > 0 {
			if err := unix.Fallocate(h.fd, unix.FALLOC_FL_KEEP_SIZE, 0, int64(stx.Size)); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
				return h.ioError("allocate holes", err)
			}
		}
		rec.attrs &^= vfs.AttrSparse
	}
	return fs.writeRecordFD(h.fd, h.Name(), rec)
}
