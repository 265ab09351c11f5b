package localfs

import (
	"errors"
	"strings"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

func TestErrnoMapping(t *testing.T) {
	for errno, want := range map[unix.Errno]error{
		unix.ENOENT:       vfs.ErrPathNotFound, // the caller's choice, here ErrPathNotFound
		unix.EEXIST:       vfs.ErrExists,
		unix.ENOTEMPTY:    vfs.ErrNotEmpty,
		unix.EACCES:       vfs.ErrAccess,
		unix.EPERM:        vfs.ErrAccess,
		unix.ENOSPC:       vfs.ErrNoSpace,
		unix.EDQUOT:       vfs.ErrNoSpace,
		unix.EISDIR:       vfs.ErrIsDir,
		unix.ENOTDIR:      vfs.ErrPathNotFound,
		unix.EXDEV:        vfs.ErrEscape,
		unix.ELOOP:        vfs.ErrInvalidName,
		unix.ENAMETOOLONG: vfs.ErrInvalidName,
		unix.EIO:          vfs.ErrIO,
		unix.EBUSY:        vfs.ErrInUse,
		unix.EOPNOTSUPP:   vfs.ErrNotSupported,
		unix.EROFS:        vfs.ErrAccess,
	} {
		err := opError("open", "dir/name", errno, vfs.ErrPathNotFound)
		if !errors.Is(err, want) || !errors.Is(err, errno) || !strings.Contains(err.Error(), `"dir/name"`) {
			t.Errorf("%v mapped to %v, want %v wrapping the errno and naming the path", errno, err, want)
		}
	}
	if err := opError("open", "x", unix.ENOENT, vfs.ErrNotFound); !errors.Is(err, vfs.ErrNotFound) {
		t.Errorf("ENOENT with ErrNotFound: %v", err)
	}
}
