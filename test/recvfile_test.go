package test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/sofs-dev/sofs/smb/wire"
)

// TestPlainLargeWriteSplicedAndRefused drives the zero-copy WRITE path of sofsd
// (smb/server/recvfile.go: the data of a large unsigned WRITE goes from the socket into pipes and
// from there into the file once the request has been checked) with our raw client, which does
// not sign (go-smb2 always does, so it never takes this path). Large writes read back byte for
// byte; large WRITEs refused before their data is used (a credit charge too small for the
// length, a FileId that names no open) get their error, and the connection is still positioned
// at the next frame: the writes after them land where they should.
func TestPlainLargeWriteSplicedAndRefused(t *testing.T) {
	s := startSofsd(t)
	c := dialRaw(t, s, randomGUID(t))
	cr := &wire.CreateRequest{ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess: wire.FileReadData | wire.FileWriteData | wire.FileReadAttributes | wire.Synchronize,
		ShareAccess:   wire.FileShareRead, CreateDisposition: wire.FileOverwriteIf,
		CreateOptions: wire.FileNonDirectoryFile, Name: "spliced.bin"}
	resp, st := c.create(cr)
	if st != wire.StatusSuccess {
		t.Fatalf("create: %v", st)
	}
	id := resp.FileID
	write := func(fid wire.FileID, off uint64, data []byte, charge uint16) wire.Status {
		w := wire.WriteRequest{FileID: fid, Offset: off, Data: data}
		_, st := c.wait(c.sendCharged(wire.CmdWrite, 0, charge, w.Append))
		return st
	}
	chunk := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	var want []byte
	put := func(off int, data []byte) {
		t.Helper()
		if st := write(id, uint64(off), data, uint16((len(data)+65535)/65536)); st != wire.StatusSuccess {
			t.Fatalf("write %d bytes at %d: %v", len(data), off, st)
		}
		if end := off + len(data); end > len(want) {
			want = append(want, make([]byte, end-len(want))...)
		}
		copy(want[off:], data)
	}
	put(0, chunk(1<<20))
	put(1<<20, chunk(128<<10+1)) // just over the splice threshold, odd length
	put(4097, chunk(300<<10))    // unaligned, over what was written
	if st := write(id, 0, chunk(1<<20), 1); st != wire.StatusInvalidParameter {
		t.Fatalf("1 MiB write charged 1 credit: %v, want STATUS_INVALID_PARAMETER", st)
	}
	bogus := id
	bogus.Volatile ^= 0xdeadbeef
	if st := write(bogus, 0, chunk(1<<20), 16); st != wire.StatusFileClosed {
		t.Fatalf("1 MiB write to a FileId that names no open: %v, want STATUS_FILE_CLOSED", st)
	}
	put(2<<20, chunk(2<<20))
	var got []byte
	for off := 0; off < len(want); off += 64 << 10 {
		b, st := c.read(id, uint64(off), 64<<10)
		if st != wire.StatusSuccess {
			t.Fatalf("read at %d: %v", off, st)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, differing from the %d written", len(got), len(want))
	}
	if st := c.close(id); st != wire.StatusSuccess {
		t.Fatalf("close: %v", st)
	}
}
