package csv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// MountOptions says who mounts.
type MountOptions struct {
	// Epoch is the caller's owner epoch. Mount refuses a volume whose superblock holds a newer
	// one (ErrFenced) and records a newer one, fencing every earlier owner.
	Epoch uint64
	// CommitDelay is how long records nobody waits for (writes that allocate without write-through,
	// lazy last-write times) may stay unwritten, so a stream of them costs one data flush per
	// delay rather than one per write. A record somebody waits for (every other operation, Sync,
	// write-through) is written at once, with everything before it. 0 (the default) and negative
	// values write everything at once: an acknowledged write then survives a killed process,
	// which a failover after SIGKILL relies on (test/cluster_failover_test.go); a positive delay
	// gives that up for up to the delay, the way a local file system's page cache does.
	CommitDelay time.Duration
}

// Volume is a mounted cluster shared volume; it implements vfs.FS.
type Volume struct {
	c      *Coordinator
	dev    BlockDevice
	closer io.Closer // the device, when the volume opened it
	now    func() time.Time
	// watches receive changes made through this volume (CHANGE_NOTIFY).
	watches watchers
}

var _ vfs.FS = (*Volume)(nil)

// Mount loads the newest valid checkpoint, replays the journal after it and starts serving.
func Mount(dev BlockDevice, opts MountOptions) (*Volume, error) {
	l, err := load(dev)
	if err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	if l.sb.OwnerEpoch > opts.Epoch {
		return nil, fmt.Errorf("mount: superblock epoch %d, ours %d: %w", l.sb.OwnerEpoch, opts.Epoch, ErrFenced)
	}
	if l.sb.OwnerEpoch < opts.Epoch {
		l.sb.OwnerEpoch = opts.Epoch
		if err := writeSuperblock(dev, l.sb); err != nil {
			return nil, fmt.Errorf("mount: take ownership: %w", err)
		}
	}
	return &Volume{c: newCoordinator(dev, l, opts.Epoch, opts.CommitDelay), dev: dev, now: time.Now}, nil
}

// OpenPath opens the file or block device at path and mounts the volume on it; Close closes both.
func OpenPath(path string, opts MountOptions) (*Volume, error) {
	dev, err := OpenFileDevice(path)
	if err != nil {
		return nil, err
	}
	v, err := Mount(dev, opts)
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v.closer = dev
	return v, nil
}

// Close commits what is pending, writes a checkpoint and stops the volume. Open handles fail
// afterwards.
func (v *Volume) Close() error {
	err := v.c.close()
	if v.closer != nil {
		if cerr := v.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Coordinator returns the volume's coordinator (metadata seam).
func (v *Volume) Coordinator() *Coordinator { return v.c }

// StatFS reports capacity and identity.
func (v *Volume) StatFS(ctx context.Context) (vfs.FSInfo, error) {
	v.c.mu.RLock()
	free := v.c.st.dataBlocks - v.c.st.usedCount
	v.c.mu.RUnlock()
	sb := v.c.sb
	return vfs.FSInfo{
		TotalBytes:     (sb.TotalBlocks - sb.DataStart) * BlockSize,
		FreeBytes:      free * BlockSize,
		BlockSize:      BlockSize,
		SectorSize:     BlockSize,
		SerialNumber:   binary.LittleEndian.Uint32(sb.VolumeID[:4]),
		Label:          sb.Label,
		CreationTime:   time.Unix(0, sb.CreatedUnix),
		MaxNameLength:  maxNameUnits,
		CaseSensitive:  false,
		SupportsSparse: true,
	}, nil
}

// resolve walks name to its parent directory and last element. The caller holds c.mu.
func (v *Volume) resolve(name string) (parent *inode, last string, ino *inode, err error) {
	st := v.c.st
	root := st.inodes[rootID]
	if name == "" {
		return nil, "", root, nil
	}
	parts := strings.Split(name, "/")
	dir := root
	for _, p := range parts {
		if err := validName(p); err != nil {
			return nil, "", nil, fmt.Errorf("%q: %v: %w", name, err, vfs.ErrInvalidName)
		}
	}
	for _, p := range parts[:len(parts)-1] {
		id, ok := dir.children[foldName(p)]
		if !ok {
			return nil, "", nil, fmt.Errorf("%q: %w", name, vfs.ErrPathNotFound)
		}
		dir = st.inodes[id]
		if !dir.dir {
			return nil, "", nil, fmt.Errorf("%q: %w", name, vfs.ErrPathNotFound)
		}
	}
	last = parts[len(parts)-1]
	if err := validName(last); err != nil {
		return nil, "", nil, fmt.Errorf("%q: %v: %w", name, err, vfs.ErrInvalidName)
	}
	if id, ok := dir.children[foldName(last)]; ok {
		ino = st.inodes[id]
	}
	return dir, last, ino, nil
}

func (v *Volume) nowStamp() int64 { return stamp(v.now()) }

// Open implements vfs.FS.
func (v *Volume) Open(ctx context.Context, name string, req vfs.OpenRequest) (vfs.File, vfs.OpenAction, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	c := v.c
	c.mu.Lock()
	parent, last, ino, err := v.resolve(name)
	if err != nil {
		c.mu.Unlock()
		return nil, 0, fmt.Errorf("open: %w", err)
	}
	var action vfs.OpenAction
	var seq uint64
	settable := uint32(req.Attributes & vfs.AttrSettable)
	now := v.nowStamp()
	// create adds the object, after pre (records of the same atomic operation).
	create := func(dir bool, pre ...record) error {
		attrs := settable
		if !dir {
			attrs |= uint32(vfs.AttrArchive)
		}
		id := c.st.nextID
		s, err := c.commitLocked(append(pre, record{kind: recCreate, id: id, other: parent.id, name: last, dir: dir,
			attrs: attrs, times: [4]int64{now, now, now, now}, now: now})...)
		if err != nil {
			return err
		}
		seq, ino = s, c.st.inodes[id]
		v.notify(parent.id, last, vfs.ChangeAdded, nameFilter(ino))
		return nil
	}
	if ino != nil {
		// MS-FSA 2.1.5.1.2.1: overwriting a Hidden or System file without asking for the
		// same attribute is denied.
		lost := ino.attrs &^ settable & uint32(vfs.AttrHidden|vfs.AttrSystem)
		switch {
		case req.Disposition == vfs.Create:
			err = vfs.ErrExists
		case req.Kind == vfs.FileOnly && ino.dir:
			err = vfs.ErrIsDir
		case req.Kind == vfs.DirectoryOnly && !ino.dir:
			err = vfs.ErrNotDir
		case req.Disposition == vfs.OpenExisting || req.Disposition == vfs.OpenIf:
			action = vfs.Opened
			if req.Write && !ino.dir && ino.attrs&uint32(vfs.AttrReadOnly) != 0 {
				err = vfs.ErrReadOnly
			}
		case req.Disposition == vfs.Overwrite || req.Disposition == vfs.OverwriteIf || req.Disposition == vfs.Supersede:
			if ino.dir {
				err = vfs.ErrIsDir
				break
			}
			if ino.attrs&uint32(vfs.AttrReadOnly) != 0 {
				err = vfs.ErrReadOnly
				break
			}
			if lost != 0 {
				err = fmt.Errorf("overwrite drops attributes %#x: %w", lost, vfs.ErrAccess)
				break
			}
			if req.Disposition == vfs.Supersede {
				// A superseded file is a new object (new id); the old one goes.
				old := ino
				c.mu.Unlock()
				old.dataMu.Lock()
				c.mu.Lock()
				if old.removed {
					err = fmt.Errorf("superseded concurrently: %w", vfs.ErrInUse)
				} else {
					last = old.name // the new object keeps the name's case
					err = create(false, record{kind: recRemove, id: old.id, now: now})
					action = vfs.Superseded
				}
				old.dataMu.Unlock()
				break
			}
			c.mu.Unlock()
			ino.dataMu.Lock()
			c.mu.Lock()
			attrs := settable | uint32(vfs.AttrArchive)
			if ino.removed {
				err = fmt.Errorf("removed concurrently: %w", vfs.ErrNotFound)
			} else {
				seq, err = c.commitLocked(
					record{kind: recSetSize, id: ino.id, size: 0, now: now},
					record{kind: recUnmap, id: ino.id, fileBlock: 0, count: maxFileBlocks},
					record{kind: recSetInfo, id: ino.id, mask: setAttrs, attrs: attrs})
				if err == nil {
					v.notify(ino.parent, ino.name, vfs.ChangeModified, vfs.FilterSize|vfs.FilterLastWrite|vfs.FilterAttributes)
				}
			}
			ino.dataMu.Unlock()
			action = vfs.Overwritten
		default:
			err = fmt.Errorf("disposition %d: %w", req.Disposition, vfs.ErrNotSupported)
		}
	} else {
		switch {
		case name == "":
			err = vfs.ErrAccess
		case req.Disposition == vfs.OpenExisting || req.Disposition == vfs.Overwrite:
			err = vfs.ErrNotFound
		case req.Disposition > vfs.OverwriteIf:
			err = fmt.Errorf("disposition %d: %w", req.Disposition, vfs.ErrNotSupported)
		default:
			err = create(req.Kind == vfs.DirectoryOnly)
			action = vfs.Created
		}
	}
	c.mu.Unlock()
	if err != nil {
		return nil, 0, fmt.Errorf("open %q: %w", name, mapErr(err))
	}
	if err := c.wait(seq); err != nil {
		return nil, 0, fmt.Errorf("open %q: %w", name, mapErr(err))
	}
	f := &file{v: v, ino: ino, req: req}
	if action == vfs.Created && !ino.dir && req.Allocation > 0 {
		if err := f.Allocate(req.Allocation); err != nil {
			return nil, 0, fmt.Errorf("open %q: initial allocation: %w", name, err)
		}
	}
	return f, action, nil
}

// mapErr turns internal errors into the vfs errors the server maps to NTSTATUS.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoSpace) || errors.Is(err, errCheckpointFull):
		return fmt.Errorf("%v: %w", err, vfs.ErrNoSpace)
	case errors.Is(err, errCorrupt):
		return fmt.Errorf("%v: %w", err, vfs.ErrIO)
	}
	for _, e := range []error{vfs.ErrNotFound, vfs.ErrPathNotFound, vfs.ErrExists, vfs.ErrIsDir, vfs.ErrNotDir,
		vfs.ErrNotEmpty, vfs.ErrAccess, vfs.ErrInvalidName, vfs.ErrNoSpace, vfs.ErrReadOnly, vfs.ErrInUse,
		vfs.ErrNotSupported, vfs.ErrIO, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("%v: %w", err, vfs.ErrIO)
}

// fileInfo builds a vfs.FileInfo; the caller holds c.mu.
func fileInfo(ino *inode) vfs.FileInfo {
	fi := vfs.FileInfo{
		Name:           ino.name,
		ID:             ino.id,
		Attributes:     vfs.Attr(ino.attrs),
		Links:          1,
		CreationTime:   stampTime(ino.times[tCreation]),
		LastAccessTime: stampTime(ino.times[tAccess]),
		LastWriteTime:  stampTime(ino.times[tWrite]),
		ChangeTime:     stampTime(ino.times[tChange]),
	}
	if ino.dir {
		fi.Attributes |= vfs.AttrDirectory
	} else {
		fi.Size = ino.size
		fi.Allocation = int64(ino.ext.blocks()) * BlockSize
	}
	if fi.Attributes == 0 {
		fi.Attributes = vfs.AttrNormal
	}
	return fi
}

// sortedChildren lists a directory's entries by folded name (a stable order).
func (s *state) sortedChildren(dir *inode) []*inode {
	keys := make([]string, 0, len(dir.children))
	for k := range dir.children {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*inode, len(keys))
	for i, k := range keys {
		out[i] = s.inodes[dir.children[k]]
	}
	return out
}
