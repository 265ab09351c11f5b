package wire

// InfoType of QUERY_INFO / SET_INFO (MS-SMB2 2.2.37).
const (
	InfoFile       uint8 = 0x01
	InfoFilesystem uint8 = 0x02
	InfoSecurity   uint8 = 0x03
	InfoQuota      uint8 = 0x04
)

// AdditionalInformation bits for InfoSecurity.
const (
	OwnerSecurityInformation     uint32 = 0x00000001
	GroupSecurityInformation     uint32 = 0x00000002
	DACLSecurityInformation      uint32 = 0x00000004
	SACLSecurityInformation      uint32 = 0x00000008
	LabelSecurityInformation     uint32 = 0x00000010
	AttributeSecurityInformation uint32 = 0x00000020
	ScopeSecurityInformation     uint32 = 0x00000040
	BackupSecurityInformation    uint32 = 0x00010000
)

// QueryInfo flags.
const (
	SLRestartScan       uint32 = 0x00000001
	SLReturnSingleEntry uint32 = 0x00000002
	SLIndexSpecified    uint32 = 0x00000004
)

// QueryInfoRequest is SMB2 QUERY_INFO Request (MS-SMB2 2.2.37).
type QueryInfoRequest struct {
	InfoType              uint8
	FileInfoClass         uint8
	OutputBufferLength    uint32
	AdditionalInformation uint32
	Flags                 uint32
	FileID                FileID
	InputBuffer           []byte // quota / EA list queries
}

func (r *QueryInfoRequest) Decode(msg []byte) error {
	b, err := body(msg, "query info request", 41)
	if err != nil {
		return err
	}
	r.InfoType = b[2]
	r.FileInfoClass = b[3]
	r.OutputBufferLength = le.Uint32(b[4:])
	r.AdditionalInformation = le.Uint32(b[16:])
	r.Flags = le.Uint32(b[20:])
	r.FileID = getFileID(b[24:])
	r.InputBuffer, err = field(msg, uint64(le.Uint16(b[8:])), uint64(le.Uint32(b[12:])), "query info request: input buffer")
	return err
}

func (r *QueryInfoRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 40)
	b := msg[start:]
	le.PutUint16(b, 41)
	b[2] = r.InfoType
	b[3] = r.FileInfoClass
	le.PutUint32(b[4:], r.OutputBufferLength)
	le.PutUint32(b[16:], r.AdditionalInformation)
	le.PutUint32(b[20:], r.Flags)
	putFileID(b[24:], r.FileID)
	if len(r.InputBuffer) > 0 {
		le.PutUint16(b[8:], uint16(len(msg)))
		le.PutUint32(b[12:], uint32(len(r.InputBuffer)))
	}
	return appendBuffer(msg, r.InputBuffer)
}

// outputResponse is the shared shape of QUERY_INFO, QUERY_DIRECTORY and
// CHANGE_NOTIFY responses: StructureSize 9, OutputBufferOffset (2),
// OutputBufferLength (4), Buffer.
func appendOutput(msg, out []byte) []byte {
	start := len(msg)
	msg = grow(msg, 8)
	le.PutUint16(msg[start:], 9)
	if len(out) > 0 {
		le.PutUint16(msg[start+2:], uint16(len(msg)))
		le.PutUint32(msg[start+4:], uint32(len(out)))
	}
	return appendBuffer(msg, out) // an empty output keeps offset 0 and one pad byte, as Samba sends it
}

func decodeOutput(msg []byte, what string) ([]byte, error) {
	b, err := body(msg, what, 9)
	if err != nil {
		return nil, err
	}
	return field(msg, uint64(le.Uint16(b[2:])), uint64(le.Uint32(b[4:])), what+": output buffer")
}

// OutputResponseDataOffset is where the output buffer of QUERY_INFO,
// QUERY_DIRECTORY and CHANGE_NOTIFY responses starts (8-byte aligned).
const OutputResponseDataOffset = HeaderSize + 8

// QueryInfoResponse is SMB2 QUERY_INFO Response (MS-SMB2 2.2.38).
type QueryInfoResponse struct{ Output []byte }

func (r *QueryInfoResponse) Append(msg []byte) []byte { return appendOutput(msg, r.Output) }
func (r *QueryInfoResponse) Decode(msg []byte) (err error) {
	r.Output, err = decodeOutput(msg, "query info response")
	return err
}

// SetInfoRequest is SMB2 SET_INFO Request (MS-SMB2 2.2.39). Buffer aliases
// the decoded message.
type SetInfoRequest struct {
	InfoType              uint8
	FileInfoClass         uint8
	AdditionalInformation uint32
	FileID                FileID
	Buffer                []byte
}

func (r *SetInfoRequest) Decode(msg []byte) error {
	b, err := body(msg, "set info request", 33)
	if err != nil {
		return err
	}
	r.InfoType = b[2]
	r.FileInfoClass = b[3]
	r.AdditionalInformation = le.Uint32(b[12:])
	r.FileID = getFileID(b[16:])
	r.Buffer, err = field(msg, uint64(le.Uint16(b[8:])), uint64(le.Uint32(b[4:])), "set info request: buffer")
	return err
}

func (r *SetInfoRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 32)
	b := msg[start:]
	le.PutUint16(b, 33)
	b[2] = r.InfoType
	b[3] = r.FileInfoClass
	le.PutUint32(b[4:], uint32(len(r.Buffer)))
	le.PutUint16(b[8:], uint16(len(msg)))
	le.PutUint32(b[12:], r.AdditionalInformation)
	putFileID(b[16:], r.FileID)
	return appendBuffer(msg, r.Buffer)
}

// SetInfoResponse is SMB2 SET_INFO Response (MS-SMB2 2.2.40).
type SetInfoResponse struct{}

func (*SetInfoResponse) Append(msg []byte) []byte { return append(msg, 2, 0) }
func (*SetInfoResponse) Decode(msg []byte) error {
	_, err := body(msg, "set info response", 2)
	return err
}

// QueryDirectory flags (MS-SMB2 2.2.33).
const (
	QueryDirRestartScans      uint8 = 0x01
	QueryDirReturnSingleEntry uint8 = 0x02
	QueryDirIndexSpecified    uint8 = 0x04
	QueryDirReopen            uint8 = 0x10
)

// QueryDirectoryRequest is SMB2 QUERY_DIRECTORY Request (MS-SMB2 2.2.33).
type QueryDirectoryRequest struct {
	FileInfoClass      uint8
	Flags              uint8
	FileIndex          uint32
	FileID             FileID
	FileName           string // search pattern, e.g. "*"
	OutputBufferLength uint32
}

func (r *QueryDirectoryRequest) Decode(msg []byte) error {
	b, err := body(msg, "query directory request", 33)
	if err != nil {
		return err
	}
	r.FileInfoClass = b[2]
	r.Flags = b[3]
	r.FileIndex = le.Uint32(b[4:])
	r.FileID = getFileID(b[8:])
	r.OutputBufferLength = le.Uint32(b[28:])
	name, err := field(msg, uint64(le.Uint16(b[24:])), uint64(le.Uint16(b[26:])), "query directory request: file name")
	if err != nil {
		return err
	}
	if r.FileName, err = DecodeUTF16(name); err != nil {
		return wrapf("query directory request: file name", err)
	}
	return nil
}

func (r *QueryDirectoryRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 32)
	b := msg[start:]
	le.PutUint16(b, 33)
	b[2] = r.FileInfoClass
	b[3] = r.Flags
	le.PutUint32(b[4:], r.FileIndex)
	putFileID(b[8:], r.FileID)
	le.PutUint16(b[24:], uint16(len(msg)))
	le.PutUint16(b[26:], uint16(UTF16Len(r.FileName)))
	le.PutUint32(b[28:], r.OutputBufferLength)
	if r.FileName == "" {
		return append(msg, 0)
	}
	return AppendUTF16(msg, r.FileName)
}

// QueryDirectoryResponse is SMB2 QUERY_DIRECTORY Response (MS-SMB2 2.2.34);
// Output is a DirWriter's result.
type QueryDirectoryResponse struct{ Output []byte }

func (r *QueryDirectoryResponse) Append(msg []byte) []byte { return appendOutput(msg, r.Output) }
func (r *QueryDirectoryResponse) Decode(msg []byte) (err error) {
	r.Output, err = decodeOutput(msg, "query directory response")
	return err
}
