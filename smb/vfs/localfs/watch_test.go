package localfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// watchTimeout only bounds a failing test; every wait below ends on an event the test caused.
const watchTimeout = 10 * time.Second

func startWatch(t *testing.T, fs *FS, dir string, tree bool) <-chan vfs.Change {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := fs.Watch(ctx, dir, tree)
	if err != nil {
		cancel()
		t.Fatalf("Watch(%q, tree=%v): %v", dir, tree, err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch {
		}
	})
	return ch
}

// until collects changes up to and including the first for which stop is true.
func until(t *testing.T, ch <-chan vfs.Change, stop func(vfs.Change) bool) []vfs.Change {
	t.Helper()
	timer := time.NewTimer(watchTimeout)
	defer timer.Stop()
	var got []vfs.Change
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed; changes so far: %v", got)
			}
			got = append(got, c)
			if stop(c) {
				return got
			}
		case <-timer.C:
			t.Fatalf("no terminating change within %v; changes so far: %v", watchTimeout, got)
		}
	}
}

func added(name string) func(vfs.Change) bool {
	return func(c vfs.Change) bool { return c.Action == vfs.ChangeAdded && c.Name == name }
}

// awaitSentinel creates a file on disk and collects changes until its creation is reported: inotify
// queues events of one instance in order, so everything caused before is in the result.
func awaitSentinel(t *testing.T, ch <-chan vfs.Change, hostDir, name string) []vfs.Change {
	t.Helper()
	if err := os.WriteFile(filepath.Join(hostDir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := until(t, ch, added(name))
	return got[:len(got)-1]
}

type wantChange struct {
	action vfs.ChangeAction
	filter vfs.ChangeFilter // bits that must be set
	name   string
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder(got []vfs.Change, want []wantChange) bool {
	i := 0
	for _, c := range got {
		if i < len(want) && c.Action == want[i].action && c.Name == want[i].name && c.Filter&want[i].filter == want[i].filter {
			i++
		}
	}
	return i == len(want)
}

// TestWatchDiskChanges: changes made by host processes, not through the FS, are reported with
// the MS-FSCC action and the completion-filter bits a Windows client filters on.
func TestWatchDiskChanges(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, root := newTestFS(t, hostFS.dir, Options{})
			host := filepath.Join(root, "w")
			for _, d := range []string{host, filepath.Join(root, "elsewhere")} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			at := func(name string) string { return filepath.Join(host, name) }
			ch := startWatch(t, fs, "w", false)
			cases := []struct {
				name   string
				do     func() error
				expect []wantChange
			}{
				{"create file", func() error { return os.WriteFile(at("a"), nil, 0o644) },
					[]wantChange{{vfs.ChangeAdded, vfs.FilterFileName, "a"}}},
				{"mkdir", func() error { return os.Mkdir(at("d"), 0o755) },
					[]wantChange{{vfs.ChangeAdded, vfs.FilterDirName, "d"}}},
				{"write", func() error { return os.WriteFile(at("a"), []byte("data"), 0o644) },
					[]wantChange{{vfs.ChangeModified, vfs.FilterSize | vfs.FilterLastWrite, "a"}}},
				{"chmod", func() error { return os.Chmod(at("a"), 0o444) },
					[]wantChange{{vfs.ChangeModified, vfs.FilterAttributes, "a"}}},
				{"set times", func() error { return os.Chtimes(at("a"), time.Unix(1e9, 0), time.Unix(1e9, 0)) },
					[]wantChange{{vfs.ChangeModified, vfs.FilterLastWrite, "a"}}},
				{"xattr", func() error { return unix.Setxattr(at("a"), "user.other", []byte("v"), 0) },
					[]wantChange{{vfs.ChangeModified, vfs.FilterEA, "a"}}},
				{"rename", func() error { return os.Rename(at("a"), at("b")) },
					[]wantChange{{vfs.ChangeRenamedOldName, vfs.FilterFileName, "a"}, {vfs.ChangeRenamedNewName, vfs.FilterFileName, "b"}}},
				{"rename dir", func() error { return os.Rename(at("d"), at("e")) },
					[]wantChange{{vfs.ChangeRenamedOldName, vfs.FilterDirName, "d"}, {vfs.ChangeRenamedNewName, vfs.FilterDirName, "e"}}},
				{"move out", func() error { return os.Rename(at("b"), filepath.Join(root, "elsewhere", "b")) },
					[]wantChange{{vfs.ChangeRemoved, vfs.FilterFileName, "b"}}},
				{"move in", func() error { return os.Rename(filepath.Join(root, "elsewhere", "b"), at("c")) },
					[]wantChange{{vfs.ChangeAdded, vfs.FilterFileName, "c"}}},
				{"remove file", func() error { return os.Remove(at("c")) },
					[]wantChange{{vfs.ChangeRemoved, vfs.FilterFileName, "c"}}},
				{"rmdir", func() error { return os.Remove(at("e")) },
					[]wantChange{{vfs.ChangeRemoved, vfs.FilterDirName, "e"}}},
			}
			for i, c := range cases {
				if err := c.do(); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				got := awaitSentinel(t, ch, host, fmt.Sprintf("sentinel-%d", i))
				if !containsInOrder(got, c.expect) {
					t.Errorf("%s: got %v, want (in order) %v", c.name, got, c.expect)
				}
				for _, g := range got {
					if g.Time.IsZero() || g.Overflow {
						t.Errorf("%s: change %+v has no time or is an overflow", c.name, g)
					}
				}
			}
		})
	}
}

// TestWatchChangesThroughFS: the same reports for changes made through handles of the FS.
func TestWatchChangesThroughFS(t *testing.T) {
	fs, root := newTestFS(t, "/tmp", Options{})
	ch := startWatch(t, fs, "", false)
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	if _, err := f.WriteAt([]byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	hidden := vfs.AttrHidden
	if err := f.SetInfo(vfs.SetInfo{Attributes: &hidden}); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, fs, "f:s", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	if _, err := s.WriteAt([]byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Rename("g", false); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	got := awaitSentinel(t, ch, root, "sentinel")
	want := []wantChange{
		{vfs.ChangeAdded, vfs.FilterFileName, "f"},
		{vfs.ChangeModified, vfs.FilterSize, "f"},
		// Attributes (DOS record) and the stream write are both IN_ATTRIB; queued back to
		// back they merge into one change.
		{vfs.ChangeModified, vfs.FilterAttributes | vfs.FilterStreamWrite, "f"},
		{vfs.ChangeRenamedOldName, vfs.FilterFileName, "f"},
		{vfs.ChangeRenamedNewName, vfs.FilterFileName, "g"},
		{vfs.ChangeRemoved, vfs.FilterFileName, "g"},
	}
	if !containsInOrder(got, want) {
		t.Errorf("got %v, want (in order) %v", got, want)
	}
}

func TestWatchTree(t *testing.T) {
	fs, root := newTestFS(t, "/dev/shm", Options{})
	if err := os.MkdirAll(filepath.Join(root, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	flat := startWatch(t, fs, "", false)
	tree := startWatch(t, fs, "", true)
	sub := startWatch(t, fs, "a", true) // names relative to "a"

	if err := os.WriteFile(filepath.Join(root, "a/b/deep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := awaitSentinel(t, flat, root, "s1"); containsInOrder(got, []wantChange{{vfs.ChangeAdded, 0, "a/b/deep"}}) {
		t.Errorf("non-tree watch reported a change below its directory: %v", got)
	}
	if got := awaitSentinel(t, tree, root, "s1"); !containsInOrder(got, []wantChange{{vfs.ChangeAdded, vfs.FilterFileName, "a/b/deep"}}) {
		t.Errorf("tree watch: %v", got)
	}
	if got := awaitSentinel(t, sub, filepath.Join(root, "a"), "s1"); !containsInOrder(got, []wantChange{{vfs.ChangeAdded, vfs.FilterFileName, "b/deep"}}) {
		t.Errorf("tree watch of a: %v", got)
	}

	// A directory created in the tree gets a watch; what was created in it before the watch
	// existed is reported from a listing, what comes after from the watch.
	if err := os.MkdirAll(filepath.Join(root, "a/quick/deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a/quick/deeper/f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := awaitSentinel(t, tree, root, "s2")
	for _, want := range []wantChange{{vfs.ChangeAdded, vfs.FilterDirName, "a/quick"}, {vfs.ChangeAdded, vfs.FilterDirName, "a/quick/deeper"}, {vfs.ChangeAdded, vfs.FilterFileName, "a/quick/deeper/f"}} {
		if !containsInOrder(got, []wantChange{want}) {
			t.Errorf("quickly filled directory: %v lacks %v", got, want)
		}
	}

	if err := os.Mkdir(filepath.Join(root, "a/new"), 0o755); err != nil {
		t.Fatal(err)
	}
	until(t, tree, added("a/new"))
	if err := os.WriteFile(filepath.Join(root, "a/new/inner"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	until(t, tree, added("a/new/inner"))

	// A directory renamed within the tree keeps its watch under the new name.
	if err := os.Rename(filepath.Join(root, "a/new"), filepath.Join(root, "renamed")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "renamed/after"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got = until(t, tree, added("renamed/after"))
	if !containsInOrder(got, []wantChange{{vfs.ChangeRenamedOldName, vfs.FilterDirName, "a/new"}, {vfs.ChangeRenamedNewName, vfs.FilterDirName, "renamed"}}) {
		t.Errorf("directory rename: %v", got)
	}
	// Moved out of the tree: no longer watched.
	if err := os.Mkdir(filepath.Join(root, "a/gone"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Once an entry inside is reported, the directory's watch exists (listing follows it).
	if err := os.WriteFile(filepath.Join(root, "a/gone/ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	until(t, sub, added("gone/ready"))
	if err := os.Rename(filepath.Join(root, "a/gone"), filepath.Join(root, "gone")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "gone/x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got = awaitSentinel(t, sub, filepath.Join(root, "a"), "s2")
	if !containsInOrder(got, []wantChange{{vfs.ChangeRemoved, vfs.FilterDirName, "gone"}}) {
		t.Errorf("move out of tree: %v", got)
	}
	for _, c := range got {
		if c.Name == "gone/x" {
			t.Errorf("change below a directory moved out of the tree reported: %v", got)
		}
	}
}

// TestWatchConfinement: a symlink out of the share cannot be watched, by name or through a
// tree, and a tree watch does not follow links at all.
func TestWatchConfinement(t *testing.T) {
	x := newEscapeFixture(t, "/tmp")
	x.symlink(t, x.outside, "out")
	x.symlink(t, "sub", "insidelink")
	for _, name := range []string{"out", "sub/../../outside", "out/"} {
		ch, err := x.fs.Watch(bg, name, true)
		if err == nil {
			t.Fatalf("Watch(%q) succeeded: %v", name, ch)
		}
		if !errors.Is(err, vfs.ErrEscape) && !errors.Is(err, vfs.ErrInvalidName) {
			t.Errorf("Watch(%q): %v, want ErrEscape or ErrInvalidName", name, err)
		}
	}
	if _, err := x.fs.Watch(bg, "missing", false); !errors.Is(err, vfs.ErrNotFound) {
		t.Errorf("Watch(missing): %v", err)
	}
	if err := os.WriteFile(filepath.Join(x.root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := x.fs.Watch(bg, "file", false); !errors.Is(err, vfs.ErrNotDir) && !errors.Is(err, vfs.ErrPathNotFound) {
		t.Errorf("Watch(file): %v, want ErrNotDir", err)
	}
	ch := startWatch(t, x.fs, "", true)
	if err := os.WriteFile(filepath.Join(x.outside, "leak"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(x.outside, "leak")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x.root, "sub", "via-link"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := awaitSentinel(t, ch, x.root, "sentinel")
	for _, c := range got {
		if c.Name == "out/leak" || c.Name == "insidelink/via-link" {
			t.Errorf("change reported through a symlink: %+v (all: %v)", c, got)
		}
	}
	if !containsInOrder(got, []wantChange{{vfs.ChangeAdded, vfs.FilterFileName, "sub/via-link"}}) {
		t.Errorf("change in the real directory not reported: %v", got)
	}
}

// TestWatchOverflow: a consumer that does not read gets one overflow, then changes again.
func TestWatchOverflow(t *testing.T) {
	fs, root := newTestFS(t, "/dev/shm", Options{WatchQueueLen: 4})
	sawLast := make(chan struct{})
	fs.watchSeen = func(c vfs.Change) {
		if c.Name == "last" && c.Action == vfs.ChangeAdded {
			close(sawLast)
		}
	}
	ch := startWatch(t, fs, "", false)
	for i := 0; i < 50; i++ {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("f%02d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "last"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sawLast: // the reader has handled everything; nothing was consumed yet
	case <-time.After(watchTimeout):
		t.Fatal("reader never reached the last change")
	}
	got := until(t, ch, func(c vfs.Change) bool { return c.Overflow })
	// At most the batch the sender held before the overflow, plus the overflow itself.
	if len(got) > 4+1 {
		t.Errorf("%d changes before the overflow with a queue of 4: %v", len(got)-1, got)
	}
	// Reading now: a change made after the overflow arrived is reported, or covered by a
	// second overflow received after it (from changes queued while the first was on its way).
	if err := os.WriteFile(filepath.Join(root, "after"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got = until(t, ch, func(c vfs.Change) bool { return c.Overflow || added("after")(c) })
	if len(got) > 4+1 {
		t.Errorf("after the overflow: %v", got)
	}
	// Caught up: with the consumer reading, changes flow without overflow.
	if err := os.WriteFile(filepath.Join(root, "after2"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got = until(t, ch, added("after2"))
	for _, c := range got {
		if c.Overflow {
			t.Errorf("overflow while the consumer keeps up: %v", got)
		}
	}
}

// TestWatchReleases: ending the context closes the channel and releases every descriptor and
// goroutine, also with a consumer that stopped reading and for tree watches.
func TestWatchReleases(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs, root := newTestFS(t, "/dev/shm", Options{WatchQueueLen: 2})
	if err := os.MkdirAll(filepath.Join(root, "a/b/c"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	var chans []<-chan vfs.Change
	for _, tree := range []bool{false, true, true} {
		ch, err := fs.Watch(ctx, "a", tree)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	// One consumer reads a change, the others never do (their senders are blocked on them).
	if err := os.WriteFile(filepath.Join(root, "a/b/f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	until(t, chans[1], added("b/f"))
	if openFDs(t) <= before {
		t.Fatal("watches hold no descriptors?")
	}
	cancel()
	for i, ch := range chans {
		timer := time.NewTimer(watchTimeout)
	drain:
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					break drain
				}
			case <-timer.C:
				t.Fatalf("watch %d: channel not closed after cancel", i)
			}
		}
		timer.Stop()
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after the watches ended, %d before", after, before)
	}
	// A context that ended before Watch returns still closes the channel.
	ch, err := fs.Watch(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	for range ch {
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestChangeQueue steps the queue deterministically: merging repeated changes, overflow at the
// bound, dropping while the overflow is queued.
func TestChangeQueue(t *testing.T) {
	q := newChangeQueue(3)
	c := func(a vfs.ChangeAction, name string) vfs.Change {
		return vfs.Change{Action: a, Filter: vfs.FilterFileName, Name: name}
	}
	steps := []struct {
		push []vfs.Change
		take []vfs.Change
	}{
		{[]vfs.Change{c(vfs.ChangeAdded, "a"), c(vfs.ChangeModified, "a"), c(vfs.ChangeModified, "a")},
			[]vfs.Change{c(vfs.ChangeAdded, "a"), c(vfs.ChangeModified, "a")}},
		{[]vfs.Change{c(1, "a"), c(1, "b"), c(1, "c"), c(1, "d"), c(1, "e")},
			[]vfs.Change{{Overflow: true}}},
		{[]vfs.Change{c(2, "a")}, []vfs.Change{c(2, "a")}},
		{[]vfs.Change{c(2, "a"), {Overflow: true}, c(2, "b")}, []vfs.Change{{Overflow: true}}},
		{nil, nil},
	}
	// Taken (on its way to the consumer): changes queue again at once, and a queue that
	// fills again overflows again.
	defer func() {
		for _, n := range []string{"a", "b", "c", "d"} {
			q.push(c(1, n))
		}
		if got := q.take(); len(got) != 1 || !got[0].Overflow {
			t.Fatalf("took %v, want the overflow", got)
		}
		q.push(c(1, "e"))
		if got := q.take(); fmt.Sprint(got) != fmt.Sprint([]vfs.Change{c(1, "e")}) {
			t.Errorf("after the overflow was taken: %v, want e", got)
		}
	}()
	for i, s := range steps {
		for _, p := range s.push {
			q.push(p)
		}
		got := q.take()
		if fmt.Sprint(got) != fmt.Sprint(s.take) {
			t.Errorf("step %d: took %v, want %v", i, got, s.take)
		}
	}
}

// TestWatchHandleEvents steps event translation with synthetic inotify events: pairing of
// renames, unpaired halves, nameless events, unknown and ignored watches, kernel overflow.
func TestWatchHandleEvents(t *testing.T) {
	fs, _ := newTestFS(t, "/dev/shm", Options{})
	w := &watch{fs: fs, wds: map[int32]string{1: "", 2: "sub"}, queue: newChangeQueue(100), now: func() time.Time { return time.Unix(1, 0) }}
	ev := func(wd int32, mask, cookie uint32, name string) inotifyEvent {
		return inotifyEvent{wd: wd, mask: mask, cookie: cookie, name: name}
	}
	w.handle([]inotifyEvent{
		ev(1, unix.IN_CREATE, 0, "f"),
		ev(1, unix.IN_ATTRIB, 0, ""),  // the watched directory itself
		ev(9, unix.IN_CREATE, 0, "x"), // unknown watch
		ev(1, unix.IN_MOVED_FROM, 7, "f"),
		ev(2, unix.IN_MOVED_TO, 7, "g"),
		ev(2, unix.IN_MOVED_FROM|unix.IN_ISDIR, 8, "d"), // moved out of the watch
		ev(1, unix.IN_MOVED_TO, 9, "h"),                 // moved in
		ev(1, unix.IN_CLOSE_WRITE, 0, "h"),
	})
	tm := time.Unix(1, 0)
	want := []vfs.Change{
		{Action: vfs.ChangeAdded, Filter: vfs.FilterFileName, Name: "f", Time: tm},
		{Action: vfs.ChangeRenamedOldName, Filter: vfs.FilterFileName, Name: "f", Time: tm},
		{Action: vfs.ChangeRenamedNewName, Filter: vfs.FilterFileName, Name: "sub/g", Time: tm},
		{Action: vfs.ChangeRemoved, Filter: vfs.FilterDirName, Name: "sub/d", Time: tm},
		{Action: vfs.ChangeAdded, Filter: vfs.FilterFileName, Name: "h", Time: tm},
		{Action: vfs.ChangeModified, Filter: vfs.FilterLastWrite, Name: "h", Time: tm},
	}
	if got := w.queue.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	w.handle([]inotifyEvent{
		ev(2, unix.IN_IGNORED, 0, ""),
		ev(2, unix.IN_DELETE, 0, "g"), // its watch is gone
		ev(1, unix.IN_DELETE, 0, "h"),
	})
	want = []vfs.Change{{Action: vfs.ChangeRemoved, Filter: vfs.FilterFileName, Name: "h", Time: tm}}
	if got := w.queue.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after IN_IGNORED: got %v, want %v", got, want)
	}
	if _, ok := w.wds[2]; ok {
		t.Error("IN_IGNORED did not forget its watch")
	}
	w.handle([]inotifyEvent{ev(1, unix.IN_CREATE, 0, "a"), ev(-1, unix.IN_Q_OVERFLOW, 0, ""), ev(1, unix.IN_CREATE, 0, "b")})
	if got := w.queue.take(); len(got) != 1 || !got[0].Overflow {
		t.Errorf("after IN_Q_OVERFLOW: %v, want one overflow", got)
	}
}

func encodeInotify(events ...inotifyEvent) []byte {
	var b []byte
	for _, e := range events {
		name := []byte(e.name)
		if len(name) > 0 {
			name = append(name, make([]byte, 16-len(name)%16)...)
		}
		var h [inotifyHeaderLen]byte
		binary.NativeEndian.PutUint32(h[0:], uint32(e.wd))
		binary.NativeEndian.PutUint32(h[4:], e.mask)
		binary.NativeEndian.PutUint32(h[8:], e.cookie)
		binary.NativeEndian.PutUint32(h[12:], uint32(len(name)))
		b = append(append(b, h[:]...), name...)
	}
	return b
}

func TestParseInotify(t *testing.T) {
	events := []inotifyEvent{{1, unix.IN_CREATE, 0, "a"}, {2, unix.IN_MOVED_TO, 5, "sixteen-chars-xx"}, {3, unix.IN_IGNORED, 0, ""}}
	got, err := parseInotify(encodeInotify(events...))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(events) {
		t.Fatalf("parse = %v, %v; want %v", got, err, events)
	}
	b := encodeInotify(events...)
	for _, cut := range []int{1, 15, 17, 31} {
		if got, err := parseInotify(b[:cut]); err == nil {
			t.Errorf("truncated at %d: parsed %v without error", cut, got)
		}
	}
}

// FuzzParseInotify: arbitrary bytes never panic, and what parses re-encodes to a prefix-equal
// event list.
func FuzzParseInotify(f *testing.F) {
	f.Add(encodeInotify(inotifyEvent{1, unix.IN_CREATE, 0, "a"}, inotifyEvent{2, unix.IN_MOVED_FROM, 9, "b"}))
	f.Add([]byte{1, 2, 3})
	f.Add(encodeInotify(inotifyEvent{1, unix.IN_Q_OVERFLOW, 0, ""}))
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := parseInotify(b)
		if err == nil {
			again, err := parseInotify(encodeInotify(events...))
			if err != nil || fmt.Sprint(again) != fmt.Sprint(events) {
				t.Fatalf("re-encoded events parse as %v, %v; want %v", again, err, events)
			}
		}
	})
}

// A mark arrives after every change made before it, each time, however many changes there were.
func TestWatchSyncMarkFollowsEarlierChanges(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, root := newTestFS(t, hostFS.dir, Options{})
			if err := os.Mkdir(filepath.Join(root, "w"), 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			ch, mark, err := fs.WatchSync(ctx, "w", false)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cancel()
				for range ch {
				}
			})
			for round := range 3 {
				var names []string
				for i := range 20 {
					n := fmt.Sprintf("r%d-%d", round, i)
					names = append(names, n)
					if err := os.WriteFile(filepath.Join(root, "w", n), nil, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if err := mark(); err != nil {
					t.Fatal(err)
				}
				got := until(t, ch, func(c vfs.Change) bool { return c.Marker })
				seen := map[string]bool{}
				for _, c := range got {
					if c.Action == vfs.ChangeAdded {
						seen[c.Name] = true
					}
				}
				for _, n := range names {
					if !seen[n] {
						t.Fatalf("round %d: mark arrived before %q was reported: %v", round, n, got)
					}
				}
			}
		})
	}
}
