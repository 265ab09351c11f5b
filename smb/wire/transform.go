package wire

// TransformHeaderSize is the size of SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41).
const TransformHeaderSize = 52

// Transform header flags / encryption algorithm field (3.0: EncryptionAlgorithm
// = 1 for AES-128-CCM; 3.1.1: Flags = 1 "encrypted").
const TransformFlagEncrypted uint16 = 0x0001

// Offsets inside the transform header.
const (
	offTfProtocolID   = 0
	offTfSignature    = 4  // 16 bytes: the AEAD tag
	offTfNonce        = 20 // 16 bytes: 11 used by CCM, 12 by GCM
	offTfOriginalSize = 36
	offTfReserved     = 40
	offTfFlags        = 42
	offTfSessionID    = 44
)

// TransformHeader is a view over the 52-byte SMB2 TRANSFORM_HEADER that
// precedes an encrypted message.
type TransformHeader []byte

// DecodeTransformHeader checks buf starts with a transform header and returns
// the view and the ciphertext after it, whose length must equal
// OriginalMessageSize.
func DecodeTransformHeader(buf []byte) (TransformHeader, []byte, error) {
	if len(buf) < TransformHeaderSize {
		return nil, nil, malformed("transform header: %d bytes", len(buf))
	}
	t := TransformHeader(buf[:TransformHeaderSize:TransformHeaderSize])
	if string(buf[:4]) != ProtocolTransform {
		return nil, nil, malformed("transform header: protocol id % x", buf[:4])
	}
	body := buf[TransformHeaderSize:]
	if n := t.OriginalMessageSize(); uint64(n) != uint64(len(body)) {
		return nil, nil, malformed("transform header: original size %d, %d bytes follow", n, len(body))
	}
	if n := t.OriginalMessageSize(); n < HeaderSize {
		return nil, nil, malformed("transform header: original size %d smaller than an SMB2 header", n)
	}
	return t, body, nil
}

// InitTransformHeader writes a fresh transform header into t (52 bytes).
func (t TransformHeader) Init(sessionID uint64, originalSize uint32, nonce []byte) {
	clear(t[:TransformHeaderSize])
	copy(t[offTfProtocolID:], ProtocolTransform)
	copy(t[offTfNonce:offTfNonce+16], nonce)
	le.PutUint32(t[offTfOriginalSize:], originalSize)
	le.PutUint16(t[offTfFlags:], TransformFlagEncrypted)
	le.PutUint64(t[offTfSessionID:], sessionID)
}

// Signature is the 16-byte AEAD tag, writable in place.
func (t TransformHeader) Signature() []byte {
	return t[offTfSignature : offTfSignature+16 : offTfSignature+16]
}

// Nonce is the 16-byte nonce field (AES-CCM uses the first 11 bytes,
// AES-GCM the first 12), writable in place.
func (t TransformHeader) Nonce() []byte { return t[offTfNonce : offTfNonce+16 : offTfNonce+16] }

func (t TransformHeader) OriginalMessageSize() uint32 { return le.Uint32(t[offTfOriginalSize:]) }
func (t TransformHeader) Flags() uint16               { return le.Uint16(t[offTfFlags:]) }
func (t TransformHeader) SessionID() uint64           { return le.Uint64(t[offTfSessionID:]) }

// AAD is what the encryption authenticates: the header from the nonce to
// the end (bytes 20..51), MS-SMB2 3.1.4.3.
func (t TransformHeader) AAD() []byte { return t[offTfNonce:TransformHeaderSize:TransformHeaderSize] }

// CompressionTransformHeader is the unchained SMB2 COMPRESSION_TRANSFORM_HEADER
// (MS-SMB2 2.2.42.1), 16 bytes.
type CompressionTransformHeader struct {
	OriginalCompressedSegmentSize uint32
	CompressionAlgorithm          uint16
	Flags                         uint16
	Offset                        uint32 // unchained: bytes of uncompressed data before the compressed part
}

// CompressionFlagChained marks the chained variant (2.2.42.2).
const CompressionFlagChained uint16 = 0x0001

// DecodeCompressionTransformHeader decodes the unchained header and returns
// the payload after it. Chained headers are malformed here (not supported).
func DecodeCompressionTransformHeader(buf []byte) (CompressionTransformHeader, []byte, error) {
	var h CompressionTransformHeader
	if len(buf) < 16 {
		return h, nil, malformed("compression transform header: %d bytes", len(buf))
	}
	if string(buf[:4]) != ProtocolCompression {
		return h, nil, malformed("compression transform header: protocol id % x", buf[:4])
	}
	h.OriginalCompressedSegmentSize = le.Uint32(buf[4:])
	h.CompressionAlgorithm = le.Uint16(buf[8:])
	h.Flags = le.Uint16(buf[10:])
	h.Offset = le.Uint32(buf[12:])
	if h.Flags&CompressionFlagChained != 0 {
		return h, nil, malformed("compression transform header: chained compression not supported")
	}
	if uint64(h.Offset) > uint64(len(buf)-16) {
		return h, nil, malformed("compression transform header: offset %d beyond %d bytes", h.Offset, len(buf)-16)
	}
	return h, buf[16:], nil
}

func (h *CompressionTransformHeader) Append(b []byte) []byte {
	b = append(b, ProtocolCompression...)
	b = le.AppendUint32(b, h.OriginalCompressedSegmentSize)
	b = le.AppendUint16(b, h.CompressionAlgorithm)
	b = le.AppendUint16(b, h.Flags)
	return le.AppendUint32(b, h.Offset)
}
