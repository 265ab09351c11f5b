package localfs

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// Each benchmark times localfs for b.N operations, then the same b.N operations with plain os
// package calls on the same tmpfs directory (timer stopped), and reports the ratio
// localfs/os as "x-os" (1.0 = no overhead). Run: go test -run XXX -bench . ./smb/vfs/localfs

func benchFS(b *testing.B) (*FS, string) {
	b.Helper()
	return newTestFS(b, "/dev/shm", Options{})
}

func reportRatio(b *testing.B, ours time.Duration, plain func()) {
	b.StopTimer()
	start := time.Now()
	plain()
	theirs := time.Since(start)
	if theirs > 0 {
		b.ReportMetric(float64(ours)/float64(theirs), "x-os")
		b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "os-ns/op")
	}
}

func BenchmarkReadAt4K(b *testing.B) {
	fs, dir := benchFS(b)
	const fileSize = 64 << 20
	f, _, err := fs.Open(bg, "data", vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(fileSize); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := f.ReadAt(buf, int64(i%(fileSize/4096))*4096); err != nil {
			b.Fatal(err)
		}
	}
	ours := time.Since(start)
	osf, err := os.Open(filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer osf.Close()
	reportRatio(b, ours, func() {
		for i := 0; i < b.N; i++ {
			if _, err := osf.ReadAt(buf, int64(i%(fileSize/4096))*4096); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkWriteAt1M(b *testing.B) {
	fs, dir := benchFS(b)
	const span = 64 // MiB cycled through, so the file stays small on tmpfs
	f, _, err := fs.Open(bg, "data", vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	// Pre-fill so both sides overwrite allocated pages.
	for i := 0; i < span; i++ {
		if _, err := f.WriteAt(buf, int64(i)<<20); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(buf, int64(i%span)<<20); err != nil {
			b.Fatal(err)
		}
	}
	ours := time.Since(start)
	osf, err := os.OpenFile(filepath.Join(dir, "data-os"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer osf.Close()
	for i := 0; i < span; i++ {
		if _, err := osf.WriteAt(buf, int64(i)<<20); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, ours, func() {
		for i := 0; i < b.N; i++ {
			if _, err := osf.WriteAt(buf, int64(i%span)<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpenClose(b *testing.B) {
	fs, dir := benchFS(b)
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "file"), []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	req := vfs.OpenRequest{Disposition: vfs.OpenExisting, Read: true, CaseInsensitive: true}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f, _, err := fs.Open(bg, "a/b/file", req)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	ours := time.Since(start)
	path := filepath.Join(dir, "a", "b", "file")
	reportRatio(b, ours, func() {
		for i := 0; i < b.N; i++ {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

func BenchmarkReadDir10k(b *testing.B) {
	fs, dir := benchFS(b)
	const n = 10000
	if err := os.Mkdir(filepath.Join(dir, "big"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, "big", "file-"+strconv.Itoa(i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	d, _, err := fs.Open(bg, "big", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		entries, err := d.ReadDir()
		if err != nil || len(entries) != n {
			b.Fatalf("ReadDir: %d entries, %v", len(entries), err)
		}
	}
	ours := time.Since(start)
	// The plain equivalent of a listing with metadata: os.ReadDir plus an lstat per entry.
	reportRatio(b, ours, func() {
		for i := 0; i < b.N; i++ {
			entries, err := os.ReadDir(filepath.Join(dir, "big"))
			if err != nil || len(entries) != n {
				b.Fatal(err)
			}
			for _, e := range entries {
				if _, err := e.Info(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
