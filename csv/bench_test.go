package csv

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sofs-dev/sofs/internal/iobench"
	"github.com/sofs-dev/sofs/smb/vfs"
)

// Benchmarks run on a volume in a sparse file under the test's temp directory and, for data,
// against the same I/O on a plain file in the same directory (same device).

func benchVolume(b *testing.B, size int64) *Volume {
	b.Helper()
	path := newDevicePath(b, size, FormatOptions{})
	v := mountPath(b, path)
	b.Cleanup(func() { v.Close() })
	return v
}

func BenchmarkMetadata(b *testing.B) {
	b.Run("create", func(b *testing.B) {
		v := benchVolume(b, 1<<30)
		for i := 0; b.Loop(); i++ {
			f, _, err := v.Open(ctx, fmt.Sprintf("f%d", i), vfs.OpenRequest{Disposition: vfs.Create})
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("create-parallel", func(b *testing.B) {
		v := benchVolume(b, 1<<30)
		var n atomic.Int64
		b.SetParallelism(16) // many clients: creates share journal flushes (group commit)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f, _, err := v.Open(ctx, fmt.Sprintf("f%d", n.Add(1)), vfs.OpenRequest{Disposition: vfs.Create})
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	})
	setup := func(b *testing.B, count int) *Volume {
		v := benchVolume(b, 1<<30)
		for i := 0; i < count; i++ {
			f, _, err := v.Open(ctx, fmt.Sprintf("f%d", i), vfs.OpenRequest{Disposition: vfs.Create})
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		return v
	}
	b.Run("stat", func(b *testing.B) {
		v := setup(b, 1000)
		for i := 0; b.Loop(); i++ {
			f, _, err := v.Open(ctx, fmt.Sprintf("F%d", i%1000), vfs.OpenRequest{Disposition: vfs.OpenExisting})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Stat(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("rename", func(b *testing.B) {
		v := setup(b, 1)
		f, _, err := v.Open(ctx, "f0", vfs.OpenRequest{Disposition: vfs.OpenExisting})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			if err := f.Rename(fmt.Sprintf("r%d", i), false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delete", func(b *testing.B) {
		v := benchVolume(b, 1<<30)
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			f, _, err := v.Open(ctx, fmt.Sprintf("f%d", i), vfs.OpenRequest{Disposition: vfs.Create})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := f.Remove(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// target is the common part of a volume file and a plain file.
type target interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
}

func dataTargets(b *testing.B, size int64) map[string]target {
	v := benchVolume(b, size+size/4+(64<<20))
	f, _, err := v.Open(ctx, "data", vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
	if err != nil {
		b.Fatal(err)
	}
	plain, err := os.OpenFile(filepath.Join(b.TempDir(), "plain"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { plain.Close() })
	return map[string]target{"csv": f, "plain": plain}
}

func BenchmarkData(b *testing.B) {
	const fileSize = 256 << 20
	for _, name := range []string{"csv", "plain"} {
		b.Run("seq-write-1MiB/"+name, func(b *testing.B) {
			tg := dataTargets(b, fileSize)[name]
			buf := make([]byte, 1<<20)
			b.SetBytes(int64(len(buf)))
			for i := 0; b.Loop(); i++ {
				if _, err := tg.WriteAt(buf, int64(i%256)<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, name := range []string{"csv", "plain"} {
		for _, op := range iobench.Ops {
			b.Run(op+"/"+name, func(b *testing.B) {
				tg := dataTargets(b, fileSize)[name]
				chunk := make([]byte, 1<<20)
				for off := int64(0); off < fileSize; off += int64(len(chunk)) {
					if _, err := tg.WriteAt(chunk, off); err != nil {
						b.Fatal(err)
					}
				}
				iobench.Run(b, op, tg, fileSize)
			})
		}
	}
}

// BenchmarkClone measures server-side copy of a large file by extent sharing.
func BenchmarkClone(b *testing.B) {
	size := int64(256 << 20)
	if long() {
		size = 10 << 30
	}
	v := benchVolume(b, 2*size+(256<<20))
	src, _, err := v.Open(ctx, "src", vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Allocate(size); err != nil {
		b.Fatal(err)
	}
	if err := src.Truncate(size); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		dst, _, err := v.Open(ctx, fmt.Sprintf("copy%d", i), vfs.OpenRequest{Disposition: vfs.Create, Read: true, Write: true})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := v.CloneRange(dst, 0, src, 0, size); err != nil || n != size {
			b.Fatalf("clone: %d, %v", n, err)
		}
		b.StopTimer()
		if err := dst.Remove(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
