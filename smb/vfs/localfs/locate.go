package localfs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// An open object can change names without its handle's Rename: another handle renames one of
// its ancestors, or a local process moves it. Names here are only ever a way to find the
// object again; access always goes through descriptors resolved beneath the root and checked
// to be this very inode, so a stale or forged name can at worst fail.

// locate returns the parent directory (O_PATH, to be closed by the caller) and last element
// under which this object is found now, updating f.name if it moved. Called with f.mu held.
func (f *file) locate() (int, string, error) {
	parent, base := splitName(f.name)
	pfd, err := openat2(f.fs.rootFD, parent, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == nil {
		if same, _ := f.sameObject(pfd, base); same {
			return pfd, base, nil
		}
		unix.Close(pfd)
	}
	name, ok := f.kernelName()
	if !ok || name == f.name {
		return -1, "", fmt.Errorf("localfs: %q was moved out of the share or removed: %w", f.name, vfs.ErrNotFound)
	}
	parent, base = splitName(name)
	pfd, err = openat2(f.fs.rootFD, parent, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return -1, "", opError("locate", name, err, vfs.ErrNotFound)
	}
	if same, _ := f.sameObject(pfd, base); !same {
		unix.Close(pfd)
		return -1, "", fmt.Errorf("localfs: %q was moved or removed: %w", f.name, vfs.ErrNotFound)
	}
	f.name = name
	return pfd, base, nil
}

// refreshName re-derives f.name after directory renames through this FS. Called with f.mu
// held; on any doubt the recorded name stays.
func (f *file) refreshName() {
	gen := f.fs.dirRenames.Load()
	if gen == f.nameGen {
		return
	}
	f.nameGen = gen
	if f.name == "" {
		return
	}
	if pfd, _, err := f.locate(); err == nil {
		unix.Close(pfd)
	}
}

// kernelName is the share-relative name the kernel reports for the descriptor, as a hint.
func (f *file) kernelName() (string, bool) {
	self, err := readlinkFD(f.fd)
	if err != nil || strings.HasSuffix(self, " (deleted)") {
		return "", false
	}
	root, err := readlinkFD(f.fs.rootFD)
	if err != nil {
		return "", false
	}
	var rel string
	switch {
	case root == "/":
		rel = strings.TrimPrefix(self, "/")
	case strings.HasPrefix(self, root+"/"):
		rel = self[len(root)+1:]
	default:
		return "", false
	}
	if rel == "" || checkName(rel) != nil {
		return "", false
	}
	return rel, true
}

func readlinkFD(fd int) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(fd), buf)
	if err != nil {
		return "", err
	}
	if n == len(buf) {
		return "", unix.ENAMETOOLONG
	}
	return string(buf[:n]), nil
}
