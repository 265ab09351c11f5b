package localfs

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// getxattrat(2) (Linux 6.13) reads an xattr of dirfd+path without opening the object, which
// keeps ReadDir at two syscalls per entry. x/sys has no wrapper yet; the number is the same on
// every architecture (it is past the 424 unification).
const sysGetxattrat = 464

// xattrArgs is struct xattr_args of <linux/xattr.h>.
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

var noGetxattrat atomic.Bool

// xattrNameBytes is xattrName NUL-terminated once, not per directory entry.
var xattrNameBytes = func() *byte {
	p, err := unix.BytePtrFromString(xattrName)
	if err != nil {
		panic(err)
	}
	return p
}()

// getxattrAt reads xattr name of path beneath dirfd without following a final symlink.
// Kernels without getxattrat fall back to opening the object.
func getxattrAt(dirfd int, path, name string, buf []byte) (int, error) {
	if !noGetxattrat.Load() {
		p, err := unix.BytePtrFromString(path)
		if err != nil {
			return 0, err
		}
		n := xattrNameBytes
		if name != xattrName {
			if n, err = unix.BytePtrFromString(name); err != nil {
				return 0, err
			}
		}
		args := xattrArgs{size: uint32(len(buf))}
		if len(buf) > 0 {
			args.value = uint64(uintptr(unsafe.Pointer(&buf[0])))
		}
		flags := uintptr(unix.AT_SYMLINK_NOFOLLOW)
		if path == "" {
			flags |= unix.AT_EMPTY_PATH
		}
		r, _, errno := unix.Syscall6(sysGetxattrat, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			flags, uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		if errno != unix.ENOSYS {
			if errno != 0 {
				return 0, errno
			}
			return int(r), nil
		}
		noGetxattrat.Store(true)
	}
	if path == "" {
		return 0, unix.EBADF // an O_PATH descriptor: no fgetxattr on those
	}
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.Fgetxattr(fd, name, buf)
}

// readRecordAt is readRecordFD for an entry of a directory.
func (fs *FS) readRecordAt(dirfd int, path string) (dosRecord, bool) {
	if fs.noXattrs.Load() {
		return dosRecord{}, false
	}
	var buf [recordLen + 8]byte
	n, err := getxattrAt(dirfd, path, xattrName, buf[:])
	if err != nil {
		return dosRecord{}, false
	}
	rec, err := decodeRecord(buf[:n])
	return rec, err == nil
}
