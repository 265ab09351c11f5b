package localfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

var bg = context.Background()

func mustOpen(t *testing.T, fs *FS, name string, req vfs.OpenRequest) vfs.File {
	t.Helper()
	f, _, err := fs.Open(bg, name, req)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestRecordStoredInXattr checks the on-disk form: attributes set through the API are in
// user.sofs.dos, version 1, and a record written by hand is honoured.
func TestRecordStoredInXattr(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, dir := newTestFS(t, hostFS.dir, Options{})
			f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create})
			attrs := vfs.AttrHidden | vfs.AttrArchive
			created := time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)
			if err := f.SetInfo(vfs.SetInfo{Attributes: &attrs, CreationTime: &created}); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			n, err := unix.Getxattr(filepath.Join(dir, "f"), xattrName, buf)
			if err != nil {
				t.Fatalf("getxattr: %v", err)
			}
			rec, err := decodeRecord(buf[:n])
			if err != nil || rec.attrs != attrs || !rec.hasCreation || rec.creation != created.UnixNano() || rec.hasChange {
				t.Fatalf("stored record %+v, %v", rec, err)
			}
			var b [recordLen]byte
			dosRecord{attrs: vfs.AttrSystem}.encode(&b)
			if err := unix.Setxattr(filepath.Join(dir, "f"), xattrName, b[:], 0); err != nil {
				t.Fatal(err)
			}
			if fi, _ := f.Stat(); fi.Attributes != vfs.AttrSystem {
				t.Errorf("attributes %#x after writing a System record by hand", fi.Attributes)
			}
			// A record this version cannot read is treated as absent, not misread.
			if err := unix.Setxattr(filepath.Join(dir, "f"), xattrName, []byte{9, 9, 9}, 0); err != nil {
				t.Fatal(err)
			}
			if fi, _ := f.Stat(); fi.Attributes != vfs.AttrArchive {
				t.Errorf("attributes %#x with an unknown record, want derived Archive", fi.Attributes)
			}
		})
	}
}

// TestDerivedMetadata: objects made by other programs (no record) get derived attributes and
// their creation time from statx btime.
func TestDerivedMetadata(t *testing.T) {
	fs, dir := newTestFS(t, "/tmp", Options{})
	if err := os.WriteFile(filepath.Join(dir, "rw"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ro"), []byte("x"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, filepath.Join(dir, "rw"), 0, unix.STATX_BTIME, &stx); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]vfs.Attr{"rw": vfs.AttrArchive, "ro": vfs.AttrArchive | vfs.AttrReadOnly, "d": vfs.AttrDirectory} {
		fi, _ := mustOpen(t, fs, name, vfs.OpenRequest{Disposition: vfs.OpenExisting}).Stat()
		if fi.Attributes != want {
			t.Errorf("%s: attributes %#x, want %#x", name, fi.Attributes, want)
		}
		if name == "rw" && !fi.CreationTime.Equal(time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec))) {
			t.Errorf("creation time %v, btime %v", fi.CreationTime, stx.Btime)
		}
	}
}

// TestReadOnlyAttribute: ReadOnly is mirrored into the mode and enforced on opens for writing.
func TestReadOnlyAttribute(t *testing.T) {
	fs, dir := newTestFS(t, "/tmp", Options{})
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	if _, err := f.WriteAt([]byte("keep"), 0); err != nil {
		t.Fatal(err)
	}
	ro := vfs.AttrReadOnly | vfs.AttrArchive
	if err := f.SetInfo(vfs.SetInfo{Attributes: &ro}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "f"))
	if err != nil || st.Mode().Perm()&0o222 != 0 {
		t.Fatalf("mode %v after setting ReadOnly, want no write bits (%v)", st.Mode(), err)
	}
	for _, req := range []vfs.OpenRequest{
		{Disposition: vfs.OpenExisting, Write: true},
		{Disposition: vfs.OpenIf, Write: true},
		{Disposition: vfs.Overwrite},
		{Disposition: vfs.OverwriteIf, Attributes: vfs.AttrReadOnly},
		{Disposition: vfs.Supersede},
	} {
		if _, _, err := fs.Open(bg, "f", req); !errors.Is(err, vfs.ErrReadOnly) {
			t.Errorf("Open(%+v) of a read-only file: %v, want ErrReadOnly", req, err)
		}
	}
	// Reading and changing attributes stay possible; the data was not touched.
	g := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	plain := vfs.AttrArchive
	if err := g.SetInfo(vfs.SetInfo{Attributes: &plain}); err != nil {
		t.Fatal(err)
	}
	st, _ = os.Stat(filepath.Join(dir, "f"))
	if st.Mode().Perm()&0o200 == 0 || st.Size() != 4 {
		t.Errorf("after clearing ReadOnly mode %v size %d", st.Mode(), st.Size())
	}
	mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.OpenExisting, Write: true})
	// A created file asked to be read-only still gets a writable handle (Windows does the same).
	h := mustOpen(t, fs, "new", vfs.OpenRequest{Disposition: vfs.Create, Write: true, Attributes: vfs.AttrReadOnly})
	if _, err := h.WriteAt([]byte("x"), 0); err != nil {
		t.Errorf("write through the creating handle of a read-only file: %v", err)
	}
	if fi, _ := h.Stat(); fi.Attributes != vfs.AttrReadOnly|vfs.AttrArchive {
		t.Errorf("created read-only file has %#x", fi.Attributes)
	}
}

// TestNoXattrsFallback: without user xattrs, ReadOnly still works (mode), other attributes and
// the creation/change times are accepted and dropped, and nothing fails.
func TestNoXattrsFallback(t *testing.T) {
	fs, dir := newTestFS(t, "/dev/shm", Options{NoXattrs: true})
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Attributes: vfs.AttrHidden})
	if fi, _ := f.Stat(); fi.Attributes != vfs.AttrArchive {
		t.Errorf("attributes %#x, want Archive (Hidden dropped)", fi.Attributes)
	}
	attrs := vfs.AttrReadOnly | vfs.AttrSystem
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := f.SetInfo(vfs.SetInfo{Attributes: &attrs, CreationTime: &old, ChangeTime: &old, LastWriteTime: &old}); err != nil {
		t.Fatalf("SetInfo without xattrs: %v", err)
	}
	fi, _ := f.Stat()
	if fi.Attributes != vfs.AttrReadOnly|vfs.AttrArchive || fi.CreationTime.Equal(old) || fi.ChangeTime.Equal(old) || !fi.LastWriteTime.Equal(old) {
		t.Errorf("fallback info %+v", fi)
	}
	if _, err := unix.Getxattr(filepath.Join(dir, "f"), xattrName, make([]byte, 64)); err != unix.ENODATA {
		t.Errorf("record written despite NoXattrs: %v", err)
	}
}

func TestSpecialFilesRefused(t *testing.T) {
	fs, dir := newTestFS(t, "/tmp", Options{})
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, req := range []vfs.OpenRequest{{Disposition: vfs.OpenExisting, Read: true}, {Disposition: vfs.OpenIf, Write: true}} {
		if _, _, err := fs.Open(bg, "fifo", req); !errors.Is(err, vfs.ErrAccess) {
			t.Errorf("Open fifo %+v: %v, want ErrAccess", req, err)
		}
	}
}

// TestInShareSymlinks: links that stay beneath the root are followed, by Open and ReadDir alike.
func TestInShareSymlinks(t *testing.T) {
	fs, dir := newTestFS(t, "/tmp", Options{})
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "b", "target"), []byte("target"), 0o644)
	os.Symlink("a/b/target", filepath.Join(dir, "link"))
	os.Symlink("../../a", filepath.Join(dir, "a", "b", "up"))
	f := mustOpen(t, fs, "a/b/up/b/target", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	buf := make([]byte, 6)
	if n, _ := f.ReadAt(buf, 0); string(buf[:n]) != "target" {
		t.Errorf("read through in-share links %q", buf[:n])
	}
	g := mustOpen(t, fs, "link", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	fi, _ := g.Stat()
	entries, err := mustOpen(t, fs, "", vfs.OpenRequest{Disposition: vfs.OpenExisting}).ReadDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name == "link" && (e.ID != fi.ID || e.Size != 6 || e.Attributes&vfs.AttrReparsePoint != 0) {
			t.Errorf("listed link %+v, open says %+v", e, fi)
		}
	}
}

func TestErrorsCarryContext(t *testing.T) {
	fs, _ := newTestFS(t, "/tmp", Options{})
	_, _, err := fs.Open(bg, "missing-dir/file", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if !errors.Is(err, vfs.ErrPathNotFound) || !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "missing-dir/file") {
		t.Errorf("error %v: want ErrPathNotFound wrapping ENOENT and naming the path", err)
	}
	long := strings.Repeat("x", 300)
	if _, _, err := fs.Open(bg, long, vfs.OpenRequest{Disposition: vfs.OpenIf}); !errors.Is(err, vfs.ErrInvalidName) {
		t.Errorf("over-long name: %v", err)
	}
	if _, err := New("/nonexistent/share/root", Options{}); !errors.Is(err, vfs.ErrPathNotFound) {
		t.Errorf("New on a missing root: %v", err)
	}
}

// TestIOPathDoesNotAllocate pins the data path: ReadAt and WriteAt are plain pread/pwrite.
func TestIOPathDoesNotAllocate(t *testing.T) {
	fs, _ := newTestFS(t, "/dev/shm", Options{})
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
	buf := make([]byte, 4096)
	if allocs := testing.AllocsPerRun(100, func() { f.WriteAt(buf, 0) }); allocs != 0 {
		t.Errorf("WriteAt allocates %v times per call", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { f.ReadAt(buf, 0) }); allocs != 0 {
		t.Errorf("ReadAt allocates %v times per call", allocs)
	}
}

func TestStatFSIdentity(t *testing.T) {
	fs, dir := newTestFS(t, "/tmp", Options{Label: "data"})
	info, err := fs.StatFS(bg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	again, _ := other.StatFS(bg)
	if info.Label != "data" || info.SerialNumber == 0 || info.SerialNumber != again.SerialNumber || !info.CaseSensitive {
		t.Errorf("StatFS %+v then %+v", info, again)
	}
	sub, _ := newTestFS(t, dir, Options{})
	if s, _ := sub.StatFS(bg); s.SerialNumber == info.SerialNumber {
		t.Errorf("two shares have the same serial %#x", s.SerialNumber)
	}
}

// TestOpenFlags: write-through opens carry O_DSYNC; data opens of files are O_RDWR only when
// asked; the allocation hint of a create reserves space without changing the size.
func TestOpenFlags(t *testing.T) {
	fs, _ := newTestFS(t, "/tmp", Options{})
	flags := func(f vfs.File) int {
		fl, err := unix.FcntlInt(uintptr(f.(*file).fd), unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fl
	}
	wt := mustOpen(t, fs, "wt", vfs.OpenRequest{Disposition: vfs.OpenIf, Write: true, WriteThrough: true, Allocation: 1 << 20})
	if fl := flags(wt); fl&unix.O_DSYNC != unix.O_DSYNC || fl&unix.O_ACCMODE != unix.O_RDWR {
		t.Errorf("write-through open flags %#x", fl)
	}
	if fi, _ := wt.Stat(); fi.Size != 0 || fi.Allocation < 1<<20 {
		t.Errorf("allocation hint: size %d allocation %d", fi.Size, fi.Allocation)
	}
	ro := mustOpen(t, fs, "wt", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	if fl := flags(ro); fl&unix.O_ACCMODE != unix.O_RDONLY || fl&unix.O_DSYNC != 0 {
		t.Errorf("read open flags %#x", fl)
	}
	if _, err := ro.WriteAt([]byte("x"), 0); !errors.Is(err, vfs.ErrAccess) {
		t.Errorf("WriteAt on a handle opened without Write: %v, want ErrAccess", err)
	}
	if err := ro.Truncate(0); !errors.Is(err, vfs.ErrAccess) {
		t.Errorf("Truncate on a handle opened without Write: %v, want ErrAccess", err)
	}
}

// TestChangeTimeAdvances: a client-set change time stands until the inode changes again. The
// later change is simulated by a record whose anchor lies an hour before the real ctime.
func TestChangeTimeAdvances(t *testing.T) {
	fs, dir := newTestFS(t, "/dev/shm", Options{})
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	set := time.Date(2004, 4, 4, 4, 4, 4, 0, time.UTC)
	if err := f.SetInfo(vfs.SetInfo{ChangeTime: &set}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := f.Stat(); !fi.ChangeTime.Equal(set) {
		t.Fatalf("change time %v right after setting %v", fi.ChangeTime, set)
	}
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, filepath.Join(dir, "f"), 0, unix.STATX_CTIME, &stx); err != nil {
		t.Fatal(err)
	}
	var b [recordLen]byte
	dosRecord{attrs: vfs.AttrArchive, hasChange: true, change: set.UnixNano(), anchor: time.Now().Add(-time.Hour).UnixNano()}.encode(&b)
	if err := unix.Setxattr(filepath.Join(dir, "f"), xattrName, b[:], 0); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if fi.ChangeTime.Equal(set) || fi.ChangeTime.Before(time.Unix(stx.Ctime.Sec, int64(stx.Ctime.Nsec))) {
		t.Errorf("change time %v after a later change, want the real ctime (>= %v)", fi.ChangeTime, stx.Ctime)
	}
	// Rewriting the record for another reason drops the superseded value.
	hidden := vfs.AttrHidden
	if err := f.SetInfo(vfs.SetInfo{Attributes: &hidden}); err != nil {
		t.Fatal(err)
	}
	n, err := unix.Getxattr(filepath.Join(dir, "f"), xattrName, b[:])
	if rec, derr := decodeRecord(b[:n]); err != nil || derr != nil || rec.hasChange {
		t.Errorf("record after rewrite %+v (%v, %v), want no change time", rec, err, derr)
	}
}

// TestXattrRefusedDetected serves a ramfs, which refuses user xattrs (EOPNOTSUPP): localfs
// must notice by itself and fall back instead of failing creates and SetInfo.
func TestXattrRefusedDetected(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "localfs-ramfs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	if err := unix.Mount("ramfs", dir, "ramfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m"); err != nil {
		t.Fatalf("mount ramfs (the test needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Setxattr(dir, "user.probe", []byte("x"), 0); err != unix.EOPNOTSUPP && err != unix.EPERM {
		t.Fatalf("ramfs accepted a user xattr (%v); the test needs a file system that refuses them", err)
	}
	fs, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Write: true, Attributes: vfs.AttrHidden})
	attrs := vfs.AttrReadOnly | vfs.AttrSystem
	created := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := f.SetInfo(vfs.SetInfo{Attributes: &attrs, CreationTime: &created}); err != nil {
		t.Fatalf("SetInfo on a file system without xattrs: %v", err)
	}
	fi, err := f.Stat()
	if err != nil || fi.Attributes != vfs.AttrReadOnly|vfs.AttrArchive {
		t.Errorf("Stat = %+v, %v; want ReadOnly (mode) and derived Archive", fi, err)
	}
	d := mustOpen(t, fs, "d", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly, Attributes: vfs.AttrSystem})
	if entries, err := mustOpen(t, fs, "", vfs.OpenRequest{Disposition: vfs.OpenExisting}).ReadDir(); err != nil || len(entries) != 2 {
		t.Errorf("ReadDir = %+v, %v", entries, err)
	}
	if err := d.Remove(); err != nil {
		t.Error(err)
	}
}

// TestRenameSpecialCases covers the rename paths the shared suite leaves to the backend: a
// directory replacing a file, and case-insensitive renames onto another spelling of a name.
func TestRenameSpecialCases(t *testing.T) {
	fs, dir := newTestFS(t, "/tmp", Options{})
	d := mustOpen(t, fs, "dir", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
	mustOpen(t, fs, "dir/child", vfs.OpenRequest{Disposition: vfs.Create})
	mustOpen(t, fs, "file", vfs.OpenRequest{Disposition: vfs.Create})
	if err := d.Rename("file", true); err != nil {
		t.Fatalf("directory replacing a file: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "file", "child")); err != nil || st.IsDir() {
		t.Errorf("after replace: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "dir")); !os.IsNotExist(err) {
		t.Errorf("old name still present: %v", err)
	}

	ci := vfs.OpenRequest{Disposition: vfs.Create, Write: true, CaseInsensitive: true}
	src := mustOpen(t, fs, "Source", ci)
	src.WriteAt([]byte("src"), 0)
	dst := mustOpen(t, fs, "Target", ci)
	dst.WriteAt([]byte("dst"), 0)
	if err := src.Rename("TARGET", false); !errors.Is(err, vfs.ErrExists) {
		t.Errorf("case-insensitive rename onto another spelling without replace: %v, want ErrExists", err)
	}
	if err := src.Rename("TARGET", true); err != nil {
		t.Fatalf("case-insensitive rename with replace: %v", err)
	}
	names, _ := os.ReadDir(dir)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	if strings.Join(got, ",") != "TARGET,file" || src.Name() != "TARGET" {
		t.Errorf("directory now %v, handle name %q; want TARGET replacing Target", got, src.Name())
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "TARGET")); string(data) != "src" {
		t.Errorf("content %q", data)
	}
}
