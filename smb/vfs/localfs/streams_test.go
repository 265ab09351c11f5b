package localfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

func TestSplitStream(t *testing.T) {
	long := strings.Repeat("s", maxStreamNameBytes+1)
	cases := []struct {
		in, object, stream string
		err                error
	}{
		{"f", "f", "", nil},
		{"d/f", "d/f", "", nil},
		{"f:s", "f", "s", nil},
		{"d/f:s", "d/f", "s", nil},
		{"f:s:$DATA", "f", "s", nil},
		{"f:s:$data", "f", "s", nil},
		{"f::$DATA", "f", "", nil},
		{"a:b/f", "a:b/f", "", nil}, // only the last element names a stream
		{":s", "", "s", nil},        // the root directory's stream
		{"f:Zone.Identifier", "f", "Zone.Identifier", nil},
		{"f:ünïcødé", "f", "ünïcødé", nil},
		{"f:", "", "", vfs.ErrInvalidName},
		{"f::", "", "", vfs.ErrInvalidName},
		{"f:s:", "", "", vfs.ErrInvalidName},
		{"f:s:$INDEX_ALLOCATION", "", "", vfs.ErrInvalidName},
		{"f:s:$DATA:x", "", "", vfs.ErrInvalidName},
		{"f:a\\b", "", "", vfs.ErrInvalidName},
		{"f:a\x00b", "", "", vfs.ErrInvalidName},
		{"d/:s", "", "", vfs.ErrInvalidName},
		{"f:" + long, "", "", vfs.ErrInvalidName},
	}
	for _, c := range cases {
		object, stream, err := splitStream(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("splitStream(%q) = %q, %q, %v; want %v", c.in, object, stream, err, c.err)
			}
			continue
		}
		if err != nil || object != c.object || stream != c.stream {
			t.Errorf("splitStream(%q) = %q, %q, %v; want %q, %q", c.in, object, stream, err, c.object, c.stream)
		}
	}
}

func TestStreamNameEncoding(t *testing.T) {
	cases := map[string]string{
		"s":                 "s",
		"Zone.Identifier":   "Zone.Identifier",
		"100%":              "100%25",
		"tab\there":         "tab%09here",
		"del\x7f":           "del%7F",
		"ünï":               "ünï",
		"sp ace;$DATA-like": "sp ace;$DATA-like",
	}
	for name, want := range cases {
		enc := encodeStreamName(name)
		if enc != want {
			t.Errorf("encode(%q) = %q, want %q", name, enc, want)
		}
		dec, ok := decodeStreamName(enc)
		if !ok || dec != name {
			t.Errorf("decode(%q) = %q, %v; want %q", enc, dec, ok, name)
		}
	}
	// Not canonical, or not a stream name: refused, so that foreign xattrs under the prefix
	// are not listed as streams.
	for _, enc := range []string{"", "%", "%2", "%2g", "%2f", "%41", "%7f", "a\tb", "a:b", "a/b", "a\\b", "%00"} {
		if dec, ok := decodeStreamName(enc); ok {
			t.Errorf("decode(%q) accepted as %q", enc, dec)
		}
	}
}

// FuzzStreamName checks the stream-name parser and codec: Open names parse or are refused
// without panicking, every accepted stream name survives the xattr encoding, and every
// accepted encoding is the canonical one of its name.
func FuzzStreamName(f *testing.F) {
	for _, s := range []string{"f:s", "f::$DATA", "d/f:s:$DATA", "f:100%", "%25", "%7F", "f:a\tb", "ünï"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, stream, err := splitStream(s); err == nil && stream != "" {
			dec, ok := decodeStreamName(encodeStreamName(stream))
			if !ok || dec != stream {
				t.Fatalf("stream %q: round trip gave %q, %v", stream, dec, ok)
			}
		}
		if dec, ok := decodeStreamName(s); ok {
			if enc := encodeStreamName(dec); enc != s {
				t.Fatalf("decode(%q) = %q, which encodes as %q", s, dec, enc)
			}
			if checkStreamName(dec) != nil {
				t.Fatalf("decode(%q) = %q, not a valid stream name", s, dec)
			}
		}
	})
}

func readAll(t *testing.T, f vfs.File) []byte {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatalf("Stat(%q): %v", f.Name(), err)
	}
	buf := make([]byte, fi.Size+10)
	n, err := f.ReadAt(buf, 0)
	if err != io.EOF {
		t.Fatalf("ReadAt(%q) whole: %v, want io.EOF", f.Name(), err)
	}
	return buf[:n]
}

func TestStreamsBasics(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, dir := newTestFS(t, hostFS.dir, Options{})
			file := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
			if _, err := file.WriteAt([]byte("unnamed data"), 0); err != nil {
				t.Fatal(err)
			}
			s, action, err := fs.Open(bg, "f:Meta", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
			if err != nil || action != vfs.Created {
				t.Fatalf("create stream: %v, %v", action, err)
			}
			defer s.Close()
			if _, err := s.WriteAt([]byte("hello"), 0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.WriteAt([]byte(" world"), 5); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, s); string(got) != "hello world" {
				t.Fatalf("stream holds %q", got)
			}
			if s.Name() != "f:Meta" {
				t.Errorf("Name() = %q", s.Name())
			}
			fi, err := s.Stat()
			if err != nil || fi.Size != 11 || fi.Allocation < fi.Size || fi.IsDir() {
				t.Fatalf("stream Stat = %+v, %v", fi, err)
			}
			base, _ := file.Stat()
			if fi.ID != base.ID || !fi.LastWriteTime.Equal(base.LastWriteTime) {
				t.Errorf("stream Stat does not carry the object's fields: %+v vs %+v", fi, base)
			}
			// ReadAt past the end and in the middle.
			buf := make([]byte, 4)
			if n, err := s.ReadAt(buf, 6); n != 4 || err != nil || string(buf) != "worl" {
				t.Errorf("ReadAt(6) = %d, %v, %q", n, err, buf)
			}
			if n, err := s.ReadAt(buf, 11); n != 0 || err != io.EOF {
				t.Errorf("ReadAt(end) = %d, %v", n, err)
			}
			// On disk: one xattr, the unnamed data untouched.
			v := make([]byte, 64)
			n, err := unix.Getxattr(filepath.Join(dir, "f"), "user.sofs.stream.Meta", v)
			if err != nil || string(v[:n]) != "hello world" {
				t.Fatalf("xattr user.sofs.stream.Meta = %q, %v", v[:max(n, 0)], err)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, "f")); string(data) != "unnamed data" {
				t.Fatalf("unnamed data = %q", data)
			}
			// Other spellings of the same stream, and the unnamed stream.
			for _, name := range []string{"f:meta", "f:META:$DATA", "f:Meta:$data"} {
				o := mustOpen(t, fs, name, vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
				if got := readAll(t, o); string(got) != "hello world" || o.Name() != "f:Meta" {
					t.Errorf("%s: %q as %q", name, got, o.Name())
				}
			}
			u := mustOpen(t, fs, "f::$DATA", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
			if got := readAll(t, u); string(got) != "unnamed data" {
				t.Errorf("f::$DATA holds %q", got)
			}
			infos, err := fs.Streams(bg, "f")
			want := []vfs.StreamInfo{{Name: "", Size: 12}, {Name: "Meta", Size: 11, Allocation: 11}}
			if err != nil || len(infos) != 2 || infos[0].Name != "" || infos[0].Size != 12 || infos[1] != want[1] {
				t.Fatalf("Streams = %+v, %v; want %+v", infos, err, want)
			}
			for _, name := range []string{"f:Meta", "f::$DATA", "f:"} {
				if _, err := fs.Streams(bg, name); !errors.Is(err, vfs.ErrInvalidName) {
					t.Errorf("Streams(%q): %v, want ErrInvalidName", name, err)
				}
			}
			// Truncate both ways.
			if err := s.Truncate(5); err != nil {
				t.Fatal(err)
			}
			if err := s.Truncate(7); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, s); string(got) != "hello\x00\x00" {
				t.Errorf("after truncates: %q", got)
			}
			// Remove takes the stream only.
			if err := s.Remove(); err != nil {
				t.Fatal(err)
			}
			if _, _, err := fs.Open(bg, "f:meta", vfs.OpenRequest{Disposition: vfs.OpenExisting}); !errors.Is(err, vfs.ErrNotFound) {
				t.Errorf("removed stream opens: %v", err)
			}
			if _, err := s.WriteAt([]byte("x"), 0); !errors.Is(err, vfs.ErrNotFound) {
				t.Errorf("write to removed stream: %v, want ErrNotFound (not revived)", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "f")); err != nil {
				t.Errorf("object gone with its stream: %v", err)
			}
			if infos, _ := fs.Streams(bg, "F"); len(infos) != 1 {
				t.Errorf("Streams after remove = %+v", infos)
			}
		})
	}
}

func TestStreamDispositions(t *testing.T) {
	fs, _ := newTestFS(t, "/dev/shm", Options{})
	mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create})
	put := func(content string) {
		t.Helper()
		s, _, err := fs.Open(bg, "f:s", vfs.OpenRequest{Disposition: vfs.OpenIf, Write: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Truncate(0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteAt([]byte(content), 0); err != nil {
			t.Fatal(err)
		}
	}
	remove := func() {
		t.Helper()
		s, _, err := fs.Open(bg, "f:s", vfs.OpenRequest{Disposition: vfs.OpenExisting})
		if err == nil {
			if err := s.Remove(); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	}
	cases := []struct {
		d       vfs.Disposition
		exists  bool
		action  vfs.OpenAction
		err     error
		content string // after the open
	}{
		{vfs.Supersede, true, vfs.Superseded, nil, ""},
		{vfs.Supersede, false, vfs.Created, nil, ""},
		{vfs.OpenExisting, true, vfs.Opened, nil, "old"},
		{vfs.OpenExisting, false, 0, vfs.ErrNotFound, ""},
		{vfs.Create, true, 0, vfs.ErrExists, "old"},
		{vfs.Create, false, vfs.Created, nil, ""},
		{vfs.OpenIf, true, vfs.Opened, nil, "old"},
		{vfs.OpenIf, false, vfs.Created, nil, ""},
		{vfs.Overwrite, true, vfs.Overwritten, nil, ""},
		{vfs.Overwrite, false, 0, vfs.ErrNotFound, ""},
		{vfs.OverwriteIf, true, vfs.Overwritten, nil, ""},
		{vfs.OverwriteIf, false, vfs.Created, nil, ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("disposition%d/exists=%v", c.d, c.exists), func(t *testing.T) {
			remove()
			if c.exists {
				put("old")
			}
			s, action, err := fs.Open(bg, "f:S", vfs.OpenRequest{Disposition: c.d, Read: true})
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
			} else {
				if err != nil || action != c.action {
					t.Fatalf("Open = %v, %v; want %v", action, err, c.action)
				}
				s.Close()
			}
			if c.content == "" && c.err != nil {
				return
			}
			o, _, err := fs.Open(bg, "f:s", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			if got := readAll(t, o); string(got) != c.content {
				t.Errorf("stream holds %q, want %q", got, c.content)
			}
		})
	}
}

// TestOverwriteRemovesStreams: overwriting or superseding the file (its unnamed stream) drops
// its named streams; opening it does not.
func TestOverwriteRemovesStreams(t *testing.T) {
	fs, _ := newTestFS(t, "/dev/shm", Options{})
	for _, c := range []struct {
		d     vfs.Disposition
		keeps bool
	}{{vfs.OpenExisting, true}, {vfs.OpenIf, true}, {vfs.Overwrite, false}, {vfs.OverwriteIf, false}, {vfs.Supersede, false}} {
		for _, s := range []string{"f:one", "f:two"} {
			h, _, err := fs.Open(bg, s, vfs.OpenRequest{Disposition: vfs.OpenIf})
			if err != nil {
				t.Fatal(err)
			}
			h.Close()
		}
		h, _, err := fs.Open(bg, "f::$DATA", vfs.OpenRequest{Disposition: c.d, Write: true})
		if err != nil {
			t.Fatalf("disposition %d: %v", c.d, err)
		}
		h.Close()
		infos, err := fs.Streams(bg, "f")
		if err != nil {
			t.Fatal(err)
		}
		if kept := len(infos) == 3; kept != c.keeps {
			t.Errorf("disposition %d: streams after open %+v", c.d, infos)
		}
	}
}

// TestStreamOfMissingObject: a creating disposition creates the file too (as Windows does); an
// opening one creates nothing.
func TestStreamOfMissingObject(t *testing.T) {
	fs, dir := newTestFS(t, "/tmp", Options{})
	if _, _, err := fs.Open(bg, "new:s", vfs.OpenRequest{Disposition: vfs.OpenExisting}); !errors.Is(err, vfs.ErrNotFound) {
		t.Fatalf("open stream of missing file: %v", err)
	}
	if _, _, err := fs.Open(bg, "nodir/new:s", vfs.OpenRequest{Disposition: vfs.Create}); !errors.Is(err, vfs.ErrPathNotFound) {
		t.Fatalf("create stream in missing directory: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Fatalf("failed open created the object: %v", err)
	}
	s, action, err := fs.Open(bg, "new:s", vfs.OpenRequest{Disposition: vfs.Create, Write: true, Attributes: vfs.AttrHidden})
	if err != nil || action != vfs.Created {
		t.Fatalf("create: %v, %v", action, err)
	}
	defer s.Close()
	fi, err := os.Stat(filepath.Join(dir, "new"))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
		t.Fatalf("object not created as an empty file: %v, %v", fi, err)
	}
	sfi, _ := s.Stat()
	if sfi.Attributes&vfs.AttrHidden == 0 {
		t.Errorf("created object lacks the requested attributes: %#x", sfi.Attributes)
	}
	if _, _, err := fs.Open(bg, "new:s", vfs.OpenRequest{Disposition: vfs.Create}); !errors.Is(err, vfs.ErrExists) {
		t.Errorf("second create: %v", err)
	}
}

func TestStreamsOnDirectories(t *testing.T) {
	fs, _ := newTestFS(t, "/dev/shm", Options{})
	mustOpen(t, fs, "d", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
	s := mustOpen(t, fs, "d:s", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	if _, err := s.WriteAt([]byte("on a dir"), 0); err != nil {
		t.Fatal(err)
	}
	fi, err := s.Stat()
	if err != nil || fi.IsDir() || fi.Size != 8 {
		t.Fatalf("Stat(d:s) = %+v, %v", fi, err)
	}
	infos, err := fs.Streams(bg, "d")
	if err != nil || len(infos) != 1 || infos[0].Name != "s" || infos[0].Size != 8 {
		t.Fatalf("Streams(d) = %+v, %v (want only the named stream)", infos, err)
	}
	if _, _, err := fs.Open(bg, "d:s", vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.DirectoryOnly}); !errors.Is(err, vfs.ErrNotDir) {
		t.Errorf("stream opened as directory: %v", err)
	}
	if _, _, err := fs.Open(bg, "d::$DATA", vfs.OpenRequest{Disposition: vfs.OpenExisting}); !errors.Is(err, vfs.ErrIsDir) {
		t.Errorf("d::$DATA: %v, want ErrIsDir (directories have no unnamed data stream)", err)
	}
	if _, _, err := fs.Open(bg, "d::$DATA", vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.DirectoryOnly}); !errors.Is(err, vfs.ErrNotDir) {
		t.Errorf("d::$DATA as directory: %v, want ErrNotDir", err)
	}
	root := mustOpen(t, fs, ":rs", vfs.OpenRequest{Disposition: vfs.OpenIf, Write: true})
	if root.Name() != ":rs" {
		t.Errorf("root stream name %q", root.Name())
	}
	if _, err := s.ReadDir(); !errors.Is(err, vfs.ErrNotDir) {
		t.Errorf("ReadDir on a stream: %v", err)
	}
}

func TestStreamLimits(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, _ := newTestFS(t, hostFS.dir, Options{})
			s := mustOpen(t, fs, "f:big", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
			if _, err := s.WriteAt([]byte("x"), maxStreamSize); !errors.Is(err, vfs.ErrNoSpace) {
				t.Errorf("write past 64 KiB: %v, want ErrNoSpace", err)
			}
			if err := s.Truncate(maxStreamSize + 1); !errors.Is(err, vfs.ErrNoSpace) {
				t.Errorf("truncate past 64 KiB: %v, want ErrNoSpace", err)
			}
			// ext4 without ea_inode keeps all of a file's xattrs in one block (~4 KiB); tmpfs
			// holds the whole 64 KiB.
			_, err := s.WriteAt(bytes.Repeat([]byte{'a'}, maxStreamSize), 0)
			switch {
			case err == nil:
				if got := readAll(t, s); len(got) != maxStreamSize {
					t.Errorf("64 KiB stream reads back %d bytes", len(got))
				}
			case errors.Is(err, vfs.ErrNoSpace) && hostFS.name == "ext4":
				fi, _ := s.Stat()
				if fi.Size != 0 {
					t.Errorf("refused write changed the stream to %d bytes", fi.Size)
				}
			default:
				t.Errorf("64 KiB write: %v", err)
			}
			if hostFS.name == "tmpfs" && err != nil {
				t.Errorf("tmpfs refused a 64 KiB stream: %v", err)
			}
		})
	}
}

func TestStreamAccess(t *testing.T) {
	fs, _ := newTestFS(t, "/dev/shm", Options{})
	mustOpen(t, fs, "f:s", vfs.OpenRequest{Disposition: vfs.Create})
	r := mustOpen(t, fs, "f:s", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	if _, err := r.WriteAt([]byte("x"), 0); !errors.Is(err, vfs.ErrAccess) {
		t.Errorf("write through a read-only stream handle: %v", err)
	}
	if err := r.Truncate(1); !errors.Is(err, vfs.ErrAccess) {
		t.Errorf("truncate through a read-only stream handle: %v", err)
	}
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	ro := vfs.AttrReadOnly
	if err := f.SetInfo(vfs.SetInfo{Attributes: &ro}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fs.Open(bg, "f:s", vfs.OpenRequest{Disposition: vfs.OpenExisting, Write: true}); !errors.Is(err, vfs.ErrReadOnly) {
		t.Errorf("stream of a read-only file opened for writing: %v", err)
	}
	if h, _, err := fs.Open(bg, "f:s", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true}); err != nil {
		t.Errorf("stream of a read-only file opened for reading: %v", err)
	} else {
		h.Close()
	}
	if _, _, err := fs.Open(bg, "f:new", vfs.OpenRequest{Disposition: vfs.OpenIf, Read: true}); !errors.Is(err, vfs.ErrReadOnly) {
		t.Errorf("stream created on a read-only file: %v", err)
	}
	if err := r.Rename("g:s", false); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("stream rename: %v", err)
	}
	if err := f.Rename("g:s", false); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("file renamed to a stream name: %v", err)
	}
	noX, _ := newTestFS(t, "/dev/shm", Options{NoXattrs: true})
	mustOpen(t, noX, "f", vfs.OpenRequest{Disposition: vfs.Create})
	if _, _, err := noX.Open(bg, "f:s", vfs.OpenRequest{Disposition: vfs.OpenIf}); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("stream with NoXattrs: %v", err)
	}
}

// TestStreamConcurrentWriters: writers through separate handles each own a range of one stream;
// every byte written must survive, which needs the read-modify-write of the xattr serialised.
func TestStreamConcurrentWriters(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, _ := newTestFS(t, hostFS.dir, Options{})
			mustOpen(t, fs, "f:s", vfs.OpenRequest{Disposition: vfs.Create})
			const writers, writes, chunk = 8, 24, 16 // 3 KiB: within ext4's one-block limit
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := 0; w < writers; w++ {
				h, _, err := fs.Open(bg, "f:S", vfs.OpenRequest{Disposition: vfs.OpenExisting, Write: true})
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer h.Close()
					p := bytes.Repeat([]byte{byte('a' + w)}, chunk)
					for i := 0; i < writes; i++ {
						// Interleaved ranges: writer w owns chunk i*writers+w, so the stream grows
						// from every writer and each write extends or patches others' data.
						if _, err := h.WriteAt(p, int64((i*writers+w)*chunk)); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			r := mustOpen(t, fs, "f:s", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
			got := readAll(t, r)
			if len(got) != writers*writes*chunk {
				t.Fatalf("stream is %d bytes, want %d", len(got), writers*writes*chunk)
			}
			for c := 0; c < writers*writes; c++ {
				want := bytes.Repeat([]byte{byte('a' + c%writers)}, chunk)
				if !bytes.Equal(got[c*chunk:(c+1)*chunk], want) {
					t.Fatalf("chunk %d = %q, want %q: a write was lost", c, got[c*chunk:(c+1)*chunk], want)
				}
			}
		})
	}
}

// TestStreamEscape: a symlink out of the share cannot be used to reach the target's streams,
// whatever the disposition.
func TestStreamEscape(t *testing.T) {
	x := newEscapeFixture(t, "/tmp")
	x.symlink(t, x.secret, "link")
	x.symlink(t, x.outside, "dirlink")
	for _, name := range []string{"link:s", "link:s:$DATA", "dirlink:s", "dirlink/secret:s", "sub/../../outside/secret:s"} {
		for _, d := range []vfs.Disposition{vfs.Supersede, vfs.OpenExisting, vfs.Create, vfs.OpenIf, vfs.Overwrite, vfs.OverwriteIf} {
			f, _, err := x.fs.Open(bg, name, vfs.OpenRequest{Disposition: d, Write: true})
			if err == nil {
				f.Close()
				t.Fatalf("Open(%q, %d) succeeded", name, d)
			}
			if !errors.Is(err, vfs.ErrEscape) && !errors.Is(err, vfs.ErrInvalidName) {
				t.Errorf("Open(%q, %d): %v, want ErrEscape or ErrInvalidName", name, d, err)
			}
		}
		if _, err := x.fs.Streams(bg, strings.TrimSuffix(strings.TrimSuffix(name, ":$DATA"), ":s")); err == nil {
			t.Errorf("Streams(%q) succeeded", name)
		}
	}
	x.untouched(t)
	for _, p := range []string{x.secret, x.outside} {
		if n, err := unix.Listxattr(p, make([]byte, 256)); err != nil || n != 0 {
			t.Errorf("%s has xattrs now (%d bytes, %v)", p, n, err)
		}
	}
}
