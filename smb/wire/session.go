package wire

// SessionSetup request flags (MS-SMB2 2.2.5).
const SessionFlagBinding uint8 = 0x01

// SessionSetup response SessionFlags (MS-SMB2 2.2.6).
const (
	SessionFlagIsGuest     uint16 = 0x0001
	SessionFlagIsNull      uint16 = 0x0002
	SessionFlagEncryptData uint16 = 0x0004
)

// SessionSetupRequest is SMB2 SESSION_SETUP Request (MS-SMB2 2.2.5).
type SessionSetupRequest struct {
	Flags             uint8
	SecurityMode      uint8
	Capabilities      uint32
	Channel           uint32
	SecurityBuffer    []byte
	PreviousSessionID uint64
}

func (r *SessionSetupRequest) Decode(msg []byte) error {
	b, err := body(msg, "session setup request", 25)
	if err != nil {
		return err
	}
	r.Flags = b[2]
	r.SecurityMode = b[3]
	r.Capabilities = le.Uint32(b[4:])
	r.Channel = le.Uint32(b[8:])
	r.PreviousSessionID = le.Uint64(b[16:])
	r.SecurityBuffer, err = field(msg, uint64(le.Uint16(b[12:])), uint64(le.Uint16(b[14:])), "session setup request: security buffer")
	return err
}

func (r *SessionSetupRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 24)
	b := msg[start:]
	le.PutUint16(b[0:], 25)
	b[2] = r.Flags
	b[3] = r.SecurityMode
	le.PutUint32(b[4:], r.Capabilities)
	le.PutUint32(b[8:], r.Channel)
	le.PutUint16(b[12:], uint16(len(msg)))
	le.PutUint16(b[14:], uint16(len(r.SecurityBuffer)))
	le.PutUint64(b[16:], r.PreviousSessionID)
	return appendBuffer(msg, r.SecurityBuffer)
}

// appendBuffer appends a variable buffer; an empty one still gets the single
// byte that an odd StructureSize promises.
func appendBuffer(msg, buf []byte) []byte {
	if len(buf) == 0 {
		return append(msg, 0)
	}
	return append(msg, buf...)
}

// SessionSetupResponse is SMB2 SESSION_SETUP Response (MS-SMB2 2.2.6).
type SessionSetupResponse struct {
	SessionFlags   uint16
	SecurityBuffer []byte
}

func (r *SessionSetupResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 8)
	b := msg[start:]
	le.PutUint16(b[0:], 9)
	le.PutUint16(b[2:], r.SessionFlags)
	le.PutUint16(b[4:], uint16(len(msg)))
	le.PutUint16(b[6:], uint16(len(r.SecurityBuffer)))
	return appendBuffer(msg, r.SecurityBuffer)
}

func (r *SessionSetupResponse) Decode(msg []byte) error {
	b, err := body(msg, "session setup response", 9)
	if err != nil {
		return err
	}
	r.SessionFlags = le.Uint16(b[2:])
	r.SecurityBuffer, err = field(msg, uint64(le.Uint16(b[4:])), uint64(le.Uint16(b[6:])), "session setup response: security buffer")
	return err
}

// emptyBody is the 4-byte StructureSize+Reserved body shared by LOGOFF,
// TREE_DISCONNECT, ECHO, CANCEL requests and responses and the FLUSH and
// LOCK responses.
func decodeEmpty(msg []byte, what string) error {
	_, err := body(msg, what, 4)
	return err
}

func appendEmpty(msg []byte) []byte {
	return append(msg, 4, 0, 0, 0)
}

// LogoffRequest is SMB2 LOGOFF Request (MS-SMB2 2.2.7).
type LogoffRequest struct{}

func (*LogoffRequest) Decode(msg []byte) error  { return decodeEmpty(msg, "logoff request") }
func (*LogoffRequest) Append(msg []byte) []byte { return appendEmpty(msg) }

// LogoffResponse is SMB2 LOGOFF Response (MS-SMB2 2.2.8).
type LogoffResponse struct{}

func (*LogoffResponse) Decode(msg []byte) error  { return decodeEmpty(msg, "logoff response") }
func (*LogoffResponse) Append(msg []byte) []byte { return appendEmpty(msg) }

// TreeDisconnectRequest is SMB2 TREE_DISCONNECT Request (MS-SMB2 2.2.11).
type TreeDisconnectRequest struct{}

func (*TreeDisconnectRequest) Decode(msg []byte) error {
	return decodeEmpty(msg, "tree disconnect request")
}
func (*TreeDisconnectRequest) Append(msg []byte) []byte { return appendEmpty(msg) }

// TreeDisconnectResponse is SMB2 TREE_DISCONNECT Response (MS-SMB2 2.2.12).
type TreeDisconnectResponse struct{}

func (*TreeDisconnectResponse) Decode(msg []byte) error {
	return decodeEmpty(msg, "tree disconnect response")
}
func (*TreeDisconnectResponse) Append(msg []byte) []byte { return appendEmpty(msg) }

// EchoRequest is SMB2 ECHO Request (MS-SMB2 2.2.28).
type EchoRequest struct{}

func (*EchoRequest) Decode(msg []byte) error  { return decodeEmpty(msg, "echo request") }
func (*EchoRequest) Append(msg []byte) []byte { return appendEmpty(msg) }

// EchoResponse is SMB2 ECHO Response (MS-SMB2 2.2.29).
type EchoResponse struct{}

func (*EchoResponse) Decode(msg []byte) error  { return decodeEmpty(msg, "echo response") }
func (*EchoResponse) Append(msg []byte) []byte { return appendEmpty(msg) }

// CancelRequest is SMB2 CANCEL Request (MS-SMB2 2.2.30). It has no response;
// the header's MessageID (or AsyncID) names the request to cancel.
type CancelRequest struct{}

func (*CancelRequest) Decode(msg []byte) error  { return decodeEmpty(msg, "cancel request") }
func (*CancelRequest) Append(msg []byte) []byte { return appendEmpty(msg) }
