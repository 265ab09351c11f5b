package server

import (
	"context"
	"errors"
	"io"

	"github.com/sofs-dev/sofs/smb/rpc"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// statusFor is the one place where errors become NTSTATUS codes. Handlers return either a
// wire.Status (protocol decisions) or backend errors wrapping vfs sentinels; anything unknown is
// logged and answered with STATUS_INTERNAL_ERROR, never silently.
func (c *conn) statusFor(err error, r *request) wire.Status {
	var st wire.Status
	if errors.As(err, &st) {
		return st
	}
	for _, m := range statusMap {
		if errors.Is(err, m.err) {
			return m.status
		}
	}
	c.log.Error("unmapped error", "cmd", r.cmd.String(), "err", err)
	return wire.StatusInternalError
}

var statusMap = []struct {
	err    error
	status wire.Status
}{
	{errInvalidParameter, wire.StatusInvalidParameter},
	{errPathSyntax, wire.StatusObjectPathSyntaxBad},
	{wire.ErrMalformed, wire.StatusInvalidParameter},
	{vfs.ErrNotFound, wire.StatusObjectNameNotFound},
	{vfs.ErrPathNotFound, wire.StatusObjectPathNotFound},
	{vfs.ErrExists, wire.StatusObjectNameCollision},
	{vfs.ErrIsDir, wire.StatusFileIsADirectory},
	{vfs.ErrNotDir, wire.StatusNotADirectory},
	{vfs.ErrNotEmpty, wire.StatusDirectoryNotEmpty},
	{vfs.ErrAccess, wire.StatusAccessDenied},
	{vfs.ErrInvalidName, wire.StatusObjectNameInvalid},
	{vfs.ErrNoSpace, wire.StatusDiskFull},
	{vfs.ErrEscape, wire.StatusAccessDenied},
	{vfs.ErrReadOnly, wire.StatusAccessDenied},
	{vfs.ErrInUse, wire.StatusSharingViolation},
	{vfs.ErrNotSupported, wire.StatusNotSupported},
	{vfs.ErrIO, wire.StatusUnexpectedIOError},
	{vfs.ErrSharingViolation, wire.StatusSharingViolation},
	{vfs.ErrDeletePending, wire.StatusDeletePending},
	{vfs.ErrLeaseKeyInUse, wire.StatusInvalidParameter},
	{vfs.ErrCannotDelete, wire.StatusCannotDelete},
	{rpc.ErrNoSuchPipe, wire.StatusObjectNameNotFound},
	{rpc.ErrPipeEmpty, wire.StatusPipeEmpty},
	{rpc.ErrPipeBusy, wire.StatusPipeBusy},
	{rpc.ErrPipeClosed, wire.StatusPipeClosing},
	{rpc.ErrProtocol, wire.StatusInvalidParameter},
	{rpc.ErrPipeFull, wire.StatusInsufficientResources},
	{io.EOF, wire.StatusEndOfFile},
	{context.Canceled, wire.StatusCancelled},
}
