package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/csv"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// Server-side copy on one volume, through SMB: FSCTL_SRV_COPYCHUNK_WRITE over the whole file
// (MS-SMB2 3.3.5.15.6, the server's limits of 16 chunks of 1 MiB, 16 MiB a request), as
// Windows Explorer and robocopy copy, and FSCTL_DUPLICATE_EXTENTS_TO_FILE (MS-FSCC 2.3.8), as
// Hyper-V copies a VHDX. Both must share the source's blocks, not copy them.

// copyPattern fills p with the content of the test file at off: every 4 KiB block starts with
// its offset and its complement, the rest comes from a fixed pseudo-random block, so the data is
// neither zero nor repetitive at block granularity (a block mapped to the wrong place shows).
var copyBase = func() []byte {
	b := make([]byte, csv.BlockSize)
	r := rand.New(rand.NewPCG(6, 6))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

func copyPattern(p []byte, off int64) {
	for i := 0; i < len(p); {
		abs := off + int64(i)
		blk := abs / csv.BlockSize * csv.BlockSize
		var stamp [csv.BlockSize]byte
		copy(stamp[:], copyBase)
		binary.LittleEndian.PutUint64(stamp[0:], uint64(blk))
		binary.LittleEndian.PutUint64(stamp[8:], ^uint64(blk))
		stamp[16] ^= byte(blk >> 12)
		i += copy(p[i:], stamp[abs-blk:])
	}
}

// writeCopySource formats a volume of volBytes at img and writes a size-byte file "src.bin" of
// copyPattern data into it through the csv package (faster than SMB, and not what is measured).
func writeCopySource(t testing.TB, img string, volBytes, size int64) {
	t.Helper()
	sofsctl(t, "csv", "format", "--size", strconv.FormatInt(volBytes, 10), img)
	v, err := csv.OpenPath(img, csv.MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := v.Open(context.Background(), "src.bin", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.FileOnly, Read: true, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		chunk := buf[:min(int64(len(buf)), size-off)]
		copyPattern(chunk, off)
		if _, err := f.WriteAt(chunk, off); err != nil {
			t.Fatalf("write source at %d: %v", off, err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
}

// rawOpen opens (or creates) name for reading and writing with the raw client.
func rawOpen(t testing.TB, c *rawClient, name string, disposition uint32) wire.FileID {
	t.Helper()
	resp, st := c.create(&wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      wire.FileReadData | wire.FileWriteData | wire.FileReadAttributes | wire.Synchronize,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite,
		CreateDisposition:  disposition,
		CreateOptions:      wire.FileNonDirectoryFile,
		Name:               name,
	})
	if st != wire.StatusSuccess {
		t.Fatalf("create %s: %v", name, st)
	}
	return resp.FileID
}

// ioctl sends one FSCTL on id and returns its output and status.
func (c *rawClient) ioctl(ctl uint32, id wire.FileID, input []byte, maxOut uint32) ([]byte, wire.Status) {
	rq := wire.IoctlRequest{CtlCode: ctl, FileID: id, Input: input, MaxOutputResponse: maxOut, Flags: wire.IoctlFlagIsFSCTL}
	msg, st := c.call(wire.CmdIoctl, rq.Append)
	var resp wire.IoctlResponse
	if err := resp.Decode(msg); err != nil {
		return nil, st // an error response has no IOCTL body
	}
	return resp.Output, st
}

func (c *rawClient) setEndOfFile(id wire.FileID, size int64) wire.Status {
	rq := wire.SetInfoRequest{InfoType: wire.InfoFile, FileInfoClass: wire.FileEndOfFileInformation, FileID: id,
		Buffer: binary.LittleEndian.AppendUint64(nil, uint64(size))}
	_, st := c.call(wire.CmdSetInfo, rq.Append)
	return st
}

// copyChunkWhole copies size bytes of src to dst with FSCTL_SRV_COPYCHUNK_WRITE requests of 16
// chunks of 1 MiB, one after another as a client does.
func copyChunkWhole(t testing.TB, c *rawClient, src, dst wire.FileID, size int64) {
	t.Helper()
	out, st := c.ioctl(wire.FSCTL_SRV_REQUEST_RESUME_KEY, src, nil, 32)
	if st != wire.StatusSuccess {
		t.Fatalf("request resume key: %v", st)
	}
	var key wire.ResumeKeyResponse
	if err := key.Decode(out); err != nil {
		t.Fatal(err)
	}
	const chunk, perRequest = 1 << 20, 16
	for off := int64(0); off < size; {
		cc := wire.CopyChunkRequest{SourceKey: key.ResumeKey}
		want := int64(0)
		for range perRequest {
			if off >= size {
				break
			}
			n := min(chunk, size-off)
			cc.Chunks = append(cc.Chunks, wire.CopyChunk{SourceOffset: uint64(off), TargetOffset: uint64(off), Length: uint32(n)})
			off += n
			want += n
		}
		out, st := c.ioctl(wire.FSCTL_SRV_COPYCHUNK_WRITE, dst, cc.Append(nil), 12)
		var done wire.CopyChunkResponse
		if st != wire.StatusSuccess || done.Decode(out) != nil || int64(done.TotalBytesWritten) != want {
			t.Fatalf("copychunk ending at %d: %v, %d of %d bytes", off, st, done.TotalBytesWritten, want)
		}
	}
}

// duplicateWhole makes dst a block-shared copy of size bytes of src with one
// FSCTL_DUPLICATE_EXTENTS_TO_FILE, after setting dst's end of file as Hyper-V does.
func duplicateWhole(t testing.TB, c *rawClient, src, dst wire.FileID, size int64) {
	t.Helper()
	if st := c.setEndOfFile(dst, size); st != wire.StatusSuccess {
		t.Fatalf("set end of file: %v", st)
	}
	dx := wire.DuplicateExtents{SourceFileID: src, ByteCount: size}
	if _, st := c.ioctl(wire.FSCTL_DUPLICATE_EXTENTS_TO_FILE, dst, dx.Append(nil), 0); st != wire.StatusSuccess {
		t.Fatalf("duplicate extents: %v", st)
	}
}

// verifyCopy reads samples of name through SMB and compares them with copyPattern: the first
// and last bytes, 64 random ranges of random length up to 256 KiB, and ranges across 1 MiB
// boundaries (where copychunk's chunks meet); the size must be size.
func verifyCopy(t testing.TB, c *rawClient, id wire.FileID, name string, size int64, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	type sample struct{ off, n int64 }
	samples := []sample{{0, min(size, 64<<10)}, {max(0, size-64<<10), min(size, 64<<10)}}
	for range 64 {
		n := 1 + r.Int64N(256<<10)
		samples = append(samples, sample{r.Int64N(size - n + 1), n})
	}
	for range 8 {
		mib := 1 + r.Int64N(max(1, size>>20-1))
		samples = append(samples, sample{mib<<20 - 3000, 6000})
	}
	want := make([]byte, 256<<10)
	for _, s := range samples {
		// The raw client charges one credit a request: reads of at most 64 KiB.
		var got []byte
		for len(got) < int(s.n) {
			part, st := c.read(id, uint64(s.off)+uint64(len(got)), uint32(min(64<<10, int(s.n)-len(got))))
			if st != wire.StatusSuccess || len(part) == 0 {
				t.Fatalf("%s: read at %d: %v", name, s.off+int64(len(got)), st)
			}
			got = append(got, part...)
		}
		copyPattern(want[:s.n], s.off)
		if !bytes.Equal(got, want[:s.n]) {
			t.Fatalf("%s: %d bytes at %d differ from the source", name, s.n, s.off)
		}
	}
	// Past the end there is nothing.
	if _, st := c.read(id, uint64(size), 1); st != wire.StatusEndOfFile {
		t.Fatalf("%s: read at end of file %d: %v, want STATUS_END_OF_FILE (size differs)", name, size, st)
	}
}

// freeBytes is the share's free space as the client sees it.
func freeBytes(t testing.TB, s *sofsd) int64 {
	t.Helper()
	_, fs := dialGoSMB2(t, s, smb311, false)
	st, err := fs.Statfs("")
	if err != nil {
		t.Fatal(err)
	}
	return int64(st.AvailableBlockCount()) * int64(st.BlockSize()) * int64(st.FragmentSize())
}

type copyTimes struct{ copyChunk, duplicate time.Duration }

// csvServerSideCopy writes a size-byte source file on a volume too small to hold a real copy,
// then copies it with copychunk and with duplicate extents through sofsd, checks both copies'
// content and that free space barely moved, and returns how long each copy took.
func csvServerSideCopy(t testing.TB, size int64) copyTimes {
	img := filepath.Join(t.TempDir(), "vol.img")
	// Data area about 1.5× the file after the metadata areas (about 1/7 of the device): a
	// copy that allocated would run out of space.
	vol := (size + size/2 + 256<<20) * 8 / 7
	writeCopySource(t, img, vol, size)
	s := startSofsdShare(t, "csv:"+img)
	c := dialRaw(t, s, randomGUID(t))
	src := rawOpen(t, c, "src.bin", wire.FileOpen)
	freeBefore := freeBytes(t, s)

	var times copyTimes
	dst1 := rawOpen(t, c, "copychunk.bin", wire.FileCreate)
	t0 := time.Now()
	copyChunkWhole(t, c, src, dst1, size)
	times.copyChunk = time.Since(t0)

	dst2 := rawOpen(t, c, "duplicate.bin", wire.FileCreate)
	t0 = time.Now()
	duplicateWhole(t, c, src, dst2, size)
	times.duplicate = time.Since(t0)

	verifyCopy(t, c, dst1, "copychunk.bin", size, 1)
	verifyCopy(t, c, dst2, "duplicate.bin", size, 2)
	verifyCopy(t, c, src, "src.bin", size, 3)
	// Both copies together may take metadata and a few partial blocks, far from a copy's worth:
	// at most 1/64 of the file.
	used := freeBefore - freeBytes(t, s)
	if used > size/64 {
		t.Fatalf("two server-side copies of %d MiB used %d KiB of free space: blocks were copied, not shared", size>>20, used>>10)
	}
	t.Logf("two copies of %d MiB took %d KiB of the volume's %d MiB free", size>>20, used>>10, freeBefore>>20)
	// Copy-on-write: a write to a copy leaves the source as it was.
	if st := c.write(dst2, 5<<20+100, []byte("written to the copy")); st != wire.StatusSuccess {
		t.Fatalf("write to the copy: %v", st)
	}
	verifyCopy(t, c, src, "src.bin after a write to its copy", size, 4)
	for _, id := range []wire.FileID{src, dst1, dst2} {
		c.close(id)
	}
	s.stop(t)
	sofsctl(t, "csv", "check", img) // fails the test on any problem found
	return times
}

// TestCsvServerSideCopy copies a 256 MiB file on a volume with copychunk and duplicate extents
// through SMB and requires the blocks to be shared (make bench measures 10 GiB).
func TestCsvServerSideCopy(t *testing.T) {
	times := csvServerSideCopy(t, 256<<20)
	t.Logf("256 MiB: copychunk %v, duplicate extents %v", times.copyChunk, times.duplicate)
}

// BenchmarkCsvServerSideCopy is the target: a 10 GiB file (SOFS_CSV_COPY_GIB) copied on
// one volume through SMB in at most a second. Run with -benchtime 1x; it reports seconds.
func BenchmarkCsvServerSideCopy(b *testing.B) {
	gib := int64(10)
	if s := os.Getenv("SOFS_CSV_COPY_GIB"); s != "" {
		var err error
		if gib, err = strconv.ParseInt(s, 10, 64); err != nil || gib < 1 {
			b.Fatalf("SOFS_CSV_COPY_GIB=%q", s)
		}
	}
	var total copyTimes
	n := 0
	for b.Loop() {
		b.StopTimer()
		times := csvServerSideCopy(b, gib<<30)
		total.copyChunk += times.copyChunk
		total.duplicate += times.duplicate
		n++
		b.StartTimer()
	}
	b.ReportMetric(total.copyChunk.Seconds()/float64(n), "copychunk-s")
	b.ReportMetric(total.duplicate.Seconds()/float64(n), "dupextents-s")
	b.ReportMetric(float64(gib), "GiB")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "csv server-side copy of %d GiB: copychunk %.3f s, duplicate extents %.3f s\n",
		gib, total.copyChunk.Seconds()/float64(n), total.duplicate.Seconds()/float64(n))
}
