package wire

import "fmt"

// HeaderSize is the size of the SMB2 sync and async packet header (MS-SMB2 2.2.1).
const HeaderSize = 64

// Protocol identifiers: the first four bytes of every message on the wire.
const (
	ProtocolSMB2        = "\xFESMB" // SMB2/3 packet header
	ProtocolSMB1        = "\xFFSMB" // SMB1 (only NEGOTIATE is of interest: multi-protocol negotiate)
	ProtocolTransform   = "\xFDSMB" // SMB2 TRANSFORM_HEADER (encrypted message)
	ProtocolCompression = "\xFCSMB" // SMB2 COMPRESSION_TRANSFORM_HEADER

	// ProtocolIDSMB2 is ProtocolSMB2 read as a little-endian uint32.
	ProtocolIDSMB2        uint32 = 0x424D53FE
	ProtocolIDSMB1        uint32 = 0x424D53FF
	ProtocolIDTransform   uint32 = 0x424D53FD
	ProtocolIDCompression uint32 = 0x424D53FC
)

// Field offsets of the SMB2 header (MS-SMB2 2.2.1.1 async, 2.2.1.2 sync).
const (
	offProtocolID       = 0
	offStructureSize    = 4
	offCreditCharge     = 6
	offStatus           = 8 // ChannelSequence (2) + Reserved (2) in 3.x requests
	offCommand          = 12
	offCredits          = 14 // CreditRequest / CreditResponse
	offFlags            = 16
	offNextCommand      = 20
	offMessageID        = 24
	offAsyncID          = 32 // 8 bytes when FlagAsync
	offReserved         = 32 // 4 bytes, sync header (ProcessId)
	offTreeID           = 36 // 4 bytes, sync header
	offSessionID        = 40
	offSignature        = 48
	signatureSize       = 16
	headerStructureSize = 64
)

// Command is an SMB2 command code (MS-SMB2 2.2.1.2).
type Command uint16

const (
	CmdNegotiate      Command = 0x0000
	CmdSessionSetup   Command = 0x0001
	CmdLogoff         Command = 0x0002
	CmdTreeConnect    Command = 0x0003
	CmdTreeDisconnect Command = 0x0004
	CmdCreate         Command = 0x0005
	CmdClose          Command = 0x0006
	CmdFlush          Command = 0x0007
	CmdRead           Command = 0x0008
	CmdWrite          Command = 0x0009
	CmdLock           Command = 0x000A
	CmdIoctl          Command = 0x000B
	CmdCancel         Command = 0x000C
	CmdEcho           Command = 0x000D
	CmdQueryDirectory Command = 0x000E
	CmdChangeNotify   Command = 0x000F
	CmdQueryInfo      Command = 0x0010
	CmdSetInfo        Command = 0x0011
	CmdOplockBreak    Command = 0x0012

	// NumCommands is one past the highest valid command code.
	NumCommands = 0x0013
)

var commandNames = [NumCommands]string{
	"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT", "CREATE", "CLOSE", "FLUSH",
	"READ", "WRITE", "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO",
	"SET_INFO", "OPLOCK_BREAK",
}

func (c Command) String() string {
	if c < NumCommands {
		return commandNames[c]
	}
	return fmt.Sprintf("COMMAND_0x%04X", uint16(c))
}

// HeaderFlags is the Flags field of the SMB2 header.
type HeaderFlags uint32

const (
	FlagResponse          HeaderFlags = 0x00000001 // SMB2_FLAGS_SERVER_TO_REDIR
	FlagAsync             HeaderFlags = 0x00000002 // SMB2_FLAGS_ASYNC_COMMAND
	FlagRelatedOperations HeaderFlags = 0x00000004
	FlagSigned            HeaderFlags = 0x00000008
	FlagPriorityMask      HeaderFlags = 0x00000070 // 3.1.1 I/O priority
	FlagDFSOperations     HeaderFlags = 0x10000000
	FlagReplayOperation   HeaderFlags = 0x20000000
)

// Header is a view over the 64-byte SMB2 packet header at the start of a
// message. Accessors read and write the bytes in place; they never allocate.
// A Header must be at least HeaderSize bytes long (the caller checks this
// once, e.g. via NextMessage); shorter views panic like any slice index.
type Header []byte

func (h Header) ProtocolID() uint32          { return le.Uint32(h[offProtocolID:]) }
func (h Header) StructureSize() uint16       { return le.Uint16(h[offStructureSize:]) }
func (h Header) CreditCharge() uint16        { return le.Uint16(h[offCreditCharge:]) }
func (h Header) SetCreditCharge(v uint16)    { le.PutUint16(h[offCreditCharge:], v) }
func (h Header) Status() Status              { return Status(le.Uint32(h[offStatus:])) }
func (h Header) SetStatus(s Status)          { le.PutUint32(h[offStatus:], uint32(s)) }
func (h Header) ChannelSequence() uint16     { return le.Uint16(h[offStatus:]) }
func (h Header) SetChannelSequence(v uint16) { le.PutUint16(h[offStatus:], v) }
func (h Header) Command() Command            { return Command(le.Uint16(h[offCommand:])) }
func (h Header) SetCommand(c Command)        { le.PutUint16(h[offCommand:], uint16(c)) }
func (h Header) Credits() uint16             { return le.Uint16(h[offCredits:]) }
func (h Header) SetCredits(v uint16)         { le.PutUint16(h[offCredits:], v) }
func (h Header) Flags() HeaderFlags          { return HeaderFlags(le.Uint32(h[offFlags:])) }
func (h Header) SetFlags(f HeaderFlags)      { le.PutUint32(h[offFlags:], uint32(f)) }
func (h Header) NextCommand() uint32         { return le.Uint32(h[offNextCommand:]) }
func (h Header) SetNextCommand(v uint32)     { le.PutUint32(h[offNextCommand:], v) }
func (h Header) MessageID() uint64           { return le.Uint64(h[offMessageID:]) }
func (h Header) SetMessageID(v uint64)       { le.PutUint64(h[offMessageID:], v) }
func (h Header) AsyncID() uint64             { return le.Uint64(h[offAsyncID:]) }
func (h Header) SetAsyncID(v uint64)         { le.PutUint64(h[offAsyncID:], v) }
func (h Header) TreeID() uint32              { return le.Uint32(h[offTreeID:]) }
func (h Header) SetTreeID(v uint32)          { le.PutUint32(h[offTreeID:], v) }
func (h Header) SessionID() uint64           { return le.Uint64(h[offSessionID:]) }
func (h Header) SetSessionID(v uint64)       { le.PutUint64(h[offSessionID:], v) }
func (h Header) IsAsync() bool               { return h.Flags()&FlagAsync != 0 }
func (h Header) IsResponse() bool            { return h.Flags()&FlagResponse != 0 }
func (h Header) IsRelated() bool             { return h.Flags()&FlagRelatedOperations != 0 }
func (h Header) IsSigned() bool              { return h.Flags()&FlagSigned != 0 }

// Signature returns the 16 signature bytes; writing to the result writes the
// header.
func (h Header) Signature() []byte {
	return h[offSignature : offSignature+signatureSize : offSignature+signatureSize]
}

// Init writes a fresh sync request header: protocol id, structure size and
// command; all other fields zero.
func (h Header) Init(cmd Command) {
	clear(h[:HeaderSize])
	copy(h[offProtocolID:], ProtocolSMB2)
	le.PutUint16(h[offStructureSize:], headerStructureSize)
	h.SetCommand(cmd)
}

// InitResponse writes a sync response header for req: protocol id, structure
// size 64, command, message id, session id, tree id and FlagResponse. Status,
// credits, NextCommand, signature and the remaining flags are zero for the
// caller to set. The async flag is kept off: async responses set it and the
// AsyncID explicitly (which overwrites the tree id).
func (h Header) InitResponse(req Header) {
	clear(h[:HeaderSize])
	copy(h[offProtocolID:], ProtocolSMB2)
	le.PutUint16(h[offStructureSize:], headerStructureSize)
	h.SetCommand(req.Command())
	h.SetMessageID(req.MessageID())
	h.SetSessionID(req.SessionID())
	if !req.IsAsync() {
		h.SetTreeID(req.TreeID())
	}
	h.SetFlags(FlagResponse)
}

// CheckHeader validates the fixed parts of an SMB2 header: protocol id and
// structure size.
func CheckHeader(msg []byte) error {
	if len(msg) < HeaderSize {
		return malformed("header: message of %d bytes shorter than %d", len(msg), HeaderSize)
	}
	h := Header(msg)
	if h.ProtocolID() != ProtocolIDSMB2 {
		return malformed("header: protocol id %#08x", h.ProtocolID())
	}
	if h.StructureSize() != headerStructureSize {
		return malformed("header: structure size %d", h.StructureSize())
	}
	return nil
}

// NextMessage splits the first SMB2 message off a (possibly compounded)
// transport frame. msg ends at NextCommand (or at the end of buf for the last
// element); rest is the remainder (empty after the last element). It checks
// the header and that NextCommand is 8-byte aligned, at least the size of a
// header plus the smallest body, and inside buf (MS-SMB2 3.3.5.2.7).
func NextMessage(buf []byte) (msg, rest []byte, err error) {
	if err := CheckHeader(buf); err != nil {
		return nil, nil, err
	}
	next := Header(buf).NextCommand()
	if next == 0 {
		return buf, nil, nil
	}
	const minMessage = HeaderSize + 4 // smallest body: ECHO, CANCEL, LOGOFF...
	switch {
	case next%8 != 0:
		return nil, nil, malformed("compound: next command offset %d not 8-byte aligned", next)
	case next < minMessage:
		return nil, nil, malformed("compound: next command offset %d smaller than a message", next)
	case uint64(next) >= uint64(len(buf)):
		return nil, nil, malformed("compound: next command offset %d beyond frame of %d bytes", next, len(buf))
	}
	return buf[:next:next], buf[next:], nil
}

// NotificationMessageID is the MessageID of server-initiated messages:
// oplock and lease break notifications (MS-SMB2 3.3.4.6, 3.3.4.7).
const NotificationMessageID = ^uint64(0)

// InitAsyncResponse writes an async response header for req (MS-SMB2
// 2.2.1.1): like InitResponse, but with FlagAsync and the AsyncID in place
// of the reserved field and tree id. Used for the interim STATUS_PENDING
// response and for the final response of an operation that went async.
func (h Header) InitAsyncResponse(req Header, asyncID uint64) {
	h.InitResponse(req)
	h.SetFlags(FlagResponse | FlagAsync)
	h.SetAsyncID(asyncID)
}

// CreditChargeFor is the CreditCharge a request moving payload bytes must
// carry with the large MTU capability: one credit per 64 KiB or part of it,
// at least one (MS-SMB2 3.1.5.2).
func CreditChargeFor(payload uint32) uint16 {
	if payload == 0 {
		return 1
	}
	c := (uint64(payload)-1)/65536 + 1
	if c > 0xFFFF {
		return 0xFFFF
	}
	return uint16(c)
}
