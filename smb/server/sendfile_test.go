package server

import (
	"bytes"
	"context"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/vfs/localfs"
)

// TestFileSendMaterialize covers the fallback of a deferred READ (a response that ends up signed
// or encrypted): the data is read into the response after its header, and a file that shrank
// after the header promised n bytes gives zeros past its new end, never stale buffer bytes.
func TestFileSendMaterialize(t *testing.T) {
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
	data := bytes.Repeat([]byte{0xAB}, 300)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	sender, ok := f.(vfs.FileSender)
	if !ok {
		t.Fatal("localfs files do not implement vfs.FileSender")
	}
	hdr := []byte("header")
	resp := append(getBuf(16)[:0], hdr...)
	resp = resp[:cap(resp)] // dirty the buffer beyond the header, as a reused one is
	for i := len(hdr); i < len(resp); i++ {
		resp[i] = 0xEE
	}
	resp = resp[:len(hdr)]
	fsd := &fileSend{f: sender, off: 100, n: 400} // 200 bytes exist at 100, 200 do not
	out, err := fsd.materialize(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, hdr...), data[100:]...), make([]byte, 200)...)
	if !bytes.Equal(out, want) {
		t.Fatalf("materialized response = %x\nwant %x", out, want)
	}
}
