package server

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// File-system FSCTLs on an open file (MS-SMB2 3.3.5.15, MS-FSCC 2.3, MS-FSA 2.1.5.10): server-
// side copy, sparse files, zeroing, allocation maps, integrity, compression and object IDs.
// Each is answered from what the backend really does (the optional vfs capabilities); what it
// cannot do is refused with the status Windows gives for an unsupported file system.

// fileFsctls are the FSCTLs handled here, by control code.
var fileFsctls = map[uint32]func(r *request, req *wire.IoctlRequest, o *open) error{
	wire.FSCTL_SRV_REQUEST_RESUME_KEY:    requestResumeKey,
	wire.FSCTL_SRV_COPYCHUNK:             copyChunk,
	wire.FSCTL_SRV_COPYCHUNK_WRITE:       copyChunk,
	wire.FSCTL_DUPLICATE_EXTENTS_TO_FILE: duplicateExtents,
	wire.FSCTL_SET_SPARSE:                setSparse,
	wire.FSCTL_SET_ZERO_DATA:             setZeroData,
	wire.FSCTL_QUERY_ALLOCATED_RANGES:    queryAllocatedRanges,
	wire.FSCTL_GET_INTEGRITY_INFORMATION: getIntegrity,
	wire.FSCTL_SET_INTEGRITY_INFORMATION: setIntegrity,
	wire.FSCTL_GET_COMPRESSION:           getCompression,
	wire.FSCTL_SET_COMPRESSION:           setCompression,
	wire.FSCTL_CREATE_OR_GET_OBJECT_ID:   createOrGetObjectID,
}

// Server-side copy limits (MS-SMB2 3.3.3: ServerSideCopyMaxNumberofChunks,
// ServerSideCopyMaxChunkSize, ServerSideCopyMaxDataSize; the Windows values).
const (
	copyChunkMaxChunks    = 256
	copyChunkMaxChunkSize = 1 << 20
	copyChunkMaxTotal     = 16 << 20
)

// statusInvalidViewSize is STATUS_INVALID_VIEW_SIZE (MS-ERREF 2.3.1): a copy-chunk source range
// beyond the source's end of file.
const statusInvalidViewSize wire.Status = 0xC000001F

func ioctlOutput(r *request, req *wire.IoctlRequest, o *open, out []byte) error {
	r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: o.id, Output: out}).Append(r.resp)
	return nil
}

// dataOpen returns the open's file when it is a data file, and the status Windows gives
// otherwise (MS-FSA: these FSCTLs are for files).
func dataOpen(o *open) (vfs.File, error) {
	if o.pipe != nil {
		return nil, wire.StatusInvalidDeviceRequest
	}
	if o.isDir {
		return nil, errInvalidParameter
	}
	return o.file, nil
}

// requestResumeKey answers FSCTL_SRV_REQUEST_RESUME_KEY (MS-SMB2 3.3.5.15.1): an opaque key
// naming this open as a copy source. It is the volatile FileId and 16 random bytes, so a key
// cannot be guessed from a handle.
func requestResumeKey(r *request, req *wire.IoctlRequest, o *open) error {
	if o.pipe != nil {
		return wire.StatusInvalidDeviceRequest
	}
	if req.MaxOutputResponse < 32 {
		return errInvalidParameter
	}
	o.mu.Lock()
	if o.resumeKey == ([24]byte{}) {
		binary.LittleEndian.PutUint64(o.resumeKey[:8], o.id.Volatile)
		if _, err := rand.Read(o.resumeKey[8:]); err != nil {
			o.mu.Unlock()
			return err
		}
	}
	key := o.resumeKey
	o.mu.Unlock()
	return ioctlOutput(r, req, o, (&wire.ResumeKeyResponse{ResumeKey: key}).Append(nil))
}

// openByResumeKey finds the source open of a copy among the session's opens.
func (r *request) openByResumeKey(key [24]byte) *open {
	src := r.sess.open(binary.LittleEndian.Uint64(key[:8]))
	if src == nil {
		return nil
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.closed || src.resumeKey != key {
		return nil
	}
	return src
}

// copyChunk answers FSCTL_SRV_COPYCHUNK and FSCTL_SRV_COPYCHUNK_WRITE (MS-SMB2 3.3.5.15.6).
func copyChunk(r *request, req *wire.IoctlRequest, dst *open) error {
	dstFile, err := dataOpen(dst)
	if err != nil {
		return err
	}
	// The target needs write access, and read access too unless the client asked for the
	// _WRITE variant (which exists for targets opened write-only).
	if !dst.has(wire.FileWriteData) || req.CtlCode == wire.FSCTL_SRV_COPYCHUNK && !dst.has(wire.FileReadData) {
		return wire.StatusAccessDenied
	}
	if len(req.Input) < 32 || req.MaxOutputResponse < 12 {
		return errInvalidParameter
	}
	limits := func() error {
		// Too much asked: the response carries the server's limits (3.3.5.15.6).
		r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: dst.id, Output: (&wire.CopyChunkResponse{
			ChunksWritten: copyChunkMaxChunks, ChunkBytesWritten: copyChunkMaxChunkSize, TotalBytesWritten: copyChunkMaxTotal,
		}).Append(nil)}).Append(r.resp)
		r.status = wire.StatusInvalidParameter
		return errBodyDone
	}
	if binary.LittleEndian.Uint32(req.Input[24:28]) > copyChunkMaxChunks {
		return limits()
	}
	var cc wire.CopyChunkRequest
	if err := cc.Decode(req.Input); err != nil {
		return errInvalidParameter
	}
	var total uint64
	for _, c := range cc.Chunks {
		if c.Length == 0 || c.Length > copyChunkMaxChunkSize {
			return limits()
		}
		total += uint64(c.Length)
	}
	if total > copyChunkMaxTotal {
		return limits()
	}
	src := r.openByResumeKey(cc.SourceKey)
	if src == nil {
		return wire.StatusObjectNameNotFound
	}
	srcFile, err := dataOpen(src)
	if err != nil {
		return err
	}
	if !src.has(wire.FileReadData | wire.FileExecute) {
		return wire.StatusAccessDenied // reading the source needs read or execute access
	}
	dst.entry.BreakLevelII()
	var done wire.CopyChunkResponse
	chunks := cc.Chunks
	// Chunks that continue each other on both sides (a client copying a whole file sends 16
	// of 1 MiB) go to a block-sharing backend as one clone: one metadata commit a request
	// instead of one a chunk. Anything unusual in the run takes the chunk-by-chunk path, which
	// decides what was written.
	for len(chunks) > 0 {
		run := contiguousChunks(chunks)
		if run > 1 && cloneChunkRun(r, src, srcFile, dst, dstFile, chunks[:run]) {
			for _, c := range chunks[:run] {
				done.ChunksWritten++
				done.TotalBytesWritten += c.Length
			}
			chunks = chunks[run:]
			continue
		}
		c := chunks[0]
		chunks = chunks[1:]
		if err := copyOneChunk(r, src, srcFile, dst, dstFile, c); err != nil {
			// A failed chunk still answers with what was copied before it (3.3.5.15.6).
			r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: dst.id, Output: done.Append(nil)}).Append(r.resp)
			r.status = r.c.statusFor(err, r)
			return errBodyDone
		}
		done.ChunksWritten++
		done.TotalBytesWritten += c.Length
	}
	return ioctlOutput(r, req, dst, done.Append(nil))
}

// contiguousChunks is how many chunks from the first each start where the previous ended, on
// the source and on the target.
func contiguousChunks(chunks []wire.CopyChunk) int {
	n := 1
	for n < len(chunks) {
		p, c := chunks[n-1], chunks[n]
		if c.SourceOffset != p.SourceOffset+uint64(p.Length) || c.TargetOffset != p.TargetOffset+uint64(p.Length) {
			break
		}
		n++
	}
	return n
}

// cloneChunkRun copies contiguous chunks with one vfs.RangeCloner call after the checks
// copyOneChunk makes for each (locks, source size, no overlap). It reports false, having
// changed nothing visible or only what the chunk-by-chunk path then writes again, when the
// backend cannot clone or any check or the clone fails.
func cloneChunkRun(r *request, src *open, srcFile vfs.File, dst *open, dstFile vfs.File, run []wire.CopyChunk) bool {
	cl, ok := r.tree.share.FS.(vfs.RangeCloner)
	if !ok {
		return false
	}
	first, last := run[0], run[len(run)-1]
	so, do := first.SourceOffset, first.TargetOffset
	n := last.SourceOffset + uint64(last.Length) - so
	if so > 1<<62 || do > 1<<62 || n > 1<<62 {
		return false
	}
	sameFile := src.entry != nil && src.entry == dst.entry || srcFile == dstFile
	if sameFile && so < do+n && do < so+n {
		return false
	}
	for _, c := range run {
		if src.checkIO(c.SourceOffset, uint64(c.Length), false) != nil || dst.checkIO(c.TargetOffset, uint64(c.Length), true) != nil {
			return false
		}
	}
	fi, err := srcFile.Stat()
	if err != nil || so+n > uint64(fi.Size) {
		return false
	}
	copied, err := cl.CloneRange(dstFile, int64(do), srcFile, int64(so), int64(n))
	return err == nil && copied == int64(n)
}

// copyOneChunk copies one chunk after checking byte-range locks on both sides (MS-SMB2
// 3.3.5.15.6: a conflicting lock fails the copy with STATUS_FILE_LOCK_CONFLICT).
func copyOneChunk(r *request, src *open, srcFile vfs.File, dst *open, dstFile vfs.File, c wire.CopyChunk) error {
	if c.SourceOffset > 1<<62 || c.TargetOffset > 1<<62 {
		return errInvalidParameter
	}
	if err := src.checkIO(c.SourceOffset, uint64(c.Length), false); err != nil {
		return err
	}
	if err := dst.checkIO(c.TargetOffset, uint64(c.Length), true); err != nil {
		return err
	}
	fi, err := srcFile.Stat()
	if err != nil {
		return err
	}
	if c.SourceOffset+uint64(c.Length) > uint64(fi.Size) {
		return statusInvalidViewSize
	}
	so, do, n := int64(c.SourceOffset), int64(c.TargetOffset), int64(c.Length)
	sameFile := src.entry != nil && src.entry == dst.entry || srcFile == dstFile
	overlap := sameFile && so < do+n && do < so+n
	if cl, ok := r.tree.share.FS.(vfs.RangeCloner); ok && !overlap {
		copied, err := cl.CloneRange(dstFile, do, srcFile, so, n)
		if err == nil && copied == n {
			return nil
		}
		if err != nil && !errors.Is(err, vfs.ErrNotSupported) {
			return err
		}
		// Not this backend's files (a stream) or cut short: copy by hand from where it stopped.
		so, do, n = so+copied, do+copied, n-copied
	}
	buf := make([]byte, n) // at most copyChunkMaxChunkSize; read whole before writing (overlap)
	m, err := srcFile.ReadAt(buf, so)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if int64(m) < n {
		return statusInvalidViewSize
	}
	_, err = dstFile.WriteAt(buf, do)
	return err
}

// duplicateExtents answers FSCTL_DUPLICATE_EXTENTS_TO_FILE (MS-FSCC 2.3.8, MS-FSA 2.1.5.10.8):
// the backend shares blocks (vfs.ExtentDuplicator, else vfs.RangeCloner for backends whose
// clone shares aligned blocks) or the FSCTL is refused with STATUS_NOT_SUPPORTED.
func duplicateExtents(r *request, req *wire.IoctlRequest, dst *open) error {
	dstFile, err := dataOpen(dst)
	if err != nil {
		return err
	}
	var dx wire.DuplicateExtents
	if err := dx.Decode(req.Input); err != nil {
		return errInvalidParameter
	}
	if !dst.has(wire.FileWriteData) {
		return wire.StatusAccessDenied
	}
	src := r.sess.open(dx.SourceFileID.Volatile)
	if src == nil || src.id.Persistent != dx.SourceFileID.Persistent {
		return wire.StatusFileClosed
	}
	srcFile, err := dataOpen(src)
	if err != nil {
		return err
	}
	if !src.has(wire.FileReadData) {
		return wire.StatusAccessDenied
	}
	if dx.SourceFileOffset < 0 || dx.TargetFileOffset < 0 || dx.ByteCount < 0 {
		return errInvalidParameter
	}
	st, err := r.tree.share.FS.StatFS(r.ctx())
	if err != nil {
		return err
	}
	if bs := int64(max(st.BlockSize, 1)); dx.SourceFileOffset%bs != 0 || dx.TargetFileOffset%bs != 0 || dx.ByteCount%bs != 0 {
		return errInvalidParameter // MS-FSA 2.1.5.10.8: cluster-aligned ranges only
	}
	if err := src.checkIO(uint64(dx.SourceFileOffset), uint64(dx.ByteCount), false); err != nil {
		return err
	}
	if err := dst.checkIO(uint64(dx.TargetFileOffset), uint64(dx.ByteCount), true); err != nil {
		return err
	}
	switch fs := r.tree.share.FS.(type) {
	case vfs.ExtentDuplicator:
		err = fs.DuplicateExtents(dstFile, dx.TargetFileOffset, srcFile, dx.SourceFileOffset, dx.ByteCount)
	case vfs.RangeCloner:
		_, err = fs.CloneRange(dstFile, dx.TargetFileOffset, srcFile, dx.SourceFileOffset, dx.ByteCount)
	default:
		err = wire.StatusNotSupported
	}
	if err != nil {
		return err
	}
	return ioctlOutput(r, req, dst, nil)
}

// setSparse answers FSCTL_SET_SPARSE (MS-FSCC 2.3.64, MS-FSA 2.1.5.10.24). An empty input sets
// the flag; a one-byte FILE_SET_SPARSE_BUFFER sets or clears it.
func setSparse(r *request, req *wire.IoctlRequest, o *open) error {
	f, err := dataOpen(o)
	if err != nil {
		return err
	}
	sp, ok := r.tree.share.FS.(vfs.Sparser)
	if !ok {
		return wire.StatusInvalidDeviceRequest // the file system has no sparse files
	}
	if !o.has(wire.FileWriteData | wire.FileAppendData | wire.FileWriteAttributes) {
		return wire.StatusAccessDenied
	}
	sparse := len(req.Input) == 0 || req.Input[0] != 0
	if err := sp.SetSparse(f, sparse); err != nil {
		return err
	}
	return ioctlOutput(r, req, o, nil)
}

// setZeroData answers FSCTL_SET_ZERO_DATA (MS-FSCC 2.3.85, MS-FSA 2.1.5.10.33): on a sparse file
// the range is deallocated (vfs.RangeZeroer), on any other file zeros are written; nothing
// beyond the end of file changes.
func setZeroData(r *request, req *wire.IoctlRequest, o *open) error {
	f, err := dataOpen(o)
	if err != nil {
		return err
	}
	var z wire.ZeroDataInformation
	if err := z.Decode(req.Input); err != nil {
		return errInvalidParameter
	}
	if z.FileOffset < 0 || z.BeyondFinalZero < 0 || z.FileOffset > z.BeyondFinalZero {
		return errInvalidParameter
	}
	if !o.has(wire.FileWriteData) {
		return wire.StatusAccessDenied
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	end := min(z.BeyondFinalZero, fi.Size)
	if z.FileOffset >= end {
		return ioctlOutput(r, req, o, nil)
	}
	if err := o.checkIO(uint64(z.FileOffset), uint64(end-z.FileOffset), true); err != nil {
		return err
	}
	o.entry.BreakLevelII()
	if zr, ok := r.tree.share.FS.(vfs.RangeZeroer); ok && fi.Attributes&vfs.AttrSparse != 0 {
		if err := zr.ZeroRange(f, z.FileOffset, end-z.FileOffset); err == nil {
			return ioctlOutput(r, req, o, nil)
		} else if !errors.Is(err, vfs.ErrNotSupported) {
			return err
		}
	}
	if err := vfs.WriteZeros(f, z.FileOffset, end); err != nil {
		return err
	}
	return ioctlOutput(r, req, o, nil)
}

// queryAllocatedRanges answers FSCTL_QUERY_ALLOCATED_RANGES (MS-FSCC 2.3.52, MS-FSA 2.1.5.10.22):
// a sparse file reports what the backend has allocated (vfs.AllocationMapper), any other file
// the whole range below its end of file. Ranges that do not fit give STATUS_BUFFER_OVERFLOW
// with those that do.
func queryAllocatedRanges(r *request, req *wire.IoctlRequest, o *open) error {
	f, err := dataOpen(o)
	if err != nil {
		return err
	}
	var q wire.AllocatedRange
	if err := q.Decode(req.Input); err != nil {
		return errInvalidParameter
	}
	if q.FileOffset < 0 || q.Length < 0 || q.FileOffset > 1<<63-1-q.Length {
		return errInvalidParameter
	}
	if !o.has(wire.FileReadData) {
		return wire.StatusAccessDenied
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	var ranges []wire.AllocatedRange
	end := min(q.FileOffset+q.Length, fi.Size)
	mapper, ok := r.tree.share.FS.(vfs.AllocationMapper)
	switch {
	case q.FileOffset >= end:
	case ok && fi.Attributes&vfs.AttrSparse != 0:
		rs, err := mapper.AllocatedRanges(f, q.FileOffset, end-q.FileOffset)
		if err != nil {
			return err
		}
		for _, x := range rs {
			ranges = append(ranges, wire.AllocatedRange{FileOffset: x.Offset, Length: x.Length})
		}
	default:
		ranges = []wire.AllocatedRange{{FileOffset: q.FileOffset, Length: end - q.FileOffset}}
	}
	fit := int(req.MaxOutputResponse / 16)
	if len(ranges) > 0 && fit == 0 {
		return wire.StatusBufferTooSmall
	}
	if len(ranges) > fit {
		r.status = wire.StatusBufferOverflow
		ranges = ranges[:fit]
	}
	return ioctlOutput(r, req, o, wire.AppendAllocatedRanges(nil, ranges))
}

// getIntegrity answers FSCTL_GET_INTEGRITY_INFORMATION (MS-FSCC 2.3.34) honestly: no share keeps
// integrity streams, so the checksum algorithm is none.
func getIntegrity(r *request, req *wire.IoctlRequest, o *open) error {
	if o.pipe != nil {
		return wire.StatusInvalidDeviceRequest
	}
	if req.MaxOutputResponse < 16 {
		return errInvalidParameter
	}
	st, err := r.tree.share.FS.StatFS(r.ctx())
	if err != nil {
		return err
	}
	return ioctlOutput(r, req, o, (&wire.IntegrityInformation{ClusterSizeInBytes: st.BlockSize}).Append(nil))
}

// Checksum algorithms of FSCTL_SET_INTEGRITY_INFORMATION (MS-FSCC 2.3.77).
const (
	checksumTypeNone      = 0x0000
	checksumTypeUnchanged = 0xFFFF
)

// setIntegrity answers FSCTL_SET_INTEGRITY_INFORMATION (MS-FSCC 2.3.77): turning integrity off
// (or leaving it) succeeds, turning it on is not supported.
func setIntegrity(r *request, req *wire.IoctlRequest, o *open) error {
	if o.pipe != nil {
		return wire.StatusInvalidDeviceRequest
	}
	alg, _, err := wire.DecodeSetIntegrityInformation(req.Input)
	if err != nil {
		return errInvalidParameter
	}
	if !o.has(wire.FileWriteData | wire.FileWriteAttributes) {
		return wire.StatusAccessDenied
	}
	if alg != checksumTypeNone && alg != checksumTypeUnchanged {
		return wire.StatusNotSupported
	}
	return ioctlOutput(r, req, o, nil)
}

// compressionFormatNone is COMPRESSION_FORMAT_NONE (MS-FSCC 2.3.12).
const compressionFormatNone = 0

// getCompression answers FSCTL_GET_COMPRESSION (MS-FSCC 2.3.12): nothing is compressed.
func getCompression(r *request, req *wire.IoctlRequest, o *open) error {
	if o.pipe != nil {
		return wire.StatusInvalidDeviceRequest
	}
	if req.MaxOutputResponse < 2 {
		return errInvalidParameter
	}
	return ioctlOutput(r, req, o, binary.LittleEndian.AppendUint16(nil, compressionFormatNone))
}

// setCompression answers FSCTL_SET_COMPRESSION (MS-FSCC 2.3.67): only "no compression" is
// accepted, since no backend compresses (FILE_FILE_COMPRESSION is not advertised).
func setCompression(r *request, req *wire.IoctlRequest, o *open) error {
	if o.pipe != nil {
		return wire.StatusInvalidDeviceRequest
	}
	if len(req.Input) < 2 {
		return errInvalidParameter
	}
	if binary.LittleEndian.Uint16(req.Input) != compressionFormatNone {
		return wire.StatusNotSupported
	}
	return ioctlOutput(r, req, o, nil)
}

// createOrGetObjectID answers FSCTL_CREATE_OR_GET_OBJECT_ID (MS-FSCC 2.3.5): the object ID is
// derived from the file ID and the volume, so it is stable for the object's life without being
// stored.
func createOrGetObjectID(r *request, req *wire.IoctlRequest, o *open) error {
	if o.pipe != nil {
		return wire.StatusInvalidDeviceRequest
	}
	if req.MaxOutputResponse < 64 {
		return errInvalidParameter
	}
	fi, err := o.file.Stat()
	if err != nil {
		return err
	}
	st, err := r.tree.share.FS.StatFS(r.ctx())
	if err != nil {
		return err
	}
	var b wire.ObjectIDBuffer
	binary.LittleEndian.PutUint64(b.ObjectID[:8], fi.ID)
	binary.LittleEndian.PutUint32(b.ObjectID[8:12], st.SerialNumber)
	binary.LittleEndian.PutUint32(b.BirthVolumeID[:4], st.SerialNumber)
	b.BirthObjectID = b.ObjectID
	return ioctlOutput(r, req, o, b.Append(nil))
}
