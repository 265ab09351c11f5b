package server

import "github.com/sofs-dev/sofs/smb/wire"

// handlerFunc handles one request: it appends the response body to r.resp and returns nil (with
// r.status set when the status is not success but carries a body), or returns an error that
// statusFor turns into an NTSTATUS with an error body.
type handlerFunc func(r *request) error

// handlers is the dispatch table, indexed by command. Missing entries answer
// STATUS_NOT_SUPPORTED.
var handlers = [...]handlerFunc{
	wire.CmdNegotiate:      handleNegotiate,
	wire.CmdSessionSetup:   handleSessionSetup,
	wire.CmdLogoff:         handleLogoff,
	wire.CmdTreeConnect:    handleTreeConnect,
	wire.CmdTreeDisconnect: handleTreeDisconnect,
	wire.CmdCreate:         handleCreate,
	wire.CmdClose:          handleClose,
	wire.CmdFlush:          handleFlush,
	wire.CmdRead:           handleRead,
	wire.CmdWrite:          handleWrite,
	wire.CmdLock:           handleLock,
	wire.CmdIoctl:          handleIoctl,
	wire.CmdCancel:         nil,
	wire.CmdEcho:           handleEcho,
	wire.CmdQueryDirectory: handleQueryDirectory,
	wire.CmdChangeNotify:   handleChangeNotify,
	wire.CmdQueryInfo:      handleQueryInfo,
	wire.CmdSetInfo:        handleSetInfo,
	wire.CmdOplockBreak:    handleOplockBreak,
}
