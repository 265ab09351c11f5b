package localfs

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

// TestSendFile moves a range to a socket with sendfile(2) and reads it back on the other end;
// past the end of file it sends nothing.
func TestSendFile(t *testing.T) {
	fs, _ := newTestFS(t, os.TempDir(), Options{})
	f := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create, Write: true, Read: true})
	data := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	rd := os.NewFile(uintptr(pair[1]), "peer")
	defer rd.Close()
	defer unix.Close(pair[0])
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(rd); got <- b }()
	sender := f.(vfs.FileSender)
	off, left := int64(1000), 100000
	for left > 0 {
		n, err := sender.SendFile(pair[0], off, left)
		if err != nil {
			t.Fatalf("SendFile at %d: %v", off, err)
		}
		off += int64(n)
		left -= n
	}
	if n, err := sender.SendFile(pair[0], int64(len(data)), 4096); n != 0 || err != nil {
		t.Fatalf("SendFile at end of file = %d, %v; want 0, nil", n, err)
	}
	unix.Close(pair[0])
	if b := <-got; !bytes.Equal(b, data[1000:101000]) {
		t.Fatalf("peer read %d bytes, not the 100000 sent from offset 1000", len(b))
	}
}
