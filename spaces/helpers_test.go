package spaces

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Small geometry so tests run in milliseconds: 1 MiB slabs, 256 KiB regions, 256 KiB metadata slots.
const (
	testSlab   = 1 << 20
	testRegion = 256 << 10
	testMeta   = 256 << 10
)

func testCreateOpts(epoch uint64) CreateOptions {
	return CreateOptions{Owner: OwnerToken{NodeID: "n1", Epoch: epoch}, SlabSize: testSlab, RegionSize: testRegion,
		MetaSlotSize: testMeta, Logf: func(string, ...any) {}}
}

func testOpenOpts(t testing.TB, node string, epoch uint64) OpenOptions {
	return OpenOptions{Owner: OwnerToken{NodeID: node, Epoch: epoch}, Logf: func(f string, a ...any) { t.Logf(f, a...) }}
}

// fileDisks creates n sparse files of size bytes in a temp dir and opens them, wrapped for faults.
func fileDisks(t testing.TB, n int, size int64) ([]string, []*FaultyDevice) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	var devs []*FaultyDevice
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("disk%d", i))
		if err := CreateFileDisk(p, size); err != nil {
			t.Fatal(err)
		}
		d, err := OpenFileDevice(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		paths = append(paths, p)
		devs = append(devs, NewFaultyDevice(d))
	}
	return paths, devs
}

func memDisks(n int, size int64) ([]*MemDevice, []*FaultyDevice) {
	var mems []*MemDevice
	var devs []*FaultyDevice
	for i := 0; i < n; i++ {
		m := NewMemDevice(size)
		mems = append(mems, m)
		devs = append(devs, NewFaultyDevice(m))
	}
	return mems, devs
}

func asDevices(fs []*FaultyDevice) []BlockDevice {
	out := make([]BlockDevice, len(fs))
	for i, f := range fs {
		out[i] = f
	}
	return out
}

// pattern fills a buffer with data determined by (seed, off) so any block can be re-derived.
func pattern(seed uint64, off int64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, uint64(off)))
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustWrite(t testing.TB, v *VirtualDisk, p []byte, off int64) {
	t.Helper()
	if n, err := v.WriteAt(p, off); err != nil || n != len(p) {
		t.Fatalf("write %d bytes at %d: n=%d err=%v", len(p), off, n, err)
	}
}

func mustRead(t testing.TB, v *VirtualDisk, want []byte, off int64) {
	t.Helper()
	got := make([]byte, len(want))
	if n, err := v.ReadAt(got, off); err != nil || n != len(got) {
		t.Fatalf("read %d bytes at %d: n=%d err=%v", len(got), off, n, err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("read %d bytes at %d: differs from byte %d", len(got), off, i)
	}
}

// copyFileOffset returns where a virtual disk byte lives on copy ci of its slab.
func copyFileOffset(t testing.TB, v *VirtualDisk, off int64, ci int) (diskIndex int, devOff int64) {
	t.Helper()
	s := v.slabs[off/v.slabSize]
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.list[ci]
	return c.diskIndex, c.dataOff(off % v.slabSize)
}

var _ = crc32.Castagnoli
var _ = os.Getenv

// mirrorWithData creates a pool on devs with a 2-slab mirror virtual disk "m" holding
// pattern(seed) durably.
func mirrorWithData(t testing.TB, devs []*FaultyDevice, seed uint64) (*Pool, *VirtualDisk, []byte) {
	t.Helper()
	p, err := CreatePool(asDevices(devs), testCreateOpts(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("m", 2*testSlab, Mirror)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(seed, 0, int(v.Size()))
	mustWrite(t, v, data, 0)
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	return p, v, data
}
