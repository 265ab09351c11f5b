package csv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// The crash test re-executes the test binary as a child that mounts a volume on a file and runs a
// deterministic mixed workload, printing "ack N" after operation N is acknowledged. The parent
// SIGKILLs it at a random acknowledgement, or the child's device tears a write and drops a random
// set of unflushed writes and kills the process itself. Then the parent checks the volume and
// compares it with the reference model: every acknowledged operation must be there, the one in
// flight either there or not (a torn in-place overwrite may mix old and new bytes of that one
// write), and nothing else. Child and parent generate the same operations from the same seed and
// the same starting tree.

const (
	envCrashChild = "SOFS_CSV_CRASH_CHILD"
	envCrashPath  = "SOFS_CSV_CRASH_PATH"
	envCrashSeed  = "SOFS_CSV_CRASH_SEED"
	envCrashTear  = "SOFS_CSV_CRASH_TEAR_AT"
)

func TestMain(m *testing.M) {
	if os.Getenv(envCrashChild) == "1" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashOp is one workload operation.
type crashOp struct {
	kind     string
	path, to string
	off      int64
	data     []byte
	size     int64
	replace  bool
	through  bool
	attrs    vfs.Attr
	created  int64
}

func (o crashOp) String() string {
	return fmt.Sprintf("%s %q %q off=%d len=%d size=%d", o.kind, o.path, o.to, o.off, len(o.data), o.size)
}

// nextCrashOp draws a valid operation for the model's current tree.
func nextCrashOp(rng *rand.Rand, m *model, seq int) crashOp {
	files := m.sortedKeys(isFile)
	dirs := append([]string{""}, m.sortedKeys(func(n *modelNode) bool { return n.dir })...)
	newName := func() string {
		for {
			d := dirs[rng.IntN(len(dirs))]
			p := strings.TrimPrefix(d+"/"+fmt.Sprintf("n%d", rng.IntN(40)), "/")
			if rng.IntN(3) == 0 {
				p = strings.TrimPrefix(d+"/"+fmt.Sprintf("N%d", rng.IntN(40)), "/")
			}
			if m.get(p) == nil && strings.Count(p, "/") < 4 {
				return p
			}
		}
	}
	for {
		switch k := rng.IntN(100); {
		case k < 12:
			return crashOp{kind: "create", path: newName()}
		case k < 17:
			return crashOp{kind: "mkdir", path: newName()}
		case k < 50 && len(files) > 0:
			p := files[rng.IntN(len(files))]
			size := int64(len(m.get(p).data))
			var off int64
			switch rng.IntN(3) {
			case 0: // overwrite inside
				off = rng.Int64N(size + 1)
			case 1: // extend at the end
				off = size
			default: // beyond the end (a gap)
				off = size + rng.Int64N(3*BlockSize)
			}
			n := 1 + rng.IntN(6*BlockSize)
			if off > 1<<20 {
				off = rng.Int64N(1 << 18)
			}
			return crashOp{kind: "write", path: p, off: off, data: patterned(seq*7919+rng.IntN(1000), n), through: rng.IntN(2) == 0}
		case k < 58 && len(files) > 0:
			p := files[rng.IntN(len(files))]
			return crashOp{kind: "truncate", path: p, size: rng.Int64N(int64(len(m.get(p).data)) + 2*BlockSize + 1)}
		case k < 70 && len(files)+len(dirs) > 1:
			all := m.sortedKeys(anyNode)
			from := all[rng.IntN(len(all))]
			if rng.IntN(3) == 0 && !m.get(from).dir && len(files) > 1 {
				to := files[rng.IntN(len(files))]
				if foldPath(to) != foldPath(from) {
					return crashOp{kind: "rename", path: from, to: to, replace: true}
				}
			}
			to := newName()
			if strings.HasPrefix(foldPath(to), foldPath(from)+"/") {
				continue
			}
			return crashOp{kind: "rename", path: from, to: to}
		case k < 80 && len(files) > 0:
			return crashOp{kind: "delete", path: files[rng.IntN(len(files))]}
		case k < 85 && len(dirs) > 1:
			d := dirs[1+rng.IntN(len(dirs)-1)]
			if !m.empty(d) {
				continue
			}
			return crashOp{kind: "rmdir", path: d}
		case k < 100:
			all := m.sortedKeys(anyNode)
			if len(all) == 0 {
				continue
			}
			attrs := []vfs.Attr{vfs.AttrArchive, vfs.AttrTemporary, vfs.AttrNotContentIndexed | vfs.AttrArchive}[rng.IntN(3)]
			return crashOp{kind: "setinfo", path: all[rng.IntN(len(all))], attrs: attrs, created: 1e15 + int64(seq)*1000}
		}
	}
}

// applyModel performs op on the model.
func (o crashOp) applyModel(m *model) {
	switch o.kind {
	case "create":
		m.open(o.path, vfs.Create, vfs.FileOnly)
	case "mkdir":
		m.open(o.path, vfs.Create, vfs.DirectoryOnly)
	case "write":
		m.write(o.path, o.off, o.data)
	case "truncate":
		m.truncate(o.path, o.size)
	case "rename":
		m.rename(o.path, o.to, o.replace)
	case "delete", "rmdir":
		m.remove(o.path)
	case "setinfo":
		n := m.get(o.path)
		n.attrs, n.created = o.attrs, o.created
		if n.dir {
			n.attrs |= vfs.AttrDirectory
		}
	}
}

// applyVolume performs op through the vfs API; it returns once the op is acknowledged (durable).
func (o crashOp) applyVolume(v *Volume) error {
	open := func(req vfs.OpenRequest) (vfs.File, error) {
		f, _, err := v.Open(ctx, o.path, req)
		return f, err
	}
	var f vfs.File
	var err error
	switch o.kind {
	case "create":
		f, err = open(vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.FileOnly})
	case "mkdir":
		f, err = open(vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
	default:
		f, err = open(vfs.OpenRequest{Disposition: vfs.OpenExisting, Write: true, Read: true, WriteThrough: o.through})
	}
	if err != nil {
		return err
	}
	defer f.Close()
	switch o.kind {
	case "write":
		if _, err := f.WriteAt(o.data, o.off); err != nil {
			return err
		}
		if !o.through {
			return f.Sync()
		}
	case "truncate":
		return f.Truncate(o.size)
	case "rename":
		return f.Rename(o.to, o.replace)
	case "delete", "rmdir":
		return f.Remove()
	case "setinfo":
		created := time.Unix(0, o.created)
		return f.SetInfo(vfs.SetInfo{Attributes: &o.attrs, CreationTime: &created})
	}
	return nil
}

// modelFromVolume reads the volume's whole tree into a model.
func modelFromVolume(v *Volume) (*model, error) {
	m := newModel()
	var walk func(dir string) error
	walk = func(dir string) error {
		d, _, err := v.Open(ctx, dir, vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.DirectoryOnly})
		if err != nil {
			return err
		}
		defer d.Close()
		entries, err := d.ReadDir()
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := strings.TrimPrefix(dir+"/"+e.Name, "/")
			n := &modelNode{path: p, dir: e.IsDir(), attrs: e.Attributes, created: e.CreationTime.UnixNano()}
			m.nodes[foldPath(p)] = n
			if n.dir {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			f, _, err := v.Open(ctx, p, vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
			if err != nil {
				return err
			}
			n.data = make([]byte, e.Size)
			_, err = f.ReadAt(n.data, 0)
			f.Close()
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
		}
		return nil
	}
	return m, walk("")
}

// crashDevice wraps a FileDevice for the child: it remembers every write since the last flush
// (with the bytes it replaced) so that, at the chosen write, it can tear that write, drop a random
// set of the unflushed ones (as a volatile disk cache would) and kill the process.
type crashDevice struct {
	*FileDevice
	mu        sync.Mutex
	rng       *rand.Rand
	writes    int // writes and flushes so far
	tearAt    int // the write or flush at which to crash (0: never)
	unflushed []pendingWrite
}

type pendingWrite struct {
	off      int64
	old, new []byte
}

const sector = 512

func (d *crashDevice) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes++
	old := make([]byte, len(p))
	if _, err := d.FileDevice.ReadAt(old, off); err != nil {
		return 0, err
	}
	if d.tearAt > 0 && d.writes == d.tearAt {
		// Torn: a prefix of whole sectors reaches the disk.
		keep := d.rng.IntN(len(p)/sector+1) * sector
		d.FileDevice.WriteAt(p[:min(keep, len(p))], off)
		d.dropUnflushed()
		d.FileDevice.f.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	d.unflushed = append(d.unflushed, pendingWrite{off, old, append([]byte(nil), p...)})
	return d.FileDevice.WriteAt(p, off)
}

// dropUnflushed reverts a random subset of unflushed writes, newest first; a write is only
// dropped if no newer kept write overlaps it (a disk cannot keep the later of two writes to a
// sector and lose the earlier one in a way that shows the older data).
func (d *crashDevice) dropUnflushed() {
	var kept []pendingWrite
	for i := len(d.unflushed) - 1; i >= 0; i-- {
		w := d.unflushed[i]
		overlaps := false
		for _, k := range kept {
			if w.off < k.off+int64(len(k.new)) && k.off < w.off+int64(len(w.new)) {
				overlaps = true
			}
		}
		if overlaps || d.rng.IntN(2) == 0 {
			kept = append(kept, w)
			continue
		}
		d.FileDevice.WriteAt(w.old, w.off)
	}
}

func (d *crashDevice) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes++
	if d.tearAt > 0 && d.writes == d.tearAt {
		// Crash while flushing: any subset of the unflushed writes may have reached the disk.
		d.dropUnflushed()
		d.FileDevice.f.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	d.unflushed = d.unflushed[:0]
	return d.FileDevice.Flush()
}

// crashChild runs the workload until killed (or 3000 operations).
func crashChild() int {
	path := os.Getenv(envCrashPath)
	seed, _ := strconv.ParseUint(os.Getenv(envCrashSeed), 10, 64)
	tearAt, _ := strconv.Atoi(os.Getenv(envCrashTear))
	fdev, err := OpenFileDevice(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	dev := &crashDevice{FileDevice: fdev, rng: rand.New(rand.NewPCG(seed, 99)), tearAt: tearAt}
	v, err := Mount(dev, MountOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child mount:", err)
		return 2
	}
	m, err := modelFromVolume(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child read tree:", err)
		return 2
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	out := bufio.NewWriter(os.Stdout)
	for i := 1; i <= 3000; i++ {
		op := nextCrashOp(rng, m, i)
		if err := op.applyVolume(v); err != nil {
			fmt.Fprintf(os.Stderr, "child op %d %v: %v\n", i, op, err)
			return 3
		}
		op.applyModel(m)
		fmt.Fprintf(out, "ack %d\n", i)
		out.Flush()
	}
	if err := v.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "child close:", err)
		return 3
	}
	return 0
}

// compareMixed is compareTree for the state after a crash during a write: the written file may
// hold, byte by byte, either the old or the new content, and either size.
func compareMixed(v *Volume, before, after *model, path string) error {
	got, err := modelFromVolume(v)
	if err != nil {
		return err
	}
	k := foldPath(path)
	g, b, a := got.nodes[k], before.nodes[k], after.nodes[k]
	if g == nil || b == nil || a == nil {
		return fmt.Errorf("%q missing", path)
	}
	if len(g.data) != len(b.data) && len(g.data) != len(a.data) {
		return fmt.Errorf("%q: size %d, want %d or %d", path, len(g.data), len(b.data), len(a.data))
	}
	for i, c := range g.data {
		okB := i < len(b.data) && b.data[i] == c
		okA := i < len(a.data) && a.data[i] == c
		if !okB && !okA {
			return fmt.Errorf("%q: byte %d is %#x, neither old nor new (stale data?)", path, i, c)
		}
	}
	// Everything else must equal the model.
	g.data = append([]byte(nil), b.data...)
	if len(got.nodes[k].data) != len(b.data) {
		g.data = append([]byte(nil), a.data...)
	}
	rest := before.clone()
	rest.nodes[k].data = g.data
	return compareTree(v, withData(rest, k, readFile(v, path)))
}

func readFile(v *Volume, path string) []byte {
	f, _, err := v.Open(ctx, path, vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, _ := f.Stat()
	b := make([]byte, fi.Size)
	f.ReadAt(b, 0)
	return b
}

func withData(m *model, key string, data []byte) *model {
	m.nodes[key].data = data
	return m
}

// abandon stops a volume as a crash would: no final checkpoint, journal left for replay.
func (v *Volume) abandon() {
	v.c.fail(errors.New("abandoned"))
	<-v.c.done
	if v.closer != nil {
		v.closer.Close()
	}
}

func TestCrashConsistency(t *testing.T) {
	runs := 200 // "hundreds of times in make test": about 30 s on 2 loaded cores
	if long() {
		runs = 1000
	}
	path := filepath.Join(t.TempDir(), "crash.img")
	dev, err := CreateFileDevice(path, 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	// A small journal so runs wrap it and checkpoint often.
	if err := Format(dev, FormatOptions{JournalBlocks: 128, CheckpointBlocks: 128}); err != nil {
		t.Fatal(err)
	}
	dev.Close()
	rng := rand.New(rand.NewPCG(20261122, 7))
	totalAcked, tears := 0, 0
	for run := 0; run < runs; run++ {
		seed := rng.Uint64()
		v := mountPath(t, path)
		start, err := modelFromVolume(v)
		if err != nil {
			t.Fatal(err)
		}
		v.abandon()

		tearAt := 0
		if run%2 == 1 {
			tearAt = 1 + rng.IntN(400)
			tears++
		}
		killAfter := 1 + rng.IntN(60)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashChild+"=1", envCrashPath+"="+path,
			envCrashSeed+"="+strconv.FormatUint(seed, 10), envCrashTear+"="+strconv.Itoa(tearAt))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := 0
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			acked++
			if want := fmt.Sprintf("ack %d", acked); sc.Text() != want {
				t.Fatalf("run %d: child said %q, want %q", run, sc.Text(), want)
			}
			// The child keeps going until the signal lands; the acks it prints meanwhile are
			// still read, so the last one read is the last one acknowledged.
			if tearAt == 0 && acked == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			if !(err == nil && acked == 3000) {
				t.Fatalf("run %d: child ended with %v after %d acks: %s", run, err, acked, stderr.String())
			}
		}
		totalAcked += acked

		// Replay the same operations on the model.
		m := start
		orng := rand.New(rand.NewPCG(seed, 1))
		var inFlight crashOp
		for i := 1; i <= acked+1; i++ {
			op := nextCrashOp(orng, m, i)
			if i == acked+1 {
				inFlight = op
				break
			}
			op.applyModel(m)
		}
		after := m.clone()
		inFlight.applyModel(after)

		checkPath(t, path)
		v = mountPath(t, path)
		errBefore := compareTree(v, m)
		if errBefore != nil {
			if errAfter := compareTree(v, after); errAfter != nil {
				mixed := errors.New("not a write")
				if inFlight.kind == "write" {
					mixed = compareMixed(v, m, after, inFlight.path)
				}
				if mixed != nil {
					t.Fatalf("run %d (seed %d, tear at %d) after %d acks, in flight %v:\n without it: %v\n with it: %v\n mixed: %v",
						run, seed, tearAt, acked, inFlight, errBefore, errAfter, mixed)
				}
			}
		}
		if run%5 == 4 {
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
		} else {
			v.abandon()
		}
	}
	t.Logf("%d runs (%d with torn writes), %d acknowledged operations verified", runs, tears, totalAcked)
}
