package server

import (
	"errors"
	"io"

	"github.com/sofs-dev/sofs/smb/wire"
)

// checkCharge verifies a multi-credit request paid for its payload (MS-SMB2 3.3.5.2.5):
// CreditCharge must cover ceil(size / 64 KiB).
func (r *request) checkCharge(size uint32) error {
	if !r.c.neg.Load().di.multiCredit {
		return nil
	}
	need := (uint64(size) + 65535) / 65536
	if need == 0 {
		need = 1
	}
	charge := uint64(r.hdr.CreditCharge())
	if charge == 0 {
		charge = 1
	}
	if charge < need {
		return errInvalidParameter
	}
	return nil
}

// handleRead implements MS-SMB2 3.3.5.12. File data is read straight into the response buffer.
func handleRead(r *request) error {
	var req wire.ReadRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	if req.Length > r.c.neg.Load().maxRead {
		return errInvalidParameter
	}
	if err := r.checkCharge(req.Length); err != nil {
		return err
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe != nil {
		data, more, err := o.pipe.Read(int(req.Length))
		if err != nil {
			return err
		}
		if more {
			r.status = wire.StatusBufferOverflow
		}
		r.resp = (&wire.ReadResponse{Data: data}).Append(r.resp)
		return nil
	}
	if o.isDir {
		return wire.StatusInvalidDeviceRequest
	}
	if !o.has(wire.FileReadData | wire.FileExecute) {
		return wire.StatusAccessDenied
	}
	if req.Offset > 1<<63-1 {
		return errInvalidParameter
	}
	if err := o.checkIO(req.Offset, uint64(req.Length), false); err != nil {
		return err
	}
	if r.sendFileRead(o, req) {
		return nil
	}
	start := len(r.resp)
	dataAt := start + 16
	if cap(r.resp) < dataAt+int(req.Length) {
		grown := getBuf(dataAt + int(req.Length))[:start]
		copy(grown, r.resp)
		putBuf(r.resp)
		r.resp = grown
	}
	buf := r.resp[dataAt : dataAt+int(req.Length)]
	n, err := o.file.ReadAt(buf, int64(req.Offset))
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if n == 0 && req.Length > 0 || uint32(n) < req.MinimumCount {
		return wire.StatusEndOfFile
	}
	o.advance(int64(req.Offset) + int64(n))
	r.resp = (&wire.ReadResponse{}).AppendHeaderOnly(r.resp[:start], n)
	r.resp = r.resp[:dataAt+n]
	return nil
}

// handleWrite implements MS-SMB2 3.3.5.13.
func handleWrite(r *request) error {
	var req wire.WriteRequest
	dataLen := 0
	if p := r.payload; p != nil {
		// The data is still in the connection (recvfile.go); everything is checked first.
		if err := req.DecodeHead(r.msg, p.n); err != nil {
			return errInvalidParameter
		}
		dataLen = p.n
	} else {
		if err := req.Decode(r.msg); err != nil {
			return errInvalidParameter
		}
		dataLen = len(req.Data)
	}
	if uint32(dataLen) > r.c.neg.Load().maxWrite {
		return errInvalidParameter
	}
	if err := r.checkCharge(uint32(dataLen)); err != nil {
		return err
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe != nil {
		if r.payload != nil {
			if req.Data, err = r.payload.readAll(); err != nil {
				return err
			}
		}
		n, err := o.pipe.Write(req.Data)
		if err != nil {
			return err
		}
		r.resp = (&wire.WriteResponse{Count: uint32(n)}).Append(r.resp)
		return nil
	}
	if o.isDir {
		return wire.StatusInvalidDeviceRequest
	}
	if !o.has(wire.FileWriteData | wire.FileAppendData) {
		return wire.StatusAccessDenied
	}
	off := req.Offset
	if off == ^uint64(0) && o.has(wire.FileAppendData) {
		// 0xFFFFFFFFFFFFFFFF with append access: write at end of file (MS-SMB2 2.2.21).
		fi, err := o.file.Stat()
		if err != nil {
			return err
		}
		off = uint64(fi.Size)
	}
	if off > 1<<62 || off+uint64(dataLen) > 1<<62 {
		return errInvalidParameter
	}
	if err := o.checkIO(off, uint64(dataLen), true); err != nil {
		return err
	}
	o.entry.BreakLevelII()
	if dataLen > 0 {
		o.beforeWrite()
	}
	var n int
	if r.payload != nil {
		n, err = r.payload.writeTo(o.file, int64(off))
	} else {
		n, err = o.file.WriteAt(req.Data, int64(off))
	}
	if err != nil {
		return err
	}
	o.advance(int64(off) + int64(n))
	if req.Flags&wire.WriteFlagWriteThrough != 0 && !o.writeThru {
		if err := o.file.Sync(); err != nil {
			return err
		}
	}
	r.resp = (&wire.WriteResponse{Count: uint32(n)}).Append(r.resp)
	return nil
}

// handleFlush implements MS-SMB2 3.3.5.11: data reaches stable storage before the reply.
func handleFlush(r *request) error {
	var req wire.FlushRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe == nil {
		if !o.has(wire.FileWriteData | wire.FileAppendData) {
			return wire.StatusAccessDenied
		}
		if err := o.file.Sync(); err != nil {
			return err
		}
		o.flushWriteTime()
	}
	r.resp = (&wire.FlushResponse{}).Append(r.resp)
	return nil
}

// advance sets the handle's current byte offset after a read or write: Windows keeps
// FilePositionInformation up to date for synchronous handles, and clients read it back.
func (o *open) advance(pos int64) {
	o.mu.Lock()
	o.position = pos
	o.mu.Unlock()
}
