package csv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// newDevice formats a volume on a sparse temp file and returns its path.
func newDevicePath(t testing.TB, size int64, opts FormatOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vol.img")
	dev, err := CreateFileDevice(path, size)
	if err != nil {
		t.Fatal(err)
	}
	if err := Format(dev, opts); err != nil {
		t.Fatal(err)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func mountPath(t testing.TB, path string) *Volume {
	t.Helper()
	v, err := OpenPath(path, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newVolume(t testing.TB) (*Volume, string) {
	t.Helper()
	path := newDevicePath(t, 64<<20, FormatOptions{Label: "test"})
	v := mountPath(t, path)
	t.Cleanup(func() { v.Close() })
	return v, path
}

func checkPath(t testing.TB, path string) *Report {
	t.Helper()
	dev, err := OpenFileDeviceReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	r := Check(dev)
	if !r.OK() {
		t.Fatalf("check %s: %d problems: %q", path, len(r.Problems), r.Problems)
	}
	return r
}

var ctx = context.Background()

func mustOpen(t testing.TB, v *Volume, name string, req vfs.OpenRequest) vfs.File {
	t.Helper()
	f, _, err := v.Open(ctx, name, req)
	if err != nil {
		t.Fatalf("open %q: %v", name, err)
	}
	return f
}

func createReq() vfs.OpenRequest {
	return vfs.OpenRequest{Disposition: vfs.OpenIf, Kind: vfs.FileOnly, Read: true, Write: true}
}

func readAll(t testing.TB, f vfs.File) []byte {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, fi.Size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestBasicPersistence(t *testing.T) {
	path := newDevicePath(t, 64<<20, FormatOptions{Label: "basic"})
	v := mountPath(t, path)
	d := mustOpen(t, v, "Dir", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
	f := mustOpen(t, v, "dir/File.txt", createReq())
	data := bytes.Repeat([]byte("hello world "), 1000)
	if _, err := f.WriteAt(data, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("XY"), 0); err != nil { // partial block, in place
		t.Fatal(err)
	}
	want := append(append([]byte("XY"), make([]byte, 8)...), data...)
	if got := readAll(t, f); !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes differ", len(got))
	}
	if f.Name() != "Dir/File.txt" {
		t.Fatalf("name %q", f.Name())
	}
	when := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	attrs := vfs.AttrHidden
	if err := f.SetInfo(vfs.SetInfo{CreationTime: &when, Attributes: &attrs}); err != nil {
		t.Fatal(err)
	}
	if err := f.Rename("DIR/renamed.txt", false); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	entries, err := d.ReadDir()
	if err != nil || len(entries) != 1 || entries[0].Name != "renamed.txt" {
		t.Fatalf("readdir: %v %v", entries, err)
	}
	if errs := checkState(v.c.st); len(errs) > 0 {
		t.Fatal(errs)
	}
	// Crash-like: do not Close (no final checkpoint); remount must replay the journal.
	v.c.fail(errors.New("simulated crash"))
	<-v.c.done
	v.closer.Close()
	checkPath(t, path)

	v2 := mountPath(t, path)
	defer v2.Close()
	g := mustOpen(t, v2, "dir/RENAMED.TXT", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	if got := readAll(t, g); !bytes.Equal(got, want) {
		t.Fatalf("after remount %d bytes differ", len(got))
	}
	fi, _ := g.Stat()
	if !fi.CreationTime.Equal(when) || fi.Attributes != vfs.AttrHidden {
		t.Fatalf("after remount info %+v", fi)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v2.Open(ctx, "dir/renamed.txt", vfs.OpenRequest{Disposition: vfs.OpenExisting}); !errors.Is(err, vfs.ErrNotFound) {
		t.Fatalf("open removed: %v", err)
	}
	if _, _, err := v2.Open(ctx, "nodir/x", vfs.OpenRequest{Disposition: vfs.OpenExisting}); !errors.Is(err, vfs.ErrPathNotFound) {
		t.Fatalf("open under missing dir: %v", err)
	}
}

func TestFencing(t *testing.T) {
	path := newDevicePath(t, 16<<20, FormatOptions{Epoch: 5})
	if _, err := OpenPath(path, MountOptions{Epoch: 4}); !errors.Is(err, ErrFenced) {
		t.Fatalf("mount with older epoch: %v", err)
	}
	v, err := OpenPath(path, MountOptions{Epoch: 7})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	if _, err := OpenPath(path, MountOptions{Epoch: 6}); !errors.Is(err, ErrFenced) {
		t.Fatalf("mount after takeover with epoch 6: %v", err)
	}
}

// TestTimesKeepNTRange: times SMB clients can set (1601 to 30828, 100 ns) come back as set,
// after a remount too; Unix nanoseconds (format 1) wrapped past 2262.
func TestTimesKeepNTRange(t *testing.T) {
	path := newDevicePath(t, 64<<20, FormatOptions{})
	v := mountPath(t, path)
	f := mustOpen(t, v, "old-and-new.txt", createReq())
	created := time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC)
	written := time.Unix(15032385535, 123456700).UTC() // year 2446
	changed := time.Date(30000, 12, 31, 23, 59, 59, 0, time.UTC)
	if err := f.SetInfo(vfs.SetInfo{CreationTime: &created, LastWriteTime: &written, ChangeTime: &changed}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, fi vfs.FileInfo) {
		t.Helper()
		if !fi.CreationTime.Equal(created) || !fi.LastWriteTime.Equal(written) || !fi.ChangeTime.Equal(changed) {
			t.Fatalf("%s: times %v, %v, %v; want %v, %v, %v", when, fi.CreationTime, fi.LastWriteTime, fi.ChangeTime, created, written, changed)
		}
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	check("before remount", fi)
	f.Close()
	v.Close()
	v2 := mountPath(t, path)
	defer v2.Close()
	g := mustOpen(t, v2, "old-and-new.txt", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if fi, err = g.Stat(); err != nil {
		t.Fatal(err)
	}
	check("after remount", fi)
	if s := stamp(time.Unix(1<<62, 0)); s != math.MaxInt64 {
		t.Fatalf("stamp of a time past an int64 of NT time: %d, want the maximum", s)
	}
}
