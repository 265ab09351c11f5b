package server

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
	"golang.org/x/sys/unix"
)

// Zero-copy READ. A large READ answered alone, unsigned and unencrypted, does not need its data
// in the server's memory: the response header goes out first and sendfile(2) moves the data
// from the file to the socket. Only send() knows whether the response will be signed or
// encrypted, so the handler records what to send (fileSend) and send() either streams it or,
// for every other case, reads it into the response as the ordinary path would.

// sendFileMin is the smallest READ worth a second system call.
const sendFileMin = 64 << 10

// fileSend is READ data still in the file: n bytes at off, following the response header.
type fileSend struct {
	f   vfs.FileSender
	off int64
	n   int
}

// sendFileRead answers the READ with a header whose data stays in the file, when the request
// is alone in its frame, arrived in plain text, is large and its file can send. It reports
// whether it did; otherwise the caller reads the data itself.
func (r *request) sendFileRead(o *open, req wire.ReadRequest) bool {
	if req.Length < sendFileMin || !r.last || len(r.chain.reqs) > 0 || r.chain.encSess != nil {
		return false
	}
	fs, ok := o.file.(vfs.FileSender)
	if !ok {
		return false
	}
	if _, ok := r.c.nc.(syscall.Conn); !ok {
		return false
	}
	fi, err := o.file.Stat()
	if err != nil || fi.Size <= int64(req.Offset) {
		return false // the ordinary path reports the error or end of file
	}
	n := int(min(int64(req.Length), fi.Size-int64(req.Offset)))
	if uint32(n) < req.MinimumCount {
		return false
	}
	o.advance(int64(req.Offset) + int64(n))
	r.resp = (&wire.ReadResponse{}).AppendHeaderOnly(r.resp, n)
	r.sendfile = &fileSend{f: fs, off: int64(req.Offset), n: n}
	return true
}

// materialize reads the data of a deferred READ into the response, for a response that will be
// signed, encrypted or compounded after all. A file that shrank meanwhile gives zeros past
// its new end: the header already promised n bytes (the client sees what a racing truncate
// allows).
func (fs *fileSend) materialize(resp []byte) ([]byte, error) {
	start := len(resp)
	if cap(resp) < start+fs.n {
		grown := getBuf(start + fs.n)[:start]
		copy(grown, resp)
		putBuf(resp)
		resp = grown
	}
	resp = resp[:start+fs.n]
	buf := resp[start:]
	f, ok := fs.f.(vfs.File)
	if !ok {
		return resp, errors.New("sendfile: not a vfs.File")
	}
	got, err := f.ReadAt(buf, fs.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return resp, err
	}
	clear(buf[got:]) // only what the file no longer has: clearing all of it cost a pass over every byte
	return resp, nil
}

// writeFrameSendfile sends one frame: the response, then n bytes of the file by sendfile(2).
// A file that ends early leaves the frame short, which the client cannot resynchronise
// from: the connection is then dropped (it reconnects, durable handles survive).
func (c *conn) writeFrameSendfile(resp []byte, fs *fileSend) error {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return errors.New("sendfile: connection has no descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeFrameLocked(len(resp)+fs.n, resp); err != nil {
		return err
	}
	off, left := fs.off, fs.n
	var sendErr error
	for left > 0 && sendErr == nil {
		werr := raw.Write(func(sock uintptr) bool {
			m, err := fs.f.SendFile(int(sock), off, left)
			if err == unix.EAGAIN {
				return false // wait until the socket drains
			}
			if err != nil {
				sendErr = err
				return true
			}
			if m == 0 {
				sendErr = fmt.Errorf("sendfile: file ended %d bytes early", left)
				return true
			}
			off += int64(m)
			left -= m
			return true
		})
		if werr != nil {
			return werr
		}
	}
	return sendErr
}
