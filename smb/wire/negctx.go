package wire

import "fmt"

// NegotiateContextType identifies an SMB 3.1.1 negotiate context (MS-SMB2 2.2.3.1).
type NegotiateContextType uint16

const (
	CtxPreauthIntegrity NegotiateContextType = 0x0001
	CtxEncryption       NegotiateContextType = 0x0002
	CtxCompression      NegotiateContextType = 0x0003
	CtxNetname          NegotiateContextType = 0x0005
	CtxTransport        NegotiateContextType = 0x0006
	CtxRDMATransform    NegotiateContextType = 0x0007
	CtxSigning          NegotiateContextType = 0x0008
)

// Algorithm identifiers used in the negotiate contexts.
const (
	HashSHA512 uint16 = 0x0001

	CipherAES128CCM uint16 = 0x0001
	CipherAES128GCM uint16 = 0x0002
	CipherAES256CCM uint16 = 0x0003
	CipherAES256GCM uint16 = 0x0004

	SigningHMACSHA256 uint16 = 0x0000
	SigningAESCMAC    uint16 = 0x0001
	SigningAESGMAC    uint16 = 0x0002

	CompressionNone        uint16 = 0x0000
	CompressionLZNT1       uint16 = 0x0001
	CompressionLZ77        uint16 = 0x0002
	CompressionLZ77Huffman uint16 = 0x0003
	CompressionPatternV1   uint16 = 0x0004
	CompressionLZ4         uint16 = 0x0005

	// CompressionCapabilitiesFlagChained: chained compression supported.
	CompressionCapabilitiesFlagChained uint32 = 0x00000001

	// TransportAcceptTransportLevelSecurity (SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY).
	TransportAcceptTransportLevelSecurity uint32 = 0x00000001

	RDMATransformNone       uint16 = 0x0000
	RDMATransformEncryption uint16 = 0x0001
	RDMATransformSigning    uint16 = 0x0002
)

// NegotiateContext is one raw SMB2_NEGOTIATE_CONTEXT. Data aliases the
// decoded message.
type NegotiateContext struct {
	Type NegotiateContextType
	Data []byte
}

// maxContexts bounds how many contexts a list may announce; real clients send
// fewer than ten.
const maxContexts = 64

// DecodeNegotiateContexts decodes count contexts starting at b[0]; entries are
// 8-byte aligned relative to b's start (which the caller guarantees is an
// 8-byte aligned offset in the message).
func DecodeNegotiateContexts(b []byte, count int) ([]NegotiateContext, error) {
	if count > maxContexts {
		return nil, malformed("negotiate contexts: count %d above %d", count, maxContexts)
	}
	out := make([]NegotiateContext, 0, boundedCount(count, 8, len(b)))
	off := 0
	for i := 0; i < count; i++ {
		if off+8 > len(b) {
			return nil, malformed("negotiate context %d: header at %d beyond buffer of %d bytes", i, off, len(b))
		}
		typ := NegotiateContextType(le.Uint16(b[off:]))
		n := int(le.Uint16(b[off+2:]))
		data, err := subN(b, uint64(off+8), uint64(n), "negotiate context", i, "data")
		if err != nil {
			return nil, err
		}
		out = append(out, NegotiateContext{Type: typ, Data: data})
		off = align8(off + 8 + n)
	}
	return out, nil
}

// AppendNegotiateContexts appends the list; len(b) must already be 8-byte
// aligned (relative to the SMB2 header).
func AppendNegotiateContexts(b []byte, ctxs []NegotiateContext) []byte {
	for i, c := range ctxs {
		if i > 0 {
			b = Pad8(b)
		}
		b = le.AppendUint16(b, uint16(c.Type))
		b = le.AppendUint16(b, uint16(len(c.Data)))
		b = grow(b, 4)
		b = append(b, c.Data...)
	}
	return b
}

// u16List decodes count uint16 values from b at off.
func u16List(b []byte, off, count int, what string) ([]uint16, error) {
	if off+2*count > len(b) {
		return nil, malformed("%s: %d entries beyond %d bytes", what, count, len(b))
	}
	out := make([]uint16, count)
	for i := range out {
		out[i] = le.Uint16(b[off+2*i:])
	}
	return out, nil
}

func appendU16s(b []byte, vs []uint16) []byte {
	for _, v := range vs {
		b = le.AppendUint16(b, v)
	}
	return b
}

// PreauthIntegrityCapabilities (MS-SMB2 2.2.3.1.1).
type PreauthIntegrityCapabilities struct {
	HashAlgorithms []uint16
	Salt           []byte
}

func (c *PreauthIntegrityCapabilities) Decode(d []byte) error {
	if len(d) < 4 {
		return malformed("preauth integrity context: %d bytes", len(d))
	}
	n := int(le.Uint16(d))
	saltLen := int(le.Uint16(d[2:]))
	if n == 0 {
		return malformed("preauth integrity context: no hash algorithms")
	}
	var err error
	if c.HashAlgorithms, err = u16List(d, 4, n, "preauth integrity context hash algorithms"); err != nil {
		return err
	}
	if c.Salt, err = sub(d, uint64(4+2*n), uint64(saltLen), "preauth integrity context salt"); err != nil {
		return err
	}
	return nil
}

func (c *PreauthIntegrityCapabilities) Append(b []byte) []byte {
	b = le.AppendUint16(b, uint16(len(c.HashAlgorithms)))
	b = le.AppendUint16(b, uint16(len(c.Salt)))
	b = appendU16s(b, c.HashAlgorithms)
	return append(b, c.Salt...)
}

// EncryptionCapabilities (MS-SMB2 2.2.3.1.2).
type EncryptionCapabilities struct{ Ciphers []uint16 }

func (c *EncryptionCapabilities) Decode(d []byte) error {
	if len(d) < 2 {
		return malformed("encryption context: %d bytes", len(d))
	}
	var err error
	c.Ciphers, err = u16List(d, 2, int(le.Uint16(d)), "encryption context ciphers")
	return err
}

func (c *EncryptionCapabilities) Append(b []byte) []byte {
	b = le.AppendUint16(b, uint16(len(c.Ciphers)))
	return appendU16s(b, c.Ciphers)
}

// CompressionCapabilities (MS-SMB2 2.2.3.1.3).
type CompressionCapabilities struct {
	Flags      uint32
	Algorithms []uint16
}

func (c *CompressionCapabilities) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("compression context: %d bytes", len(d))
	}
	c.Flags = le.Uint32(d[4:])
	var err error
	c.Algorithms, err = u16List(d, 8, int(le.Uint16(d)), "compression context algorithms")
	return err
}

func (c *CompressionCapabilities) Append(b []byte) []byte {
	b = le.AppendUint16(b, uint16(len(c.Algorithms)))
	b = grow(b, 2)
	b = le.AppendUint32(b, c.Flags)
	return appendU16s(b, c.Algorithms)
}

// NetnameNegotiateContextID (MS-SMB2 2.2.3.1.4): the server name the client
// connected to, UTF-16 without terminator.
type NetnameNegotiateContextID struct{ NetName string }

func (c *NetnameNegotiateContextID) Decode(d []byte) error {
	var err error
	if c.NetName, err = DecodeUTF16(d); err != nil {
		return fmt.Errorf("netname context: %w", err)
	}
	return nil
}

func (c *NetnameNegotiateContextID) Append(b []byte) []byte { return AppendUTF16(b, c.NetName) }

// TransportCapabilities (MS-SMB2 2.2.3.1.5).
type TransportCapabilities struct{ Flags uint32 }

func (c *TransportCapabilities) Decode(d []byte) error {
	if len(d) < 4 {
		return malformed("transport context: %d bytes", len(d))
	}
	c.Flags = le.Uint32(d)
	return nil
}

func (c *TransportCapabilities) Append(b []byte) []byte { return le.AppendUint32(b, c.Flags) }

// RDMATransformCapabilities (MS-SMB2 2.2.3.1.6).
type RDMATransformCapabilities struct{ TransformIDs []uint16 }

func (c *RDMATransformCapabilities) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("rdma transform context: %d bytes", len(d))
	}
	var err error
	c.TransformIDs, err = u16List(d, 8, int(le.Uint16(d)), "rdma transform context ids")
	return err
}

func (c *RDMATransformCapabilities) Append(b []byte) []byte {
	b = le.AppendUint16(b, uint16(len(c.TransformIDs)))
	b = grow(b, 6)
	return appendU16s(b, c.TransformIDs)
}

// SigningCapabilities (MS-SMB2 2.2.3.1.7).
type SigningCapabilities struct{ Algorithms []uint16 }

func (c *SigningCapabilities) Decode(d []byte) error {
	if len(d) < 2 {
		return malformed("signing context: %d bytes", len(d))
	}
	var err error
	c.Algorithms, err = u16List(d, 2, int(le.Uint16(d)), "signing context algorithms")
	return err
}

func (c *SigningCapabilities) Append(b []byte) []byte {
	b = le.AppendUint16(b, uint16(len(c.Algorithms)))
	return appendU16s(b, c.Algorithms)
}

// NegotiateContextOf builds a raw context from a typed one.
func NegotiateContextOf(t NegotiateContextType, enc interface{ Append([]byte) []byte }) NegotiateContext {
	return NegotiateContext{Type: t, Data: enc.Append(nil)}
}
