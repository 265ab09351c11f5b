// Package iobench holds the data-access loops that benchmarks of different storage paths share,
// so a volume, a plain file and an SMB share are measured by the same code.
package iobench

import (
	"math/rand/v2"
	"testing"
)

// File is the part of a file the loops use.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
}

// Ops are the operations Run knows, in the order benchmarks report them.
var Ops = []string{"seq-read-1MiB", "rand-read-4KiB", "rand-write-4KiB"}

// Run runs op (one of Ops) on f, which holds at least fileSize bytes already written, for b.N
// iterations: sequential 1 MiB reads wrapping at 256 MiB, or random 4 KiB-aligned reads or
// writes across fileSize. Random offsets come from a fixed seed, so peers see the same ones.
func Run(b *testing.B, op string, f File, fileSize int64) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	seq := op == "seq-read-1MiB"
	if !seq {
		buf = buf[:4096]
		for i := range buf {
			buf[i] = byte(i*7 + 1)
		}
	}
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		off := int64(i%256) << 20
		if !seq {
			off = rng.Int64N(fileSize/4096) * 4096
		}
		var err error
		if op == "rand-write-4KiB" {
			_, err = f.WriteAt(buf, off)
		} else {
			_, err = f.ReadAt(buf, off)
		}
		if err != nil {
			b.Fatalf("%s at %d: %v", op, off, err)
		}
	}
}
