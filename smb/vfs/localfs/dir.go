package localfs

import (
	"fmt"
	"strings"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// ReadDir lists the directory through a descriptor opened from this handle's own (not by path),
// then stats each entry relative to it without following symlinks: one directory descriptor,
// no per-entry resolution from the root. A symlink is followed only when its target resolves
// beneath the root (then it is listed as Open would show it); otherwise it is listed as the
// link itself, with AttrReparsePoint, and never followed out.
func (f *file) ReadDir() ([]vfs.FileInfo, error) {
	if f.closed.Load() {
		return nil, errClosed
	}
	if !f.isDir {
		return nil, fmt.Errorf("localfs: list %q: %w", f.Name(), vfs.ErrNotDir)
	}
	dirName := f.Name()
	dfd, err := unix.Openat(f.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, opError("list", dirName, err, vfs.ErrNotFound)
	}
	defer unix.Close(dfd)
	names, err := readNames(dfd)
	if err != nil {
		return nil, opError("list", dirName, err, vfs.ErrNotFound)
	}
	sortNames(names)
	infos := make([]vfs.FileInfo, 0, len(names))
	var stx unix.Statx_t
	for _, n := range names {
		if err := unix.Statx(dfd, n, unix.AT_SYMLINK_NOFOLLOW, statxMask, &stx); err != nil {
			if err == unix.ENOENT {
				continue // removed while we listed
			}
			return nil, opError("stat", joinName(dirName, n), err, vfs.ErrNotFound)
		}
		if uint32(stx.Mode)&unix.S_IFMT == unix.S_IFLNK {
			if fi, ok := f.fs.statLinkTarget(joinName(dirName, n), n); ok {
				infos = append(infos, fi)
				continue
			}
			infos = append(infos, infoOf(n, &stx, dosRecord{}, false))
			continue
		}
		rec, hasRec := f.fs.readRecordAt(dfd, n)
		infos = append(infos, infoOf(n, &stx, rec, hasRec))
	}
	return infos, nil
}

// statLinkTarget describes what a symlink at name resolves to, if it resolves beneath the root.
func (fs *FS) statLinkTarget(name, base string) (vfs.FileInfo, bool) {
	fd, err := openat2(fs.rootFD, name, unix.O_PATH, 0)
	if err != nil {
		return vfs.FileInfo{}, false
	}
	defer unix.Close(fd)
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, statxMask, &stx); err != nil {
		return vfs.FileInfo{}, false
	}
	rec, hasRec := fs.readRecordAt(fd, "")
	return infoOf(base, &stx, rec, hasRec), true
}

// sameObject reports whether base in dirfd is still this handle's object (not followed).
func (f *file) sameObject(dirfd int, base string) (bool, error) {
	var stx unix.Statx_t
	if err := unix.Statx(dirfd, base, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO, &stx); err != nil {
		return false, err
	}
	return stx.Ino == f.ino && unix.Mkdev(stx.Dev_major, stx.Dev_minor) == f.dev, nil
}

// Rename implements vfs.File with renameat2 between parents resolved beneath the root at the
// time of the call. RENAME_NOREPLACE makes "do not replace" atomic.
func (f *file) Rename(newName string, replace bool) error {
	if f.closed.Load() {
		return errClosed
	}
	if err := checkName(newName); err != nil || newName == "" {
		return fmt.Errorf("localfs: rename to %q: %w", newName, vfs.ErrInvalidName)
	}
	if _, last := splitName(newName); strings.IndexByte(last, ':') >= 0 {
		// A ':' in the last element names a stream (see Open); turning a file into a stream
		// or back is not supported.
		return fmt.Errorf("localfs: rename %q to stream name %q: %w", f.Name(), newName, vfs.ErrNotSupported)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.name == "" {
		return fmt.Errorf("localfs: rename the share root: %w", vfs.ErrAccess)
	}
	fs := f.fs
	opfd, oldBase, err := f.locate()
	if err != nil {
		return err
	}
	defer unix.Close(opfd)
	oldParent, _ := splitName(f.name)
	newParent, newBase := splitName(newName)
	if f.ci && newParent != "" {
		resolved, err := fs.resolveCase(newParent)
		if err != nil {
			return err
		}
		newParent = resolved
	}
	npfd, err := openat2(fs.rootFD, newParent, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return opError("rename into", newParent, err, vfs.ErrPathNotFound)
	}
	defer unix.Close(npfd)
	target := newBase
	if f.ci {
		if err := unix.Fstatat(npfd, newBase, new(unix.Stat_t), unix.AT_SYMLINK_NOFOLLOW); err == unix.ENOENT {
			match, err := fs.foldMatch(npfd, newBase)
			if err != nil {
				return opError("rename into", newParent, err, vfs.ErrPathNotFound)
			}
			if match != "" {
				target = match
			}
		}
	}
	full := joinName(newParent, newBase)
	var tst unix.Statx_t
	err = unix.Statx(npfd, target, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_TYPE|unix.STATX_INO, &tst)
	switch {
	case err == unix.ENOENT:
		if err := unix.Renameat2(opfd, oldBase, npfd, newBase, unix.RENAME_NOREPLACE); err != nil {
			return f.renameError(full, err)
		}
		// The common rename (to a free name) keeps both directories' case index current.
		fs.foldRemoved(opfd, oldBase)
		fs.foldAdded(npfd, newBase)
		f.renamed(full)
		return nil
	case err != nil:
		return opError("rename to", full, err, vfs.ErrNotFound)
	case tst.Ino == f.ino && unix.Mkdev(tst.Dev_major, tst.Dev_minor) == f.dev:
		// The target is this object: a case-only rename, or a rename onto itself.
		if target != newBase || oldParent != newParent || oldBase != newBase {
			if err := unix.Renameat2(opfd, oldBase, npfd, newBase, unix.RENAME_NOREPLACE); err != nil && !(err == unix.EEXIST && target == newBase) {
				return f.renameError(full, err)
			}
		}
	case !replace:
		return fmt.Errorf("localfs: rename %q to %q: %w", f.name, full, vfs.ErrExists)
	case uint32(tst.Mode)&unix.S_IFMT == unix.S_IFDIR:
		// MS-FSCC 2.4.42: ReplaceIfExists never replaces a directory.
		return fmt.Errorf("localfs: rename %q over directory %q: %w", f.name, full, vfs.ErrExists)
	case f.isDir:
		// rename(2) will not put a directory over a file; swap them atomically, then remove the
		// file now sitting at the old name.
		if err := unix.Renameat2(opfd, oldBase, npfd, target, unix.RENAME_EXCHANGE); err != nil {
			return f.renameError(full, err)
		}
		if err := unix.Unlinkat(opfd, oldBase, 0); err != nil {
			return opError("remove replaced", joinName(oldParent, oldBase), err, vfs.ErrNotFound)
		}
		if target != newBase {
			if err := unix.Renameat2(npfd, target, npfd, newBase, unix.RENAME_NOREPLACE); err != nil {
				return f.renameError(full, err)
			}
		}
	default:
		if err := unix.Renameat2(opfd, oldBase, npfd, target, 0); err != nil {
			return f.renameError(full, err)
		}
		if target != newBase {
			if err := unix.Renameat2(npfd, target, npfd, newBase, unix.RENAME_NOREPLACE); err != nil {
				return f.renameError(full, err)
			}
		}
	}
	fs.foldForget(opfd)
	fs.foldForget(npfd)
	f.renamed(full)
	return nil
}

// renamed records the handle's new name after a successful rename.
func (f *file) renamed(full string) {
	f.name = full
	if f.isDir {
		// Names of open objects beneath this directory changed too (see refreshName).
		f.fs.dirRenames.Add(1)
	}
	f.nameGen = f.fs.dirRenames.Load()
}

func (f *file) renameError(to string, err error) error {
	switch err {
	case unix.EXDEV:
		return fmt.Errorf("localfs: rename %q to %q: across mounts: %w: %w", f.name, to, vfs.ErrNotSupported, err)
	case unix.EINVAL:
		return fmt.Errorf("localfs: rename %q to %q: into itself: %w: %w", f.name, to, vfs.ErrAccess, err)
	case unix.ENOTDIR, unix.EISDIR:
		return fmt.Errorf("localfs: rename %q to %q: %w: %w", f.name, to, vfs.ErrExists, err)
	}
	return opError("rename to", to, err, vfs.ErrNotFound)
}

// Remove implements vfs.File: unlinkat relative to the parent resolved beneath the root now,
// after checking the entry still is this object.
func (f *file) Remove() error {
	if f.closed.Load() {
		return errClosed
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.name == "" {
		return fmt.Errorf("localfs: remove the share root: %w", vfs.ErrAccess)
	}
	pfd, base, err := f.locate()
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := unix.Unlinkat(pfd, base, removeFlags(f.isDir)); err != nil {
		if err == unix.EEXIST {
			err = unix.ENOTEMPTY
		}
		return opError("remove", f.name, err, vfs.ErrNotFound)
	}
	f.fs.foldRemoved(pfd, base)
	return nil
}
