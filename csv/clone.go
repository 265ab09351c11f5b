package csv

import (
	"errors"
	"fmt"
	"io"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// Range is a byte range of a file.
type Range struct{ Offset, Length int64 }

func (v *Volume) handle(f vfs.File, what string) (*file, error) {
	h, ok := f.(*file)
	if !ok || h.v != v {
		return nil, fmt.Errorf("%s: handle is not of this volume: %w", what, vfs.ErrNotSupported)
	}
	if h.ino.dir {
		return nil, fmt.Errorf("%s: %w", what, vfs.ErrIsDir)
	}
	if h.closed.Load() {
		return nil, fmt.Errorf("%s: handle closed: %w", what, vfs.ErrInvalidName)
	}
	return h, nil
}

// lockPair takes both files' data locks in id order (once when they are the same file).
func lockPair(a, b *inode) func() {
	if a == b {
		a.dataMu.Lock()
		return a.dataMu.Unlock
	}
	if a.id > b.id {
		a, b = b, a
	}
	a.dataMu.Lock()
	b.dataMu.Lock()
	return func() { b.dataMu.Unlock(); a.dataMu.Unlock() }
}

// CloneRange makes length bytes of dst at dstOff a copy of src at srcOff (server-side copy,
// FSCTL_SRV_COPYCHUNK / FSCTL_DUPLICATE_EXTENTS_TO_FILE). When both offsets are block-aligned the
// blocks are shared, not copied: one journal record however large the range, and a later write
// to either file copies the block it touches (copy-on-write). Unaligned parts are copied. The
// range is clamped to src's end of file; it returns the number of bytes copied.
func (v *Volume) CloneRange(dst vfs.File, dstOff int64, src vfs.File, srcOff int64, length int64) (int64, error) {
	d, err := v.handle(dst, "clone")
	if err != nil {
		return 0, err
	}
	s, err := v.handle(src, "clone")
	if err != nil {
		return 0, err
	}
	if dstOff < 0 || srcOff < 0 || length < 0 || dstOff+length > 1<<50 {
		return 0, fmt.Errorf("clone %d bytes from %d to %d: %w", length, srcOff, dstOff, vfs.ErrInvalidName)
	}
	unlock := lockPair(d.ino, s.ino)
	defer unlock()
	c := v.c
	c.mu.RLock()
	if err := d.gone(); err != nil {
		c.mu.RUnlock()
		return 0, fmt.Errorf("clone: %w", err)
	}
	if err := s.gone(); err != nil {
		c.mu.RUnlock()
		return 0, fmt.Errorf("clone: %w", err)
	}
	srcSize, dstSize := s.ino.size, d.ino.size
	c.mu.RUnlock()
	n := max(0, min(length, srcSize-srcOff))
	if n == 0 {
		return 0, nil
	}
	if d.ino == s.ino && srcOff < dstOff+n && dstOff < srcOff+n {
		return 0, fmt.Errorf("clone of overlapping ranges of one file: %w", vfs.ErrNotSupported)
	}
	// Bytes between dst's end of file and dstOff must read as zeros afterwards.
	if dstOff > dstSize && dstSize%BlockSize != 0 {
		z := min(dstOff, (dstSize/BlockSize+1)*BlockSize) - dstSize
		seq, err := d.writeBlocksLocked(make([]byte, z), dstSize, false)
		if err == nil {
			err = c.wait(seq)
		}
		if err != nil {
			return 0, fmt.Errorf("clone: clear end of destination: %w", mapErr(err))
		}
	}
	whole, copied := int64(0), int64(0)
	if srcOff%BlockSize == 0 && dstOff%BlockSize == 0 {
		whole = n / BlockSize
		// The source's partial last block can be shared too when nothing of dst follows it.
		if n%BlockSize != 0 && dstOff+n >= dstSize {
			whole++
		}
	}
	if whole > 0 {
		newSize := int64(-1)
		if end := dstOff + min(n, whole*BlockSize); end > dstSize {
			newSize = end
		}
		rec := record{kind: recClone, id: d.ino.id, other: s.ino.id, fileBlock: uint64(dstOff / BlockSize),
			phys: uint64(srcOff / BlockSize), count: uint64(whole), size: newSize, now: v.nowStamp()}
		if err := d.commitAndWait("clone", rec); err != nil {
			return 0, err
		}
		copied = min(n, whole*BlockSize)
	}
	// Copy what could not be shared.
	buf := make([]byte, 1<<20)
	var last uint64
	for copied < n {
		chunk := buf[:min(int64(len(buf)), n-copied)]
		got, err := s.readLocked(chunk, srcOff+copied)
		if err != nil && !errors.Is(err, io.EOF) {
			return copied, fmt.Errorf("clone: read source: %w", err)
		}
		if got == 0 {
			break
		}
		seq, err := d.writeAllocatingLocked(chunk[:got], dstOff+copied)
		if err != nil {
			return copied, fmt.Errorf("clone: write destination: %w", mapErr(err))
		}
		last = max(last, seq)
		copied += int64(got)
	}
	if err := c.wait(last); err != nil {
		return copied, fmt.Errorf("clone: %w", mapErr(err))
	}
	return copied, nil
}

// readLocked is ReadAt for a caller that already holds dataMu.
func (f *file) readLocked(p []byte, off int64) (int, error) {
	return f.readAt(p, off)
}

// ZeroRange makes [off, off+length) read as zeros (FSCTL_SET_ZERO_DATA): whole blocks are
// released (the file becomes sparse there), partial blocks are overwritten. The end of file does
// not move.
func (v *Volume) ZeroRange(f vfs.File, off, length int64) error {
	h, err := v.handle(f, "zero range")
	if err != nil {
		return err
	}
	if off < 0 || length < 0 {
		return fmt.Errorf("zero range %d+%d: %w", off, length, vfs.ErrInvalidName)
	}
	h.ino.dataMu.Lock()
	defer h.ino.dataMu.Unlock()
	c := v.c
	c.mu.RLock()
	size := h.ino.size
	c.mu.RUnlock()
	end := min(off+length, size)
	if end <= off {
		return nil
	}
	firstWhole := (off + BlockSize - 1) / BlockSize
	endWhole := end / BlockSize
	if end == size {
		endWhole = int64(blocksFor(size))
	}
	var seq uint64
	zeroBytes := func(lo, hi int64) error {
		if hi <= lo {
			return nil
		}
		s, err := h.writeAllocatingLocked(make([]byte, hi-lo), lo)
		seq = max(seq, s)
		return err
	}
	if firstWhole >= endWhole {
		if err := zeroBytes(off, end); err != nil {
			return fmt.Errorf("zero range: %w", mapErr(err))
		}
	} else {
		if err := zeroBytes(off, firstWhole*BlockSize); err != nil {
			return fmt.Errorf("zero range: %w", mapErr(err))
		}
		if err := zeroBytes(int64(endWhole)*BlockSize, end); err != nil {
			return fmt.Errorf("zero range: %w", mapErr(err))
		}
		if err := h.commitAndWait("zero range", record{kind: recUnmap, id: h.ino.id, fileBlock: uint64(firstWhole),
			count: uint64(endWhole - firstWhole), now: v.nowStamp()}); err != nil {
			return err
		}
	}
	if err := c.wait(seq); err != nil {
		return fmt.Errorf("zero range: %w", mapErr(err))
	}
	return nil
}

// AllocatedRanges lists the allocated parts of [off, off+length) (FSCTL_QUERY_ALLOCATED_RANGES),
// merged and in order.
func (v *Volume) AllocatedRanges(f vfs.File, off, length int64) ([]Range, error) {
	h, err := v.handle(f, "allocated ranges")
	if err != nil {
		return nil, err
	}
	c := v.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	end := off + length
	var out []Range
	for _, e := range h.ino.ext {
		lo := max(int64(e.fileBlock)*BlockSize, off)
		hi := min(int64(e.fileBlock+e.count)*BlockSize, end)
		if lo >= hi {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Offset+out[n-1].Length == lo {
			out[n-1].Length += hi - lo
		} else {
			out = append(out, Range{lo, hi - lo})
		}
	}
	return out, nil
}
