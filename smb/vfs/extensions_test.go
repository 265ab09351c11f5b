package vfs_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sofs-dev/sofs/csv"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/vfs/localfs"
)

func TestWriteZerosOverwritesOnlyTheRange(t *testing.T) {
	fs, err := localfs.New(t.TempDir(), localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	f, _, err := fs.Open(context.Background(), "f", vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte{0xAB}, 3<<20)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := vfs.WriteZeros(f, 100, 2<<20+5); err != nil {
		t.Fatalf("WriteZeros: %v", err)
	}
	got := make([]byte, len(data))
	if n, _ := f.ReadAt(got, 0); n != len(data) {
		t.Fatalf("read %d bytes", n)
	}
	want := append(append(bytes.Repeat([]byte{0xAB}, 100), make([]byte, 2<<20+5-100)...), bytes.Repeat([]byte{0xAB}, len(data)-(2<<20+5))...)
	if !bytes.Equal(got, want) {
		t.Fatalf("WriteZeros changed bytes outside [100, 2MiB+5) or left some non-zero inside")
	}
	if err := vfs.WriteZeros(f, 10, 10); err != nil {
		t.Fatalf("empty range: %v", err)
	}
}

// The capability interfaces are shaped after csv's volume: it already serves server-side copy
// and zeroing through them. (AllocatedRanges returns csv.Range, not vfs.Range, and csv has no
// SetSparse yet, so csv shares report neither allocation maps nor sparse files.)
var (
	_ vfs.RangeCloner = (*csv.Volume)(nil)
	_ vfs.RangeZeroer = (*csv.Volume)(nil)
)
