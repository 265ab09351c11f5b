package wire

// RequestStructureSize is the StructureSize each request body must carry
// (MS-SMB2 2.2.3 .. 2.2.40). Odd values count one byte of the variable
// buffer. OPLOCK_BREAK acknowledgments come in two sizes: 24 (oplock) and 36
// (lease); the table holds the oplock one.
var RequestStructureSize = [NumCommands]uint16{
	CmdNegotiate:      36,
	CmdSessionSetup:   25,
	CmdLogoff:         4,
	CmdTreeConnect:    9,
	CmdTreeDisconnect: 4,
	CmdCreate:         57,
	CmdClose:          24,
	CmdFlush:          24,
	CmdRead:           49,
	CmdWrite:          49,
	CmdLock:           48,
	CmdIoctl:          57,
	CmdCancel:         4,
	CmdEcho:           4,
	CmdQueryDirectory: 33,
	CmdChangeNotify:   32,
	CmdQueryInfo:      41,
	CmdSetInfo:        33,
	CmdOplockBreak:    24,
}

// ResponseStructureSize is the StructureSize of each successful response
// body. CANCEL has no response (0). Lease break notifications/responses (44,
// 36) differ from the oplock ones held here. Error responses use
// ErrorResponseStructureSize.
var ResponseStructureSize = [NumCommands]uint16{
	CmdNegotiate:      65,
	CmdSessionSetup:   9,
	CmdLogoff:         4,
	CmdTreeConnect:    16,
	CmdTreeDisconnect: 4,
	CmdCreate:         89,
	CmdClose:          60,
	CmdFlush:          4,
	CmdRead:           17,
	CmdWrite:          17,
	CmdLock:           4,
	CmdIoctl:          49,
	CmdCancel:         0,
	CmdEcho:           4,
	CmdQueryDirectory: 9,
	CmdChangeNotify:   9,
	CmdQueryInfo:      9,
	CmdSetInfo:        2,
	CmdOplockBreak:    24,
}

// ErrorResponseStructureSize is the StructureSize of SMB2 ERROR (2.2.2).
const ErrorResponseStructureSize = 9

// CheckRequestSize checks that msg (one whole SMB2 message) carries the
// StructureSize the command requires and is long enough for the fixed part
// of the body (MS-SMB2 3.3.5.2.6: mismatches fail with
// STATUS_INVALID_PARAMETER).
func CheckRequestSize(cmd Command, msg []byte) error {
	if cmd >= NumCommands {
		return malformed("request: unknown command %#04x", uint16(cmd))
	}
	if len(msg) < HeaderSize+2 {
		return malformed("%v request: message of %d bytes has no body", cmd, len(msg))
	}
	got := le.Uint16(msg[HeaderSize:])
	want := RequestStructureSize[cmd]
	if got != want && !(cmd == CmdOplockBreak && got == LeaseBreakAckStructureSize) {
		return malformed("%v request: structure size %d, want %d", cmd, got, want)
	}
	if fixed := int(got &^ 1); len(msg) < HeaderSize+fixed {
		return malformed("%v request: body of %d bytes shorter than %d", cmd, len(msg)-HeaderSize, fixed)
	}
	return nil
}
