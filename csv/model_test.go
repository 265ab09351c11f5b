package csv

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// long reports whether the heavy variants run (make fuzz / make bench set SOFS_LONG=1).
func long() bool { return os.Getenv("SOFS_LONG") == "1" }

// memDevice is an in-memory BlockDevice, the test twin of a virtual disk for tests that need
// many volumes quickly. Flush is a no-op: nothing is lost unless a test says so.
type memDevice struct {
	mu sync.RWMutex
	b  []byte
}

func newMemDevice(size int64) *memDevice { return &memDevice{b: make([]byte, size)} }

func (d *memDevice) ReadAt(p []byte, off int64) (int, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if off < 0 || off+int64(len(p)) > int64(len(d.b)) {
		return 0, fmt.Errorf("read %d at %d: beyond device", len(p), off)
	}
	return copy(p, d.b[off:]), nil
}

func (d *memDevice) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if off < 0 || off+int64(len(p)) > int64(len(d.b)) {
		return 0, fmt.Errorf("write %d at %d: beyond device", len(p), off)
	}
	return copy(d.b[off:], p), nil
}

func (d *memDevice) Flush() error { return nil }
func (d *memDevice) Size() int64  { return int64(len(d.b)) }

// modelNode is one object of the reference file system.
type modelNode struct {
	path    string // case as created
	dir     bool
	data    []byte
	attrs   vfs.Attr
	created int64  // creation time set through SetInfo, 0 when never set
	sd      string // security descriptor, "" when never set
}

// model is the reference: a map from folded path to node, with the obvious semantics.
type model struct{ nodes map[string]*modelNode }

func newModel() *model {
	return &model{nodes: map[string]*modelNode{"": {path: "", dir: true, attrs: vfs.AttrDirectory}}}
}

func foldPath(p string) string { return foldName(p) }

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func (m *model) get(p string) *modelNode { return m.nodes[foldPath(p)] }

func (m *model) clone() *model {
	c := &model{nodes: make(map[string]*modelNode, len(m.nodes))}
	for k, n := range m.nodes {
		cp := *n
		cp.data = append([]byte(nil), n.data...)
		c.nodes[k] = &cp
	}
	return c
}

// resolveParent returns the expected error for a path whose parent is missing.
func (m *model) parentErr(p string) error {
	par := m.get(parentOf(p))
	if par == nil || !par.dir {
		return vfs.ErrPathNotFound
	}
	return nil
}

func (m *model) open(p string, d vfs.Disposition, k vfs.Kind) (vfs.OpenAction, error) {
	if err := m.parentErr(p); err != nil {
		return 0, err
	}
	n := m.get(p)
	if n == nil {
		if d == vfs.OpenExisting || d == vfs.Overwrite {
			return 0, vfs.ErrNotFound
		}
		dir := k == vfs.DirectoryOnly
		attrs := vfs.AttrArchive
		if dir {
			attrs = vfs.AttrDirectory
		}
		m.nodes[foldPath(p)] = &modelNode{path: p, dir: dir, attrs: attrs}
		return vfs.Created, nil
	}
	switch {
	case d == vfs.Create:
		return 0, vfs.ErrExists
	case k == vfs.FileOnly && n.dir:
		return 0, vfs.ErrIsDir
	case k == vfs.DirectoryOnly && !n.dir:
		return 0, vfs.ErrNotDir
	case d == vfs.OpenExisting || d == vfs.OpenIf:
		return vfs.Opened, nil
	case n.dir:
		return 0, vfs.ErrIsDir
	}
	n.data, n.attrs = nil, vfs.AttrArchive
	if d == vfs.Supersede {
		n.created, n.sd = 0, ""

		return vfs.Superseded, nil
	}
	return vfs.Overwritten, nil
}

func (m *model) write(p string, off int64, data []byte) {
	n := m.get(p)
	if end := off + int64(len(data)); end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[off:], data)
}

func (m *model) truncate(p string, size int64) {
	n := m.get(p)
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
}

func (m *model) rename(from, to string, replace bool) error {
	src := m.get(from)
	if err := m.parentErr(to); err != nil {
		return err
	}
	fk, tk := foldPath(from), foldPath(to)
	if strings.HasPrefix(tk, fk+"/") {
		return vfs.ErrInvalidName
	}
	if dst := m.get(to); dst != nil && tk != fk {
		if !replace || dst.dir {
			return vfs.ErrExists
		}
		delete(m.nodes, tk)
	}
	moved := map[string]*modelNode{}
	for k, n := range m.nodes {
		if k == fk || strings.HasPrefix(k, fk+"/") {
			moved[k] = n
			delete(m.nodes, k)
		}
	}
	for k, n := range moved {
		n.path = to + n.path[len(from):]
		m.nodes[tk+k[len(fk):]] = n
	}
	_ = src
	return nil
}

func (m *model) empty(p string) bool {
	k := foldPath(p)
	for o := range m.nodes {
		if strings.HasPrefix(o, k+"/") {
			return false
		}
	}
	return true
}

func (m *model) remove(p string) error {
	k := foldPath(p)
	for o := range m.nodes {
		if strings.HasPrefix(o, k+"/") {
			return vfs.ErrNotEmpty
		}
	}
	delete(m.nodes, k)
	return nil
}

func (m *model) sortedKeys(filter func(*modelNode) bool) []string {
	var keys []string
	for k, n := range m.nodes {
		if k != "" && filter(n) {
			keys = append(keys, n.path)
		}
	}
	sort.Strings(keys)
	return keys
}

// compareTree walks the volume and reports the first difference from the model.
func compareTree(v *Volume, m *model) error {
	seen := 0
	var walk func(dir string) error
	walk = func(dir string) error {
		d, _, err := v.Open(ctx, dir, vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.DirectoryOnly})
		if err != nil {
			return fmt.Errorf("open dir %q: %w", dir, err)
		}
		defer d.Close()
		entries, err := d.ReadDir()
		if err != nil {
			return fmt.Errorf("readdir %q: %w", dir, err)
		}
		for _, e := range entries {
			p := e.Name
			if dir != "" {
				p = dir + "/" + e.Name
			}
			n := m.get(p)
			if n == nil {
				return fmt.Errorf("%q exists on the volume, not in the model", p)
			}
			seen++
			if n.path != p {
				return fmt.Errorf("%q has case %q in the model", p, n.path)
			}
			if n.dir != e.IsDir() {
				return fmt.Errorf("%q: dir %v, model %v", p, e.IsDir(), n.dir)
			}
			if e.Attributes != n.attrs {
				return fmt.Errorf("%q: attributes %#x, model %#x", p, e.Attributes, n.attrs)
			}
			{
				f, _, err := v.Open(ctx, p, vfs.OpenRequest{Disposition: vfs.OpenExisting})
				if err != nil {
					return fmt.Errorf("open %q: %w", p, err)
				}
				sd, err := f.(vfs.Securable).SecurityDescriptor()
				f.Close()
				if n.sd == "" && !errors.Is(err, vfs.ErrNotFound) || n.sd != "" && (err != nil || string(sd) != n.sd) {
					return fmt.Errorf("%q: descriptor %q (%v), model %q", p, sd, err, n.sd)
				}
			}
			if n.created != 0 && e.CreationTime.UnixNano() != n.created {
				return fmt.Errorf("%q: creation time %v, model %v", p, e.CreationTime, time.Unix(0, n.created))
			}
			if n.dir {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			if e.Size != int64(len(n.data)) {
				return fmt.Errorf("%q: size %d, model %d", p, e.Size, len(n.data))
			}
			f, _, err := v.Open(ctx, p, vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
			if err != nil {
				return fmt.Errorf("open %q: %w", p, err)
			}
			buf := make([]byte, e.Size+10)
			got, err := f.ReadAt(buf, 0)
			f.Close()
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read %q: %w", p, err)
			}
			if !bytes.Equal(buf[:got], n.data) {
				i := 0
				for i < got && i < len(n.data) && buf[i] == n.data[i] {
					i++
				}
				return fmt.Errorf("%q: content differs from the model at byte %d (read %d bytes, model %d)", p, i, got, len(n.data))
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	if seen != len(m.nodes)-1 {
		return fmt.Errorf("volume has %d objects, model %d", seen, len(m.nodes)-1)
	}
	return nil
}

func liveProblems(v *Volume) []string {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	return checkState(v.c.st)
}

// modelHarness drives a volume and the model with the same operations.
type modelHarness struct {
	dev *memDevice
	v   *Volume
	m   *model
}

func patterned(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

var nameChoices = []string{"a", "B", "c", "dd", "Ee"}

// recase changes a name's case at random, to exercise case-insensitive lookup.
func recase(t *rapid.T, s string) string {
	if rapid.Bool().Draw(t, "recase") {
		return strings.ToUpper(s)
	}
	return s
}

func (h *modelHarness) drawExisting(t *rapid.T, label string, filter func(*modelNode) bool) (string, bool) {
	keys := h.m.sortedKeys(filter)
	if len(keys) == 0 {
		return "", false
	}
	p := rapid.SampledFrom(keys).Draw(t, label)
	// Address it with other case sometimes: lookups are case-insensitive.
	parts := strings.Split(p, "/")
	parts[len(parts)-1] = recase(t, parts[len(parts)-1])
	return strings.Join(parts, "/"), true
}

func (h *modelHarness) drawNew(t *rapid.T, label string) string {
	dirs := append([]string{""}, h.m.sortedKeys(func(n *modelNode) bool { return n.dir })...)
	parent := rapid.SampledFrom(dirs).Draw(t, label+"-parent")
	if rapid.IntRange(0, 20).Draw(t, label+"-missing") == 0 {
		parent = strings.TrimPrefix(parent+"/nodir", "/")
	}
	name := recase(t, rapid.SampledFrom(nameChoices).Draw(t, label+"-name"))
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

func isFile(n *modelNode) bool  { return !n.dir }
func anyNode(n *modelNode) bool { return true }

func wantIs(t *rapid.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func (h *modelHarness) openFile(t *rapid.T, p string) vfs.File {
	f, _, err := h.v.Open(ctx, p, vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.FileOnly, Read: true, Write: true,
		WriteThrough: rapid.Bool().Draw(t, "writethrough")})
	if err != nil {
		t.Fatalf("open %q: %v", p, err)
	}
	return f
}

func (h *modelHarness) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"open": func(t *rapid.T) {
			p := h.drawNew(t, "path")
			if rapid.Bool().Draw(t, "existing") {
				if q, ok := h.drawExisting(t, "existing", anyNode); ok {
					p = q
				}
			}
			d := vfs.Disposition(rapid.IntRange(0, 5).Draw(t, "disposition"))
			k := vfs.Kind(rapid.IntRange(0, 2).Draw(t, "kind"))
			// Overwriting a directory-kind create makes a directory; keep the model simple.
			wantAction, wantErr := h.m.open(p, d, k)
			f, action, err := h.v.Open(ctx, p, vfs.OpenRequest{Disposition: d, Kind: k, Write: true})
			wantIs(t, fmt.Sprintf("open %q disposition %d kind %d", p, d, k), err, wantErr)
			if err == nil {
				if action != wantAction {
					t.Fatalf("open %q: action %d, want %d", p, action, wantAction)
				}
				f.Close()
			}
		},
		"write": func(t *rapid.T) {
			p, ok := h.drawExisting(t, "file", isFile)
			if !ok {
				t.Skip("no file")
			}
			off := int64(rapid.IntRange(0, 3*BlockSize*4).Draw(t, "off"))
			if rapid.Bool().Draw(t, "aligned") {
				off -= off % BlockSize
			}
			data := patterned(rapid.Int().Draw(t, "seed"), rapid.IntRange(1, 3*BlockSize).Draw(t, "len"))
			f := h.openFile(t, p)
			defer f.Close()
			if n, err := f.WriteAt(data, off); err != nil || n != len(data) {
				t.Fatalf("write %q: %d, %v", p, n, err)
			}
			h.m.write(p, off, data)
		},
		"truncate": func(t *rapid.T) {
			p, ok := h.drawExisting(t, "file", isFile)
			if !ok {
				t.Skip("no file")
			}
			size := int64(rapid.IntRange(0, 10*BlockSize).Draw(t, "size"))
			f := h.openFile(t, p)
			defer f.Close()
			if rapid.Bool().Draw(t, "allocate") {
				if err := f.Allocate(size); err != nil {
					t.Fatalf("allocate %q: %v", p, err)
				}
				if size < int64(len(h.m.get(p).data)) {
					h.m.truncate(p, size)
				}
				return
			}
			if err := f.Truncate(size); err != nil {
				t.Fatalf("truncate %q: %v", p, err)
			}
			h.m.truncate(p, size)
		},
		"zero": func(t *rapid.T) {
			p, ok := h.drawExisting(t, "file", isFile)
			if !ok {
				t.Skip("no file")
			}
			off := int64(rapid.IntRange(0, 8*BlockSize).Draw(t, "off"))
			n := int64(rapid.IntRange(0, 8*BlockSize).Draw(t, "len"))
			f := h.openFile(t, p)
			defer f.Close()
			if err := h.v.ZeroRange(f, off, n); err != nil {
				t.Fatalf("zero %q: %v", p, err)
			}
			data := h.m.get(p).data
			for i := off; i < off+n && i < int64(len(data)); i++ {
				data[i] = 0
			}
		},
		"clone": func(t *rapid.T) {
			src, ok := h.drawExisting(t, "src", isFile)
			if !ok {
				t.Skip("no file")
			}
			dst, _ := h.drawExisting(t, "dst", isFile)
			srcOff := int64(rapid.IntRange(0, 4).Draw(t, "srcblock")) * BlockSize
			dstOff := int64(rapid.IntRange(0, 4).Draw(t, "dstblock")) * BlockSize
			if rapid.Bool().Draw(t, "unaligned") {
				dstOff += int64(rapid.IntRange(1, 100).Draw(t, "skew"))
			}
			n := int64(rapid.IntRange(0, 5*BlockSize).Draw(t, "len"))
			sd, dd := h.m.get(src).data, h.m.get(dst).data
			if foldPath(src) == foldPath(dst) && srcOff < dstOff+n && dstOff < srcOff+n {
				t.Skip("overlapping clone within a file is not supported")
			}
			fs, fd := h.openFile(t, src), h.openFile(t, dst)
			defer fs.Close()
			defer fd.Close()
			got, err := h.v.CloneRange(fd, dstOff, fs, srcOff, n)
			if err != nil {
				t.Fatalf("clone %q -> %q: %v", src, dst, err)
			}
			want := max(0, min(n, int64(len(sd))-srcOff))
			if got != want {
				t.Fatalf("clone copied %d, want %d", got, want)
			}
			if want > 0 {
				part := append([]byte(nil), sd[srcOff:srcOff+want]...)
				_ = dd
				h.m.write(dst, dstOff, part)
			}
		},
		"rename": func(t *rapid.T) {
			from, ok := h.drawExisting(t, "from", anyNode)
			if !ok {
				t.Skip("nothing")
			}
			to := h.drawNew(t, "to")
			if rapid.Bool().Draw(t, "onto-existing") {
				if q, ok := h.drawExisting(t, "target", anyNode); ok {
					to = q
				}
			}
			replace := rapid.Bool().Draw(t, "replace")
			f, _, err := h.v.Open(ctx, from, vfs.OpenRequest{Disposition: vfs.OpenExisting})
			if err != nil {
				t.Fatalf("open %q: %v", from, err)
			}
			defer f.Close()
			want := h.m.rename(from, to, replace)
			wantIs(t, fmt.Sprintf("rename %q to %q replace %v", from, to, replace), f.Rename(to, replace), want)
		},
		"remove": func(t *rapid.T) {
			p, ok := h.drawExisting(t, "path", anyNode)
			if !ok {
				t.Skip("nothing")
			}
			f, _, err := h.v.Open(ctx, p, vfs.OpenRequest{Disposition: vfs.OpenExisting})
			if err != nil {
				t.Fatalf("open %q: %v", p, err)
			}
			defer f.Close()
			wantIs(t, "remove "+p, f.Remove(), h.m.remove(p))
		},
		"setinfo": func(t *rapid.T) {
			p, ok := h.drawExisting(t, "path", anyNode)
			if !ok {
				t.Skip("nothing")
			}
			attrs := rapid.SampledFrom([]vfs.Attr{0, vfs.AttrArchive, vfs.AttrTemporary, vfs.AttrNotContentIndexed | vfs.AttrArchive}).Draw(t, "attrs")
			created := time.Unix(0, int64(rapid.IntRange(1, 1<<40).Draw(t, "created"))*1000)
			f, _, err := h.v.Open(ctx, p, vfs.OpenRequest{Disposition: vfs.OpenExisting})
			if err != nil {
				t.Fatalf("open %q: %v", p, err)
			}
			defer f.Close()
			if err := f.SetInfo(vfs.SetInfo{Attributes: &attrs, CreationTime: &created}); err != nil {
				t.Fatalf("setinfo %q: %v", p, err)
			}
			n := h.m.get(p)
			n.attrs, n.created = attrs, created.UnixNano()
			if n.dir {
				n.attrs |= vfs.AttrDirectory
			} else if n.attrs == 0 {
				n.attrs = vfs.AttrNormal
			}
		},
		"setsd": func(t *rapid.T) {
			p, ok := h.drawExisting(t, "path", anyNode)
			if !ok {
				t.Skip("nothing")
			}
			sd := rapid.SampledFrom([]string{"D:(A;;FA;;;WD)", "D:(A;;FR;;;BU)", "O:SY"}).Draw(t, "sd")
			f, _, err := h.v.Open(ctx, p, vfs.OpenRequest{Disposition: vfs.OpenExisting})
			if err != nil {
				t.Fatalf("open %q: %v", p, err)
			}
			defer f.Close()
			if err := f.(vfs.Securable).SetSecurityDescriptor([]byte(sd)); err != nil {
				t.Fatalf("set descriptor %q: %v", p, err)
			}
			h.m.get(p).sd = sd
		},
		"remount": func(t *rapid.T) {
			if rapid.Bool().Draw(t, "clean") {
				if err := h.v.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
			} else {
				// Crash: stop the committer without a final checkpoint, after making everything
				// acknowledged durable (a non-write-through write is not acknowledged until Sync).
				root, _, err := h.v.Open(ctx, "", vfs.OpenRequest{Disposition: vfs.OpenExisting})
				if err != nil {
					t.Fatal(err)
				}
				if err := root.Sync(); err != nil {
					t.Fatal(err)
				}
				h.v.c.fail(errors.New("simulated crash"))
				<-h.v.c.done
			}
			if r := Check(h.dev); !r.OK() {
				t.Fatalf("check after remount: %q", r.Problems)
			}
			v, err := Mount(h.dev, MountOptions{})
			if err != nil {
				t.Fatalf("remount: %v", err)
			}
			h.v = v
		},
		"": func(t *rapid.T) {
			if errs := liveProblems(h.v); len(errs) > 0 {
				t.Fatalf("invariants: %q", errs)
			}
			if err := compareTree(h.v, h.m); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// TestModel runs random operation sequences against a volume and the reference model and
// compares the whole tree after every step, with remounts (clean and crash) in between.
func TestModel(t *testing.T) {
	checks := "300"
	if long() {
		checks = "3000"
	}
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		f.Value.Set(checks)
		defer f.Value.Set(f.DefValue)
	}
	rapid.Check(t, func(t *rapid.T) {
		dev := newMemDevice(8 << 20)
		// A small journal makes checkpoints frequent, so replay from a checkpoint is exercised.
		if err := Format(dev, FormatOptions{JournalBlocks: minJournalBlocks, CheckpointBlocks: 64}); err != nil {
			t.Fatal(err)
		}
		v, err := Mount(dev, MountOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := &modelHarness{dev: dev, v: v, m: newModel()}
		defer func() { h.v.Close() }()
		t.Repeat(h.actions())
		if err := h.v.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if r := Check(dev); !r.OK() {
			t.Fatalf("check: %q", r.Problems)
		}
	})
}
