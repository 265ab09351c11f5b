package wire

// Read flags (MS-SMB2 2.2.19).
const (
	ReadFlagUnbuffered        uint8 = 0x01
	ReadFlagRequestCompressed uint8 = 0x02
)

// Channel values for READ/WRITE (RDMA).
const (
	ChannelNone             uint32 = 0x00000000
	ChannelRDMAV1           uint32 = 0x00000001
	ChannelRDMAV1Invalidate uint32 = 0x00000002
	ChannelRDMATransform    uint32 = 0x00000003
)

// Write flags (MS-SMB2 2.2.21).
const (
	WriteFlagWriteThrough    uint32 = 0x00000001
	WriteFlagWriteUnbuffered uint32 = 0x00000002
)

// ReadResponseDataOffset is where ReadResponse.Append and AppendHeaderOnly
// put the data: right after the 16-byte body, relative to the header.
const ReadResponseDataOffset = HeaderSize + 16

// WriteRequestDataOffset is where WriteRequest.Append puts the data when
// there is no channel info.
const WriteRequestDataOffset = HeaderSize + 48

// ReadRequest is SMB2 READ Request (MS-SMB2 2.2.19).
type ReadRequest struct {
	Padding         uint8
	Flags           uint8
	Length          uint32
	Offset          uint64
	FileID          FileID
	MinimumCount    uint32
	Channel         uint32
	RemainingBytes  uint32
	ReadChannelInfo []byte
}

func (r *ReadRequest) Decode(msg []byte) error {
	b, err := body(msg, "read request", 49)
	if err != nil {
		return err
	}
	r.Padding = b[2]
	r.Flags = b[3]
	r.Length = le.Uint32(b[4:])
	r.Offset = le.Uint64(b[8:])
	r.FileID = getFileID(b[16:])
	r.MinimumCount = le.Uint32(b[32:])
	r.Channel = le.Uint32(b[36:])
	r.RemainingBytes = le.Uint32(b[40:])
	r.ReadChannelInfo, err = field(msg, uint64(le.Uint16(b[44:])), uint64(le.Uint16(b[46:])), "read request: channel info")
	return err
}

func (r *ReadRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 48)
	b := msg[start:]
	le.PutUint16(b, 49)
	b[2] = r.Padding
	b[3] = r.Flags
	le.PutUint32(b[4:], r.Length)
	le.PutUint64(b[8:], r.Offset)
	putFileID(b[16:], r.FileID)
	le.PutUint32(b[32:], r.MinimumCount)
	le.PutUint32(b[36:], r.Channel)
	le.PutUint32(b[40:], r.RemainingBytes)
	if len(r.ReadChannelInfo) > 0 {
		le.PutUint16(b[44:], uint16(len(msg)))
		le.PutUint16(b[46:], uint16(len(r.ReadChannelInfo)))
	}
	return appendBuffer(msg, r.ReadChannelInfo)
}

// ReadResponse is SMB2 READ Response (MS-SMB2 2.2.20). Data aliases the
// decoded message.
type ReadResponse struct {
	DataRemaining uint32
	Flags         uint32 // 3.1.1: SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM
	Data          []byte
}

// AppendHeaderOnly writes the READ response body for dataLen bytes of data
// that the caller appends itself right after (at ReadResponseDataOffset), so
// file data can be read straight into the response buffer:
//
//	msg = r.AppendHeaderOnly(msg, n)
//	msg = append(msg, data...) // or grow and ReadAt into msg[len-n:]
func (r *ReadResponse) AppendHeaderOnly(msg []byte, dataLen int) []byte {
	start := len(msg)
	msg = grow(msg, 16)
	b := msg[start:]
	le.PutUint16(b, 17)
	b[2] = byte(start + 16) // DataOffset is one byte: always 80 here
	le.PutUint32(b[4:], uint32(dataLen))
	le.PutUint32(b[8:], r.DataRemaining)
	le.PutUint32(b[12:], r.Flags)
	return msg
}

// Append writes the body and the data. Like Samba (and unlike the requests,
// where servers insist on it) an empty response buffer is not padded to
// StructureSize; clients only require the fixed part.
func (r *ReadResponse) Append(msg []byte) []byte {
	msg = r.AppendHeaderOnly(msg, len(r.Data))
	return append(msg, r.Data...)
}

func (r *ReadResponse) Decode(msg []byte) error {
	b, err := body(msg, "read response", 17)
	if err != nil {
		return err
	}
	r.DataRemaining = le.Uint32(b[8:])
	r.Flags = le.Uint32(b[12:])
	r.Data, err = field(msg, uint64(b[2]), uint64(le.Uint32(b[4:])), "read response: data")
	return err
}

// WriteRequest is SMB2 WRITE Request (MS-SMB2 2.2.21). Data and
// WriteChannelInfo alias the decoded message (no copy).
type WriteRequest struct {
	Offset           uint64
	FileID           FileID
	Channel          uint32
	RemainingBytes   uint32
	Flags            uint32
	WriteChannelInfo []byte
	Data             []byte
}

func (r *WriteRequest) Decode(msg []byte) error {
	b, err := body(msg, "write request", 49)
	if err != nil {
		return err
	}
	r.Offset = le.Uint64(b[8:])
	r.FileID = getFileID(b[16:])
	r.Channel = le.Uint32(b[32:])
	r.RemainingBytes = le.Uint32(b[36:])
	r.Flags = le.Uint32(b[44:])
	if r.WriteChannelInfo, err = field(msg, uint64(le.Uint16(b[40:])), uint64(le.Uint16(b[42:])), "write request: channel info"); err != nil {
		return err
	}
	r.Data, err = field(msg, uint64(le.Uint16(b[2:])), uint64(le.Uint32(b[4:])), "write request: data")
	return err
}

// WriteHeadSize is how much of a frame WritePayloadLen needs: the header and the WRITE body's
// fixed part, which is where a plain WRITE's data starts.
const WriteHeadSize = WriteRequestDataOffset

// WritePayloadLen looks at the first WriteHeadSize bytes of a frame of frameLen bytes and
// reports whether the frame is one unsigned, unrelated SMB2 WRITE with no channel info whose
// data starts right after the fixed part and runs to the end of the frame, and if so the data's
// length. Such a frame's data can be received after its request has been checked, straight into
// the file. Anything else (and anything malformed) gives ok false: the frame is then read whole
// and goes through the ordinary decoders, which report what is wrong with it.
func WritePayloadLen(head []byte, frameLen int) (n int, ok bool) {
	if len(head) < WriteHeadSize || frameLen < WriteHeadSize {
		return 0, false
	}
	h := Header(head)
	if h.ProtocolID() != ProtocolIDSMB2 || h.StructureSize() != HeaderSize || h.Command() != CmdWrite ||
		h.NextCommand() != 0 || h.IsRelated() || h.IsSigned() || h.IsResponse() {
		return 0, false
	}
	b := head[HeaderSize:]
	if le.Uint16(b) != 49 || le.Uint16(b[2:]) != WriteRequestDataOffset ||
		le.Uint16(b[40:]) != 0 || le.Uint16(b[42:]) != 0 ||
		uint64(le.Uint32(b[4:])) != uint64(frameLen-WriteRequestDataOffset) {
		return 0, false
	}
	return frameLen - WriteRequestDataOffset, true
}

// DecodeHead decodes a WRITE request whose data has not been received: msg is the frame's first
// WriteHeadSize bytes, accepted by WritePayloadLen with dataLen. Data stays nil.
func (r *WriteRequest) DecodeHead(msg []byte, dataLen int) error {
	if n, ok := WritePayloadLen(msg, len(msg)+dataLen); !ok || n != dataLen {
		return malformed("write request: not a plain write of %d bytes", dataLen)
	}
	b := msg[HeaderSize:]
	*r = WriteRequest{Offset: le.Uint64(b[8:]), FileID: getFileID(b[16:]), Channel: le.Uint32(b[32:]),
		RemainingBytes: le.Uint32(b[36:]), Flags: le.Uint32(b[44:])}
	return nil
}

// AppendHeaderOnly writes the WRITE request body for dataLen bytes the
// caller appends right after (at WriteRequestDataOffset; channel info is not
// supported on this path).
func (r *WriteRequest) AppendHeaderOnly(msg []byte, dataLen int) []byte {
	start := len(msg)
	msg = grow(msg, 48)
	b := msg[start:]
	le.PutUint16(b, 49)
	le.PutUint16(b[2:], uint16(start+48))
	le.PutUint32(b[4:], uint32(dataLen))
	le.PutUint64(b[8:], r.Offset)
	putFileID(b[16:], r.FileID)
	le.PutUint32(b[32:], r.Channel)
	le.PutUint32(b[36:], r.RemainingBytes)
	le.PutUint32(b[44:], r.Flags)
	return msg
}

func (r *WriteRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = r.AppendHeaderOnly(msg, len(r.Data))
	if len(r.WriteChannelInfo) > 0 {
		le.PutUint16(msg[start+40:], uint16(len(msg)))
		le.PutUint16(msg[start+42:], uint16(len(r.WriteChannelInfo)))
		msg = append(msg, r.WriteChannelInfo...)
	}
	le.PutUint16(msg[start+2:], uint16(len(msg)))
	return appendBuffer(msg, r.Data)
}

// WriteResponse is SMB2 WRITE Response (MS-SMB2 2.2.22).
type WriteResponse struct {
	Count     uint32
	Remaining uint32
}

func (r *WriteResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 16) // no channel info: the buffer is empty (as Samba sends it)
	b := msg[start:]
	le.PutUint16(b, 17)
	le.PutUint32(b[4:], r.Count)
	le.PutUint32(b[8:], r.Remaining)
	return msg
}

func (r *WriteResponse) Decode(msg []byte) error {
	b, err := body(msg, "write response", 17)
	if err != nil {
		return err
	}
	r.Count = le.Uint32(b[4:])
	r.Remaining = le.Uint32(b[8:])
	return nil
}
