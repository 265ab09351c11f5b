package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/spaces"
)

// The pool and vdisk commands are tested by running the real built sofsctl on file-backed disks;
// data is written and checked through the spaces package in this process, so the test sees that
// the commands move real data, not only that they print.

var sofsctlBin string

func TestMain(m *testing.M) {
	code := func() int {
		if bin := os.Getenv("SOFS_BIN"); bin != "" {
			if _, err := os.Stat(filepath.Join(bin, "sofsctl")); err == nil {
				sofsctlBin = filepath.Join(bin, "sofsctl")
				return m.Run()
			}
		}
		dir, err := os.MkdirTemp("", "sofsctl-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		sofsctlBin = filepath.Join(dir, "sofsctl")
		build := exec.Command("go", "build", "-o", sofsctlBin, ".")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building sofsctl:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

type cliPool struct {
	t     *testing.T
	dir   string
	disks []string
}

func (c *cliPool) diskArgs() []string {
	var out []string
	for _, d := range c.disks {
		out = append(out, "--disk", d)
	}
	return out
}

// run runs sofsctl with args plus the pool's --disk flags and the test owner, and returns its
// output; wantErr says whether it must fail.
func (c *cliPool) run(wantErr bool, args ...string) string {
	c.t.Helper()
	args = append(append(args, c.diskArgs()...), "--node", "n1")
	cmd := exec.Command(sofsctlBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if (err != nil) != wantErr {
		c.t.Fatalf("sofsctl %s: err %v (want error: %v)\n%s", strings.Join(args, " "), err, wantErr, out.String())
	}
	return out.String()
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

func (c *cliPool) open() *spaces.Pool {
	c.t.Helper()
	var devs []spaces.BlockDevice
	for _, path := range c.disks {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		d, err := spaces.OpenFileDevice(path)
		if err != nil {
			c.t.Fatal(err)
		}
		devs = append(devs, d)
	}
	p, err := spaces.OpenPool(devs, spaces.OpenOptions{Owner: spaces.OwnerToken{NodeID: "n1", Epoch: 1}, Logf: c.t.Logf})
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

func testData(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i/4096)
	}
	return b
}

func TestPoolAndVdiskCommands(t *testing.T) {
	c := &cliPool{t: t, dir: t.TempDir()}
	for i := 0; i < 3; i++ {
		c.disks = append(c.disks, filepath.Join(c.dir, fmt.Sprintf("disk%d", i)))
	}
	out := c.run(false, "pool", "create", "--create-size", "64M", "--slab-size", "4M", "--region-size", "1M")
	mustContain(t, out, "health healthy", "active")

	// Bad input: clear errors, nothing changed.
	mustContain(t, c.run(true, "vdisk", "create", "--name", "bad", "--size", "8M", "--resiliency", "mirror4"), "want simple, mirror or mirror3")
	mustContain(t, c.run(true, "vdisk", "create", "--name", "bad", "--size", "lots"), "want a number")
	mustContain(t, c.run(true, "vdisk", "create", "--name", "big", "--size", "1G"), "not enough free capacity")
	mustContain(t, c.run(true, "pool", "repair", "--epoch", "0"), "owned by another writer")

	out = c.run(false, "vdisk", "create", "--name", "vd", "--size", "16M", "--resiliency", "mirror")
	mustContain(t, out, "vdisk vd  16.0 MiB  mirror  health healthy  slabs 4 (degraded 0, unhealthy 0)")
	mustContain(t, c.run(false, "vdisk", "show"), "vdisk vd ")
	mustContain(t, c.run(false, "vdisk", "show", "--name", "vd"), "slab 3")

	// Data through the library, so repair and retire have something to move.
	p := c.open()
	v, err := p.VirtualDisk("vd")
	if err != nil {
		t.Fatal(err)
	}
	data := testData(int(v.Size()))
	if _, err := v.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	// A fourth disk, then the loss of disk 2 (its file moved away: the path no longer opens).
	c.disks = append(c.disks, filepath.Join(c.dir, "disk3"))
	mustContain(t, c.run(false, "pool", "add-disk", "--new", c.disks[3], "--create-size", "64M"), "added disk ")
	gone := c.disks[2] + ".pulled"
	if err := os.Rename(c.disks[2], gone); err != nil {
		t.Fatal(err)
	}
	out = c.run(false, "pool", "show")
	mustContain(t, out, "health degraded", "active    false") // show is read-only: absent, not yet recorded failed

	// Repair, throttled so that another process can watch it: pool show, run while it copies,
	// reads the progress the repairing process records in the pool metadata.
	repair := exec.Command(sofsctlBin, append(append([]string{"pool", "repair", "--rate", "4M", "--remove-failed"}, c.diskArgs()...), "--node", "n1")...)
	var repairOut bytes.Buffer
	repair.Stdout, repair.Stderr = &repairOut, &repairOut
	if err := repair.Start(); err != nil {
		t.Fatal(err)
	}
	running := regexp.MustCompile(`repair \[[#.]+\] +[0-9.]+%  [0-9.]+ [KM]?i?B / [1-9][0-9.]* MiB  .* slabs [0-9]+/[1-9][0-9]*  eta .* \(recorded .* ago\)`)
	deadline := time.Now().Add(60 * time.Second)
	seen := ""
	for seen == "" && time.Now().Before(deadline) {
		cmd := exec.Command(sofsctlBin, append(append([]string{"pool", "show"}, c.diskArgs()...), "--node", "n1")...)
		o, _ := cmd.CombinedOutput()
		if m := running.Find(o); m != nil {
			seen = string(m)
		}
	}
	if err := repair.Wait(); err != nil {
		t.Fatalf("pool repair: %v\n%s", err, repairOut.String())
	}
	if seen == "" {
		t.Fatalf("pool show never showed the running repair; repair printed:\n%s", repairOut.String())
	}
	t.Logf("seen from another process: %s", seen)
	mustContain(t, repairOut.String(), "100.0%", "removed failed disk", "health healthy")
	c.disks = append(c.disks[:2], c.disks[3])
	out = c.run(false, "pool", "show")
	mustContain(t, out, "health healthy", "repair [##############################] 100.0%", "done (recorded")
	mustContain(t, c.run(false, "vdisk", "show", "--name", "vd"), "health healthy")

	// Scrub finds nothing wrong; a flipped byte in one copy is found and healed.
	mustContain(t, c.run(false, "pool", "scrub"), "scrub: read 32.0 MiB, 0 bad blocks, 0 healed")
	corruptOneCopy(t, c.disks[0])
	mustContain(t, c.run(false, "pool", "scrub"), "1 bad blocks, 1 healed")

	// Retire the added disk: its copies move to the other two, and it leaves the pool.
	p = c.open()
	var addedID string
	for _, d := range p.Disks() {
		if d.Index == 3 {
			addedID = d.ID
		}
	}
	p.Close()
	out = c.run(false, "pool", "retire-disk", "--id", addedID[:8])
	mustContain(t, out, "100.0%")
	out = c.run(false, "pool", "show")
	if strings.Contains(out, addedID) {
		t.Fatalf("retired disk still listed:\n%s", out)
	}
	mustContain(t, out, "health healthy")
	c.disks = c.disks[:2]
	p = c.open()
	v, err = p.VirtualDisk("vd")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := v.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("data after repair, scrub and retire: err %v, equal %v", err, bytes.Equal(got, data))
	}
	p.Close()

	mustContain(t, c.run(false, "vdisk", "delete", "--name", "vd"), "deleted virtual disk vd")
	if out := c.run(false, "vdisk", "show"); strings.Contains(out, "vdisk vd") {
		t.Fatalf("deleted vdisk still shown:\n%s", out)
	}
	mustContain(t, c.run(true, "vdisk", "delete", "--name", "vd"), "not found")

	// A thin virtual disk may be larger than the free capacity: it takes none until written.
	out = c.run(false, "vdisk", "create", "--name", "th", "--size", "1G", "--thin")
	mustContain(t, out, "thin: 0 of 256 slabs allocated")
	mustContain(t, out, "slab 255   unallocated")
}

// corruptOneCopy flips a byte in the first data block of the first extent of a disk file (an
// extent that holds a slab copy after the repairs above), bypassing spaces.
func corruptOneCopy(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The disk header (spaces/format.go) holds the data area's offset as its eighth 64-bit field
	// after the 44-byte identity prefix.
	hdr := make([]byte, 108)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	off := int64(binary.LittleEndian.Uint64(hdr[100:]))
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off+100); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off+100); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}
