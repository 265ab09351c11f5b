package localfs

import (
	"os"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/vfs/vfstest"
)

// fileSystems are the host file systems the suite runs on: ext4 (/tmp) and tmpfs (/dev/shm).
var fileSystems = []struct{ name, dir string }{
	{"ext4", "/tmp"},
	{"tmpfs", "/dev/shm"},
}

// newTestFS makes an empty share in a fresh directory under parent.
func newTestFS(t testing.TB, parent string, opts Options) (*FS, string) {
	t.Helper()
	dir, err := os.MkdirTemp(parent, "localfs-test-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	fs, err := New(dir, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs, dir
}

func TestConformance(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			vfstest.Run(t, func(t *testing.T) vfs.FS {
				fs, _ := newTestFS(t, hostFS.dir, Options{})
				return fs
			})
		})
	}
}
