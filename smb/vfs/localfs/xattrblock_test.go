package localfs

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// TestAllocationExcludesXattrBlock: a file whose extended attributes (a stored security
// descriptor, streams) spill out of the inode reports only its data as AllocationSize.
func TestAllocationExcludesXattrBlock(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, dir := newTestFS(t, hostFS.dir, Options{})
			f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
			big := bytes.Repeat([]byte{0x5a}, 1500) // too big for any inode's in-place space
			if err := unix.Setxattr(filepath.Join(dir, "f"), "user.sofs.test", big, 0); err != nil {
				t.Fatalf("setxattr: %v", err)
			}
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(dir, "f"), &st); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: empty file with a 1500-byte xattr has st_blocks=%d", hostFS.name, st.Blocks)
			if fi, err := f.Stat(); err != nil || fi.Allocation != 0 {
				t.Fatalf("empty file: allocation %d (%v), want 0", fi.Allocation, err)
			}
			if _, err := f.WriteAt([]byte("ten bytes!"), 0); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			fi, err := f.Stat()
			if err != nil || fi.Allocation <= 0 || fi.Allocation > int64(st.Blksize) {
				t.Fatalf("10-byte file: allocation %d (%v), want one block of %d", fi.Allocation, err, st.Blksize)
			}
		})
	}
}
