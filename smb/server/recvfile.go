package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
	"golang.org/x/sys/unix"
)

// Zero-copy WRITE (the receiving half of sendfile.go). A large WRITE that arrives alone in its
// frame, unsigned and in plain text, is read only up to the end of its fixed part; its data is
// spliced from the socket into pipes of its own (the kernel hands the received pages over
// without copying them), and the connection goes on reading frames while the request runs
// through the ordinary pipeline (session, tree, credits, open, access, locks). The handler then
// splices the data from the pipes into the file: one copy, into the page cache, instead of two
// through a buffer of ours. A request refused before its data is needed just drops the pipes.
// A pipe holds at most /proc/sys/fs/pipe-max-size (1 MiB by default) without CAP_SYS_RESOURCE,
// so an 8 MiB WRITE takes several.
//
// Signed and encrypted WRITEs cannot take this path: their data must be in memory to be verified
// or decrypted before anything of it may reach the file.

// recvFileMin is the smallest WRITE worth the extra system calls.
const recvFileMin = 128 << 10

// maxPooledPipes bounds the empty pipes a connection keeps for later WRITEs (two 8 MiB WRITEs'
// worth of 1 MiB pipes).
const maxPooledPipes = 16

// wantPipeSize is the capacity asked of each pipe.
const wantPipeSize = 1 << 20

// recvPipe is a pipe holding one WRITE's data.
type recvPipe struct {
	r, w int
	size int // capacity
}

func (p *recvPipe) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}

// writePayload is the data of a WRITE, waiting in pipes: n bytes, in order.
type writePayload struct {
	c     *conn
	pipes []*recvPipe
	fill  []int // bytes in each pipe, not yet taken out
	n     int   // sum of fill
	once  sync.Once
}

// readPlainWrite reads a plain WRITE's frame of n bytes (wire.WritePayloadLen accepted it, with
// dataLen bytes of data): the head, then the data into pipes (payload) when it can, or else the
// rest of the frame. The frame returned is the head alone when there is a payload.
func (c *conn) readPlainWrite(rd *bufio.Reader, n, dataLen int) ([]byte, *writePayload, error) {
	head := getBuf(wire.WriteHeadSize)[:wire.WriteHeadSize]
	if _, err := io.ReadFull(rd, head); err != nil {
		putBuf(head)
		return nil, nil, err
	}
	p, spliced, err := c.receivePayload(rd, dataLen)
	if err != nil {
		putBuf(head)
		return nil, nil, err
	}
	if spliced {
		return head, p, nil
	}
	frame := getBuf(n)[:n]
	copy(frame, head)
	putBuf(head)
	if _, err := io.ReadFull(rd, frame[wire.WriteHeadSize:]); err != nil {
		putBuf(frame)
		return nil, nil, err
	}
	return frame, nil, nil
}

// receivePayload moves a WRITE's n bytes of data from the connection into pipes: first what rd
// has buffered of it, then the rest straight from the socket. ok is false, with nothing
// consumed, when the connection cannot splice or no pipe can be had; err is a failure to read
// the connection (it is then dropped).
func (c *conn) receivePayload(rd *bufio.Reader, n int) (p *writePayload, ok bool, err error) {
	raw := c.spliceConn()
	if raw == nil {
		return nil, false, nil
	}
	p = &writePayload{c: c, n: n}
	for have := 0; have < n; {
		pipe := c.getPipe()
		if pipe == nil {
			p.discard()
			return nil, false, nil
		}
		p.pipes = append(p.pipes, pipe)
		p.fill = append(p.fill, 0)
		have += pipe.size
	}
	left := n
	pipe := 0
	room := p.pipes[0].size
	if k := min(rd.Buffered(), left); k > 0 {
		// Fewer bytes than the 16 KiB read buffer: they fit in the first pipe.
		b, _ := rd.Peek(k)
		for len(b) > 0 {
			m, werr := unix.Write(p.pipes[0].w, b)
			if werr == unix.EINTR {
				continue
			}
			if werr != nil {
				p.discard()
				return nil, true, fmt.Errorf("recvfile: fill pipe: %w", werr)
			}
			b = b[m:]
		}
		_, _ = rd.Discard(k)
		left -= k
		room -= k
		p.fill[0] += k
	}
	for left > 0 {
		if room == 0 {
			pipe++
			room = p.pipes[pipe].size
		}
		want := min(left, room)
		var got int
		var serr error
		rerr := raw.Read(func(sock uintptr) bool {
			for {
				m, err := unix.Splice(int(sock), nil, p.pipes[pipe].w, nil, want, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				switch {
				case err == unix.EINTR:
					continue
				case err == unix.EAGAIN:
					return false // wait until the socket has data
				case err != nil:
					serr = err
				case m == 0:
					serr = io.ErrUnexpectedEOF
				}
				got = int(m)
				return true
			}
		})
		if err := errors.Join(rerr, serr); err != nil {
			p.discard()
			return nil, true, err
		}
		left -= got
		room -= got
		p.fill[pipe] += got
	}
	return p, true, nil
}

// spliceConn is the socket's raw descriptor, or nil where there is none to splice from.
func (c *conn) spliceConn() syscall.RawConn {
	c.rawOnce.Do(func() {
		if sc, ok := c.nc.(syscall.Conn); ok {
			c.rawConn, _ = sc.SyscallConn()
		}
	})
	return c.rawConn
}

// getPipe returns an empty pipe of wantPipeSize: a pooled one, or a new one; nil when the kernel
// gives none that large.
func (c *conn) getPipe() *recvPipe {
	c.pipeMu.Lock()
	if k := len(c.pipes); k > 0 {
		p := c.pipes[k-1]
		c.pipes = c.pipes[:k-1]
		c.pipeMu.Unlock()
		return p
	}
	c.pipeMu.Unlock()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil
	}
	p := &recvPipe{r: fds[0], w: fds[1]}
	// A pipe the kernel keeps small (a user over its pipe-user-pages-soft share) would make an
	// 8 MiB WRITE take thousands: such a WRITE is read the ordinary way instead.
	size, err := unix.FcntlInt(uintptr(p.w), unix.F_SETPIPE_SZ, wantPipeSize)
	if err != nil || size < wantPipeSize {
		p.close()
		return nil
	}
	p.size = size
	return p
}

// putPipe keeps an empty pipe for the connection's next WRITE, or closes it.
func (c *conn) putPipe(p *recvPipe) {
	c.pipeMu.Lock()
	defer c.pipeMu.Unlock()
	if c.pipesClosed || len(c.pipes) >= maxPooledPipes {
		p.close()
		return
	}
	c.pipes = append(c.pipes, p)
}

// closePipes releases the pooled pipes at teardown, once no request can be using them.
func (c *conn) closePipes() {
	c.pipeMu.Lock()
	defer c.pipeMu.Unlock()
	for _, p := range c.pipes {
		p.close()
	}
	c.pipes, c.pipesClosed = nil, true
}

// discard drops the data unused: the request was refused before it needed it. Closing the
// pipes frees their pages at once.
func (p *writePayload) discard() {
	p.once.Do(func() {
		for _, pipe := range p.pipes {
			pipe.close()
		}
	})
}

// release returns the emptied pipes for reuse.
func (p *writePayload) release() {
	p.once.Do(func() {
		for _, pipe := range p.pipes {
			p.c.putPipe(pipe)
		}
	})
}

// readAll reads the data into memory, for a WRITE whose target cannot splice (a named pipe).
func (p *writePayload) readAll() ([]byte, error) {
	buf := make([]byte, p.n)
	if _, err := p.readInto(buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// readInto reads what is left in the pipes into buf (len(buf) = p.n), in order.
func (p *writePayload) readInto(buf []byte) (int, error) {
	done := 0
	for i, pipe := range p.pipes {
		if p.fill[i] == 0 {
			continue
		}
		if _, err := io.ReadFull(pipeReader(pipe.r), buf[done:done+p.fill[i]]); err != nil {
			p.discard()
			return done, fmt.Errorf("recvfile: read pipe: %w", err)
		}
		done += p.fill[i]
		p.fill[i] = 0
	}
	p.n = 0
	p.release()
	return done, nil
}

// writeTo writes the data to f at off and returns the bytes written. A file that cannot take
// data from a pipe (or refuses a splice) gets the rest through memory, so the file's own error
// (disk full, no write access) is what the request reports.
func (p *writePayload) writeTo(f vfs.File, off int64) (int, error) {
	written := 0
	if fr, ok := f.(vfs.FileReceiver); ok {
	pipes:
		for i, pipe := range p.pipes {
			for p.fill[i] > 0 {
				// Never more than the pipe holds: a splice from an empty pipe would wait.
				m, err := fr.SpliceFrom(pipe.r, off+int64(written), p.fill[i])
				if m > 0 {
					// Counted even beside an error: the fill counts must stay exact, or the
					// read-back below would wait for bytes that are gone.
					written += m
					p.fill[i] -= m
					p.n -= m
				}
				if err != nil || m <= 0 {
					break pipes
				}
			}
		}
	}
	if p.n > 0 {
		rest, err := p.readAll()
		if err != nil {
			return written, err
		}
		m, err := f.WriteAt(rest, off+int64(written))
		return written + m, err
	}
	p.release()
	return written, nil
}

// pipeReader reads a pipe whose bytes are already in it.
type pipeReader int

func (r pipeReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(int(r), b)
		if err == unix.EINTR {
			continue
		}
		if err == nil && n == 0 {
			return 0, io.EOF
		}
		return max(n, 0), err
	}
}
