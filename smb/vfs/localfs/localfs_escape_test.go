package localfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// escapeFixture is a share root with a sibling "outside" directory holding a secret file that
// no operation through the share may read or change.
type escapeFixture struct {
	fs      *FS
	root    string
	outside string
	secret  string // host path of outside/secret
}

const secretContent = "outside the share"

func newEscapeFixture(t *testing.T, parent string) *escapeFixture {
	t.Helper()
	base, err := os.MkdirTemp(parent, "localfs-escape-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	x := &escapeFixture{
		root:    filepath.Join(base, "root"),
		outside: filepath.Join(base, "outside"),
	}
	x.secret = filepath.Join(x.outside, "secret")
	for _, d := range []string{x.root, x.outside, filepath.Join(x.root, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(x.secret, []byte(secretContent), 0o644); err != nil {
		t.Fatal(err)
	}
	x.fs, err = New(x.root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.fs.Close() })
	return x
}

func (x *escapeFixture) symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, filepath.Join(x.root, name)); err != nil {
		t.Fatal(err)
	}
}

// untouched asserts the outside tree is as the fixture made it: the secret unchanged and
// nothing new created next to it.
func (x *escapeFixture) untouched(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(x.secret)
	if err != nil || string(data) != secretContent {
		t.Fatalf("secret outside the root changed: %q, %v", data, err)
	}
	entries, err := os.ReadDir(x.outside)
	if err != nil || len(entries) != 1 {
		t.Fatalf("outside directory changed: %v, %v", entries, err)
	}
}

// refused asserts every disposition on name fails with an escape or invalid-name error and
// leaves the outside alone. Create may instead say the (in-share) name exists.
func (x *escapeFixture) refused(t *testing.T, name string, caseInsensitive bool) {
	t.Helper()
	for _, d := range []vfs.Disposition{vfs.Supersede, vfs.OpenExisting, vfs.Create, vfs.OpenIf, vfs.Overwrite, vfs.OverwriteIf} {
		for _, k := range []vfs.Kind{vfs.AnyKind, vfs.FileOnly, vfs.DirectoryOnly} {
			req := vfs.OpenRequest{Disposition: d, Kind: k, Read: true, Write: k != vfs.DirectoryOnly, CaseInsensitive: caseInsensitive}
			f, _, err := x.fs.Open(context.Background(), name, req)
			if err == nil {
				buf := make([]byte, 64)
				n, _ := f.ReadAt(buf, 0)
				f.Close()
				t.Fatalf("Open(%q, disposition %d, kind %d) succeeded (read %q)", name, d, k, buf[:n])
			}
			if !errors.Is(err, vfs.ErrEscape) && !errors.Is(err, vfs.ErrInvalidName) &&
				!(d == vfs.Create && errors.Is(err, vfs.ErrExists)) {
				t.Errorf("Open(%q, disposition %d, kind %d): %v, want ErrEscape or ErrInvalidName", name, d, k, err)
			}
			x.untouched(t)
		}
	}
}

func TestEscapeSymlinks(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			x := newEscapeFixture(t, hostFS.dir)
			x.symlink(t, x.secret, "abs")
			x.symlink(t, filepath.Join(x.outside, "created-by-escape"), "abs-dangling")
			x.symlink(t, "../outside/secret", "rel")
			x.symlink(t, "../../outside/secret", "sub/rel2")
			x.symlink(t, "../outside/created-by-escape", "rel-dangling")
			x.symlink(t, "chain2", "chain1")
			x.symlink(t, "sub/chain3", "chain2")
			x.symlink(t, "../rel", "sub/chain3")
			x.symlink(t, "../outside", "dirlink")
			x.symlink(t, x.outside, "absdirlink")
			x.symlink(t, "/proc/self/root"+x.secret, "procroot")
			x.symlink(t, "/proc/self/cwd", "proccwd")
			x.symlink(t, "loop2", "loop1")
			x.symlink(t, "loop1", "loop2")
			for _, name := range []string{
				"abs", "abs-dangling", "rel", "sub/rel2", "rel-dangling", "chain1", "chain2", "sub/chain3",
				"dirlink/secret", "dirlink/created-by-escape", "absdirlink/secret", "absdirlink/new",
				"dirlink", "absdirlink", "procroot", "proccwd", "proccwd/x", "loop1", "loop1/x",
			} {
				t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) { x.refused(t, name, false) })
			}
			// Case tricks: a case-insensitive spelling of an escaping link is the same link.
			for _, name := range []string{"ABS", "Dirlink/SECRET", "DIRLINK/new", "SUB/REL2", "ProcRoot"} {
				t.Run("ci_"+strings.ReplaceAll(name, "/", "_"), func(t *testing.T) { x.refused(t, name, true) })
			}
		})
	}
}

func TestEscapeNames(t *testing.T) {
	x := newEscapeFixture(t, "/tmp")
	for _, name := range []string{
		"..", "../outside/secret", "sub/../../outside/secret", "sub/..", x.secret, "/", "//outside",
		"./../outside/secret", "sub/./../..", "sub/\x00/../secret", "../OUTSIDE/SECRET",
	} {
		for _, ci := range []bool{false, true} {
			x.refused(t, name, ci)
		}
	}
	f, _, err := x.fs.Open(context.Background(), "sub/victim", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x.symlink(t, "../outside", "dirlink")
	for _, target := range []string{"../escaped", "../outside/secret", x.secret, "sub/../../escaped", "dirlink/escaped", "dirlink/secret"} {
		for _, replace := range []bool{false, true} {
			err := f.Rename(target, replace)
			if !errors.Is(err, vfs.ErrEscape) && !errors.Is(err, vfs.ErrInvalidName) {
				t.Errorf("Rename(%q, %v): %v, want ErrEscape or ErrInvalidName", target, replace, err)
			}
			x.untouched(t)
		}
	}
	if f.Name() != "sub/victim" {
		t.Errorf("refused renames changed Name to %q", f.Name())
	}
}

// TestEscapeListing: a symlink pointing out is listed as the link, never as its target.
func TestEscapeListing(t *testing.T) {
	x := newEscapeFixture(t, "/tmp")
	x.symlink(t, x.secret, "abs")
	x.symlink(t, "../outside", "dirlink")
	x.symlink(t, "sub", "inside") // stays beneath: listed as what it resolves to
	var outside unix.Stat_t
	if err := unix.Stat(x.secret, &outside); err != nil {
		t.Fatal(err)
	}
	root, _, err := x.fs.Open(context.Background(), "", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	entries, err := root.ReadDir()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]vfs.FileInfo{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	for _, name := range []string{"abs", "dirlink"} {
		e := byName[name]
		if e.Attributes&vfs.AttrReparsePoint == 0 || e.IsDir() || e.ID == outside.Ino || e.Size == int64(len(secretContent)) {
			t.Errorf("escaping link %q listed as %+v, want the link itself", name, e)
		}
	}
	if e := byName["inside"]; !e.IsDir() || e.Attributes&vfs.AttrReparsePoint != 0 {
		t.Errorf("in-share directory link listed as %+v, want the directory", e)
	}
	x.untouched(t)
}

// TestEscapeHardLink: a hard link is the same file under a name inside the share; it does not
// escape and is served.
func TestEscapeHardLink(t *testing.T) {
	x := newEscapeFixture(t, "/tmp")
	if err := os.Link(x.secret, filepath.Join(x.root, "hard")); err != nil {
		t.Fatal(err)
	}
	f, _, err := x.fs.Open(context.Background(), "hard", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	if err != nil {
		t.Fatalf("hard link refused: %v", err)
	}
	defer f.Close()
	buf := make([]byte, len(secretContent))
	if n, err := f.ReadAt(buf, 0); n != len(buf) || string(buf) != secretContent {
		t.Errorf("read through hard link %q, %v", buf[:n], err)
	}
	if fi, _ := f.Stat(); fi.Links != 2 {
		t.Errorf("links %d, want 2", fi.Links)
	}
}

// TestEscapeParentSwapped: the parent directory of an open object is moved away and a
// symlink pointing out takes its name. Remove and Rename must act on the object where it really
// is (inside the share) and never on the same-named file outside.
func TestEscapeParentSwapped(t *testing.T) {
	x := newEscapeFixture(t, "/tmp")
	for _, name := range []string{"secret", "other"} {
		if err := os.WriteFile(filepath.Join(x.root, "sub", name), []byte("inside"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	open := func(name string) vfs.File {
		f, _, err := x.fs.Open(context.Background(), name, vfs.OpenRequest{Disposition: vfs.OpenExisting, Write: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	f, g := open("sub/secret"), open("sub/other")
	if err := os.Rename(filepath.Join(x.root, "sub"), filepath.Join(x.root, "moved")); err != nil {
		t.Fatal(err)
	}
	x.symlink(t, "../outside", "sub")
	if err := f.Remove(); err != nil {
		t.Fatalf("Remove of the moved object: %v", err)
	}
	x.untouched(t)
	if _, err := os.Lstat(filepath.Join(x.root, "moved", "secret")); !os.IsNotExist(err) {
		t.Errorf("the moved object was not removed: %v", err)
	}
	if err := g.Rename("secret", false); err != nil {
		t.Fatalf("Rename of the moved object: %v", err)
	}
	x.untouched(t)
	if data, err := os.ReadFile(filepath.Join(x.root, "secret")); err != nil || string(data) != "inside" {
		t.Errorf("renamed object: %q, %v", data, err)
	}
	// Renaming into the escaping link is refused.
	if err := g.Rename("sub/secret", true); !errors.Is(err, vfs.ErrEscape) {
		t.Errorf("Rename into the escaping link: %v, want ErrEscape", err)
	}
	x.untouched(t)
}

// TestEscapeRace swaps a directory inside the share with a symlink pointing out while opens
// resolve through it. Every open must either reach the inside file or fail; the outside secret
// must never be opened, read or written. The iteration count is bounded (more with SOFS_LONG).
func TestEscapeRace(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			x := newEscapeFixture(t, hostFS.dir)
			if err := os.Mkdir(filepath.Join(x.root, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
			inside := filepath.Join(x.root, "d", "secret")
			if err := os.WriteFile(inside, []byte("inside"), 0o644); err != nil {
				t.Fatal(err)
			}
			var insideStat unix.Stat_t
			if err := unix.Stat(inside, &insideStat); err != nil {
				t.Fatal(err)
			}
			x.symlink(t, "../outside", "swap")
			rootFD, err := unix.Open(x.root, unix.O_PATH|unix.O_DIRECTORY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(rootFD)

			iterations := 3000
			if os.Getenv("SOFS_LONG") != "" {
				iterations = 200000
			}
			stop := make(chan struct{})
			swapped := make(chan int)
			go func() {
				n := 0
				for {
					select {
					case <-stop:
						swapped <- n
						return
					default:
					}
					// Atomically exchange the directory "d" and the escaping symlink "swap".
					if err := unix.Renameat2(rootFD, "d", rootFD, "swap", unix.RENAME_EXCHANGE); err == nil {
						n++
					}
				}
			}()
			var opened, refused int
			for i := 0; i < iterations; i++ {
				for _, d := range []vfs.Disposition{vfs.OpenExisting, vfs.OverwriteIf, vfs.OpenIf} {
					f, _, err := x.fs.Open(context.Background(), "d/secret", vfs.OpenRequest{Disposition: d, Read: true, Write: d != vfs.OpenExisting, Attributes: vfs.AttrArchive})
					if err != nil {
						refused++
						continue
					}
					opened++
					fi, err := f.Stat()
					f.Close()
					if err != nil || fi.ID != insideStat.Ino {
						close(stop)
						<-swapped
						t.Fatalf("open of d/secret reached inode %d, the inside file is %d", fi.ID, insideStat.Ino)
					}
				}
			}
			close(stop)
			swaps := <-swapped
			x.untouched(t)
			t.Logf("%d swaps; %d opens reached the inside file, %d were refused", swaps, opened, refused)
			if swaps == 0 || opened == 0 {
				t.Errorf("race did not exercise both states: %d swaps, %d opens", swaps, opened)
			}
		})
	}
}

// TestEscapeMagicLinks mounts a procfs inside the share, so a relative symlink that stays
// beneath the root reaches /proc/self/fd/N, a magic link to a descriptor of the outside secret.
// Only RESOLVE_NO_MAGICLINKS stops that; the open must fail and the secret stay unread.
func TestEscapeMagicLinks(t *testing.T) {
	x := newEscapeFixture(t, "/tmp")
	procDir := filepath.Join(x.root, "proc")
	if err := os.Mkdir(procDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("proc", procDir, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mount proc inside the share (the test needs root): %v", err)
	}
	// Registered after the fixture's RemoveAll, so it runs before it.
	t.Cleanup(func() { unix.Unmount(procDir, unix.MNT_DETACH) })
	secretFD, err := unix.Open(x.secret, unix.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(secretFD)
	x.symlink(t, "proc/self/fd/"+strconv.Itoa(secretFD), "fdlink")
	x.symlink(t, "proc/self/root"+x.secret, "rootlink")
	for _, name := range []string{"fdlink", "proc/self/fd/" + strconv.Itoa(secretFD), "rootlink", "proc/self/cwd/x", "proc/thread-self/root/etc/passwd"} {
		x.refused(t, name, false)
	}
}
