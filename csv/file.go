package csv

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// file is an open handle. It refers to the inode, not the name, so renames by other handles are
// followed; Name is computed from the tree.
type file struct {
	v      *Volume
	ino    *inode
	req    vfs.OpenRequest
	closed atomic.Bool
}

var _ vfs.File = (*file)(nil)

func (f *file) gone() error {
	if f.closed.Load() {
		return fmt.Errorf("file id %d: handle closed: %w", f.ino.id, vfs.ErrInvalidName)
	}
	if f.ino.removed {
		return fmt.Errorf("file id %d: %w", f.ino.id, vfs.ErrNotFound)
	}
	return nil
}

// Name implements vfs.File.
func (f *file) Name() string {
	f.v.c.mu.RLock()
	defer f.v.c.mu.RUnlock()
	if f.ino.removed {
		return f.ino.name
	}
	return f.v.c.st.path(f.ino)
}

// Close implements vfs.File; a handle holds no resources.
func (f *file) Close() error {
	f.closed.Store(true)
	return nil
}

// Stat implements vfs.File.
func (f *file) Stat() (vfs.FileInfo, error) {
	f.v.c.mu.RLock()
	defer f.v.c.mu.RUnlock()
	if err := f.gone(); err != nil {
		return vfs.FileInfo{}, fmt.Errorf("stat: %w", err)
	}
	return fileInfo(f.ino), nil
}

// readRun is one contiguous piece of a read: from the device, or zeros for a hole.
type readRun struct {
	off    int64 // in p
	n      int64
	phys   uint64
	offset int64 // within the block run
	hole   bool
}

// ReadAt implements vfs.File.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at %d: %w", off, vfs.ErrInvalidName)
	}
	if f.ino.dir {
		return 0, fmt.Errorf("read: %w", vfs.ErrIsDir)
	}
	f.ino.dataMu.RLock()
	defer f.ino.dataMu.RUnlock()
	return f.readAt(p, off)
}

// readAt reads with dataMu held (shared or exclusive) by the caller.
func (f *file) readAt(p []byte, off int64) (int, error) {
	c := f.v.c
	c.mu.RLock()
	if err := f.gone(); err != nil {
		c.mu.RUnlock()
		return 0, fmt.Errorf("read: %w", err)
	}
	size := f.ino.size
	if off >= size {
		c.mu.RUnlock()
		return 0, io.EOF
	}
	want := min(int64(len(p)), size-off)
	var runs []readRun
	for done := int64(0); done < want; {
		pos := off + done
		fb := uint64(pos / BlockSize)
		within := pos % BlockSize
		phys, run, mapped := f.ino.ext.lookup(fb)
		n := want - done
		if run != 0 {
			n = min(n, int64(run)*BlockSize-within)
		}
		runs = append(runs, readRun{off: done, n: n, phys: phys, offset: within, hole: !mapped})
		done += n
	}
	c.mu.RUnlock()
	for _, r := range runs {
		dst := p[r.off : r.off+r.n]
		if r.hole {
			clear(dst)
			continue
		}
		if _, err := c.dev.ReadAt(dst, int64(r.phys)*BlockSize+r.offset); err != nil {
			return int(r.off), fmt.Errorf("read block %d: %w", r.phys, mapErr(err))
		}
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// WriteAt implements vfs.File. Writes into blocks the file owns alone go in place; writes into
// holes or shared (cloned) blocks go to newly allocated blocks, which are written and flushed
// before the record mapping them is (the committer flushes data first).
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > 1<<50 {
		return 0, fmt.Errorf("write at %d: %w", off, vfs.ErrNoSpace)
	}
	if f.ino.dir {
		return 0, fmt.Errorf("write: %w", vfs.ErrIsDir)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if ok, err := f.writeInPlace(p, off); ok || err != nil {
		return len(p), err
	}
	f.ino.dataMu.Lock()
	defer f.ino.dataMu.Unlock()
	seq, err := f.writeAllocatingLocked(p, off)
	if err != nil {
		return 0, fmt.Errorf("write %d bytes at %d: %w", len(p), off, mapErr(err))
	}
	if f.req.WriteThrough {
		if err := f.v.c.wait(seq); err != nil {
			return 0, fmt.Errorf("write %d bytes at %d: %w", len(p), off, mapErr(err))
		}
	}
	return len(p), nil
}

// writeInPlace handles the common overwrite: every block mapped to this file alone and the write
// inside the end of file. It reports false when the slow path is needed.
func (f *file) writeInPlace(p []byte, off int64) (bool, error) {
	f.ino.dataMu.RLock()
	defer f.ino.dataMu.RUnlock()
	c := f.v.c
	c.mu.RLock()
	if err := f.gone(); err != nil {
		c.mu.RUnlock()
		return false, fmt.Errorf("write: %w", err)
	}
	end := off + int64(len(p))
	if end > f.ino.size {
		c.mu.RUnlock()
		return false, nil
	}
	type piece struct {
		phys, within uint64
		p            []byte
	}
	var pieces []piece
	for done := int64(0); done < int64(len(p)); {
		pos := off + done
		fb := uint64(pos / BlockSize)
		phys, run, mapped := f.ino.ext.lookup(fb)
		if !mapped {
			c.mu.RUnlock()
			return false, nil
		}
		n := min(int64(len(p))-done, int64(run)*BlockSize-pos%BlockSize)
		for b := phys; b < phys+uint64((pos%BlockSize+n+BlockSize-1)/BlockSize); b++ {
			if c.st.isShared(b) {
				c.mu.RUnlock()
				return false, nil
			}
		}
		pieces = append(pieces, piece{phys, uint64(pos % BlockSize), p[done : done+n]})
		done += n
	}
	lastWrite := f.ino.times[tWrite]
	c.mu.RUnlock()
	for _, pc := range pieces {
		if _, err := c.dev.WriteAt(pc.p, int64(pc.phys)*BlockSize+int64(pc.within)); err != nil {
			return true, fmt.Errorf("write block %d: %w", pc.phys, mapErr(err))
		}
	}
	c.dataDirty.Store(true)
	if f.req.WriteThrough {
		if err := c.dev.Flush(); err != nil {
			return true, fmt.Errorf("flush: %w", mapErr(err))
		}
	}
	// Last-write time is kept lazily, as NTFS does: at most one record per second per file, not
	// waited for.
	if now := f.v.nowStamp(); now-lastWrite > stampsPerSecond {
		c.mu.Lock()
		if !f.ino.removed {
			if _, err := c.commitLocked(record{kind: recSetInfo, id: f.ino.id, mask: setWrite | setChange, times: [4]int64{0, 0, now, now}}); err == nil {
				f.v.notify(f.ino.parent, f.ino.name, vfs.ChangeModified, vfs.FilterLastWrite)
			}
		}
		c.mu.Unlock()
	}
	return true, nil
}

// writeAllocatingLocked writes p at off, allocating or copying-on-write blocks as needed. The
// caller holds dataMu exclusively. It returns the sequence number to wait for.
func (f *file) writeAllocatingLocked(p []byte, off int64) (uint64, error) {
	return f.writeBlocksLocked(p, off, true)
}

// writeBlocksLocked is writeAllocatingLocked; with extend false the end of file stays where it is
// (used to clear bytes past it before an operation that moves it in its own record).
func (f *file) writeBlocksLocked(p []byte, off int64, extend bool) (uint64, error) {
	c := f.v.c
	end := off + int64(len(p))
	c.mu.RLock()
	if err := f.gone(); err != nil {
		c.mu.RUnlock()
		return 0, err
	}
	size := f.ino.size
	// Bytes between the old end of file and the write must read as zeros; the old last block may
	// hold stale bytes past the end (left by a truncate), so it is rewritten with them cleared.
	var fbs []uint64
	if off > size && size%BlockSize != 0 && size/BlockSize < off/BlockSize {
		if _, _, mapped := f.ino.ext.lookup(uint64(size / BlockSize)); mapped {
			fbs = append(fbs, uint64(size/BlockSize))
		}
	}
	for fb := uint64(off / BlockSize); fb <= uint64((end-1)/BlockSize); fb++ {
		fbs = append(fbs, fb)
	}
	type blockPlan struct {
		fb       uint64
		oldPhys  uint64
		mapped   bool
		inPlace  bool
		newPhys  uint64
		buf      []byte
		from, to int64 // byte range of the block this write covers (file offsets)
	}
	var plans []blockPlan
	var need uint64
	for _, fb := range fbs {
		phys, _, mapped := f.ino.ext.lookup(fb)
		bp := blockPlan{fb: fb, oldPhys: phys, mapped: mapped}
		bp.inPlace = mapped && !c.st.isShared(phys)
		if !bp.inPlace {
			need++
		}
		plans = append(plans, bp)
	}
	var runs []extent
	if need > 0 {
		var err error
		runs, err = c.alloc.allocate(c.st, need)
		if err != nil {
			c.mu.RUnlock()
			return 0, err
		}
	}
	c.mu.RUnlock()
	ri, rused := 0, uint64(0)
	for i := range plans {
		bp := &plans[i]
		if !bp.inPlace {
			bp.newPhys = runs[ri].phys + rused
			rused++
			if rused == runs[ri].count {
				ri, rused = ri+1, 0
			}
		}
	}
	fail := func(err error) (uint64, error) {
		c.alloc.unreserve(c.st, runs)
		return 0, err
	}
	// Build every block in one buffer, then write runs of physically consecutive blocks with
	// one call each.
	// A write of whole blocks (the common case: clients write 64 KiB to 1 MiB aligned) is
	// written from p itself.
	aligned := off%BlockSize == 0 && len(p)%BlockSize == 0 && len(plans)*BlockSize == len(p)
	whole := p
	if !aligned {
		whole = make([]byte, len(plans)*BlockSize)
	}
	targets := make([]uint64, len(plans))
	for i := range plans {
		bp := &plans[i]
		targets[i] = bp.newPhys
		if bp.inPlace {
			targets[i] = bp.oldPhys
		}
		if aligned {
			continue
		}
		bs := int64(bp.fb) * BlockSize
		buf := whole[i*BlockSize : (i+1)*BlockSize]
		lo, hi := max(off, bs), min(end, bs+BlockSize)
		// Keep existing bytes the write does not cover (below the old end of file); a block the
		// write covers entirely needs no read.
		if bp.mapped && !(lo == bs && hi == bs+BlockSize) && size > bs {
			if _, err := c.dev.ReadAt(buf, int64(bp.oldPhys)*BlockSize); err != nil {
				return fail(fmt.Errorf("read block %d: %w", bp.oldPhys, err))
			}
			if size < bs+BlockSize {
				clear(buf[size-bs:])
			}
		}
		if lo < hi {
			copy(buf[lo-bs:hi-bs], p[lo-off:hi-off])
		}
	}
	for i := 0; i < len(plans); {
		j := i + 1
		for j < len(plans) && targets[j] == targets[j-1]+1 {
			j++
		}
		if _, err := c.dev.WriteAt(whole[i*BlockSize:j*BlockSize], int64(targets[i])*BlockSize); err != nil {
			return fail(fmt.Errorf("write blocks %d+%d: %w", targets[i], j-i, err))
		}
		i = j
	}
	c.dataDirty.Store(true)
	now := f.v.nowStamp()
	var recs []record
	newSize := int64(-1)
	if end > size && extend {
		newSize = end
	}
	for i := 0; i < len(plans); {
		if plans[i].inPlace {
			i++
			continue
		}
		j := i + 1
		for j < len(plans) && !plans[j].inPlace && plans[j].fb == plans[j-1].fb+1 && plans[j].newPhys == plans[j-1].newPhys+1 {
			j++
		}
		recs = append(recs, record{kind: recMap, id: f.ino.id, fileBlock: plans[i].fb, phys: plans[i].newPhys,
			count: uint64(j - i), size: -1, now: now})
		i = j
	}
	if newSize >= 0 {
		if len(recs) > 0 {
			recs[len(recs)-1].size = newSize
		} else {
			recs = append(recs, record{kind: recSetSize, id: f.ino.id, size: newSize, now: now})
		}
	}
	if len(recs) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	if err := f.gone(); err != nil {
		c.mu.Unlock()
		return fail(err)
	}
	seq, err := c.commitLocked(recs...)
	if err == nil && newSize >= 0 {
		f.v.notify(f.ino.parent, f.ino.name, vfs.ChangeModified, vfs.FilterSize|vfs.FilterLastWrite)
	}
	c.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	return seq, nil
}

// SetInfo implements vfs.File.
func (f *file) SetInfo(s vfs.SetInfo) error {
	r := record{kind: recSetInfo, id: f.ino.id}
	set := func(t *time.Time, bit uint8, i int) {
		if t != nil {
			r.mask |= bit
			r.times[i] = stamp(*t)
		}
	}
	set(s.CreationTime, setCreation, tCreation)
	set(s.LastAccessTime, setAccess, tAccess)
	set(s.LastWriteTime, setWrite, tWrite)
	set(s.ChangeTime, setChange, tChange)
	if s.Attributes != nil {
		r.mask |= setAttrs
		r.attrs = uint32(*s.Attributes & vfs.AttrSettable)
	}
	if r.mask == 0 {
		return nil
	}
	filter := vfs.ChangeFilter(0)
	if r.mask&setAttrs != 0 {
		filter |= vfs.FilterAttributes
	}
	if r.mask&setCreation != 0 {
		filter |= vfs.FilterCreation
	}
	if r.mask&setAccess != 0 {
		filter |= vfs.FilterLastAccess
	}
	if r.mask&(setWrite|setChange) != 0 {
		filter |= vfs.FilterLastWrite
	}
	return f.commitNotify("set info", filter, r)
}

func (f *file) commitAndWait(what string, recs ...record) error {
	return f.commitNotify(what, 0, recs...)
}

// commitNotify is commitAndWait that also reports a modification with filter (0: none).
func (f *file) commitNotify(what string, filter vfs.ChangeFilter, recs ...record) error {
	c := f.v.c
	c.mu.Lock()
	if err := f.gone(); err != nil {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", what, err)
	}
	seq, err := c.commitLocked(recs...)
	if err == nil && filter != 0 {
		f.v.notify(f.ino.parent, f.ino.name, vfs.ChangeModified, filter)
	}
	c.mu.Unlock()
	if err == nil {
		err = c.wait(seq)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, mapErr(err))
	}
	return nil
}

// Truncate implements vfs.File.
func (f *file) Truncate(size int64) error {
	if f.ino.dir {
		return fmt.Errorf("truncate: %w", vfs.ErrIsDir)
	}
	if size < 0 || size > 1<<50 {
		return fmt.Errorf("truncate to %d: %w", size, vfs.ErrNoSpace)
	}
	f.ino.dataMu.Lock()
	defer f.ino.dataMu.Unlock()
	return f.truncateLocked(size)
}

func (f *file) truncateLocked(size int64) error {
	c := f.v.c
	c.mu.RLock()
	old := f.ino.size
	c.mu.RUnlock()
	if size > old && old%BlockSize != 0 {
		// Clear stale bytes past the old end in its last block: a zero-length write at the new
		// end would not reach them, so write the zeros explicitly up to the block end.
		n := min(size, (old/BlockSize+1)*BlockSize) - old
		seq, err := f.writeBlocksLocked(make([]byte, n), old, false)
		if err != nil {
			return fmt.Errorf("truncate: %w", mapErr(err))
		}
		if err := c.wait(seq); err != nil {
			return fmt.Errorf("truncate: %w", mapErr(err))
		}
	}
	return f.commitNotify("truncate", vfs.FilterSize|vfs.FilterLastWrite, record{kind: recSetSize, id: f.ino.id, size: size, now: f.v.nowStamp()})
}

// Allocate implements vfs.File: blocks up to size are allocated and zeroed (so no stale data is
// ever readable), the end of file does not move; below the end of file it truncates.
func (f *file) Allocate(size int64) error {
	if f.ino.dir {
		return fmt.Errorf("allocate: %w", vfs.ErrIsDir)
	}
	if size < 0 || size > 1<<50 {
		return fmt.Errorf("allocate %d: %w", size, vfs.ErrNoSpace)
	}
	f.ino.dataMu.Lock()
	defer f.ino.dataMu.Unlock()
	c := f.v.c
	c.mu.RLock()
	eof := f.ino.size
	var holes []extent
	for fb := uint64(0); fb < blocksFor(size); {
		_, run, mapped := f.ino.ext.lookup(fb)
		if run == 0 || fb+run > blocksFor(size) {
			run = blocksFor(size) - fb
		}
		if !mapped {
			holes = append(holes, extent{fileBlock: fb, count: run})
		}
		fb += run
	}
	c.mu.RUnlock()
	if size < eof {
		return f.truncateLocked(size)
	}
	var recs []record
	var all []extent
	zeros := make([]byte, 256*BlockSize)
	for _, h := range holes {
		c.mu.RLock()
		runs, err := c.alloc.allocate(c.st, h.count)
		c.mu.RUnlock()
		if err != nil {
			c.alloc.unreserve(c.st, all)
			return fmt.Errorf("allocate: %w", mapErr(err))
		}
		all = append(all, runs...)
		fb := h.fileBlock
		for _, r := range runs {
			for b := uint64(0); b < r.count; b += 256 {
				n := min(256, r.count-b)
				if _, err := c.dev.WriteAt(zeros[:n*BlockSize], int64(r.phys+b)*BlockSize); err != nil {
					c.alloc.unreserve(c.st, all)
					return fmt.Errorf("allocate: zero blocks: %w", mapErr(err))
				}
			}
			recs = append(recs, record{kind: recMap, id: f.ino.id, fileBlock: fb, phys: r.phys, count: r.count, size: -1})
			fb += r.count
		}
	}
	if len(recs) == 0 {
		return nil
	}
	c.dataDirty.Store(true)
	// Commit in bounded chunks so even a badly fragmented allocation fits the journal; each
	// chunk is a valid state on its own (more of the file allocated, all of it zeroed).
	const chunk = 1024
	for i := 0; i < len(recs); i += chunk {
		part := recs[i:min(i+chunk, len(recs))]
		if err := f.commitAndWait("allocate", part...); err != nil {
			var rest []extent
			for _, r := range recs[i:] {
				rest = append(rest, extent{phys: r.phys, count: r.count})
			}
			c.alloc.unreserve(c.st, rest)
			return err
		}
	}
	return nil
}

// Sync implements vfs.File: everything written through any handle is durable when it returns.
func (f *file) Sync() error {
	c := f.v.c
	c.cmu.Lock()
	seq := c.nextSeq
	c.cmu.Unlock()
	if err := c.wait(seq); err != nil {
		return fmt.Errorf("sync: %w", mapErr(err))
	}
	if c.dataDirty.Swap(false) {
		if err := c.dev.Flush(); err != nil {
			c.dataDirty.Store(true)
			return fmt.Errorf("sync: %w", mapErr(err))
		}
	}
	return nil
}

// ReadDir implements vfs.File.
func (f *file) ReadDir() ([]vfs.FileInfo, error) {
	c := f.v.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if err := f.gone(); err != nil {
		return nil, fmt.Errorf("read dir: %w", err)
	}
	if !f.ino.dir {
		return nil, fmt.Errorf("read dir: %w", vfs.ErrNotDir)
	}
	kids := c.st.sortedChildren(f.ino)
	out := make([]vfs.FileInfo, len(kids))
	for i, k := range kids {
		out[i] = fileInfo(k)
	}
	return out, nil
}

// Rename implements vfs.File.
func (f *file) Rename(newName string, replace bool) error {
	c := f.v.c
	var lockedTarget *inode
	defer func() {
		if lockedTarget != nil {
			lockedTarget.dataMu.Unlock()
		}
	}()
again:
	c.mu.Lock()
	if err := f.gone(); err != nil {
		c.mu.Unlock()
		return fmt.Errorf("rename: %w", err)
	}
	if newName == "" {
		c.mu.Unlock()
		return fmt.Errorf("rename to the root: %w", vfs.ErrInvalidName)
	}
	if f.ino.id == rootID {
		c.mu.Unlock()
		return fmt.Errorf("rename root: %w", vfs.ErrAccess)
	}
	parent, last, target, err := f.v.resolve(newName)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("rename to %q: %w", newName, err)
	}
	for a := parent; a != nil; a = c.st.inodes[a.parent] {
		if a.id == f.ino.id {
			c.mu.Unlock()
			return fmt.Errorf("rename %q beneath itself: %w", newName, vfs.ErrInvalidName)
		}
		if a.parent == 0 {
			break
		}
	}
	var recs []record
	now := f.v.nowStamp()
	if target != nil && target != f.ino {
		if !replace || target.dir {
			c.mu.Unlock()
			return fmt.Errorf("rename to %q: %w", newName, vfs.ErrExists)
		}
		if lockedTarget != target {
			// Replacing frees the target's blocks: take its data lock first (lock order: data
			// lock, then state lock) so no reader of the target is mid-read, then start over.
			c.mu.Unlock()
			if lockedTarget != nil {
				lockedTarget.dataMu.Unlock()
			}
			target.dataMu.Lock()
			lockedTarget = target
			goto again
		}
		recs = append(recs, record{kind: recRemove, id: target.id, now: now})
	}
	recs = append(recs, record{kind: recRename, id: f.ino.id, other: parent.id, name: last, now: now})
	oldParent, oldName := f.ino.parent, f.ino.name
	seq, err := c.commitLocked(recs...)
	if err == nil {
		if target != nil && target != f.ino {
			f.v.notify(target.parent, target.name, vfs.ChangeRemoved, nameFilter(target))
		}
		if oldParent == parent.id {
			f.v.notify(oldParent, oldName, vfs.ChangeRenamedOldName, nameFilter(f.ino))
			f.v.notify(parent.id, last, vfs.ChangeRenamedNewName, nameFilter(f.ino))
		} else {
			f.v.notify(oldParent, oldName, vfs.ChangeRemoved, nameFilter(f.ino))
			f.v.notify(parent.id, last, vfs.ChangeAdded, nameFilter(f.ino))
		}
	}
	c.mu.Unlock()
	if err == nil {
		err = c.wait(seq)
	}
	if err != nil {
		return fmt.Errorf("rename to %q: %w", newName, mapErr(err))
	}
	return nil
}

// Remove implements vfs.File.
func (f *file) Remove() error {
	f.ino.dataMu.Lock()
	defer f.ino.dataMu.Unlock()
	c := f.v.c
	c.mu.Lock()
	if err := f.gone(); err != nil {
		c.mu.Unlock()
		return fmt.Errorf("remove: %w", err)
	}
	if f.ino.id == rootID {
		c.mu.Unlock()
		return fmt.Errorf("remove root: %w", vfs.ErrAccess)
	}
	if len(f.ino.children) > 0 {
		c.mu.Unlock()
		return fmt.Errorf("remove %q: %w", c.st.path(f.ino), vfs.ErrNotEmpty)
	}
	seq, err := c.commitLocked(record{kind: recRemove, id: f.ino.id, now: f.v.nowStamp()})
	if err == nil {
		f.v.notify(f.ino.parent, f.ino.name, vfs.ChangeRemoved, nameFilter(f.ino))
	}
	c.mu.Unlock()
	if err == nil {
		err = c.wait(seq)
	}
	if err != nil {
		return fmt.Errorf("remove: %w", mapErr(err))
	}
	return nil
}

var _ vfs.Securable = (*file)(nil)

// maxSecurityDescriptor bounds a stored descriptor (the record length field is 16 bits).
const maxSecurityDescriptor = 65535

// SecurityDescriptor implements vfs.Securable.
func (f *file) SecurityDescriptor() ([]byte, error) {
	c := f.v.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if err := f.gone(); err != nil {
		return nil, fmt.Errorf("security descriptor: %w", err)
	}
	if f.ino.sd == 0 {
		return nil, fmt.Errorf("security descriptor of id %d: none set: %w", f.ino.id, vfs.ErrNotFound)
	}
	return []byte(c.st.sds[f.ino.sd].bytes), nil
}

// SetSecurityDescriptor implements vfs.Securable; identical descriptors are stored once.
func (f *file) SetSecurityDescriptor(sd []byte) error {
	if len(sd) == 0 || len(sd) > maxSecurityDescriptor {
		return fmt.Errorf("set security descriptor of %d bytes: %w", len(sd), vfs.ErrInvalidName)
	}
	return f.commitNotify("set security descriptor", vfs.FilterSecurity, record{kind: recSetSD, id: f.ino.id, name: string(sd), now: f.v.nowStamp()})
}
