package server

import "sync"

// Buffer pools by size class. Frames and responses are the server's biggest allocations (up to
// MaxIOSize plus headers per READ or WRITE); reusing them keeps 8 MiB I/O from turning into
// 8 MiB of garbage per request.
//
// A few buffers of each class are kept for good (bufKeep): a sync.Pool is emptied by every other
// garbage collection, and a buffer allocated again comes as fresh pages the kernel must fault in
// (and, in a virtual machine that reports free pages to its host, the host too): measured on a
// 2-core VM, the copy of signed WRITE data out of such buffers into tmpfs took 22% of a put's
// CPU samples against Samba's 4.5% (its buffers stay mapped); keeping 8 brought it to 13%, 32 to
// 8%. A class keeps only as many as were once in use at the same time, at most 16 MiB + 32 MiB +
// 144 MiB.
var bufClasses = [...]int{64 << 10, 1 << 20, 9 << 20}

var bufKeep = [...]int{256, 32, 16}

var (
	bufPools [len(bufClasses)]sync.Pool
	bufFree  [len(bufClasses)]chan *[]byte
)

func init() {
	for i, n := range bufKeep {
		bufFree[i] = make(chan *[]byte, n)
	}
}

// getBuf returns a zero-length slice with capacity at least n.
func getBuf(n int) []byte {
	for i, size := range bufClasses {
		if n <= size {
			select {
			case p := <-bufFree[i]:
				return (*p)[:0]
			default:
			}
			if p, ok := bufPools[i].Get().(*[]byte); ok {
				return (*p)[:0]
			}
			return make([]byte, 0, size)
		}
	}
	return make([]byte, 0, n)
}

// putBuf returns a buffer from getBuf to its pool. The caller must not use it afterwards.
func putBuf(b []byte) {
	for i, size := range bufClasses {
		if cap(b) == size {
			b = b[:0]
			select {
			case bufFree[i] <- &b:
			default:
				bufPools[i].Put(&b)
			}
			return
		}
	}
}
