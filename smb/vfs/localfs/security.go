package localfs

import (
	"fmt"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// Security descriptors are stored, not interpreted: the server parses, checks and inherits
// them (vfs.Securable). Each object's self-relative descriptor lives in one user xattr. The cap
// is the kernel's per-value limit; ext4 without ea_inode holds less (all of an inode's xattrs
// share one block), and a descriptor it refuses gives vfs.ErrNoSpace too.

const sdXattrName = "user.sofs.sd"

const maxSecurityDescriptor = 64 << 10

var _ vfs.Securable = (*file)(nil)

// SecurityDescriptor implements vfs.Securable.
func (f *file) SecurityDescriptor() ([]byte, error) {
	if f.closed.Load() {
		return nil, errClosed
	}
	if f.fs.noXattrs.Load() {
		return nil, fmt.Errorf("localfs: security descriptor of %q: xattrs disabled: %w", f.Name(), vfs.ErrNotFound)
	}
	// Most descriptors are a few hundred bytes: one read into a buffer of that size, and only
	// a larger one asks for the size first (every open of an existing object reads it).
	var small [1024]byte
	n, err := unix.Fgetxattr(f.fd, sdXattrName, small[:])
	if err == nil {
		return append([]byte(nil), small[:n]...), nil
	}
	if err != unix.ERANGE {
		return nil, f.sdError("read security descriptor", err)
	}
	for attempt := 0; ; attempt++ {
		size, err := unix.Fgetxattr(f.fd, sdXattrName, nil)
		if err != nil {
			return nil, f.sdError("read security descriptor", err)
		}
		buf := make([]byte, size)
		n, err := unix.Fgetxattr(f.fd, sdXattrName, buf)
		if err == unix.ERANGE && attempt < 8 {
			continue // replaced by a larger one meanwhile
		}
		if err != nil {
			return nil, f.sdError("read security descriptor", err)
		}
		return buf[:n], nil
	}
}

// SetSecurityDescriptor implements vfs.Securable. The bytes are stored as given.
func (f *file) SetSecurityDescriptor(sd []byte) error {
	if f.closed.Load() {
		return errClosed
	}
	if len(sd) > maxSecurityDescriptor {
		return fmt.Errorf("localfs: store security descriptor of %q: %d bytes, at most %d: %w", f.Name(), len(sd), maxSecurityDescriptor, vfs.ErrNoSpace)
	}
	if f.fs.noXattrs.Load() {
		return fmt.Errorf("localfs: store security descriptor of %q: xattrs disabled: %w", f.Name(), vfs.ErrNotSupported)
	}
	if err := unix.Fsetxattr(f.fd, sdXattrName, sd, 0); err != nil {
		return f.sdError("store security descriptor", err)
	}
	return nil
}

// sdError maps xattr errors: ENODATA is "never set", E2BIG is out of space like ENOSPC.
func (f *file) sdError(op string, err error) error {
	switch err {
	case unix.ENODATA, unix.EOPNOTSUPP:
		if op == "store security descriptor" {
			break
		}
		return fmt.Errorf("localfs: %s of %q: none stored: %w", op, f.Name(), vfs.ErrNotFound)
	case unix.E2BIG:
		return fmt.Errorf("localfs: %s of %q: %w: %w", op, f.Name(), vfs.ErrNoSpace, err)
	}
	return opError(op, f.Name(), err, vfs.ErrNotFound)
}
