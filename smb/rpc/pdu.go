package rpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Connection-oriented DCE/RPC PDU framing, C706 chapter 12 ("Connection-oriented RPC PDUs") with the
// MS-RPCE 2.2.2 extensions. Only little-endian, ASCII, IEEE data representation is produced; the parser
// also frames big-endian PDUs so that it can answer them with a rejection instead of losing sync.

// PDU types (C706 12.6.4, packet type field).
const (
	ptypeRequest          = 0
	ptypeResponse         = 2
	ptypeFault            = 3
	ptypeBind             = 11
	ptypeBindAck          = 12
	ptypeBindNak          = 13
	ptypeAlterContext     = 14
	ptypeAlterContextResp = 15
	ptypeAuth3            = 16 // MS-RPCE 2.2.2.1 rpc_auth_3
	ptypeShutdown         = 17
	ptypeCoCancel         = 18
	ptypeOrphaned         = 19
)

// pfc_flags (C706 12.6.3.1, MS-RPCE 2.2.2.3).
const (
	pfcFirstFrag       = 0x01
	pfcLastFrag        = 0x02
	pfcPendingCancel   = 0x04 // in bind/alter_context this bit is PFC_SUPPORT_HEADER_SIGN (MS-RPCE)
	pfcConcMpx         = 0x10
	pfcDidNotExecute   = 0x20
	pfcMaybe           = 0x40
	pfcObjectUUID      = 0x80
	headerLen          = 16
	requestHeaderLen   = 24 // common header + alloc_hint, p_cont_id, opnum
	responseHeaderLen  = 24 // common header + alloc_hint, p_cont_id, cancel_count, reserved
	faultPDULen        = 32
	drepLittleEndian   = 0x10 // packed_drep[0]: integer representation in the high nibble, ASCII chars
	mustRecvFragSize   = 1432 // C706 12.6.3.1: every implementation accepts fragments of this size
	maxFragLen         = 0xFFFF
	authVerifierHeader = 8 // sec_trailer (MS-RPCE 2.2.2.11)
)

// Fault status codes (C706 appendix E, MS-RPCE 2.2.2.12 / 3.3.2.x).
const (
	FaultOpRangeError     uint32 = 0x1C010002 // nca_s_op_rng_error: opnum not in the interface
	FaultUnknownInterface uint32 = 0x1C010003 // nca_s_unk_if
	FaultProtocolError    uint32 = 0x1C01000B // nca_s_proto_error
	FaultNDR              uint32 = 0x000006F7 // nca_s_fault_ndr (RPC_X_BAD_STUB_DATA): stub does not decode
	FaultContextMismatch  uint32 = 0x1C00001A // nca_s_fault_context_mismatch
	FaultRemoteNoMemory   uint32 = 0x1C00001B // nca_s_fault_remote_no_memory
	FaultUnspecified      uint32 = 0x1C000012 // nca_s_fault_unspec: the server routine failed
	FaultUnsupportedType  uint32 = 0x1C010017 // nca_s_unsupported_type: data representation we do not speak
)

// bind_nak provider reject reasons (C706 12.6.3.1 p_reject_reason_t, MS-RPCE 2.2.2.5).
const (
	nakReasonNotSpecified          = 0
	nakLocalLimitExceeded          = 2
	nakProtocolVersionNotSupported = 4
	nakAuthTypeNotRecognized       = 8
)

// p_cont_def_result_t and p_provider_reason_t (C706 12.6.3.1, MS-RPCE 2.2.2.4 adds negotiate_ack).
const (
	resultAcceptance         = 0
	resultUserRejection      = 1
	resultProviderRejection  = 2
	resultNegotiateAck       = 3
	reasonNotSpecified       = 0
	reasonAbstractSyntaxNS   = 1 // abstract_syntax_not_supported
	reasonTransferSyntaxesNS = 2 // proposed_transfer_syntaxes_not_supported
	reasonLocalLimitExceeded = 3
)

// ErrShortPDU reports that a buffer holds less than one whole PDU.
var ErrShortPDU = errors.New("rpc: incomplete PDU")

// header is the 16-octet common header of every connection-oriented PDU (C706 12.6.3.1).
type header struct {
	Version, VersionMinor uint8
	Type                  uint8
	Flags                 uint8
	DataRep               [4]byte
	FragLen               uint16
	AuthLen               uint16
	CallID                uint32
}

func (h *header) littleEndian() bool { return h.DataRep[0]&0xF0 == drepLittleEndian }

// byteOrder is the integer representation the sender used (C706 14.1: NDR is receiver-makes-right).
func (h *header) byteOrder() binary.ByteOrder {
	if h.littleEndian() {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

// parseHeader decodes the common header. It needs at least 16 bytes; it checks only what is required to
// frame the PDU (version 5.0 and a frag_length that covers the header), so that callers can answer with a
// protocol-level rejection for everything else.
func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < headerLen {
		return h, ErrShortPDU
	}
	h.Version, h.VersionMinor, h.Type, h.Flags = b[0], b[1], b[2], b[3]
	copy(h.DataRep[:], b[4:8])
	// C706 12.6.3.1 defines minor versions 0 and 1 of the connection-oriented protocol; both share the
	// PDU formats we use, and we answer with 5.0 as Windows does.
	if h.Version != 5 || h.VersionMinor > 1 {
		return h, fmt.Errorf("rpc: unsupported protocol version %d.%d", h.Version, h.VersionMinor)
	}
	bo := h.byteOrder()
	h.FragLen = bo.Uint16(b[8:])
	h.AuthLen = bo.Uint16(b[10:])
	h.CallID = bo.Uint32(b[12:])
	if int(h.FragLen) < headerLen {
		return h, fmt.Errorf("rpc: frag_length %d shorter than the %d-byte header", h.FragLen, headerLen)
	}
	if int(h.AuthLen) > int(h.FragLen)-headerLen {
		return h, fmt.Errorf("rpc: auth_length %d does not fit frag_length %d", h.AuthLen, h.FragLen)
	}
	return h, nil
}

// appendHeader writes a little-endian common header; frag_length is patched by finishPDU.
func appendHeader(b []byte, ptype, flags uint8, callID uint32) []byte {
	b = append(b, 5, 0, ptype, flags, drepLittleEndian, 0, 0, 0)
	b = binary.LittleEndian.AppendUint16(b, 0) // frag_length, patched later
	b = binary.LittleEndian.AppendUint16(b, 0) // auth_length: we never send an auth verifier
	return binary.LittleEndian.AppendUint32(b, callID)
}

func finishPDU(b []byte) []byte {
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// UUID is a DCE UUID in its usual string order; on the wire the first three fields are in the PDU's byte
// order (C706 appendix A).
type UUID [16]byte

// MustParseUUID parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and panics on malformed input; it is
// meant for the constant interface identifiers below.
func MustParseUUID(s string) UUID {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		panic("rpc: malformed UUID " + s)
	}
	j := 0
	for i := 0; i < 36; {
		if s[i] == '-' {
			i++
			continue
		}
		hi, lo := unhex(s[i]), unhex(s[i+1])
		if hi < 0 || lo < 0 {
			panic("rpc: malformed UUID " + s)
		}
		u[j] = byte(hi<<4 | lo)
		j++
		i += 2
	}
	return u
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func (u UUID) String() string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}

func decodeUUID(b []byte, bo binary.ByteOrder) UUID {
	var u UUID
	binary.BigEndian.PutUint32(u[0:], bo.Uint32(b[0:]))
	binary.BigEndian.PutUint16(u[4:], bo.Uint16(b[4:]))
	binary.BigEndian.PutUint16(u[6:], bo.Uint16(b[6:]))
	copy(u[8:], b[8:16])
	return u
}

func appendUUID(b []byte, u UUID) []byte {
	b = binary.LittleEndian.AppendUint32(b, binary.BigEndian.Uint32(u[0:]))
	b = binary.LittleEndian.AppendUint16(b, binary.BigEndian.Uint16(u[4:]))
	b = binary.LittleEndian.AppendUint16(b, binary.BigEndian.Uint16(u[6:]))
	return append(b, u[8:16]...)
}

// SyntaxID names an abstract or transfer syntax: interface UUID plus version (C706 12.6.3.1 p_syntax_id_t;
// the 32-bit version carries the major version in its low 16 bits, the minor in its high 16 bits).
type SyntaxID struct {
	UUID  UUID
	Major uint16
	Minor uint16
}

func (s SyntaxID) String() string { return fmt.Sprintf("%s v%d.%d", s.UUID, s.Major, s.Minor) }

func decodeSyntax(b []byte, bo binary.ByteOrder) SyntaxID {
	return SyntaxID{UUID: decodeUUID(b, bo), Major: bo.Uint16(b[16:]), Minor: bo.Uint16(b[18:])}
}

func appendSyntax(b []byte, s SyntaxID) []byte {
	b = appendUUID(b, s.UUID)
	b = binary.LittleEndian.AppendUint16(b, s.Major)
	return binary.LittleEndian.AppendUint16(b, s.Minor)
}

// Well-known transfer syntaxes.
var (
	// NDR 2.0, the only transfer syntax served (C706 14).
	TransferNDR = SyntaxID{UUID: MustParseUUID("8a885d04-1ceb-11c9-9fe8-08002b104860"), Major: 2}
	// NDR64 (MS-RPCE 2.2.5), rejected: none of our interfaces need 64-bit marshalling.
	TransferNDR64 = SyntaxID{UUID: MustParseUUID("71710533-beba-4937-8319-b5dbef9ccc36"), Major: 1}
)

// bindTimeFeaturePrefix is the first 8 octets (string order) of the pseudo transfer syntax a client adds
// to a bind to negotiate features (MS-RPCE 3.3.1.5.3); the remaining 8 octets are the bitmask.
var bindTimeFeaturePrefix = [8]byte{0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40}

// Bind time feature bits (MS-RPCE 2.2.2.14).
const (
	featureSecurityContextMultiplexing = 0x01
	featureKeepConnectionOnOrphan      = 0x02
	// We never hold an RPC security context, so multiplexing them is meaningless; we never close the
	// pipe on an orphaned PDU, so keeping the connection is what we do anyway.
	supportedBindTimeFeatures = featureKeepConnectionOnOrphan
)

func isBindTimeFeature(s SyntaxID) (bitmask uint16, ok bool) {
	if [8]byte(s.UUID[:8]) != bindTimeFeaturePrefix || s.Major != 1 || s.Minor != 0 {
		return 0, false
	}
	return uint16(s.UUID[8]), true
}

// contextElem is one p_cont_elem_t of a bind or alter_context PDU.
type contextElem struct {
	ContextID uint16
	Abstract  SyntaxID
	Transfers []SyntaxID
}

// bindPDU is the body of bind and alter_context (C706 12.6.4.3 and 12.6.4.1; they share a layout).
type bindPDU struct {
	MaxXmitFrag  uint16
	MaxRecvFrag  uint16
	AssocGroupID uint32
	Contexts     []contextElem
}

// parseBind decodes the body of a bind or alter_context PDU (b is the whole PDU, h its header).
func parseBind(h header, b []byte) (bindPDU, error) {
	var p bindPDU
	bo := h.byteOrder()
	end := int(h.FragLen) - int(h.AuthLen)
	if h.AuthLen > 0 {
		end -= authVerifierHeader
	}
	if end > len(b) || end < headerLen+12 {
		return p, fmt.Errorf("rpc: bind PDU of %d bytes too short", h.FragLen)
	}
	p.MaxXmitFrag = bo.Uint16(b[16:])
	p.MaxRecvFrag = bo.Uint16(b[18:])
	p.AssocGroupID = bo.Uint32(b[20:])
	n := int(b[24])
	off := 28
	for i := 0; i < n; i++ {
		if off+4+20 > end {
			return p, fmt.Errorf("rpc: bind context %d of %d truncated at offset %d", i, n, off)
		}
		var c contextElem
		c.ContextID = bo.Uint16(b[off:])
		nts := int(b[off+2])
		c.Abstract = decodeSyntax(b[off+4:], bo)
		off += 24
		if nts == 0 {
			return p, fmt.Errorf("rpc: bind context %d offers no transfer syntax", c.ContextID)
		}
		if off+20*nts > end {
			return p, fmt.Errorf("rpc: bind context %d transfer syntaxes truncated", c.ContextID)
		}
		for j := 0; j < nts; j++ {
			c.Transfers = append(c.Transfers, decodeSyntax(b[off:], bo))
			off += 20
		}
		p.Contexts = append(p.Contexts, c)
	}
	return p, nil
}

// contextResult is one p_result_t of a bind_ack / alter_context_resp.
type contextResult struct {
	Result   uint16
	Reason   uint16
	Transfer SyntaxID
}

// appendBindAck encodes a bind_ack (C706 12.6.4.4) or alter_context_resp (12.6.4.2); secAddr is empty for
// alter_context_resp, which still carries the (zero-length) port_any_t.
func appendBindAck(ptype uint8, callID uint32, maxXmit, maxRecv uint16, assoc uint32, secAddr string, results []contextResult) []byte {
	b := appendHeader(nil, ptype, pfcFirstFrag|pfcLastFrag, callID)
	b = binary.LittleEndian.AppendUint16(b, maxXmit)
	b = binary.LittleEndian.AppendUint16(b, maxRecv)
	b = binary.LittleEndian.AppendUint32(b, assoc)
	if secAddr == "" {
		b = binary.LittleEndian.AppendUint16(b, 0)
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(secAddr)+1))
		b = append(b, secAddr...)
		b = append(b, 0)
	}
	for len(b)%4 != 0 { // pad to a 4-octet boundary of the PDU (C706 12.6.4.4 pad)
		b = append(b, 0)
	}
	b = append(b, uint8(len(results)), 0, 0, 0)
	for _, r := range results {
		b = binary.LittleEndian.AppendUint16(b, r.Result)
		b = binary.LittleEndian.AppendUint16(b, r.Reason)
		b = appendSyntax(b, r.Transfer)
	}
	return finishPDU(b)
}

// appendBindNak encodes a bind_nak (C706 12.6.4.5) listing protocol version 5.0 as the one supported.
func appendBindNak(callID uint32, reason uint16) []byte {
	b := appendHeader(nil, ptypeBindNak, pfcFirstFrag|pfcLastFrag, callID)
	b = binary.LittleEndian.AppendUint16(b, reason)
	b = append(b, 1, 5, 0) // n_protocols=1, rpc_vers 5, rpc_vers_minor 0
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return finishPDU(b)
}

// requestPDU is a decoded request fragment (C706 12.6.4.9).
type requestPDU struct {
	AllocHint uint32
	ContextID uint16
	Opnum     uint16
	Object    *UUID
	Stub      []byte
}

func parseRequest(h header, b []byte) (requestPDU, error) {
	var r requestPDU
	bo := h.byteOrder()
	end := int(h.FragLen) - int(h.AuthLen)
	if h.AuthLen > 0 {
		end -= authVerifierHeader
	}
	off := requestHeaderLen
	if h.Flags&pfcObjectUUID != 0 {
		off += 16
	}
	if end > len(b) || end < off {
		return r, fmt.Errorf("rpc: request PDU of %d bytes too short", h.FragLen)
	}
	r.AllocHint = bo.Uint32(b[16:])
	r.ContextID = bo.Uint16(b[20:])
	r.Opnum = bo.Uint16(b[22:])
	if h.Flags&pfcObjectUUID != 0 {
		u := decodeUUID(b[24:], bo)
		r.Object = &u
	}
	r.Stub = b[off:end]
	return r, nil
}

// appendResponses splits stub into response fragments of at most maxXmit octets each (C706 12.6.4.10,
// 12.4.3: every fragment but the last carries a multiple of 8 stub octets so NDR alignment is preserved
// across fragment boundaries). alloc_hint is the stub length still to come, as Windows sends it.
func appendResponses(out [][]byte, callID uint32, contextID uint16, stub []byte, maxXmit int) [][]byte {
	chunk := (maxXmit - responseHeaderLen) &^ 7
	first := true
	for {
		n := len(stub)
		flags := uint8(0)
		if first {
			flags |= pfcFirstFrag
		}
		if n <= chunk {
			flags |= pfcLastFrag
		} else {
			n = chunk
		}
		b := appendHeader(make([]byte, 0, responseHeaderLen+n), ptypeResponse, flags, callID)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(stub)))
		b = binary.LittleEndian.AppendUint16(b, contextID)
		b = append(b, 0, 0) // cancel_count, reserved
		b = append(b, stub[:n]...)
		out = append(out, finishPDU(b))
		stub = stub[n:]
		first = false
		if flags&pfcLastFrag != 0 {
			return out
		}
	}
}

// appendFault encodes a fault PDU (C706 12.6.4.7). didNotExecute tells the client the call had no effect
// (MS-RPCE 3.3.1.5.6: set for op_rng_error, unknown interface and protocol errors before dispatch).
func appendFault(callID uint32, contextID uint16, status uint32, didNotExecute bool) []byte {
	flags := uint8(pfcFirstFrag | pfcLastFrag)
	if didNotExecute {
		flags |= pfcDidNotExecute
	}
	b := appendHeader(make([]byte, 0, faultPDULen), ptypeFault, flags, callID)
	b = binary.LittleEndian.AppendUint32(b, 0) // alloc_hint
	b = binary.LittleEndian.AppendUint16(b, contextID)
	b = append(b, 0, 0) // cancel_count, reserved
	b = binary.LittleEndian.AppendUint32(b, status)
	b = binary.LittleEndian.AppendUint32(b, 0) // reserved
	return finishPDU(b)
}
