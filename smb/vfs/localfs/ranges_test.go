package localfs

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
)

var rw = vfs.OpenRequest{Disposition: vfs.OpenIf, Read: true, Write: true}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251)
	}
	return b
}

func writeAll(t *testing.T, f vfs.File, p []byte, off int64) {
	t.Helper()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func readRange(t *testing.T, f vfs.File, n int, off int64) []byte {
	t.Helper()
	b := make([]byte, n)
	m, err := f.ReadAt(b, off)
	if m != n {
		t.Fatalf("read %d at %d: got %d (%v)", n, off, m, err)
	}
	return b
}

func TestCloneRangeCopiesAndClamps(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, _ := newTestFS(t, hostFS.dir, Options{})
			src := mustOpen(t, fs, "src", rw)
			dst := mustOpen(t, fs, "dst", rw)
			data := pattern(3<<20+17, 1)
			writeAll(t, src, data, 0)

			n, err := fs.CloneRange(dst, 4096, src, 1000, int64(len(data)))
			if err != nil {
				t.Fatalf("CloneRange: %v", err)
			}
			if want := int64(len(data) - 1000); n != want {
				t.Fatalf("CloneRange copied %d, want %d (clamped to the source's end)", n, want)
			}
			if got := readRange(t, dst, int(n), 4096); !bytes.Equal(got, data[1000:]) {
				t.Fatalf("copied data differs")
			}
			if got := readRange(t, dst, 4096, 0); !bytes.Equal(got, make([]byte, 4096)) {
				t.Fatalf("the gap before the copy is not zero")
			}
			// Within one file, non-overlapping.
			if n, err := fs.CloneRange(src, int64(len(data)), src, 0, 4096); err != nil || n != 4096 {
				t.Fatalf("CloneRange within a file = %d, %v", n, err)
			}
			if got := readRange(t, src, 4096, int64(len(data))); !bytes.Equal(got, data[:4096]) {
				t.Fatalf("in-file copy differs")
			}
			if n, err := fs.CloneRange(dst, 0, src, 1<<40, 10); err != nil || n != 0 {
				t.Fatalf("CloneRange past the source's end = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

func TestRangeOpsRefuseDirectoriesAndForeignFiles(t *testing.T) {
	fs, _ := newTestFS(t, "/tmp", Options{})
	other, _ := newTestFS(t, "/tmp", Options{})
	f := mustOpen(t, fs, "f", rw)
	g := mustOpen(t, other, "g", rw)
	d := mustOpen(t, fs, "d", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
	if _, err := fs.CloneRange(f, 0, g, 0, 1); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("CloneRange from another share's file: %v, want ErrNotSupported", err)
	}
	if err := fs.ZeroRange(d, 0, 1); !errors.Is(err, vfs.ErrIsDir) {
		t.Errorf("ZeroRange on a directory: %v, want ErrIsDir", err)
	}
	if err := fs.SetSparse(d, true); !errors.Is(err, vfs.ErrIsDir) {
		t.Errorf("SetSparse on a directory: %v, want ErrIsDir", err)
	}
}

func TestSparseZeroAndAllocatedRanges(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, _ := newTestFS(t, hostFS.dir, Options{})
			f := mustOpen(t, fs, "sparse", rw)
			const mib = 1 << 20
			writeAll(t, f, pattern(4*mib, 3), 0)
			if err := fs.SetSparse(f, true); err != nil {
				t.Fatalf("SetSparse: %v", err)
			}
			fi, err := f.Stat()
			if err != nil || fi.Attributes&vfs.AttrSparse == 0 {
				t.Fatalf("after SetSparse attributes = %#x (%v), want SPARSE", fi.Attributes, err)
			}
			// A client's SetInfo keeps the flag (only FSCTL_SET_SPARSE changes it).
			hidden := vfs.AttrHidden
			if err := f.SetInfo(vfs.SetInfo{Attributes: &hidden}); err != nil {
				t.Fatal(err)
			}
			if fi, _ = f.Stat(); fi.Attributes&vfs.AttrSparse == 0 || fi.Attributes&vfs.AttrHidden == 0 {
				t.Fatalf("SetInfo(hidden) gave %#x, want HIDDEN|SPARSE kept", fi.Attributes)
			}

			if err := fs.ZeroRange(f, mib, 2*mib); err != nil {
				t.Fatalf("ZeroRange: %v", err)
			}
			if got := readRange(t, f, 2*mib, mib); !bytes.Equal(got, make([]byte, 2*mib)) {
				t.Fatalf("zeroed range reads back non-zero")
			}
			if fi, _ := f.Stat(); fi.Size != 4*mib {
				t.Fatalf("ZeroRange changed the size to %d", fi.Size)
			}
			rs, err := fs.AllocatedRanges(f, 0, 4*mib)
			if err != nil {
				t.Fatalf("AllocatedRanges: %v", err)
			}
			want := []vfs.Range{{Offset: 0, Length: mib}, {Offset: 3 * mib, Length: mib}}
			if len(rs) != len(want) || rs[0] != want[0] || rs[1] != want[1] {
				t.Fatalf("AllocatedRanges = %v, want %v (the punched hole gone)", rs, want)
			}
			// A window inside the data is clamped to it; past the end there is nothing.
			if rs, _ := fs.AllocatedRanges(f, mib/2, mib); len(rs) != 1 || rs[0] != (vfs.Range{Offset: mib / 2, Length: mib / 2}) {
				t.Fatalf("AllocatedRanges of a window = %v", rs)
			}
			if rs, _ := fs.AllocatedRanges(f, 8*mib, mib); len(rs) != 0 {
				t.Fatalf("AllocatedRanges past the end = %v, want none", rs)
			}

			if err := fs.SetSparse(f, false); err != nil {
				t.Fatalf("SetSparse(false): %v", err)
			}
			if fi, _ := f.Stat(); fi.Attributes&vfs.AttrSparse != 0 {
				t.Fatalf("sparse flag kept after clearing: %#x", fi.Attributes)
			}
			// tmpfs reports fallocated pages as holes to SEEK_DATA until written, so the filled
			// holes are only visible on ext4 (the server reports a non-sparse file as wholly
			// allocated anyway).
			if rs, _ := fs.AllocatedRanges(f, 0, 4*mib); hostFS.name == "ext4" && (len(rs) != 1 || rs[0] != (vfs.Range{Offset: 0, Length: 4 * mib})) {
				t.Fatalf("after clearing sparse the holes are not allocated: %v", rs)
			}
			if got := readRange(t, f, mib, 2*mib); !bytes.Equal(got, make([]byte, mib)) {
				t.Fatalf("the former hole reads back non-zero")
			}
		})
	}
}

// TestDuplicateExtents: on a file system that reflinks the blocks are shared and the data is
// the source's; on ext4 and tmpfs (no reflink) the call fails cleanly with ErrNotSupported
// and the target is untouched.
func TestDuplicateExtents(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, _ := newTestFS(t, hostFS.dir, Options{})
			src := mustOpen(t, fs, "src", rw)
			dst := mustOpen(t, fs, "dst", rw)
			data := pattern(64<<10, 7)
			writeAll(t, src, data, 0)
			before := pattern(64<<10, 99)
			writeAll(t, dst, before, 0)
			err := fs.DuplicateExtents(dst, 0, src, 0, int64(len(data)))
			switch {
			case err == nil:
				if got := readRange(t, dst, len(data), 0); !bytes.Equal(got, data) {
					t.Fatalf("duplicated extents read back wrong")
				}
			case errors.Is(err, vfs.ErrNotSupported):
				if got := readRange(t, dst, len(before), 0); !bytes.Equal(got, before) {
					t.Fatalf("a refused duplicate changed the target")
				}
			default:
				t.Fatalf("DuplicateExtents: %v, want success or ErrNotSupported", err)
			}
			if err := fs.DuplicateExtents(dst, 0, src, 0, 0); err != nil {
				t.Fatalf("zero-length DuplicateExtents: %v", err)
			}
		})
	}
}
