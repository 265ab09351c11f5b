package localfs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// Options configures a localfs share. The zero value is valid.
type Options struct {
	// Label is the volume label reported by StatFS.
	Label string
	// NoXattrs disables the user.sofs.dos record even where the file system supports it
	// (the fallback described in the package documentation). Where the file system refuses
	// user xattrs the same fallback applies by itself.
	NoXattrs bool
	// FileMode and DirMode are the permission bits for created objects before the process
	// umask; zero means 0666 and 0777.
	FileMode uint32
	DirMode  uint32
	// WatchQueueLen bounds the changes one Watch holds for a slow consumer before it reports
	// an overflow instead; zero means defaultWatchQueueLen.
	WatchQueueLen int
}

func (o Options) withDefaults() Options {
	if o.FileMode == 0 {
		o.FileMode = 0o666
	}
	if o.DirMode == 0 {
		o.DirMode = 0o777
	}
	if o.WatchQueueLen <= 0 {
		o.WatchQueueLen = defaultWatchQueueLen
	}
	o.FileMode &= 0o777
	o.DirMode &= 0o777
	return o
}

// FS serves the directory tree beneath one root. It is safe for concurrent use.
type FS struct {
	rootPath string // for messages only, never for access
	rootFD   int    // O_PATH|O_DIRECTORY
	rootDev  uint64
	rootIno  uint64
	opts     Options
	serial   uint32
	created  time.Time
	noXattrs atomic.Bool
	// dirRenames counts directory renames through this FS; handles compare it with the value
	// they last saw to know when their name may have changed under them.
	dirRenames atomic.Uint64
	folds      foldIndex
	// objLocks serialise read-modify-write of named streams (streams.go).
	objLocks objectLocks
	// watchSeen, when set (by tests), is called by a watch's reader with every change it
	// queued or dropped: the deterministic way to know the reader has caught up.
	watchSeen func(vfs.Change)
}

var _ vfs.FS = (*FS)(nil)

// resolveFlags confine every lookup: RESOLVE_BENEATH refuses absolute paths, ".." above the
// starting directory and symlinks leading outside (EXDEV); RESOLVE_NO_MAGICLINKS refuses
// /proc-style links that would jump anywhere (ELOOP).
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

const statxMask = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_NLINK | unix.STATX_INO |
	unix.STATX_SIZE | unix.STATX_BLOCKS | unix.STATX_ATIME | unix.STATX_MTIME |
	unix.STATX_CTIME | unix.STATX_BTIME

// New opens root as a share. The caller closes the FS when the share goes away.
func New(root string, opts Options) (*FS, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("localfs: open root %q: %w: %w", root, sentinel(err, vfs.ErrPathNotFound), err)
	}
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, statxMask, &stx); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("localfs: stat root %q: %w", root, err)
	}
	dev := unix.Mkdev(stx.Dev_major, stx.Dev_minor)
	h := fnv.New32a()
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(dev >> (8 * i))
		b[8+i] = byte(stx.Ino >> (8 * i))
	}
	h.Write(b[:])
	fs := &FS{
		rootPath: root,
		rootFD:   fd,
		rootDev:  dev,
		rootIno:  stx.Ino,
		opts:     opts.withDefaults(),
		serial:   h.Sum32(),
		created:  creationFromStatx(&stx),
	}
	fs.noXattrs.Store(opts.NoXattrs)
	return fs, nil
}

// Close releases the root descriptor. Files already open stay usable.
func (fs *FS) Close() error {
	return unix.Close(fs.rootFD)
}

// openat2 resolves name beneath dirfd. EAGAIN (RESOLVE_BENEATH could not rule out a concurrent
// rename racing with a ".." inside a symlink) is retried a bounded number of times and then
// reported as an escape, which is what it guards against.
func openat2(dirfd int, name string, flags int, mode uint32) (int, error) {
	if name == "" {
		name = "."
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: resolveFlags}
	for attempt := 0; ; attempt++ {
		fd, err := unix.Openat2(dirfd, name, &how)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && attempt < 64:
			continue
		case err == unix.EAGAIN:
			return -1, unix.EXDEV
		}
		return fd, err
	}
}

// checkName enforces the vfs name form. The server validated already; this is the backend's own
// line of defence, so that a bug upstream cannot turn into an escape.
func checkName(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > 4096 {
		return vfs.ErrInvalidName
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) {
			switch name[i] {
			case 0:
				return vfs.ErrInvalidName
			case '/':
			default:
				continue
			}
		}
		elem := name[start:i]
		if elem == "" || elem == "." || elem == ".." || len(elem) > 255 {
			return vfs.ErrInvalidName
		}
		start = i + 1
	}
	return nil
}

// splitName returns the parent ("" for the root) and the last element.
func splitName(name string) (parent, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

func joinName(parent, base string) string {
	if parent == "" {
		return base
	}
	return parent + "/" + base
}

// notFound tells which ENOENT this is: the parent exists (the object is missing, ErrNotFound)
// or it does not (ErrPathNotFound).
func (fs *FS) notFound(op, name string, err error) error {
	parent, _ := splitName(name)
	kind := vfs.ErrNotFound
	if parent != "" {
		pfd, perr := openat2(fs.rootFD, parent, unix.O_PATH|unix.O_DIRECTORY, 0)
		if perr != nil {
			kind = vfs.ErrPathNotFound
		} else {
			unix.Close(pfd)
		}
	}
	return fmt.Errorf("localfs: %s %q: %w: %w", op, name, kind, err)
}

// readNames lists a directory's entry names through a fresh descriptor of it (its own offset,
// so concurrent listings do not interfere).
func readNames(dirfd int) ([]string, error) {
	dfd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	d := os.NewFile(uintptr(dfd), "dir")
	defer d.Close()
	return d.Readdirnames(-1)
}

// resolveCase maps name to the stored spelling, element by element, each lookup still beneath
// the root. An element with an exact entry keeps it; otherwise the first case-insensitive
// match is taken. A missing last element is kept as given (the caller may create it); a
// missing intermediate element is ErrPathNotFound.
func (fs *FS) resolveCase(name string) (string, error) {
	resolved := ""
	rest := name
	for rest != "" {
		elem := rest
		rest = ""
		if i := strings.IndexByte(elem, '/'); i >= 0 {
			elem, rest = elem[:i], elem[i+1:]
		}
		last := rest == ""
		cand := joinName(resolved, elem)
		fd, err := openat2(fs.rootFD, cand, unix.O_PATH, 0)
		if err == nil {
			unix.Close(fd)
			resolved = cand
			continue
		}
		if err != unix.ENOENT {
			if last {
				return cand, nil // let the caller's own open report it
			}
			return "", opError("lookup", cand, err, vfs.ErrPathNotFound)
		}
		dfd, err := openat2(fs.rootFD, resolved, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return "", opError("lookup", resolved, err, vfs.ErrPathNotFound)
		}
		match, err := fs.foldMatch(dfd, elem)
		unix.Close(dfd)
		if err != nil {
			return "", opError("list", resolved, err, vfs.ErrPathNotFound)
		}
		if match == "" {
			if last {
				return cand, nil
			}
			return "", fmt.Errorf("localfs: lookup %q: %w", cand, vfs.ErrPathNotFound)
		}
		resolved = joinName(resolved, match)
	}
	return resolved, nil
}

// Open implements vfs.FS.
func (fs *FS) Open(ctx context.Context, name string, req vfs.OpenRequest) (vfs.File, vfs.OpenAction, error) {
	if err := checkName(name); err != nil {
		return nil, 0, fmt.Errorf("localfs: open %q: %w", name, err)
	}
	object, streamName, err := splitStream(name)
	if err != nil {
		return nil, 0, err
	}
	if streamName != "" {
		return fs.openStream(ctx, object, streamName, req)
	}
	if object != name {
		// "file::$DATA" is the file. A directory has no unnamed data stream (MS-FSCC 2.1.4),
		// so "dir::$DATA" is not the directory.
		switch req.Kind {
		case vfs.AnyKind:
			req.Kind = vfs.FileOnly
		case vfs.DirectoryOnly:
			return nil, 0, fmt.Errorf("localfs: open %q: a data stream is not a directory: %w", name, vfs.ErrNotDir)
		}
		name = object
	}
	if req.Disposition > vfs.OverwriteIf || req.Kind > vfs.DirectoryOnly {
		return nil, 0, fmt.Errorf("localfs: open %q: disposition %d kind %d: %w", name, req.Disposition, req.Kind, vfs.ErrNotSupported)
	}
	var lastErr error
	// Open-or-create loses a race when another opener creates the object between our
	// failed open and our O_EXCL create; then the object exists and opening it again is right.
	// The bound stops a dangling symlink (absent for open, present for create) from looping.
	for attempt := 0; attempt < 4; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if req.Disposition != vfs.Create {
			f, err := fs.openExisting(name, req)
			if err == nil {
				action, err := f.applyDisposition(req)
				if err != nil {
					f.Close()
					return nil, 0, err
				}
				return f, action, nil
			}
			if !errors.Is(err, vfs.ErrNotFound) || req.Disposition == vfs.OpenExisting || req.Disposition == vfs.Overwrite {
				return nil, 0, err
			}
		}
		f, err := fs.create(name, req)
		if err == nil {
			return f, vfs.Created, nil
		}
		if !errors.Is(err, vfs.ErrExists) || req.Disposition == vfs.Create {
			return nil, 0, err
		}
		lastErr = err
	}
	return nil, 0, lastErr
}

func overwrites(d vfs.Disposition) bool {
	return d == vfs.Supersede || d == vfs.Overwrite || d == vfs.OverwriteIf
}

// openExisting opens an existing object for req. Files are opened O_RDWR when data will be
// written or truncated, directories always O_RDONLY (their data I/O then fails cleanly).
// O_NONBLOCK keeps a FIFO inside the share from hanging the open; it is refused right after.
func (fs *FS) openExisting(name string, req vfs.OpenRequest) (*file, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY
	if (req.Write || overwrites(req.Disposition)) && req.Kind != vfs.DirectoryOnly && name != "" {
		flags = unix.O_RDWR | unix.O_NONBLOCK | unix.O_NOCTTY
	}
	if req.WriteThrough {
		flags |= unix.O_DSYNC
	}
	actual := name
	fd, err := openat2(fs.rootFD, name, flags, 0)
	if err == unix.ENOENT && req.CaseInsensitive {
		resolved, rerr := fs.resolveCase(name)
		if rerr != nil {
			return nil, rerr
		}
		if resolved != name {
			actual = resolved
			fd, err = openat2(fs.rootFD, actual, flags, 0)
		}
	}
	if err == unix.EISDIR {
		if req.Kind == vfs.FileOnly {
			return nil, fmt.Errorf("localfs: open %q: %w", actual, vfs.ErrIsDir)
		}
		flags = flags&^unix.O_ACCMODE | unix.O_RDONLY
		fd, err = openat2(fs.rootFD, actual, flags, 0)
	}
	if err == unix.ENOENT {
		return nil, fs.notFound("open", actual, err)
	}
	if err != nil {
		return nil, opError("open", actual, err, vfs.ErrNotFound)
	}
	f, err := fs.newFile(fd, actual, req.CaseInsensitive)
	if err != nil {
		return nil, err
	}
	switch {
	case f.isDir && req.Kind == vfs.FileOnly:
		f.Close()
		return nil, fmt.Errorf("localfs: open %q: %w", actual, vfs.ErrIsDir)
	case !f.isDir && req.Kind == vfs.DirectoryOnly:
		f.Close()
		return nil, fmt.Errorf("localfs: open %q: %w", actual, vfs.ErrNotDir)
	}
	return f, nil
}

// newFile takes ownership of fd.
func (fs *FS) newFile(fd int, name string, caseInsensitive bool) (*file, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_TYPE|unix.STATX_INO, &stx); err != nil {
		unix.Close(fd)
		return nil, opError("stat", name, err, vfs.ErrNotFound)
	}
	mode := uint32(stx.Mode) & unix.S_IFMT
	if mode != unix.S_IFREG && mode != unix.S_IFDIR {
		unix.Close(fd)
		return nil, fmt.Errorf("localfs: open %q: special file (mode %#o): %w", name, mode, vfs.ErrAccess)
	}
	return &file{
		fs:      fs,
		fd:      fd,
		isDir:   mode == unix.S_IFDIR,
		dev:     unix.Mkdev(stx.Dev_major, stx.Dev_minor),
		ino:     stx.Ino,
		ci:      caseInsensitive,
		name:    name,
		nameGen: fs.dirRenames.Load(),
	}, nil
}

// create makes the object exclusively (O_EXCL / mkdirat), so a concurrent creator cannot be
// clobbered: one of them gets ErrExists.
func (fs *FS) create(name string, req vfs.OpenRequest) (*file, error) {
	if name == "" {
		return nil, fmt.Errorf("localfs: create root: %w", vfs.ErrExists)
	}
	parent, base := splitName(name)
	if req.CaseInsensitive && parent != "" {
		resolved, err := fs.resolveCase(parent)
		if err != nil {
			return nil, err
		}
		parent = resolved
	}
	name = joinName(parent, base)
	pfd, err := openat2(fs.rootFD, parent, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, opError("create", name, err, vfs.ErrPathNotFound)
	}
	defer unix.Close(pfd)
	if req.CaseInsensitive {
		// An entry differing only in case is the same name to this client. The check and the
		// create are one step for case-insensitive creators in this FS, so two of them
		// spelling the name differently cannot both create it.
		key, _, err := dirStat(pfd)
		if err != nil {
			return nil, opError("create", name, err, vfs.ErrPathNotFound)
		}
		unlock := fs.folds.lockDir(key)
		defer unlock()
		match, err := fs.foldMatch(pfd, base)
		if err != nil {
			return nil, opError("create", name, err, vfs.ErrPathNotFound)
		}
		if match != "" {
			return nil, fmt.Errorf("localfs: create %q: %q exists: %w", name, match, vfs.ErrExists)
		}
	}
	var fd int
	if req.Kind == vfs.DirectoryOnly {
		if err := unix.Mkdirat(pfd, base, fs.opts.DirMode); err != nil {
			return nil, opError("mkdir", name, err, vfs.ErrPathNotFound)
		}
		fd, err = openat2(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	} else {
		flags := unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_NONBLOCK | unix.O_NOCTTY
		if req.WriteThrough {
			flags |= unix.O_DSYNC
		}
		fd, err = openat2(pfd, base, flags, fs.opts.FileMode)
	}
	if err != nil {
		return nil, opError("create", name, err, vfs.ErrPathNotFound)
	}
	fs.foldAdded(pfd, base)
	f, err := fs.newFile(fd, name, req.CaseInsensitive)
	if err != nil {
		return nil, err
	}
	if !f.isDir && req.Allocation > 0 {
		// The allocation is a hint; file systems without fallocate simply do not reserve.
		_ = unix.Fallocate(f.fd, unix.FALLOC_FL_KEEP_SIZE, 0, req.Allocation)
	}
	attrs := req.Attributes & vfs.AttrSettable
	if !f.isDir {
		attrs |= vfs.AttrArchive // MS-FSA 2.1.5.1.2.1: a new file has ARCHIVE set
	}
	if err := f.initRecord(attrs, false); err != nil {
		f.Close()
		unix.Unlinkat(pfd, base, removeFlags(f.isDir))
		return nil, err
	}
	return f, nil
}

// StatFS implements vfs.FS.
func (fs *FS) StatFS(ctx context.Context) (vfs.FSInfo, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fs.rootFD, &st); err != nil {
		return vfs.FSInfo{}, opError("statfs", "", err, vfs.ErrNotFound)
	}
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	nameMax := uint32(st.Namelen)
	if nameMax == 0 || nameMax > 255 {
		nameMax = 255
	}
	return vfs.FSInfo{
		TotalBytes:     st.Blocks * unit,
		FreeBytes:      st.Bavail * unit,
		BlockSize:      uint32(st.Bsize),
		SectorSize:     512,
		SerialNumber:   fs.serial,
		Label:          fs.opts.Label,
		CreationTime:   fs.created,
		MaxNameLength:  nameMax,
		CaseSensitive:  true,
		SupportsSparse: true,
	}, nil
}

// sortNames orders directory entries bytewise: stable across calls and cheap.
func sortNames(names []string) { sort.Strings(names) }
