package localfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// Change watching (vfs.Watcher) with inotify, so that changes made on the host directly are
// reported as well as those made through SMB.
//
// Confinement. inotify_add_watch takes a path, not a descriptor. Watching the share-relative
// name by a host path would resolve it again outside our control (symlinks, renames racing with
// the call), so instead every watched directory is first resolved beneath the root with
// openat2 (RESOLVE_BENEATH, as every other lookup here), and the watch is then added on
// "/proc/self/fd/N" of that descriptor. That path is a magic link, but following it does no
// name lookup at all: the kernel jumps to the very dentry and mount the descriptor holds, so the
// watch lands on exactly the inode the confined resolution found and nothing another process
// does to the tree in between can redirect it. (RESOLVE_NO_MAGICLINKS exists to stop names a
// client controls from reaching such links; here the link is one we name ourselves, for our own
// descriptor.) To be sure "/proc" really is procfs and not something mounted or bind-mounted
// over it, its file system magic is checked before each watch.
//
// Subdirectories of a tree watch are opened relative to the watched directory's descriptor with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS: symlinks inside the tree are never followed, so a link
// to a directory outside the share (or elsewhere inside it) is not watched through the tree, as
// Windows does not follow reparse points for change notification either.
//
// As with an open directory handle, confinement holds at resolution time: a watched directory
// that is later moved out of the share (by a host process) keeps being watched.
//
// Costs and limits. Each Watch uses one inotify instance (fs.inotify.max_user_instances, 128
// per user by default, bounds how many watches the server can hold at once), one inotify
// watch per directory (fs.inotify.max_user_watches), and one more watch and descriptor for
// the unlinked temporary file WatchSync's marks are written to. A directory created in a tree gets a
// watch when its creation is read, and what is already in it then is reported as added. A
// rename is reported as old/new name when both inotify events arrive within renameHalfWait of
// each other (they are queued together); else as removed and added.

const defaultWatchQueueLen = 1024

const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK

// attribFilter is what IN_ATTRIB may mean: one inotify bit covers chmod, utimensat, link count
// and xattr changes (the DOS record with attributes and creation time, security descriptors,
// named streams), so it matches every completion filter any of those could have set.
const attribFilter = vfs.FilterAttributes | vfs.FilterLastWrite | vfs.FilterLastAccess |
	vfs.FilterCreation | vfs.FilterEA | vfs.FilterSecurity | vfs.FilterStreamName |
	vfs.FilterStreamSize | vfs.FilterStreamWrite

var (
	_ vfs.Watcher     = (*FS)(nil)
	_ vfs.SyncWatcher = (*FS)(nil)
)

// watch is one Watch call's state. wds and dirFD are touched only by the reader goroutine once
// it runs.
type watch struct {
	fs    *FS
	conn  syscall.RawConn // the inotify instance once os.File owns it: Control keeps it open
	dirFD int             // O_PATH descriptor of the watched directory
	tree  bool
	wds   map[int32]string // watch descriptor → directory relative to the watched one
	queue *changeQueue
	now   func() time.Time
	// mark is a private file watched by the same inotify instance for IN_MODIFY at markWD: a write
	// to it queues an event behind every event the kernel queued before, which the reader
	// turns into a Marker change (WatchSync). An os.File, so a write racing with the watch's
	// end fails cleanly instead of reaching a reused descriptor number.
	mark   *os.File
	markWD int32
}

// Watch implements vfs.Watcher.
func (fs *FS) Watch(ctx context.Context, dir string, tree bool) (<-chan vfs.Change, error) {
	ch, _, err := fs.WatchSync(ctx, dir, tree)
	return ch, err
}

// WatchSync implements vfs.SyncWatcher.
func (fs *FS) WatchSync(ctx context.Context, dir string, tree bool) (<-chan vfs.Change, func() error, error) {
	ch, w, err := fs.watch(ctx, dir, tree)
	if err != nil {
		return nil, nil, err
	}
	mark := func() error {
		if _, err := w.mark.WriteAt([]byte{1}, 0); err != nil {
			return fmt.Errorf("localfs: watch %q: mark: %w", dir, err)
		}
		return nil
	}
	return ch, mark, nil
}

func (fs *FS) watch(ctx context.Context, dir string, tree bool) (<-chan vfs.Change, *watch, error) {
	if err := checkName(dir); err != nil {
		return nil, nil, fmt.Errorf("localfs: watch %q: %w", dir, err)
	}
	if _, sname, err := splitStream(dir); err != nil || sname != "" {
		return nil, nil, fmt.Errorf("localfs: watch %q: not a directory name: %w", dir, vfs.ErrInvalidName)
	}
	if err := checkProcfs(); err != nil {
		return nil, nil, fmt.Errorf("localfs: watch %q: %w", dir, err)
	}
	dirFD, err := openat2(fs.rootFD, dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == unix.ENOENT {
		return nil, nil, fs.notFound("watch", dir, err)
	}
	if err == unix.ENOTDIR {
		return nil, nil, fmt.Errorf("localfs: watch %q: %w: %w", dir, vfs.ErrNotDir, err)
	}
	if err != nil {
		return nil, nil, opError("watch", dir, err, vfs.ErrNotFound)
	}
	ifd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		unix.Close(dirFD)
		return nil, nil, opError("watch (inotify_init1)", dir, err, vfs.ErrNotFound)
	}
	w := &watch{
		fs:    fs,
		dirFD: dirFD,
		tree:  tree,
		wds:   make(map[int32]string),
		queue: newChangeQueue(fs.opts.WatchQueueLen),
		now:   time.Now,
	}
	// A non-blocking descriptor handed to os.NewFile goes into the runtime's poller: Read parks
	// the goroutine instead of a thread, and Close wakes it. Adding and removing watches goes
	// through RawConn.Control, which holds the descriptor open for the call, so a Close racing
	// with the reader can never make it act on a reused descriptor number.
	inotify := os.NewFile(uintptr(ifd), "inotify:"+dir)
	if w.conn, err = inotify.SyscallConn(); err != nil {
		inotify.Close()
		unix.Close(dirFD)
		return nil, nil, fmt.Errorf("localfs: watch %q: %w: %w", dir, vfs.ErrIO, err)
	}
	if err := w.addDir("", dirFD, false); err != nil {
		inotify.Close()
		unix.Close(dirFD)
		return nil, nil, opError("watch", dir, err, vfs.ErrNotFound)
	}
	if err := w.addMark(); err != nil {
		inotify.Close()
		unix.Close(dirFD)
		return nil, nil, fmt.Errorf("localfs: watch %q: %w", dir, err)
	}
	out := make(chan vfs.Change)
	readerDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { inotify.Close() })
	go func() {
		defer close(readerDone)
		w.read(inotify)
	}()
	go func() {
		defer close(out)
		defer unix.Close(dirFD)
		defer func() { <-readerDone }()
		defer w.mark.Close()
		defer stop() // when the reader failed on its own: the AfterFunc has not run
		defer inotify.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-readerDone:
				return
			case <-w.queue.ready:
			}
			for _, c := range w.queue.take() {
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, w, nil
}

// addMark creates the file WatchSync's marks are written to and watches it: an unlinked
// temporary file (a memfd would be simpler, but the kernel sends no inotify events for
// pseudo files). Nobody else can reach it, so only marks write to it.
func (w *watch) addMark() error {
	f, err := os.CreateTemp("", "sofs-watch-mark-")
	if err != nil {
		return fmt.Errorf("mark file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return fmt.Errorf("mark file: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return fmt.Errorf("mark file: %w", err)
	}
	var wd int
	if cerr := rc.Control(func(mfd uintptr) {
		if cerr := w.conn.Control(func(ifd uintptr) {
			wd, err = unix.InotifyAddWatch(int(ifd), "/proc/self/fd/"+strconv.Itoa(int(mfd)), unix.IN_MODIFY)
		}); cerr != nil {
			err = cerr
		}
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("inotify_add_watch on the mark: %w", err)
	}
	w.mark, w.markWD = f, int32(wd)
	return nil
}

// checkProcfs makes sure /proc/self/fd is procfs's (see the confinement note above).
func checkProcfs() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/proc/self/fd", &st); err != nil {
		return fmt.Errorf("procfs needed for inotify watches by descriptor: %w: %w", vfs.ErrNotSupported, err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("/proc is not procfs (magic %#x): %w", st.Type, vfs.ErrNotSupported)
	}
	return nil
}

// addDir watches the directory open as fd, known as rel, and with a tree watch its
// subdirectories, depth first with an explicit stack. The caller keeps ownership of fd.
// reportEntries reports every entry found below rel as added: for a directory just created,
// whatever is already in it was created after it, before its watch existed, and would
// otherwise go unreported. (An entry created between adding the watch and listing is
// reported twice; a duplicate is harmless, a loss is not.)
func (w *watch) addDir(rel string, fd int, reportEntries bool) error {
	if err := w.addWatch(rel, fd); err != nil {
		return err
	}
	if !w.tree {
		return nil
	}
	type pending struct {
		rel string
		fd  int
	}
	var stack []pending
	// Children are listed after their parent's watch exists, so one created meanwhile is seen
	// either in the listing or as an event (or both: adding a watch twice is harmless).
	push := func(rel string, fd int) {
		names, err := readNames(fd)
		if err != nil {
			return // removed or unreadable meanwhile: nothing to watch below it
		}
		sortNames(names)
		for _, n := range names {
			var stx unix.Statx_t
			if unix.Statx(fd, n, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_TYPE, &stx) != nil {
				continue
			}
			isDir := uint32(stx.Mode)&unix.S_IFMT == unix.S_IFDIR
			if reportEntries {
				filter := vfs.FilterFileName
				if isDir {
					filter = vfs.FilterDirName
				}
				w.push(vfs.Change{Action: vfs.ChangeAdded, Filter: filter, Name: joinName(rel, n), Time: w.now()})
			}
			if !isDir {
				continue
			}
			cfd, err := openBeneathNoSymlinks(fd, n)
			if err != nil {
				continue
			}
			stack = append(stack, pending{joinName(rel, n), cfd})
		}
	}
	push(rel, fd)
	var firstErr error
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if err := w.addWatch(p.rel, p.fd); err != nil {
			if firstErr == nil && !errors.Is(err, unix.ENOENT) {
				firstErr = err
			}
		} else {
			push(p.rel, p.fd)
		}
		unix.Close(p.fd)
	}
	return firstErr
}

// addWatch adds the inotify watch for the directory open as fd.
func (w *watch) addWatch(rel string, fd int) error {
	var wd int
	var err error
	if cerr := w.conn.Control(func(ifd uintptr) {
		wd, err = unix.InotifyAddWatch(int(ifd), "/proc/self/fd/"+strconv.Itoa(fd), watchMask)
	}); cerr != nil {
		return fmt.Errorf("inotify_add_watch %q: %w", rel, cerr)
	}
	if err != nil {
		return fmt.Errorf("inotify_add_watch %q: %w", rel, err)
	}
	w.wds[int32(wd)] = rel
	return nil
}

// openBeneathNoSymlinks opens name (relative to dirfd) as a directory without following any
// symlink and without leaving dirfd.
func openBeneathNoSymlinks(dirfd int, name string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: resolveFlags | unix.RESOLVE_NO_SYMLINKS,
	}
	for attempt := 0; ; attempt++ {
		fd, err := unix.Openat2(dirfd, name, &how)
		if (err == unix.EINTR || err == unix.EAGAIN) && attempt < 64 {
			continue
		}
		return fd, err
	}
}

// read feeds the queue from the inotify instance until it is closed.
func (w *watch) read(inotify *os.File) {
	// Enough for many events at once; one event is at most 16 + NAME_MAX + 1 bytes.
	buf := make([]byte, 64<<10)
	for {
		n, err := inotify.Read(buf)
		if err != nil {
			return
		}
		events, _ := parseInotify(buf[:n])
		// The two halves of a rename are queued one after the other but can straddle two
		// reads: a read that ends in IN_MOVED_FROM waits briefly (renameHalfWait) for the
		// IN_MOVED_TO, so the rename is reported as old and new name, not removed and added.
		for len(events) > 0 && events[len(events)-1].mask&unix.IN_MOVED_FROM != 0 {
			if inotify.SetReadDeadline(time.Now().Add(renameHalfWait)) != nil {
				break
			}
			n, err := inotify.Read(buf)
			_ = inotify.SetReadDeadline(time.Time{})
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					w.handle(events)
					return
				}
				break // moved out of the watch (or elsewhere unwatched): removed
			}
			more, _ := parseInotify(buf[:n])
			events = append(events, more...)
		}
		w.handle(events)
	}
}

// renameHalfWait bounds the wait for the second half of a rename (see watch.read).
const renameHalfWait = 20 * time.Millisecond

// inotifyEvent is one decoded struct inotify_event.
type inotifyEvent struct {
	wd     int32
	mask   uint32
	cookie uint32
	name   string
}

const inotifyHeaderLen = 16 // wd, mask, cookie, len

// parseInotify decodes the events read from an inotify descriptor. The kernel only ever hands
// out whole events; a truncated or inconsistent buffer stops decoding with an error, returning
// the events before it.
func parseInotify(b []byte) ([]inotifyEvent, error) {
	var events []inotifyEvent
	for len(b) > 0 {
		if len(b) < inotifyHeaderLen {
			return events, fmt.Errorf("inotify: %d bytes left, header needs %d", len(b), inotifyHeaderLen)
		}
		ev := inotifyEvent{
			wd:     int32(binary.NativeEndian.Uint32(b[0:4])),
			mask:   binary.NativeEndian.Uint32(b[4:8]),
			cookie: binary.NativeEndian.Uint32(b[8:12]),
		}
		nameLen := binary.NativeEndian.Uint32(b[12:16])
		if uint64(nameLen) > uint64(len(b)-inotifyHeaderLen) {
			return events, fmt.Errorf("inotify: name of %d bytes, %d left", nameLen, len(b)-inotifyHeaderLen)
		}
		name := b[inotifyHeaderLen : inotifyHeaderLen+int(nameLen)]
		if i := strings.IndexByte(string(name), 0); i >= 0 {
			name = name[:i] // NUL-padded to an alignment
		}
		ev.name = string(name)
		events = append(events, ev)
		b = b[inotifyHeaderLen+int(nameLen):]
	}
	return events, nil
}

// handle turns one read's events into changes (MS-FSCC 2.7.1 actions, MS-SMB2 2.2.35 filter
// bits). Events about a watched directory itself (no name) are not reported: Windows reports
// changes to a directory's entries, and the entry of a subdirectory is reported through its
// parent's watch already.
func (w *watch) handle(events []inotifyEvent) {
	now := w.now()
	// Cookies of renames whose both halves are in this read (and within the watch).
	var paired map[uint32]string
	for i, ev := range events {
		if ev.mask&unix.IN_Q_OVERFLOW != 0 {
			w.push(vfs.Change{Overflow: true, Time: now})
			continue
		}
		if ev.mask&unix.IN_IGNORED != 0 {
			delete(w.wds, ev.wd)
			continue
		}
		if ev.wd == w.markWD && w.mark != nil {
			w.queue.push(vfs.Change{Marker: true, Time: now})
			continue
		}
		rel, ok := w.wds[ev.wd]
		if !ok || ev.name == "" {
			continue
		}
		name := joinName(rel, ev.name)
		isDir := ev.mask&unix.IN_ISDIR != 0
		nameFilter := vfs.FilterFileName
		if isDir {
			nameFilter = vfs.FilterDirName
		}
		switch {
		case ev.mask&unix.IN_CREATE != 0:
			w.push(vfs.Change{Action: vfs.ChangeAdded, Filter: nameFilter, Name: name, Time: now})
			if isDir && w.tree {
				w.addNew(name, true)
			}
		case ev.mask&unix.IN_DELETE != 0:
			w.push(vfs.Change{Action: vfs.ChangeRemoved, Filter: nameFilter, Name: name, Time: now})
		case ev.mask&unix.IN_MOVED_FROM != 0:
			newName, found := w.moveTarget(events[i+1:], ev.cookie)
			if !found {
				if isDir && w.tree {
					w.dropSubtree(name)
				}
				w.push(vfs.Change{Action: vfs.ChangeRemoved, Filter: nameFilter, Name: name, Time: now})
				continue
			}
			if paired == nil {
				paired = make(map[uint32]string)
			}
			paired[ev.cookie] = name
			if isDir && w.tree {
				w.renameSubtree(name, newName)
			}
			w.push(vfs.Change{Action: vfs.ChangeRenamedOldName, Filter: nameFilter, Name: name, Time: now})
		case ev.mask&unix.IN_MOVED_TO != 0:
			if _, ok := paired[ev.cookie]; ok {
				delete(paired, ev.cookie)
				w.push(vfs.Change{Action: vfs.ChangeRenamedNewName, Filter: nameFilter, Name: name, Time: now})
				continue
			}
			w.push(vfs.Change{Action: vfs.ChangeAdded, Filter: nameFilter, Name: name, Time: now})
			if isDir && w.tree {
				w.addNew(name, false) // moved in: Windows reports the directory, not its contents
			}
		case ev.mask&unix.IN_MODIFY != 0:
			w.push(vfs.Change{Action: vfs.ChangeModified, Filter: vfs.FilterSize | vfs.FilterLastWrite, Name: name, Time: now})
		case ev.mask&unix.IN_ATTRIB != 0:
			w.push(vfs.Change{Action: vfs.ChangeModified, Filter: attribFilter, Name: name, Time: now})
		case ev.mask&unix.IN_CLOSE_WRITE != 0:
			w.push(vfs.Change{Action: vfs.ChangeModified, Filter: vfs.FilterLastWrite, Name: name, Time: now})
		}
	}
}

// moveTarget finds the IN_MOVED_TO half of a rename among the following events.
func (w *watch) moveTarget(rest []inotifyEvent, cookie uint32) (string, bool) {
	for _, ev := range rest {
		if ev.mask&unix.IN_MOVED_TO != 0 && ev.cookie == cookie {
			rel, ok := w.wds[ev.wd]
			if !ok {
				return "", false
			}
			return joinName(rel, ev.name), true
		}
	}
	return "", false
}

// addNew watches a directory that appeared in the tree, resolved beneath the watched
// directory without following symlinks. created says it was made here (not moved in), so its
// entries are new too.
func (w *watch) addNew(rel string, created bool) {
	fd, err := openBeneathNoSymlinks(w.dirFD, rel)
	if err != nil {
		return // gone already, or a symlink: nothing to watch
	}
	defer unix.Close(fd)
	_ = w.addDir(rel, fd, created)
}

func inSubtree(rel, dir string) bool {
	return rel == dir || strings.HasPrefix(rel, dir+"/")
}

// dropSubtree stops watching a directory that left the tree and everything below it.
func (w *watch) dropSubtree(dir string) {
	for wd, rel := range w.wds {
		if inSubtree(rel, dir) {
			_ = w.conn.Control(func(ifd uintptr) { unix.InotifyRmWatch(int(ifd), uint32(wd)) })
			delete(w.wds, wd)
		}
	}
}

// renameSubtree follows a directory renamed within the tree: its watches stay (they are on
// the inodes), their names change.
func (w *watch) renameSubtree(from, to string) {
	for wd, rel := range w.wds {
		if inSubtree(rel, from) {
			w.wds[wd] = to + rel[len(from):]
		}
	}
}

func (w *watch) push(c vfs.Change) {
	w.queue.push(c)
	if seen := w.fs.watchSeen; seen != nil {
		seen(c)
	}
}

// changeQueue holds changes between the reader and the consumer, at most limit of them. When
// it is full, everything queued is replaced by one overflow change and later changes are
// dropped until that overflow is taken out for delivery; the client re-enumerates when it
// receives it (STATUS_NOTIFY_ENUM_DIR), so what was dropped carries nothing it will lack.
// Queueing resumes as soon as the overflow is taken, not when it is received: a client may
// act on the overflow the moment it has it, and a change right after must not be lost. A
// consumer still not reading then fills the queue again and gets a second overflow after the
// first, never a lost change.
type changeQueue struct {
	mu       sync.Mutex
	items    []vfs.Change
	limit    int
	dropping bool          // an overflow is queued: drop everything
	ready    chan struct{} // signalled when items is not empty
}

func newChangeQueue(limit int) *changeQueue {
	return &changeQueue{limit: limit, ready: make(chan struct{}, 1)}
}

// push queues c and reports whether it was kept. A change equal to the last one queued (a
// series of writes to one file) is merged into it.
func (q *changeQueue) push(c vfs.Change) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c.Marker {
		// A mark is never dropped or merged, and holds no place against the limit.
		q.items = append(q.items, c)
		select {
		case q.ready <- struct{}{}:
		default:
		}
		return true
	}
	if q.dropping {
		return false
	}
	switch n := len(q.items); {
	case c.Overflow || n >= q.limit:
		q.items = append(q.items[:0], vfs.Change{Overflow: true, Time: c.Time})
		q.dropping = true
	case n > 0 && sameChange(q.items[n-1], c):
		q.items[n-1].Time = c.Time
	default:
		q.items = append(q.items, c)
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return !q.dropping
}

func sameChange(a, b vfs.Change) bool {
	return a.Action == b.Action && a.Filter == b.Filter && a.Name == b.Name && !a.Overflow
}

// take removes and returns everything queued for delivery.
func (q *changeQueue) take() []vfs.Change {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	q.dropping = false
	return items
}
