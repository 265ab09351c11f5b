package localfs

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Case-insensitive lookups miss the exact name only when a client spells a name differently
// from how it is stored, or when it creates a new name (which must not collide with a case
// variant). Both need the directory's entries; listing the directory every time makes creating
// n files O(n²). foldIndex keeps, per directory, a map from a canonical case-folded key to the
// stored name, valid while the directory's mtime and ctime are those seen before listing it.
// Since Linux 6.13 ext4, xfs, btrfs and tmpfs use multigrain timestamps: once we have queried
// them, the next change gets a distinct fine-grained time, so a change by another process is
// always noticed. Changes made through this FS update the index directly (foldAdded,
// foldRemoved) or drop it (foldForget).

const foldIndexDirs = 64 // directories indexed at once; beyond that an arbitrary one is dropped

type dirKey struct{ dev, ino uint64 }

type foldDir struct {
	mtime, ctime unix.StatxTimestamp
	names        map[string]string // foldKey → first stored name in byte order
	multi        map[string]bool   // foldKeys held by more than one stored name (POSIX clients)
}

type foldIndex struct {
	mu   sync.Mutex
	dirs map[dirKey]*foldDir

	// createLocks serialise case-insensitive creates per directory (striped by inode).
	createLocks [64]sync.Mutex
}

func (x *foldIndex) lockDir(key dirKey) (unlock func()) {
	m := &x.createLocks[(key.ino^key.dev*0x9e3779b97f4a7c15)%uint64(len(x.createLocks))]
	m.Lock()
	return m.Unlock
}

// foldKey maps s to a string equal for exactly the names strings.EqualFold deems equal:
// every rune becomes the smallest rune of its simple case-folding orbit.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// In ASCII the orbit of a letter is {upper, lower}; upper is the smaller.
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(canonicalFold(r))
	}
	return b.String()
}

func canonicalFold(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < least {
			least = f
		}
	}
	return least
}

func dirStat(dirfd int) (dirKey, unix.Statx_t, error) {
	var stx unix.Statx_t
	err := unix.Statx(dirfd, "", unix.AT_EMPTY_PATH, unix.STATX_INO|unix.STATX_MTIME|unix.STATX_CTIME, &stx)
	return dirKey{unix.Mkdev(stx.Dev_major, stx.Dev_minor), stx.Ino}, stx, err
}

// foldMatch returns the entry of dirfd equal to elem under Unicode simple case folding; among
// several, the first in byte order. "" when there is none. Callers try the exact name first,
// so an exact entry always wins.
func (fs *FS) foldMatch(dirfd int, elem string) (string, error) {
	key, stx, err := dirStat(dirfd)
	if err != nil {
		return "", err
	}
	fk := foldKey(elem)
	fs.folds.mu.Lock()
	if d, ok := fs.folds.dirs[key]; ok && d.mtime == stx.Mtime && d.ctime == stx.Ctime {
		name := d.names[fk]
		fs.folds.mu.Unlock()
		return name, nil
	}
	fs.folds.mu.Unlock()

	names, err := readNames(dirfd)
	if err != nil {
		return "", err
	}
	d := &foldDir{mtime: stx.Mtime, ctime: stx.Ctime, names: make(map[string]string, len(names))}
	for _, n := range names {
		d.add(n)
	}
	fs.folds.mu.Lock()
	if fs.folds.dirs == nil {
		fs.folds.dirs = make(map[dirKey]*foldDir)
	}
	if _, ok := fs.folds.dirs[key]; !ok && len(fs.folds.dirs) >= foldIndexDirs {
		for k := range fs.folds.dirs {
			delete(fs.folds.dirs, k)
			break
		}
	}
	fs.folds.dirs[key] = d
	fs.folds.mu.Unlock()
	return d.names[fk], nil
}

func (fs *FS) foldIndexed() bool {
	fs.folds.mu.Lock()
	defer fs.folds.mu.Unlock()
	return len(fs.folds.dirs) > 0
}

// foldAdded records that this FS just created name in dirfd, keeping the index of a directory
// being filled valid instead of relisting it after every create.
func (fs *FS) foldAdded(dirfd int, name string) {
	fs.foldChanged(dirfd, func(d *foldDir) bool { d.add(name); return true })
}

// foldChanged applies change to dirfd's index after this FS changed the directory, and records
// the directory's new times; the index is dropped when the directory cannot be stat'ed or
// change reports it cannot keep the index exact.
func (fs *FS) foldChanged(dirfd int, change func(d *foldDir) bool) {
	if !fs.foldIndexed() {
		return
	}
	key, stx, err := dirStat(dirfd)
	fs.folds.mu.Lock()
	defer fs.folds.mu.Unlock()
	d, ok := fs.folds.dirs[key]
	if !ok {
		return
	}
	if err != nil || !change(d) {
		delete(fs.folds.dirs, key)
		return
	}
	d.mtime, d.ctime = stx.Mtime, stx.Ctime
}

func (d *foldDir) add(name string) {
	k := foldKey(name)
	cur, ok := d.names[k]
	switch {
	case !ok:
		d.names[k] = name
	case cur != name:
		if d.multi == nil {
			d.multi = make(map[string]bool)
		}
		d.multi[k] = true
		d.names[k] = min(cur, name)
	}
}

// foldRemoved records that this FS just removed name from dirfd (a delete, or the old side of a
// rename), so renaming or deleting n files in one directory stays O(n) instead of relisting it
// each time. When other names share name's key, which one remains is unknown without a listing:
// the index is dropped.
func (fs *FS) foldRemoved(dirfd int, name string) {
	fs.foldChanged(dirfd, func(d *foldDir) bool {
		k := foldKey(name)
		if d.multi[k] {
			return false
		}
		if d.names[k] == name {
			delete(d.names, k)
		}
		return true
	})
}

// foldForget drops the index of dirfd after this FS removed or renamed an entry of it.
func (fs *FS) foldForget(dirfd int) {
	if !fs.foldIndexed() {
		return
	}
	key, _, err := dirStat(dirfd)
	if err != nil {
		return
	}
	fs.folds.mu.Lock()
	delete(fs.folds.dirs, key)
	fs.folds.mu.Unlock()
}
