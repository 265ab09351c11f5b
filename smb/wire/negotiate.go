package wire

import "fmt"

// Dialect is an SMB2 dialect revision (MS-SMB2 2.2.3).
type Dialect uint16

const (
	DialectSMB202   Dialect = 0x0202
	DialectSMB21    Dialect = 0x0210
	DialectSMB30    Dialect = 0x0300
	DialectSMB302   Dialect = 0x0302
	DialectSMB311   Dialect = 0x0311
	DialectWildcard Dialect = 0x02FF // SMB 2.??? answer to a multi-protocol SMB1 negotiate
)

func (d Dialect) String() string {
	switch d {
	case DialectSMB202:
		return "2.0.2"
	case DialectSMB21:
		return "2.1"
	case DialectSMB30:
		return "3.0"
	case DialectSMB302:
		return "3.0.2"
	case DialectSMB311:
		return "3.1.1"
	case DialectWildcard:
		return "2.???"
	}
	return "0x" + hex16(uint16(d))
}

func hex16(v uint16) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}

// SecurityMode flags of NEGOTIATE and SESSION_SETUP.
const (
	SigningEnabled  uint16 = 0x0001
	SigningRequired uint16 = 0x0002
)

// Global capabilities (MS-SMB2 2.2.3 / 2.2.4).
const (
	CapDFS               uint32 = 0x00000001
	CapLeasing           uint32 = 0x00000002
	CapLargeMTU          uint32 = 0x00000004
	CapMultiChannel      uint32 = 0x00000008
	CapPersistentHandles uint32 = 0x00000010
	CapDirectoryLeasing  uint32 = 0x00000020
	CapEncryption        uint32 = 0x00000040
	CapNotifications     uint32 = 0x00000080
)

// maxListEntries bounds counts taken from the wire before any allocation:
// no slice is ever made larger than the bytes that could fill it.
func boundedCount(count, entrySize, avail int) int {
	if entrySize <= 0 {
		return 0
	}
	if max := avail / entrySize; count > max {
		return max
	}
	return count
}

// NegotiateRequest is SMB2 NEGOTIATE Request (MS-SMB2 2.2.3).
type NegotiateRequest struct {
	SecurityMode uint16
	Capabilities uint32
	ClientGUID   GUID
	Dialects     []Dialect
	// Contexts are present when Dialects include 3.1.1; otherwise the same
	// 8 bytes hold ClientStartTime (which must be 0).
	Contexts        []NegotiateContext
	ClientStartTime uint64
}

func (r *NegotiateRequest) offers311() bool {
	for _, d := range r.Dialects {
		if d == DialectSMB311 {
			return true
		}
	}
	return false
}

func (r *NegotiateRequest) Decode(msg []byte) error {
	b, err := body(msg, "negotiate request", 36)
	if err != nil {
		return err
	}
	count := int(le.Uint16(b[2:]))
	r.SecurityMode = le.Uint16(b[4:])
	r.Capabilities = le.Uint32(b[8:])
	copy(r.ClientGUID[:], b[12:28])
	if count == 0 {
		return malformed("negotiate request: dialect count 0")
	}
	if len(b) < 36+2*count {
		return malformed("negotiate request: %d dialects need %d bytes, body has %d", count, 36+2*count, len(b))
	}
	r.Dialects = make([]Dialect, count)
	for i := range r.Dialects {
		r.Dialects[i] = Dialect(le.Uint16(b[36+2*i:]))
	}
	r.Contexts = nil
	r.ClientStartTime = 0
	if !r.offers311() {
		r.ClientStartTime = le.Uint64(b[28:])
		return nil
	}
	off := le.Uint32(b[28:])
	n := int(le.Uint16(b[32:]))
	if n == 0 {
		return nil
	}
	if uint64(off) < HeaderSize || uint64(off) > uint64(len(msg)) {
		return malformed("negotiate request: context offset %d beyond message of %d bytes", off, len(msg))
	}
	r.Contexts, err = DecodeNegotiateContexts(msg[off:], n)
	if err != nil {
		return fmt.Errorf("negotiate request: %w", err)
	}
	return nil
}

func (r *NegotiateRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 36)
	b := msg[start:]
	le.PutUint16(b[0:], 36)
	le.PutUint16(b[2:], uint16(len(r.Dialects)))
	le.PutUint16(b[4:], r.SecurityMode)
	le.PutUint32(b[8:], r.Capabilities)
	copy(b[12:28], r.ClientGUID[:])
	for _, d := range r.Dialects {
		msg = le.AppendUint16(msg, uint16(d))
	}
	if !r.offers311() {
		le.PutUint64(msg[start+28:], r.ClientStartTime)
		return msg
	}
	if len(r.Contexts) > 0 {
		msg = Pad8(msg)
		le.PutUint32(msg[start+28:], uint32(len(msg)))
		le.PutUint16(msg[start+32:], uint16(len(r.Contexts)))
		msg = AppendNegotiateContexts(msg, r.Contexts)
	}
	return msg
}

// NegotiateResponse is SMB2 NEGOTIATE Response (MS-SMB2 2.2.4).
type NegotiateResponse struct {
	SecurityMode    uint16
	DialectRevision Dialect
	ServerGUID      GUID
	Capabilities    uint32
	MaxTransactSize uint32
	MaxReadSize     uint32
	MaxWriteSize    uint32
	SystemTime      uint64             // FILETIME
	ServerStartTime uint64             // FILETIME
	SecurityBuffer  []byte             // SPNEGO token
	Contexts        []NegotiateContext // 3.1.1 only
}

func (r *NegotiateResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 64)
	b := msg[start:]
	le.PutUint16(b[0:], 65)
	le.PutUint16(b[2:], r.SecurityMode)
	le.PutUint16(b[4:], uint16(r.DialectRevision))
	copy(b[8:24], r.ServerGUID[:])
	le.PutUint32(b[24:], r.Capabilities)
	le.PutUint32(b[28:], r.MaxTransactSize)
	le.PutUint32(b[32:], r.MaxReadSize)
	le.PutUint32(b[36:], r.MaxWriteSize)
	le.PutUint64(b[40:], r.SystemTime)
	le.PutUint64(b[48:], r.ServerStartTime)
	if len(r.SecurityBuffer) > 0 {
		le.PutUint16(b[56:], uint16(len(msg)))
		le.PutUint16(b[58:], uint16(len(r.SecurityBuffer)))
		msg = append(msg, r.SecurityBuffer...)
	} else {
		le.PutUint16(b[56:], uint16(start+64))
	}
	if r.DialectRevision == DialectSMB311 && len(r.Contexts) > 0 {
		msg = Pad8(msg)
		le.PutUint16(msg[start+6:], uint16(len(r.Contexts)))
		le.PutUint32(msg[start+60:], uint32(len(msg)))
		msg = AppendNegotiateContexts(msg, r.Contexts)
	}
	return msg
}

func (r *NegotiateResponse) Decode(msg []byte) error {
	b, err := body(msg, "negotiate response", 65)
	if err != nil {
		return err
	}
	r.SecurityMode = le.Uint16(b[2:])
	r.DialectRevision = Dialect(le.Uint16(b[4:]))
	copy(r.ServerGUID[:], b[8:24])
	r.Capabilities = le.Uint32(b[24:])
	r.MaxTransactSize = le.Uint32(b[28:])
	r.MaxReadSize = le.Uint32(b[32:])
	r.MaxWriteSize = le.Uint32(b[36:])
	r.SystemTime = le.Uint64(b[40:])
	r.ServerStartTime = le.Uint64(b[48:])
	if r.SecurityBuffer, err = field(msg, uint64(le.Uint16(b[56:])), uint64(le.Uint16(b[58:])), "negotiate response: security buffer"); err != nil {
		return err
	}
	r.Contexts = nil
	if r.DialectRevision == DialectSMB311 {
		n := int(le.Uint16(b[6:]))
		off := le.Uint32(b[60:])
		if n > 0 {
			if uint64(off) < HeaderSize || uint64(off) > uint64(len(msg)) {
				return malformed("negotiate response: context offset %d beyond message of %d bytes", off, len(msg))
			}
			if r.Contexts, err = DecodeNegotiateContexts(msg[off:], n); err != nil {
				return fmt.Errorf("negotiate response: %w", err)
			}
		}
	}
	return nil
}
