package localfs

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// BenchmarkStreamWriteAt4K: a 4 KiB write into a 16 KiB named stream on tmpfs. Every write
// rewrites the whole xattr, so the cost grows with the stream's size, not the write's.
// Run: go test -run XXX -bench Stream ./smb/vfs/localfs
func BenchmarkStreamWriteAt4K(b *testing.B) {
	fs, _ := benchFS(b)
	s, _, err := fs.Open(bg, "f:s", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Truncate(16 << 10); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.WriteAt(buf, int64(i%4)*4096); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWatchLatency: from creating a file on disk (not through the FS) to its change
// arriving on a watch's channel.
func BenchmarkWatchLatency(b *testing.B) {
	fs, dir := benchFS(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := fs.Watch(ctx, "", false)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := "f" + strconv.Itoa(i)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		timer := time.NewTimer(10 * time.Second)
	wait:
		for {
			select {
			case c := <-ch:
				if c.Action == vfs.ChangeAdded && c.Name == name {
					break wait
				}
			case <-timer.C:
				b.Fatalf("change for %s never arrived", name)
			}
		}
		timer.Stop()
		b.StopTimer()
		f.Close()
		os.Remove(filepath.Join(dir, name))
		b.StartTimer()
	}
}
