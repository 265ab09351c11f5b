// Package vfstest is the conformance suite of the vfs.FS contract. Every backend runs it:
//
//	func TestConformance(t *testing.T) {
//		vfstest.Run(t, func(t *testing.T) vfs.FS { return newEmptyBackend(t) })
//	}
//
// It uses only the vfs API (no host paths), so it holds for any storage. newFS must return an
// empty file system private to t and release it in t.Cleanup. Where the contract leaves a
// choice to the backend (names differing only in case may coexist or not), the suite asks
// StatFS and checks what the backend says it does.
//
// Semantics the suite pins down beyond the comments of vfs.go (they follow MS-FSA 2.1.5.1):
//   - a created file has AttrArchive besides the requested attributes; a created directory has
//     only AttrDirectory plus the requested ones;
//   - Overwrite/OverwriteIf/Supersede of an existing file truncates it and sets its attributes to
//     the requested ones plus AttrArchive; Overwrite keeps the creation time, Supersede gives
//     the object a new one; an existing directory cannot be overwritten (ErrIsDir);
//   - Create on any existing object is ErrExists whatever the Kind.
package vfstest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// Run runs every conformance subtest against fresh file systems made by newFS.
func Run(t *testing.T, newFS func(t *testing.T) vfs.FS) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, fsys vfs.FS)
	}{
		{"Root", testRoot},
		{"Dispositions", testDispositions},
		{"MissingParent", testMissingParent},
		{"CreatedAttributes", testCreatedAttributes},
		{"OverwriteResetsAttributes", testOverwriteAttributes},
		{"SupersedeCreationTime", testSupersedeCreationTime},
		{"ReadWriteEOF", testReadWrite},
		{"DirectoryDataIO", testDirectoryDataIO},
		{"TruncateAllocate", testTruncateAllocate},
		{"SyncAndWriteThrough", testSync},
		{"SetInfoRoundTrip", testSetInfo},
		{"ReadDir", testReadDir},
		{"ReadDirLarge", testReadDirLarge},
		{"Rename", testRename},
		{"RenameReplace", testRenameReplace},
		{"RenameDirectoryTree", testRenameDirectoryTree},
		{"Remove", testRemove},
		{"CaseInsensitive", testCaseInsensitive},
		{"CaseInsensitiveMany", testCaseInsensitiveMany},
		{"InvalidNames", testInvalidNames},
		{"ConcurrentIO", testConcurrentIO},
		{"ConcurrentCreate", testConcurrentCreate},
		{"StableIDs", testStableIDs},
		{"StatFS", testStatFS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newFS(t))
		})
	}
}

var ctx = context.Background()

// open opens name and fails the test on error; the handle is closed at cleanup unless the test
// closed it itself.
func open(t *testing.T, fsys vfs.FS, name string, req vfs.OpenRequest) (vfs.File, vfs.OpenAction) {
	t.Helper()
	f, action, err := fsys.Open(ctx, name, req)
	if err != nil {
		t.Fatalf("Open(%q, %+v): %v", name, req, err)
	}
	t.Cleanup(func() { f.Close() })
	return f, action
}

func createFile(t *testing.T, fsys vfs.FS, name string, data string) vfs.File {
	t.Helper()
	f, _ := open(t, fsys, name, vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.FileOnly, Read: true, Write: true})
	if data != "" {
		if n, err := f.WriteAt([]byte(data), 0); err != nil || n != len(data) {
			t.Fatalf("WriteAt(%q) = %d, %v", name, n, err)
		}
	}
	return f
}

func mkdir(t *testing.T, fsys vfs.FS, name string) vfs.File {
	t.Helper()
	f, _ := open(t, fsys, name, vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
	return f
}

func stat(t *testing.T, f vfs.File) vfs.FileInfo {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatalf("Stat(%q): %v", f.Name(), err)
	}
	return fi
}

// statName opens name only to stat it.
func statName(t *testing.T, fsys vfs.FS, name string) vfs.FileInfo {
	t.Helper()
	f, _, err := fsys.Open(ctx, name, vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	return stat(t, f)
}

func readAll(t *testing.T, fsys vfs.FS, name string) string {
	t.Helper()
	f, _, err := fsys.Open(ctx, name, vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.FileOnly, Read: true})
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	fi := stat(t, f)
	buf := make([]byte, fi.Size)
	if n, err := f.ReadAt(buf, 0); n != len(buf) || (err != nil && n != len(buf)) {
		t.Fatalf("ReadAt(%q) = %d, %v; want %d", name, n, err, len(buf))
	}
	return string(buf)
}

func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("%s: error %v, want one of %v", what, err, targets)
}

func absent(t *testing.T, fsys vfs.FS, name string) {
	t.Helper()
	f, _, err := fsys.Open(ctx, name, vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err == nil {
		f.Close()
		t.Fatalf("%q exists, want absent", name)
	}
	wantErr(t, "Open("+name+")", err, vfs.ErrNotFound)
}

func testRoot(t *testing.T, fsys vfs.FS) {
	root, action := open(t, fsys, "", vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.DirectoryOnly})
	if action != vfs.Opened {
		t.Errorf("open root action %d, want Opened", action)
	}
	fi := stat(t, root)
	if !fi.IsDir() || fi.ID == 0 || fi.Name != "" || root.Name() != "" {
		t.Errorf("root info %+v name %q: want a directory named \"\" with an ID", fi, root.Name())
	}
	if _, _, err := fsys.Open(ctx, "", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly}); !errors.Is(err, vfs.ErrExists) {
		t.Errorf("Create root: %v, want ErrExists", err)
	}
	if _, _, err := fsys.Open(ctx, "", vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.FileOnly}); !errors.Is(err, vfs.ErrIsDir) {
		t.Errorf("open root FileOnly: %v, want ErrIsDir", err)
	}
	if err := root.Remove(); err == nil {
		t.Errorf("removing the root succeeded")
	}
	if err := root.Rename("elsewhere", false); err == nil {
		t.Errorf("renaming the root succeeded")
	}
	if entries, err := root.ReadDir(); err != nil || len(entries) != 0 {
		t.Errorf("ReadDir of a new FS = %v, %v; want empty", entries, err)
	}
}

type state int

const (
	stateAbsent state = iota
	stateFile
	stateDir
)

func (s state) String() string { return [...]string{"absent", "file", "dir"}[s] }

// expectOpen is the contract's answer to one disposition × prior state × kind.
func expectOpen(d vfs.Disposition, prior state, k vfs.Kind) (vfs.OpenAction, state, error) {
	created := stateFile
	if k == vfs.DirectoryOnly {
		created = stateDir
	}
	switch prior {
	case stateAbsent:
		if d == vfs.OpenExisting || d == vfs.Overwrite {
			return 0, stateAbsent, vfs.ErrNotFound
		}
		return vfs.Created, created, nil
	}
	if d == vfs.Create {
		return 0, prior, vfs.ErrExists
	}
	if prior == stateFile && k == vfs.DirectoryOnly {
		return 0, prior, vfs.ErrNotDir
	}
	if prior == stateDir && k == vfs.FileOnly {
		return 0, prior, vfs.ErrIsDir
	}
	switch d {
	case vfs.OpenExisting, vfs.OpenIf:
		return vfs.Opened, prior, nil
	}
	if prior == stateDir {
		return 0, prior, vfs.ErrIsDir
	}
	if d == vfs.Supersede {
		return vfs.Superseded, prior, nil
	}
	return vfs.Overwritten, prior, nil
}

func testDispositions(t *testing.T, fsys vfs.FS) {
	dispositions := []vfs.Disposition{vfs.Supersede, vfs.OpenExisting, vfs.Create, vfs.OpenIf, vfs.Overwrite, vfs.OverwriteIf}
	kinds := []vfs.Kind{vfs.AnyKind, vfs.FileOnly, vfs.DirectoryOnly}
	const content = "previous content"
	i := 0
	for _, d := range dispositions {
		for _, prior := range []state{stateAbsent, stateFile, stateDir} {
			for _, k := range kinds {
				i++
				name := "obj" + itoa(i)
				switch prior {
				case stateFile:
					createFile(t, fsys, name, content).Close()
				case stateDir:
					mkdir(t, fsys, name).Close()
				}
				wantAction, wantState, wantErr := expectOpen(d, prior, k)
				what := "disposition " + itoa(int(d)) + " on " + prior.String() + " kind " + itoa(int(k))
				f, action, err := fsys.Open(ctx, name, vfs.OpenRequest{Disposition: d, Kind: k, Read: true, Write: k != vfs.DirectoryOnly && prior != stateDir})
				if wantErr != nil {
					if !errors.Is(err, wantErr) {
						t.Errorf("%s: error %v, want %v", what, err, wantErr)
					}
					if err == nil {
						f.Close()
					}
				} else if err != nil {
					t.Errorf("%s: %v", what, err)
					continue
				} else {
					if action != wantAction {
						t.Errorf("%s: action %d, want %d", what, action, wantAction)
					}
					fi := stat(t, f)
					if fi.IsDir() != (wantState == stateDir) {
						t.Errorf("%s: IsDir %v, want %v", what, fi.IsDir(), wantState == stateDir)
					}
					if wantState == stateFile {
						wantSize := int64(0)
						if action == vfs.Opened {
							wantSize = int64(len(content))
						}
						if fi.Size != wantSize {
							t.Errorf("%s: size %d, want %d", what, fi.Size, wantSize)
						}
					}
					f.Close()
				}
				// The prior object is untouched by a refused open.
				if wantErr != nil && prior == stateFile {
					if got := readAll(t, fsys, name); got != content {
						t.Errorf("%s: refused open changed content to %q", what, got)
					}
				}
				if wantErr != nil && prior == stateAbsent {
					absent(t, fsys, name)
				}
			}
		}
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

func testMissingParent(t *testing.T, fsys vfs.FS) {
	createFile(t, fsys, "file", "x").Close()
	mkdir(t, fsys, "dir").Close()
	cases := []struct {
		name string
		d    vfs.Disposition
		want error
	}{
		{"missing/x", vfs.OpenExisting, vfs.ErrPathNotFound},
		{"missing/x", vfs.OpenIf, vfs.ErrPathNotFound},
		{"missing/x", vfs.Create, vfs.ErrPathNotFound},
		{"dir/missing/x", vfs.Create, vfs.ErrPathNotFound},
		{"file/x", vfs.OpenExisting, vfs.ErrPathNotFound},
		{"file/x", vfs.Create, vfs.ErrPathNotFound},
		{"dir/x", vfs.OpenExisting, vfs.ErrNotFound},
		{"dir/x", vfs.Overwrite, vfs.ErrNotFound},
	}
	for _, c := range cases {
		for _, k := range []vfs.Kind{vfs.FileOnly, vfs.DirectoryOnly} {
			_, _, err := fsys.Open(ctx, c.name, vfs.OpenRequest{Disposition: c.d, Kind: k})
			if !errors.Is(err, c.want) {
				t.Errorf("Open(%q, disposition %d, kind %d): %v, want %v", c.name, c.d, k, err, c.want)
			}
		}
	}
}

func testCreatedAttributes(t *testing.T, fsys vfs.FS) {
	if a := stat(t, createFile(t, fsys, "plain", "")).Attributes; a != vfs.AttrArchive {
		t.Errorf("new file attributes %#x, want Archive", a)
	}
	if a := stat(t, mkdir(t, fsys, "dir")).Attributes; a != vfs.AttrDirectory {
		t.Errorf("new directory attributes %#x, want Directory", a)
	}
	f, _ := open(t, fsys, "hidden", vfs.OpenRequest{Disposition: vfs.Create, Attributes: vfs.AttrHidden | vfs.AttrNormal | vfs.AttrDirectory})
	if a := stat(t, f).Attributes; a != vfs.AttrHidden|vfs.AttrArchive {
		t.Errorf("file created Hidden has %#x, want Hidden|Archive", a)
	}
	d, _ := open(t, fsys, "sysdir", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly, Attributes: vfs.AttrSystem})
	if a := stat(t, d).Attributes; a != vfs.AttrSystem|vfs.AttrDirectory {
		t.Errorf("directory created System has %#x, want System|Directory", a)
	}
	if a := statName(t, fsys, "hidden").Attributes; a != vfs.AttrHidden|vfs.AttrArchive {
		t.Errorf("reopened Hidden file has %#x", a)
	}
}

func testOverwriteAttributes(t *testing.T, fsys vfs.FS) {
	f := createFile(t, fsys, "f", "data")
	hidden := vfs.AttrHidden | vfs.AttrArchive
	if err := f.SetInfo(vfs.SetInfo{Attributes: &hidden}); err != nil {
		t.Fatalf("SetInfo: %v", err)
	}
	f.Close()
	// MS-FSA 2.1.5.1.2.1: overwriting a hidden file without asking for hidden is denied.
	if _, _, err := fsys.Open(ctx, "f", vfs.OpenRequest{Disposition: vfs.OverwriteIf, Write: true}); !errors.Is(err, vfs.ErrAccess) {
		t.Errorf("OverwriteIf dropping Hidden: %v, want ErrAccess", err)
	}
	if got := readAll(t, fsys, "f"); got != "data" {
		t.Errorf("denied overwrite changed content to %q", got)
	}
	g, action := open(t, fsys, "f", vfs.OpenRequest{Disposition: vfs.Overwrite, Write: true, Attributes: vfs.AttrHidden | vfs.AttrSystem})
	if action != vfs.Overwritten {
		t.Errorf("action %d, want Overwritten", action)
	}
	fi := stat(t, g)
	if fi.Size != 0 || fi.Attributes != vfs.AttrHidden|vfs.AttrSystem|vfs.AttrArchive {
		t.Errorf("after overwrite size %d attributes %#x, want 0 and Hidden|System|Archive", fi.Size, fi.Attributes)
	}
}

func testSupersedeCreationTime(t *testing.T, fsys vfs.FS) {
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, d := range []vfs.Disposition{vfs.Overwrite, vfs.Supersede} {
		name := "f" + itoa(int(d))
		f := createFile(t, fsys, name, "data")
		if err := f.SetInfo(vfs.SetInfo{CreationTime: &old}); err != nil {
			t.Fatalf("SetInfo: %v", err)
		}
		f.Close()
		g, _ := open(t, fsys, name, vfs.OpenRequest{Disposition: d, Write: true})
		created := stat(t, g).CreationTime
		if d == vfs.Overwrite && !created.Equal(old) {
			t.Errorf("Overwrite changed creation time to %v, want %v kept", created, old)
		}
		if d == vfs.Supersede && !created.After(old) {
			t.Errorf("Supersede kept creation time %v, want a new one", created)
		}
	}
}

func testReadWrite(t *testing.T, fsys vfs.FS) {
	f := createFile(t, fsys, "rw", "")
	if n, err := f.WriteAt([]byte("hello world"), 0); n != 11 || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if n, err := f.WriteAt([]byte("W"), 6); n != 1 || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	buf := make([]byte, 11)
	if n, err := f.ReadAt(buf, 0); n != 11 || (err != nil && !isEOF(err)) || string(buf) != "hello World" {
		t.Errorf("ReadAt = %d, %v, %q", n, err, buf)
	}
	big := make([]byte, 20)
	n, err := f.ReadAt(big, 6)
	if n != 5 || !isEOF(err) || string(big[:n]) != "World" {
		t.Errorf("ReadAt past end = %d, %v, %q; want 5, io.EOF", n, err, big[:n])
	}
	if n, err := f.ReadAt(big, 11); n != 0 || !isEOF(err) {
		t.Errorf("ReadAt at end = %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := f.ReadAt(big, 1<<30); n != 0 || !isEOF(err) {
		t.Errorf("ReadAt far past end = %d, %v; want 0, io.EOF", n, err)
	}
	// A write past the end leaves a zero-filled gap.
	if _, err := f.WriteAt([]byte("Z"), 1<<20); err != nil {
		t.Fatalf("WriteAt past end: %v", err)
	}
	if fi := stat(t, f); fi.Size != 1<<20+1 {
		t.Errorf("size %d, want %d", fi.Size, 1<<20+1)
	}
	gap := make([]byte, 4096)
	if n, err := f.ReadAt(gap, 1<<19); n != len(gap) || err != nil {
		t.Fatalf("ReadAt gap = %d, %v", n, err)
	}
	for _, b := range gap {
		if b != 0 {
			t.Fatalf("gap holds %#x, want zeros", b)
		}
	}
	f.Close()
	if got := readAll(t, fsys, "rw"); got[:11] != "hello World" || got[1<<20] != 'Z' {
		t.Errorf("reopened content wrong")
	}
	if _, err := f.ReadAt(buf, 0); err == nil {
		t.Errorf("ReadAt after Close succeeded")
	}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

func testDirectoryDataIO(t *testing.T, fsys vfs.FS) {
	d := mkdir(t, fsys, "d")
	if _, err := d.WriteAt([]byte("x"), 0); !errors.Is(err, vfs.ErrIsDir) {
		t.Errorf("WriteAt on a directory: %v, want ErrIsDir", err)
	}
	if _, err := d.ReadAt(make([]byte, 1), 0); !errors.Is(err, vfs.ErrIsDir) {
		t.Errorf("ReadAt on a directory: %v, want ErrIsDir", err)
	}
	if err := d.Truncate(0); !errors.Is(err, vfs.ErrIsDir) {
		t.Errorf("Truncate on a directory: %v, want ErrIsDir", err)
	}
	f := createFile(t, fsys, "f", "x")
	if _, err := f.ReadDir(); !errors.Is(err, vfs.ErrNotDir) {
		t.Errorf("ReadDir on a file: %v, want ErrNotDir", err)
	}
	if fi := stat(t, d); fi.Size != 0 {
		t.Errorf("directory size %d, want 0", fi.Size)
	}
}

func testTruncateAllocate(t *testing.T, fsys vfs.FS) {
	f := createFile(t, fsys, "t", "0123456789")
	if err := f.Truncate(100); err != nil {
		t.Fatalf("Truncate(100): %v", err)
	}
	buf := make([]byte, 100)
	if n, err := f.ReadAt(buf, 0); n != 100 || err != nil || string(buf[:10]) != "0123456789" || buf[99] != 0 {
		t.Errorf("after extending: %d, %v, %q", n, err, buf[:12])
	}
	if err := f.Truncate(4); err != nil {
		t.Fatalf("Truncate(4): %v", err)
	}
	if fi := stat(t, f); fi.Size != 4 {
		t.Errorf("size %d, want 4", fi.Size)
	}
	const reserve = 1 << 20
	if err := f.Allocate(reserve); err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	fi := stat(t, f)
	if fi.Size != 4 {
		t.Errorf("Allocate changed the size to %d", fi.Size)
	}
	if fi.Allocation < reserve {
		t.Errorf("allocation %d after Allocate(%d)", fi.Allocation, reserve)
	}
	if err := f.Allocate(2); err != nil {
		t.Fatalf("Allocate below EOF: %v", err)
	}
	if fi := stat(t, f); fi.Size != 2 {
		t.Errorf("Allocate below EOF left size %d, want 2 (truncate)", fi.Size)
	}
	if got := readAll(t, fsys, "t"); got != "01" {
		t.Errorf("content %q, want \"01\"", got)
	}
}

func testSync(t *testing.T, fsys vfs.FS) {
	f, _ := open(t, fsys, "wt", vfs.OpenRequest{Disposition: vfs.OpenIf, Write: true, WriteThrough: true})
	if _, err := f.WriteAt([]byte("durable"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	d := mkdir(t, fsys, "d")
	if err := d.Sync(); err != nil {
		t.Errorf("Sync on a directory: %v", err)
	}
	if got := readAll(t, fsys, "wt"); got != "durable" {
		t.Errorf("content %q", got)
	}
}

func testSetInfo(t *testing.T, fsys vfs.FS) {
	for _, isDir := range []bool{false, true} {
		var f vfs.File
		name := "file"
		base := vfs.Attr(0)
		if isDir {
			name, base = "dir", vfs.AttrDirectory
			f = mkdir(t, fsys, name)
		} else {
			f = createFile(t, fsys, name, "x")
		}
		created := time.Date(2001, 1, 1, 1, 1, 1, 100, time.UTC)
		access := time.Date(2002, 2, 2, 2, 2, 2, 200, time.UTC)
		write := time.Date(2003, 3, 3, 3, 3, 3, 300, time.UTC)
		change := time.Date(2004, 4, 4, 4, 4, 4, 400, time.UTC)
		attrs := vfs.AttrHidden | vfs.AttrSystem | vfs.AttrArchive | vfs.AttrNotContentIndexed
		if err := f.SetInfo(vfs.SetInfo{CreationTime: &created, LastAccessTime: &access, LastWriteTime: &write, ChangeTime: &change, Attributes: &attrs}); err != nil {
			t.Fatalf("SetInfo(%s): %v", name, err)
		}
		check := func(when string, fi vfs.FileInfo) {
			t.Helper()
			if !fi.CreationTime.Equal(created) || !fi.LastAccessTime.Equal(access) || !fi.LastWriteTime.Equal(write) || !fi.ChangeTime.Equal(change) {
				t.Errorf("%s %s times: %v %v %v %v; want %v %v %v %v", name, when,
					fi.CreationTime, fi.LastAccessTime, fi.LastWriteTime, fi.ChangeTime, created, access, write, change)
			}
			if fi.Attributes != attrs|base {
				t.Errorf("%s %s attributes %#x, want %#x", name, when, fi.Attributes, attrs|base)
			}
		}
		check("after SetInfo", stat(t, f))
		f.Close()
		check("after reopen", statName(t, fsys, name))

		g, _ := open(t, fsys, name, vfs.OpenRequest{Disposition: vfs.OpenExisting})
		// Only the set fields change; non-settable bits are dropped; no bits at all is Normal.
		later := time.Date(2005, 5, 5, 5, 5, 5, 0, time.UTC)
		if err := g.SetInfo(vfs.SetInfo{LastWriteTime: &later}); err != nil {
			t.Fatalf("SetInfo: %v", err)
		}
		fi := stat(t, g)
		if !fi.LastWriteTime.Equal(later) || !fi.CreationTime.Equal(created) || fi.Attributes != attrs|base {
			t.Errorf("%s partial SetInfo: write %v creation %v attributes %#x", name, fi.LastWriteTime, fi.CreationTime, fi.Attributes)
		}
		none := vfs.AttrDirectory | vfs.AttrCompressed | vfs.AttrNormal
		if err := g.SetInfo(vfs.SetInfo{Attributes: &none}); err != nil {
			t.Fatalf("SetInfo: %v", err)
		}
		want := vfs.AttrNormal
		if isDir {
			want = vfs.AttrDirectory
		}
		if a := stat(t, g).Attributes; a != want {
			t.Errorf("%s attributes %#x after clearing, want %#x", name, a, want)
		}
		ro := vfs.AttrReadOnly
		if err := g.SetInfo(vfs.SetInfo{Attributes: &ro}); err != nil {
			t.Fatalf("SetInfo ReadOnly: %v", err)
		}
		if a := stat(t, g).Attributes; a != ro|base {
			t.Errorf("%s attributes %#x, want ReadOnly", name, a)
		}
		clear := vfs.AttrArchive
		if err := g.SetInfo(vfs.SetInfo{Attributes: &clear}); err != nil {
			t.Fatalf("SetInfo: %v", err)
		}
		if a := stat(t, g).Attributes; a != clear|base {
			t.Errorf("%s attributes %#x after clearing ReadOnly, want %#x", name, a, clear|base)
		}
	}
}

func names(infos []vfs.FileInfo) []string {
	out := make([]string, len(infos))
	for i, fi := range infos {
		out[i] = fi.Name
	}
	return out
}

func testReadDir(t *testing.T, fsys vfs.FS) {
	d := mkdir(t, fsys, "d")
	createFile(t, fsys, "d/b", "bb").Close()
	createFile(t, fsys, "d/a", "a").Close()
	createFile(t, fsys, "d/c", "ccc").Close()
	mkdir(t, fsys, "d/sub").Close()
	createFile(t, fsys, "d/sub/inner", "").Close()
	first, err := d.ReadDir()
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	second, err := d.ReadDir()
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	if len(first) != 4 {
		t.Fatalf("ReadDir = %v, want a b c sub", names(first))
	}
	seen := map[string]vfs.FileInfo{}
	for i, fi := range first {
		if fi.Name != second[i].Name {
			t.Errorf("order not stable: %v then %v", names(first), names(second))
		}
		seen[fi.Name] = fi
	}
	for name, size := range map[string]int64{"a": 1, "b": 2, "c": 3} {
		fi, ok := seen[name]
		if !ok || fi.IsDir() || fi.Size != size || fi.ID == 0 || fi.Attributes != vfs.AttrArchive {
			t.Errorf("entry %q = %+v, want a file of %d bytes", name, fi, size)
		}
		if id := statName(t, fsys, "d/"+name).ID; id != fi.ID {
			t.Errorf("entry %q ID %d, Stat says %d", name, fi.ID, id)
		}
	}
	if fi, ok := seen["sub"]; !ok || !fi.IsDir() || fi.Attributes != vfs.AttrDirectory {
		t.Errorf("entry sub = %+v, want a directory", fi)
	}
	// The listing reflects changes made after the handle was opened.
	createFile(t, fsys, "d/e", "").Close()
	if after, err := d.ReadDir(); err != nil || len(after) != 5 {
		t.Errorf("ReadDir after a create = %v, %v", names(after), err)
	}
}

func testReadDirLarge(t *testing.T, fsys vfs.FS) {
	const n = 10000
	d := mkdir(t, fsys, "big")
	start := time.Now()
	for i := 0; i < n; i++ {
		f, _, err := fsys.Open(ctx, "big/file-"+itoa(i), vfs.OpenRequest{Disposition: vfs.Create})
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		f.Close()
	}
	created := time.Since(start)
	start = time.Now()
	entries, err := d.ReadDir()
	listed := time.Since(start)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	if len(entries) != n {
		t.Fatalf("ReadDir returned %d entries, want %d", len(entries), n)
	}
	seen := make(map[string]bool, n)
	for _, e := range entries {
		if seen[e.Name] || e.ID == 0 {
			t.Fatalf("entry %+v duplicated or without ID", e)
		}
		seen[e.Name] = true
	}
	t.Logf("created %d files in %v, listed them in %v", n, created, listed)
	// Generous bound: a loaded 2-core machine must still list 10k entries in well under this.
	if listed > 10*time.Second {
		t.Errorf("ReadDir of %d entries took %v", n, listed)
	}
}

func testRename(t *testing.T, fsys vfs.FS) {
	f := createFile(t, fsys, "a", "content")
	id := stat(t, f).ID
	if err := f.Rename("b", false); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if f.Name() != "b" || stat(t, f).Name != "b" {
		t.Errorf("Name() = %q, Stat name %q after rename, want b", f.Name(), stat(t, f).Name)
	}
	absent(t, fsys, "a")
	if got := readAll(t, fsys, "b"); got != "content" {
		t.Errorf("renamed content %q", got)
	}
	mkdir(t, fsys, "sub").Close()
	if err := f.Rename("sub/c", false); err != nil {
		t.Fatalf("Rename into sub: %v", err)
	}
	if f.Name() != "sub/c" || stat(t, f).ID != id {
		t.Errorf("after move Name %q ID %d, want sub/c and %d", f.Name(), stat(t, f).ID, id)
	}
	err := f.Rename("missing/c", false)
	wantErr(t, "Rename into a missing directory", err, vfs.ErrPathNotFound)
	if f.Name() != "sub/c" {
		t.Errorf("failed rename changed Name to %q", f.Name())
	}
	// The handle keeps working under its new name, and renaming onto itself is a no-op.
	if _, err := f.WriteAt([]byte("C"), 0); err != nil {
		t.Errorf("WriteAt after rename: %v", err)
	}
	if err := f.Rename("sub/c", false); err != nil {
		t.Errorf("Rename onto its own name: %v", err)
	}
	if got := readAll(t, fsys, "sub/c"); got != "Content" {
		t.Errorf("content %q", got)
	}
	// A directory is renamed the same way.
	d := mkdir(t, fsys, "dir1")
	if err := d.Rename("dir2", false); err != nil || d.Name() != "dir2" || !statName(t, fsys, "dir2").IsDir() {
		t.Errorf("directory rename: %v, name %q", err, d.Name())
	}
	for _, bad := range []string{"", "../x", "/x", "a//b", "sub/./x"} {
		wantErr(t, "Rename to "+bad, f.Rename(bad, false), vfs.ErrInvalidName, vfs.ErrEscape)
	}
}

func testRenameReplace(t *testing.T, fsys vfs.FS) {
	src := createFile(t, fsys, "src", "new")
	createFile(t, fsys, "dst", "old").Close()
	wantErr(t, "Rename over a file without replace", src.Rename("dst", false), vfs.ErrExists)
	if got := readAll(t, fsys, "dst"); got != "old" {
		t.Errorf("refused rename changed target to %q", got)
	}
	if err := src.Rename("dst", true); err != nil {
		t.Fatalf("Rename with replace: %v", err)
	}
	absent(t, fsys, "src")
	if got := readAll(t, fsys, "dst"); got != "new" || src.Name() != "dst" {
		t.Errorf("after replace content %q name %q", got, src.Name())
	}
	mkdir(t, fsys, "dir").Close()
	wantErr(t, "file over directory with replace", src.Rename("dir", true), vfs.ErrExists)
	d := mkdir(t, fsys, "dir2")
	wantErr(t, "directory over directory with replace", d.Rename("dir", true), vfs.ErrExists)
	wantErr(t, "directory over directory", d.Rename("dir", false), vfs.ErrExists)
	wantErr(t, "directory over file", d.Rename("dst", false), vfs.ErrExists)
	if !statName(t, fsys, "dir2").IsDir() || readAll(t, fsys, "dst") != "new" {
		t.Errorf("refused renames changed something")
	}
}

func testRenameDirectoryTree(t *testing.T, fsys vfs.FS) {
	d := mkdir(t, fsys, "top")
	mkdir(t, fsys, "top/mid").Close()
	leaf := createFile(t, fsys, "top/mid/leaf", "leaf")
	other := createFile(t, fsys, "top/mid/other", "")
	if err := d.Rename("moved", false); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if got := readAll(t, fsys, "moved/mid/leaf"); got != "leaf" {
		t.Errorf("leaf after moving its ancestor: %q", got)
	}
	absent(t, fsys, "top")
	// Handles opened beneath the directory before it moved follow it: Name is the object's
	// current name, and Remove and Rename act on the object where it is now.
	if leaf.Name() != "moved/mid/leaf" {
		t.Errorf("Name() of a handle under a renamed directory = %q, want moved/mid/leaf", leaf.Name())
	}
	if err := leaf.Remove(); err != nil {
		t.Errorf("Remove under a renamed directory: %v", err)
	}
	absent(t, fsys, "moved/mid/leaf")
	if err := other.Rename("moved/other", false); err != nil {
		t.Errorf("Rename under a renamed directory: %v", err)
	}
	if other.Name() != "moved/other" {
		t.Errorf("Name() = %q, want moved/other", other.Name())
	}
	wantErr(t, "Rename into itself", d.Rename("moved/mid/inside", false), vfs.ErrAccess, vfs.ErrInvalidName, vfs.ErrPathNotFound, vfs.ErrInUse)
}

func testRemove(t *testing.T, fsys vfs.FS) {
	f := createFile(t, fsys, "f", "x")
	if err := f.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	absent(t, fsys, "f")
	d := mkdir(t, fsys, "d")
	createFile(t, fsys, "d/child", "").Close()
	wantErr(t, "Remove a non-empty directory", d.Remove(), vfs.ErrNotEmpty)
	c, _ := open(t, fsys, "d/child", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err := c.Remove(); err != nil {
		t.Fatalf("Remove child: %v", err)
	}
	if err := d.Remove(); err != nil {
		t.Fatalf("Remove empty directory: %v", err)
	}
	absent(t, fsys, "d")
	// Remove follows a rename.
	g := createFile(t, fsys, "g", "")
	if err := g.Rename("h", false); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove after rename: %v", err)
	}
	absent(t, fsys, "h")
	absent(t, fsys, "g")
}

func testCaseInsensitive(t *testing.T, fsys vfs.FS) {
	info, err := fsys.StatFS(ctx)
	if err != nil {
		t.Fatalf("StatFS: %v", err)
	}
	mkdir(t, fsys, "Dir").Close()
	mkdir(t, fsys, "Dir/Sub").Close()
	createFile(t, fsys, "Dir/Sub/CamelCase.txt", "camel").Close()
	ci := vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true, Read: true}
	f, action := open(t, fsys, "dir/SUB/camelcase.TXT", ci)
	if action != vfs.Opened || stat(t, f).Name != "CamelCase.txt" {
		t.Errorf("case-insensitive open: action %d name %q, want stored case", action, stat(t, f).Name)
	}
	if f.Name() != "Dir/Sub/CamelCase.txt" {
		t.Errorf("Name() = %q, want the stored spelling Dir/Sub/CamelCase.txt", f.Name())
	}
	buf := make([]byte, 5)
	if n, _ := f.ReadAt(buf, 0); n != 5 || string(buf) != "camel" {
		t.Errorf("read %q", buf[:n])
	}
	if info.CaseSensitive {
		_, _, err := fsys.Open(ctx, "dir/SUB/camelcase.TXT", vfs.OpenRequest{Disposition: vfs.OpenExisting})
		wantErr(t, "case-sensitive open of another spelling", err, vfs.ErrNotFound, vfs.ErrPathNotFound)
	}
	// Creating a name that exists in another case is creating an existing name.
	_, _, err = fsys.Open(ctx, "DIR/sub/CAMELCASE.txt", vfs.OpenRequest{Disposition: vfs.Create, CaseInsensitive: true})
	wantErr(t, "case-insensitive Create of an existing name", err, vfs.ErrExists)
	g, action := open(t, fsys, "DIR/sub/CAMELCASE.txt", vfs.OpenRequest{Disposition: vfs.OpenIf, CaseInsensitive: true})
	if action != vfs.Opened || g.Name() != "Dir/Sub/CamelCase.txt" {
		t.Errorf("case-insensitive OpenIf: action %d name %q", action, g.Name())
	}
	// A new name under a case-folded parent is created in the stored parent, with its own case.
	h, action := open(t, fsys, "dIR/sUB/NewFile", vfs.OpenRequest{Disposition: vfs.OpenIf, CaseInsensitive: true})
	if action != vfs.Created || h.Name() != "Dir/Sub/NewFile" {
		t.Errorf("create under folded parent: action %d name %q", action, h.Name())
	}
	_, _, err = fsys.Open(ctx, "nodir/x", vfs.OpenRequest{Disposition: vfs.OpenIf, CaseInsensitive: true})
	wantErr(t, "case-insensitive missing parent", err, vfs.ErrPathNotFound)
	// A case-only rename of an open file.
	if err := h.Rename("dir/sub/NEWFILE", false); err != nil {
		t.Fatalf("case-only rename: %v", err)
	}
	if h.Name() != "Dir/Sub/NEWFILE" || stat(t, h).Name != "NEWFILE" {
		t.Errorf("after case-only rename Name %q stat %q", h.Name(), stat(t, h).Name)
	}
	if info.CaseSensitive {
		// Ties: the exact spelling wins, else the first in sorted order.
		createFile(t, fsys, "tie", "lower").Close()
		createFile(t, fsys, "TIE", "upper").Close()
		createFile(t, fsys, "Tie", "title").Close()
		for spelling, want := range map[string]string{"tie": "tie", "TIE": "TIE", "Tie": "Tie", "tIE": "TIE"} {
			f, _ := open(t, fsys, spelling, vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true})
			if f.Name() != want {
				t.Errorf("case-insensitive %q resolved to %q, want %q", spelling, f.Name(), want)
			}
		}
	}
	// Non-ASCII letters fold too.
	createFile(t, fsys, "Ärger", "umlaut").Close()
	if got := func() string {
		f, _ := open(t, fsys, "äRGER", vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true})
		return f.Name()
	}(); got != "Ärger" {
		t.Errorf("case-insensitive non-ASCII resolved to %q", got)
	}
}

// testCaseInsensitiveMany fills a directory the way a Windows client does (every create is
// case-insensitive, so each must rule out case variants) and looks every name up in another
// case; a backend that rescans the directory per create is quadratic here.
func testCaseInsensitiveMany(t *testing.T, fsys vfs.FS) {
	const n = 2000
	mkdir(t, fsys, "Many").Close()
	start := time.Now()
	for i := 0; i < n; i++ {
		f, action, err := fsys.Open(ctx, "many/File-"+itoa(i), vfs.OpenRequest{Disposition: vfs.OpenIf, CaseInsensitive: true})
		if err != nil || action != vfs.Created {
			t.Fatalf("create %d: action %d, %v", i, action, err)
		}
		f.Close()
	}
	created := time.Since(start)
	start = time.Now()
	for i := 0; i < n; i += 7 {
		f, action, err := fsys.Open(ctx, "MANY/file-"+itoa(i), vfs.OpenRequest{Disposition: vfs.OpenIf, CaseInsensitive: true})
		if err != nil || action != vfs.Opened || f.Name() != "Many/File-"+itoa(i) {
			t.Fatalf("lookup %d: action %d, %v", i, action, err)
		}
		f.Close()
	}
	t.Logf("%d case-insensitive creates in %v, lookups in %v", n, created, time.Since(start))
	// A variant created after the directory was looked up is still found.
	createFile(t, fsys, "Many/Late", "").Close()
	f, _ := open(t, fsys, "many/LATE", vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true})
	if f.Name() != "Many/Late" {
		t.Errorf("late entry resolved to %q", f.Name())
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	_, _, err := fsys.Open(ctx, "many/LATE", vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: true})
	wantErr(t, "lookup of a removed entry", err, vfs.ErrNotFound)
	if created > 20*time.Second {
		t.Errorf("%d case-insensitive creates took %v", n, created)
	}
}

func testInvalidNames(t *testing.T, fsys vfs.FS) {
	mkdir(t, fsys, "d").Close()
	bad := []string{"..", "../x", "d/../../x", "d/..", "/abs", "/", "d/", "a//b", ".", "./d", "d/./x", "x\x00y"}
	for _, name := range bad {
		for _, d := range []vfs.Disposition{vfs.OpenExisting, vfs.OpenIf, vfs.Create} {
			f, _, err := fsys.Open(ctx, name, vfs.OpenRequest{Disposition: d})
			if err == nil {
				f.Close()
				t.Errorf("Open(%q, %d) succeeded", name, d)
				continue
			}
			wantErr(t, "Open("+name+")", err, vfs.ErrInvalidName, vfs.ErrEscape)
		}
	}
	root, _ := open(t, fsys, "", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	entries, err := root.ReadDir()
	if err != nil || len(entries) != 1 || entries[0].Name != "d" {
		t.Errorf("invalid names created something: %v, %v", names(entries), err)
	}
}

func testConcurrentIO(t *testing.T, fsys vfs.FS) {
	const workers, rounds, block = 8, 50, 4096
	f := createFile(t, fsys, "shared", "")
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			wbuf := make([]byte, block)
			rbuf := make([]byte, block)
			off := int64(w * block)
			for r := 0; r < rounds; r++ {
				for i := range wbuf {
					wbuf[i] = byte(w*31 + r + i)
				}
				if _, err := f.WriteAt(wbuf, off); err != nil {
					errs <- err
					return
				}
				if n, err := f.ReadAt(rbuf, off); n != block || (err != nil && !isEOF(err)) {
					errs <- errors.New("short read " + itoa(n))
					return
				}
				for i := range rbuf {
					if rbuf[i] != wbuf[i] {
						errs <- errors.New("worker " + itoa(w) + " read back foreign data")
						return
					}
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if fi := stat(t, f); fi.Size != workers*block {
		t.Errorf("size %d, want %d", fi.Size, workers*block)
	}
}

// testConcurrentCreate races creators of one name: exactly one creates it, the others open
// the same object (OpenIf) or get ErrExists (Create); nothing is clobbered. Case-insensitive
// creators spelling the name differently are creators of the same name.
func testConcurrentCreate(t *testing.T, fsys vfs.FS) {
	const workers = 8
	type result struct {
		action vfs.OpenAction
		id     uint64
		err    error
	}
	race := func(t *testing.T, name func(w int) string, req vfs.OpenRequest) []result {
		start := make(chan struct{})
		results := make(chan result, workers)
		for w := 0; w < workers; w++ {
			go func(w int) {
				<-start
				f, action, err := fsys.Open(ctx, name(w), req)
				if err != nil {
					results <- result{err: err}
					return
				}
				fi, err := f.Stat()
				if err == nil && action == vfs.Created {
					_, err = f.WriteAt([]byte("winner"), 0)
				}
				f.Close()
				results <- result{action: action, id: fi.ID, err: err}
			}(w)
		}
		close(start)
		out := make([]result, workers)
		for i := range out {
			out[i] = <-results
		}
		return out
	}
	for round := 0; round < 20; round++ {
		name := "openif-" + itoa(round)
		created, ids := 0, map[uint64]bool{}
		for _, r := range race(t, func(int) string { return name }, vfs.OpenRequest{Disposition: vfs.OpenIf, Write: true}) {
			if r.err != nil {
				t.Fatalf("OpenIf race: %v", r.err)
			}
			if r.action == vfs.Created {
				created++
			}
			ids[r.id] = true
		}
		if created != 1 || len(ids) != 1 {
			t.Fatalf("OpenIf race on %q: %d creators, %d distinct objects; want 1 and 1", name, created, len(ids))
		}
		name = "create-" + itoa(round)
		won := 0
		for _, r := range race(t, func(int) string { return name }, vfs.OpenRequest{Disposition: vfs.Create, Write: true}) {
			switch {
			case r.err == nil:
				won++
			case !errors.Is(r.err, vfs.ErrExists):
				t.Fatalf("Create race: %v", r.err)
			}
		}
		if won != 1 {
			t.Fatalf("Create race on %q: %d winners", name, won)
		}
		if got := readAll(t, fsys, name); got != "winner" {
			t.Fatalf("Create race clobbered the winner's data: %q", got)
		}
		spellings := []string{"Case-", "CASE-", "case-", "cASE-"}
		created, ids = 0, map[uint64]bool{}
		for _, r := range race(t, func(w int) string { return spellings[w%len(spellings)] + itoa(round) },
			vfs.OpenRequest{Disposition: vfs.OpenIf, CaseInsensitive: true}) {
			if r.err != nil {
				t.Fatalf("case-insensitive OpenIf race: %v", r.err)
			}
			if r.action == vfs.Created {
				created++
			}
			ids[r.id] = true
		}
		if created != 1 || len(ids) != 1 {
			t.Fatalf("case-insensitive OpenIf race round %d: %d creators, %d distinct objects", round, created, len(ids))
		}
	}
}

func testStableIDs(t *testing.T, fsys vfs.FS) {
	a := createFile(t, fsys, "a", "")
	b := createFile(t, fsys, "b", "")
	d := mkdir(t, fsys, "d")
	ida, idb, idd := stat(t, a).ID, stat(t, b).ID, stat(t, d).ID
	if ida == 0 || idb == 0 || idd == 0 || ida == idb || ida == idd || idb == idd {
		t.Fatalf("IDs %d %d %d: want distinct and non-zero", ida, idb, idd)
	}
	a.Close()
	if id := statName(t, fsys, "a").ID; id != ida {
		t.Errorf("ID after reopen %d, want %d", id, ida)
	}
	if err := b.Rename("d/b2", false); err != nil {
		t.Fatal(err)
	}
	if id := statName(t, fsys, "d/b2").ID; id != idb {
		t.Errorf("ID after rename %d, want %d", id, idb)
	}
	if err := d.Rename("d2", false); err != nil {
		t.Fatal(err)
	}
	if id := statName(t, fsys, "d2").ID; id != idd {
		t.Errorf("directory ID after rename %d, want %d", id, idd)
	}
	if id := statName(t, fsys, "d2/b2").ID; id != idb {
		t.Errorf("ID after moving the parent %d, want %d", id, idb)
	}
	entries, err := d.ReadDir()
	if err != nil || len(entries) != 1 || entries[0].ID != idb {
		t.Errorf("ReadDir IDs: %+v, %v", entries, err)
	}
}

func testStatFS(t *testing.T, fsys vfs.FS) {
	a, err := fsys.StatFS(ctx)
	if err != nil {
		t.Fatalf("StatFS: %v", err)
	}
	if a.TotalBytes == 0 || a.FreeBytes > a.TotalBytes || a.BlockSize == 0 || a.SectorSize == 0 || a.MaxNameLength == 0 {
		t.Errorf("StatFS = %+v", a)
	}
	b, err := fsys.StatFS(ctx)
	if err != nil || b.SerialNumber != a.SerialNumber || !b.CreationTime.Equal(a.CreationTime) {
		t.Errorf("volume identity not stable: %+v then %+v (%v)", a, b, err)
	}
}
