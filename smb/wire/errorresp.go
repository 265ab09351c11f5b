package wire

import (
	"fmt"
	"net/netip"
)

// Error context ids (MS-SMB2 2.2.2.1).
const (
	ErrorIDDefault       uint32 = 0x00000000
	ErrorIDShareRedirect uint32 = 0x72645253
)

// ErrorContext is one SMB2_ERROR_CONTEXT_RESPONSE (MS-SMB2 2.2.2.1).
type ErrorContext struct {
	ID   uint32
	Data []byte
}

// ErrorResponse is SMB2 ERROR Response (MS-SMB2 2.2.2). For 3.1.1 with
// contexts, ErrorData is ignored on encode and the contexts are written;
// otherwise ErrorData is written raw (e.g. the 4-byte required size for
// STATUS_BUFFER_TOO_SMALL, or a symbolic link error response).
type ErrorResponse struct {
	ErrorData []byte
	Contexts  []ErrorContext
}

func (r *ErrorResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 8)
	le.PutUint16(msg[start:], ErrorResponseStructureSize)
	if len(r.Contexts) > 0 {
		msg[start+2] = uint8(len(r.Contexts))
		for i, c := range r.Contexts {
			if i > 0 {
				msg = Pad8(msg)
			}
			msg = le.AppendUint32(msg, uint32(len(c.Data)))
			msg = le.AppendUint32(msg, c.ID)
			msg = append(msg, c.Data...)
		}
	} else {
		msg = append(msg, r.ErrorData...)
	}
	n := len(msg) - (start + 8)
	le.PutUint32(msg[start+4:], uint32(n))
	if n == 0 {
		// 2.2.2: with ByteCount 0 the ErrorData field is still one byte long.
		msg = append(msg, 0)
	}
	return msg
}

func (r *ErrorResponse) Decode(msg []byte) error {
	b, err := body(msg, "error response", ErrorResponseStructureSize)
	if err != nil {
		return err
	}
	count := int(b[2])
	n := uint64(le.Uint32(b[4:]))
	data, err := field(msg, HeaderSize+8, n, "error response: error data")
	if err != nil {
		return err
	}
	r.ErrorData, r.Contexts = nil, nil
	if count == 0 {
		r.ErrorData = data
		return nil
	}
	r.Contexts = make([]ErrorContext, 0, boundedCount(count, 8, len(data)))
	off := 0
	for i := 0; i < count; i++ {
		if off+8 > len(data) {
			return malformed("error context %d: header at %d beyond error data of %d bytes", i, off, len(data))
		}
		l := uint64(le.Uint32(data[off:]))
		id := le.Uint32(data[off+4:])
		d, err := subN(data, uint64(off+8), l, "error context", i, "data")
		if err != nil {
			return err
		}
		r.Contexts = append(r.Contexts, ErrorContext{ID: id, Data: d})
		off = align8(off + 8 + int(l))
	}
	return nil
}

// ShareRedirect is the Share Redirect Error Context Response (MS-SMB2
// 2.2.2.2.2) sent with STATUS_BAD_NETWORK_NAME to a TREE_CONNECT carrying
// TreeConnectFlagRedirectToOwner: it names the addresses of the node that
// owns the share.
type ShareRedirect struct {
	ResourceName string // the share name
	Addrs        []netip.Addr
}

const (
	shareRedirectStructSize = 48 // with one MOVE_DST_IPADDR, per spec
	shareMoveNotification   = 3  // MS-SWN SHARE_MOVE_NOTIFICATION
	moveDstIPAddrSize       = 24
	moveDstIPv4             = 1
	moveDstIPv6             = 2
)

func (s *ShareRedirect) Append(b []byte) []byte {
	start := len(b)
	b = grow(b, 24)
	le.PutUint32(b[start:], shareRedirectStructSize)
	le.PutUint32(b[start+4:], shareMoveNotification)
	le.PutUint32(b[start+20:], uint32(len(s.Addrs)))
	for _, a := range s.Addrs {
		e := len(b)
		b = grow(b, moveDstIPAddrSize)
		if a.Is4() || a.Is4In6() {
			le.PutUint32(b[e:], moveDstIPv4)
			v4 := a.Unmap().As4()
			copy(b[e+8:], v4[:])
		} else {
			le.PutUint32(b[e:], moveDstIPv6)
			v6 := a.As16()
			copy(b[e+8:], v6[:])
		}
	}
	le.PutUint32(b[start+8:], uint32(len(b)-start)) // ResourceNameOffset: from this structure
	n := UTF16Len(s.ResourceName)
	le.PutUint32(b[start+12:], uint32(n))
	return AppendUTF16(b, s.ResourceName)
}

func (s *ShareRedirect) Decode(d []byte) error {
	if len(d) < 24 {
		return malformed("share redirect context: %d bytes", len(d))
	}
	if nt := le.Uint32(d[4:]); nt != shareMoveNotification {
		return malformed("share redirect context: notification type %d", nt)
	}
	count := int(le.Uint32(d[20:]))
	if uint64(count)*moveDstIPAddrSize > uint64(len(d)-24) {
		return malformed("share redirect context: %d addresses beyond %d bytes", count, len(d))
	}
	s.Addrs = make([]netip.Addr, count)
	for i := range s.Addrs {
		e := d[24+i*moveDstIPAddrSize:]
		switch t := le.Uint32(e); t {
		case moveDstIPv4:
			s.Addrs[i] = netip.AddrFrom4([4]byte(e[8:12]))
		case moveDstIPv6:
			s.Addrs[i] = netip.AddrFrom16([16]byte(e[8:24]))
		default:
			return malformed("share redirect context: address %d type %d", i, t)
		}
	}
	name, err := sub(d, uint64(le.Uint32(d[8:])), uint64(le.Uint32(d[12:])), "share redirect context: resource name")
	if err != nil {
		return err
	}
	if s.ResourceName, err = DecodeUTF16(name); err != nil {
		return fmt.Errorf("share redirect context: resource name: %w", err)
	}
	return nil
}

// Symbolic link error response constants (MS-SMB2 2.2.2.2.1).
const (
	SymLinkErrorTag     uint32 = 0x4C4D5953 // "SYML"
	IOReparseTagSymlink uint32 = 0xA000000C
	SymlinkFlagRelative uint32 = 0x00000001
)

// SymlinkError is the Symbolic Link Error Response (MS-SMB2 2.2.2.2.1): the
// ErrorData of a CREATE failing with STATUS_STOPPED_ON_SYMLINK. Names are
// UTF-16 in PathBuffer with offsets relative to PathBuffer.
type SymlinkError struct {
	UnparsedPathLength uint16 // bytes of the request path after the link
	SubstituteName     string
	PrintName          string
	Flags              uint32
}

func (s *SymlinkError) Append(b []byte) []byte {
	start := len(b)
	b = grow(b, 28)
	subLen, printLen := UTF16Len(s.SubstituteName), UTF16Len(s.PrintName)
	le.PutUint32(b[start+4:], SymLinkErrorTag)
	le.PutUint32(b[start+8:], IOReparseTagSymlink)
	le.PutUint16(b[start+12:], uint16(12+subLen+printLen))
	le.PutUint16(b[start+14:], s.UnparsedPathLength)
	le.PutUint16(b[start+16:], 0)
	le.PutUint16(b[start+18:], uint16(subLen))
	le.PutUint16(b[start+20:], uint16(subLen))
	le.PutUint16(b[start+22:], uint16(printLen))
	le.PutUint32(b[start+24:], s.Flags)
	b = AppendUTF16(b, s.SubstituteName)
	b = AppendUTF16(b, s.PrintName)
	le.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func (s *SymlinkError) Decode(d []byte) error {
	if len(d) < 28 {
		return malformed("symlink error response: %d bytes", len(d))
	}
	if tag := le.Uint32(d[4:]); tag != SymLinkErrorTag {
		return malformed("symlink error response: tag %#x", tag)
	}
	n := uint64(le.Uint32(d[0:]))
	if n < 24 || n+4 > uint64(len(d)) {
		return malformed("symlink error response: length %d with %d bytes", n, len(d))
	}
	path := d[28 : 4+n]
	s.UnparsedPathLength = le.Uint16(d[14:])
	s.Flags = le.Uint32(d[24:])
	subst, err := sub(path, uint64(le.Uint16(d[16:])), uint64(le.Uint16(d[18:])), "symlink error response: substitute name")
	if err != nil {
		return err
	}
	prn, err := sub(path, uint64(le.Uint16(d[20:])), uint64(le.Uint16(d[22:])), "symlink error response: print name")
	if err != nil {
		return err
	}
	if s.SubstituteName, err = DecodeUTF16(subst); err != nil {
		return wrapf("symlink error response: substitute name", err)
	}
	if s.PrintName, err = DecodeUTF16(prn); err != nil {
		return wrapf("symlink error response: print name", err)
	}
	return nil
}
