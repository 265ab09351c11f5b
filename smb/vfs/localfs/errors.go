package localfs

import (
	"errors"
	"fmt"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// sentinel maps a syscall error to the vfs error the server understands. notFound is what
// ENOENT means for the caller (ErrNotFound for the last element, ErrPathNotFound for a parent).
// EXDEV is mapped to ErrEscape: it is what openat2 returns when RESOLVE_BENEATH refuses a
// resolution; callers of renameat2, where EXDEV means "another mount", map it themselves.
func sentinel(err error, notFound error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return vfs.ErrIO
	}
	switch errno {
	case unix.ENOENT:
		return notFound
	case unix.EEXIST:
		return vfs.ErrExists
	case unix.ENOTEMPTY:
		return vfs.ErrNotEmpty
	case unix.EACCES, unix.EPERM, unix.EROFS:
		return vfs.ErrAccess
	case unix.ENOSPC, unix.EDQUOT, unix.EFBIG:
		return vfs.ErrNoSpace
	case unix.EISDIR:
		return vfs.ErrIsDir
	case unix.ENOTDIR:
		return vfs.ErrPathNotFound
	case unix.EXDEV:
		return vfs.ErrEscape
	case unix.ELOOP, unix.ENAMETOOLONG, unix.EILSEQ:
		return vfs.ErrInvalidName
	case unix.EBUSY, unix.ETXTBSY:
		return vfs.ErrInUse
	case unix.EOPNOTSUPP, unix.ENOSYS:
		return vfs.ErrNotSupported
	case unix.EIO:
		return vfs.ErrIO
	}
	return vfs.ErrIO
}

// opError wraps a syscall error with the operation, the share-relative name, the vfs sentinel
// and the errno, so errors.Is works for both and the message says what failed.
func opError(op, name string, err error, notFound error) error {
	return fmt.Errorf("localfs: %s %q: %w: %w", op, name, sentinel(err, notFound), err)
}
