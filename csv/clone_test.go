package csv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// TestCloneSharesBlocks clones a file, checks that no data block was copied, then writes to both
// files and checks that each write copied only the block it touched (copy-on-write) and left
// the other file unchanged.
func TestCloneSharesBlocks(t *testing.T) {
	v, path := newVolume(t)
	const size = 16 << 20
	src := mustOpen(t, v, "src", createReq())
	data := patterned(1, size)
	if _, err := src.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := src.Sync(); err != nil {
		t.Fatal(err)
	}
	usedBefore := v.c.st.usedCount
	recordsBefore := v.c.Stats().Records
	dst := mustOpen(t, v, "dst", createReq())
	n, err := v.CloneRange(dst, 0, src, 0, size)
	if err != nil || n != size {
		t.Fatalf("clone: %d, %v", n, err)
	}
	if v.c.st.usedCount != usedBefore {
		t.Fatalf("clone used %d more blocks, want 0", v.c.st.usedCount-usedBefore)
	}
	if got := v.c.Stats().Records - recordsBefore; got != 2 { // create dst, clone
		t.Fatalf("clone of %d MiB took %d records, want 2", size>>20, got)
	}
	if !bytes.Equal(readAll(t, dst), data) {
		t.Fatal("clone content differs")
	}
	if _, err := src.WriteAt([]byte("SOURCE"), 5*BlockSize+10); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.WriteAt([]byte("DEST"), 9*BlockSize); err != nil {
		t.Fatal(err)
	}
	if got := v.c.st.usedCount - usedBefore; got != 2 {
		t.Fatalf("two small writes to shared blocks copied %d blocks, want 2", got)
	}
	wantSrc := append([]byte(nil), data...)
	copy(wantSrc[5*BlockSize+10:], "SOURCE")
	wantDst := append([]byte(nil), data...)
	copy(wantDst[9*BlockSize:], "DEST")
	if !bytes.Equal(readAll(t, src), wantSrc) || !bytes.Equal(readAll(t, dst), wantDst) {
		t.Fatal("copy-on-write leaked a write into the other file")
	}
	ranges, err := v.AllocatedRanges(dst, 0, 1<<40)
	if err != nil || len(ranges) != 1 || ranges[0] != (Range{0, size}) {
		t.Fatalf("allocated ranges %v, %v", ranges, err)
	}
	if err := v.ZeroRange(dst, BlockSize+1, 3*BlockSize); err != nil {
		t.Fatal(err)
	}
	ranges, _ = v.AllocatedRanges(dst, 0, 1<<40)
	if len(ranges) != 2 || ranges[0] != (Range{0, 2 * BlockSize}) || ranges[1].Offset != 4*BlockSize {
		t.Fatalf("after zeroing, allocated ranges %v", ranges)
	}
	copy(wantDst[BlockSize+1:4*BlockSize+1], make([]byte, 3*BlockSize))
	if !bytes.Equal(readAll(t, dst), wantDst) {
		t.Fatal("zero range content wrong")
	}
	if err := src.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if r := checkPath(t, path); r.SharedBlocks != 0 {
		t.Fatalf("%d blocks still shared after the source was removed", r.SharedBlocks)
	}
	v2 := mountPath(t, path)
	defer v2.Close()
	g := mustOpen(t, v2, "dst", vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true})
	if !bytes.Equal(readAll(t, g), wantDst) {
		t.Fatal("clone content lost across remount")
	}
}

// TestSecurityDescriptorsDeduplicated stores descriptors on several objects: equal descriptors
// are kept once, survive remounts (journal replay and checkpoint), and go when unused.
func TestSecurityDescriptorsDeduplicated(t *testing.T) {
	path := newDevicePath(t, 16<<20, FormatOptions{})
	v := mountPath(t, path)
	sdA, sdB := []byte("O:BAG:BAD:(A;;FA;;;WD)"), []byte("O:SYG:SYD:(A;;FR;;;BU)")
	var files []vfs.File
	for i, name := range []string{"a", "b", "c", "d"} {
		f := mustOpen(t, v, name, createReq())
		if _, err := f.(vfs.Securable).SecurityDescriptor(); !errors.Is(err, vfs.ErrNotFound) {
			t.Fatalf("descriptor before any was set: %v", err)
		}
		sd := sdA
		if i == 3 {
			sd = sdB
		}
		if err := f.(vfs.Securable).SetSecurityDescriptor(sd); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if n := len(v.c.st.sds); n != 2 {
		t.Fatalf("%d descriptors stored for 2 distinct ones", n)
	}
	// Crash-style remount: replayed from the journal.
	v.abandon()
	if r := checkPath(t, path); r.SecurityDescriptors != 2 {
		t.Fatalf("check counts %d descriptors", r.SecurityDescriptors)
	}
	v = mountPath(t, path)
	for i, name := range []string{"a", "b", "c", "d"} {
		f := mustOpen(t, v, name, vfs.OpenRequest{Disposition: vfs.OpenExisting})
		got, err := f.(vfs.Securable).SecurityDescriptor()
		want := sdA
		if i == 3 {
			want = sdB
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s descriptor %q, %v", name, got, err)
		}
		if i == 3 {
			if err := f.Remove(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(v.c.st.sds); n != 1 {
		t.Fatalf("%d descriptors after the only user of one was removed", n)
	}
	if err := v.Close(); err != nil { // checkpoint
		t.Fatal(err)
	}
	if r := checkPath(t, path); r.SecurityDescriptors != 1 {
		t.Fatalf("check counts %d descriptors after checkpoint", r.SecurityDescriptors)
	}
	v = mountPath(t, path)
	defer v.Close()
	f := mustOpen(t, v, "A", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if got, err := f.(vfs.Securable).SecurityDescriptor(); err != nil || !bytes.Equal(got, sdA) {
		t.Fatalf("after checkpoint: %q, %v", got, err)
	}
}
