package wire

import "fmt"

// TreeConnect request flags (SMB 3.1.1, MS-SMB2 2.2.9).
const (
	TreeConnectFlagClusterReconnect uint16 = 0x0001
	TreeConnectFlagRedirectToOwner  uint16 = 0x0002
	TreeConnectFlagExtensionPresent uint16 = 0x0004
)

// Tree connect context types (MS-SMB2 2.2.9.2).
const TreeCtxRemotedIdentity uint16 = 0x0001

// Share types (MS-SMB2 2.2.10).
const (
	ShareTypeDisk  uint8 = 0x01
	ShareTypePipe  uint8 = 0x02
	ShareTypePrint uint8 = 0x03
)

// Share flags (MS-SMB2 2.2.10).
const (
	ShareFlagManualCaching          uint32 = 0x00000000
	ShareFlagAutoCaching            uint32 = 0x00000010
	ShareFlagVDOCaching             uint32 = 0x00000020
	ShareFlagNoCaching              uint32 = 0x00000030
	ShareFlagCachingMask            uint32 = 0x00000030
	ShareFlagDFS                    uint32 = 0x00000001
	ShareFlagDFSRoot                uint32 = 0x00000002
	ShareFlagRestrictExclusiveOpens uint32 = 0x00000100
	ShareFlagForceSharedDelete      uint32 = 0x00000200
	ShareFlagAllowNamespaceCaching  uint32 = 0x00000400
	ShareFlagAccessBasedDirEnum     uint32 = 0x00000800
	ShareFlagForceLevelIIOplock     uint32 = 0x00001000
	ShareFlagEnableHashV1           uint32 = 0x00002000
	ShareFlagEnableHashV2           uint32 = 0x00004000
	ShareFlagEncryptData            uint32 = 0x00008000
	ShareFlagIdentityRemoting       uint32 = 0x00040000
	ShareFlagCompressData           uint32 = 0x00100000
	ShareFlagIsolatedTransport      uint32 = 0x00200000
)

// Share capabilities (MS-SMB2 2.2.10).
const (
	ShareCapDFS                    uint32 = 0x00000008
	ShareCapContinuousAvailability uint32 = 0x00000010
	ShareCapScaleout               uint32 = 0x00000020
	ShareCapCluster                uint32 = 0x00000040
	ShareCapAsymmetric             uint32 = 0x00000080
	ShareCapRedirectToOwner        uint32 = 0x00000100
)

// TreeConnectContext is one SMB2_TREE_CONNECT_CONTEXT (MS-SMB2 2.2.9.2).
type TreeConnectContext struct {
	Type uint16
	Data []byte
}

// TreeConnectRequest is SMB2 TREE_CONNECT Request (MS-SMB2 2.2.9). Path is
// "\\server\share". With TreeConnectFlagExtensionPresent the buffer starts
// with the 2.2.9.1 extension, whose contexts are in Contexts.
type TreeConnectRequest struct {
	Flags    uint16
	Path     string
	Contexts []TreeConnectContext
}

func (r *TreeConnectRequest) Decode(msg []byte) error {
	b, err := body(msg, "tree connect request", 9)
	if err != nil {
		return err
	}
	r.Flags = le.Uint16(b[2:])
	p, err := field(msg, uint64(le.Uint16(b[4:])), uint64(le.Uint16(b[6:])), "tree connect request: path")
	if err != nil {
		return err
	}
	if r.Path, err = DecodeUTF16(p); err != nil {
		return fmt.Errorf("tree connect request: path: %w", err)
	}
	r.Contexts = nil
	if r.Flags&TreeConnectFlagExtensionPresent == 0 {
		return nil
	}
	// Extension: TreeConnectContextOffset (4, relative to the start of the
	// request body), count (2), reserved (10), then PathName.
	if len(b) < 8+16 {
		return malformed("tree connect request: extension of %d bytes", len(b)-8)
	}
	off := uint64(le.Uint32(b[8:]))
	n := int(le.Uint16(b[12:]))
	if n == 0 {
		return nil
	}
	if n > maxContexts {
		return malformed("tree connect request: context count %d above %d", n, maxContexts)
	}
	if off > uint64(len(b)) {
		return malformed("tree connect request: context offset %d beyond body of %d bytes", off, len(b))
	}
	ctxs, err := DecodeNegotiateContexts(b[off:], n) // same 8-byte header layout
	if err != nil {
		return fmt.Errorf("tree connect request: %w", err)
	}
	r.Contexts = make([]TreeConnectContext, len(ctxs))
	for i, c := range ctxs {
		r.Contexts[i] = TreeConnectContext{Type: uint16(c.Type), Data: c.Data}
	}
	return nil
}

func (r *TreeConnectRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 8)
	le.PutUint16(msg[start:], 9)
	flags := r.Flags
	if len(r.Contexts) > 0 {
		flags |= TreeConnectFlagExtensionPresent
	}
	le.PutUint16(msg[start+2:], flags)
	if flags&TreeConnectFlagExtensionPresent == 0 {
		le.PutUint16(msg[start+4:], uint16(len(msg)))
		le.PutUint16(msg[start+6:], uint16(UTF16Len(r.Path)))
		if r.Path == "" {
			return append(msg, 0)
		}
		return AppendUTF16(msg, r.Path)
	}
	ext := len(msg)
	msg = grow(msg, 16)
	le.PutUint16(msg[ext+4:], uint16(len(r.Contexts)))
	le.PutUint16(msg[start+4:], uint16(len(msg)))
	le.PutUint16(msg[start+6:], uint16(UTF16Len(r.Path)))
	msg = AppendUTF16(msg, r.Path)
	msg = Pad8(msg)
	if len(r.Contexts) > 0 {
		le.PutUint32(msg[ext:], uint32(len(msg)-start))
	}
	for i, c := range r.Contexts {
		if i > 0 {
			msg = Pad8(msg)
		}
		msg = le.AppendUint16(msg, c.Type)
		msg = le.AppendUint16(msg, uint16(len(c.Data)))
		msg = grow(msg, 4)
		msg = append(msg, c.Data...)
	}
	return msg
}

// TreeConnectResponse is SMB2 TREE_CONNECT Response (MS-SMB2 2.2.10).
type TreeConnectResponse struct {
	ShareType     uint8
	ShareFlags    uint32
	Capabilities  uint32
	MaximalAccess uint32
}

func (r *TreeConnectResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 16)
	b := msg[start:]
	le.PutUint16(b, 16)
	b[2] = r.ShareType
	le.PutUint32(b[4:], r.ShareFlags)
	le.PutUint32(b[8:], r.Capabilities)
	le.PutUint32(b[12:], r.MaximalAccess)
	return msg
}

func (r *TreeConnectResponse) Decode(msg []byte) error {
	b, err := body(msg, "tree connect response", 16)
	if err != nil {
		return err
	}
	r.ShareType = b[2]
	r.ShareFlags = le.Uint32(b[4:])
	r.Capabilities = le.Uint32(b[8:])
	r.MaximalAccess = le.Uint32(b[12:])
	return nil
}
