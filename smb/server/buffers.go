package server

import "sync"

// Buffer pools by size class. Frames and responses are the server's biggest allocations (up to
// MaxIOSize plus headers per READ or WRITE); reusing them keeps 8 MiB I/O from turning into
// 8 MiB of garbage per request.
var bufClasses = [...]int{64 << 10, 1 << 20, 9 << 20}

var bufPools [len(bufClasses)]sync.Pool

// getBuf returns a zero-length slice with capacity at least n.
func getBuf(n int) []byte {
	for i, size := range bufClasses {
		if n <= size {
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
			bufPools[i].Put(&b)
			return
		}
	}
}
