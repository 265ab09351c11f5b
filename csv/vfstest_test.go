package csv

import (
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/vfs/vfstest"
)

// TestConformance runs the shared vfs contract suite against a volume; after each subtest the
// volume is closed and check must find it clean.
func TestConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS {
		path := newDevicePath(t, 64<<20, FormatOptions{Label: "conformance"})
		v := mountPath(t, path)
		t.Cleanup(func() {
			if err := v.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			checkPath(t, path)
		})
		return v
	})
}
