package wire

import (
	"fmt"
	"net/netip"
)

// IOCTL/FSCTL control codes (MS-SMB2 2.2.31, MS-FSCC 2.3).
const (
	FSCTL_DFS_GET_REFERRALS            uint32 = 0x00060194
	FSCTL_DFS_GET_REFERRALS_EX         uint32 = 0x000601B0
	FSCTL_PIPE_PEEK                    uint32 = 0x0011400C
	FSCTL_PIPE_WAIT                    uint32 = 0x00110018
	FSCTL_PIPE_TRANSCEIVE              uint32 = 0x0011C017
	FSCTL_SRV_COPYCHUNK                uint32 = 0x001440F2
	FSCTL_SRV_COPYCHUNK_WRITE          uint32 = 0x001480F2
	FSCTL_SRV_ENUMERATE_SNAPSHOTS      uint32 = 0x00144064
	FSCTL_SRV_REQUEST_RESUME_KEY       uint32 = 0x00140078
	FSCTL_SRV_READ_HASH                uint32 = 0x001441BB
	FSCTL_LMR_REQUEST_RESILIENCY       uint32 = 0x001401D4
	FSCTL_QUERY_NETWORK_INTERFACE_INFO uint32 = 0x001401FC
	FSCTL_VALIDATE_NEGOTIATE_INFO      uint32 = 0x00140204
	FSCTL_GET_REPARSE_POINT            uint32 = 0x000900A8
	FSCTL_SET_REPARSE_POINT            uint32 = 0x000900A4
	FSCTL_DELETE_REPARSE_POINT         uint32 = 0x000900AC
	FSCTL_FILE_LEVEL_TRIM              uint32 = 0x00098208
	FSCTL_SET_SPARSE                   uint32 = 0x000900C4
	FSCTL_SET_ZERO_DATA                uint32 = 0x000980C8
	FSCTL_QUERY_ALLOCATED_RANGES       uint32 = 0x000940CF
	FSCTL_DUPLICATE_EXTENTS_TO_FILE    uint32 = 0x00098344
	FSCTL_GET_INTEGRITY_INFORMATION    uint32 = 0x0009027C
	FSCTL_SET_INTEGRITY_INFORMATION    uint32 = 0x0009C280
	FSCTL_GET_COMPRESSION              uint32 = 0x0009003C
	FSCTL_SET_COMPRESSION              uint32 = 0x0009C040
	FSCTL_CREATE_OR_GET_OBJECT_ID      uint32 = 0x000900C0
	FSCTL_GET_OBJECT_ID                uint32 = 0x0009009C
	FSCTL_OFFLOAD_READ                 uint32 = 0x00094264
	FSCTL_OFFLOAD_WRITE                uint32 = 0x00098268
	FSCTL_QUERY_FILE_REGIONS           uint32 = 0x00090284
	FSCTL_GET_NTFS_VOLUME_DATA         uint32 = 0x00090064
)

// IoctlFlagIsFSCTL must be set in IOCTL requests (MS-SMB2 2.2.31).
const IoctlFlagIsFSCTL uint32 = 0x00000001

// IoctlRequest is SMB2 IOCTL Request (MS-SMB2 2.2.31). Input and Output
// alias the decoded message.
type IoctlRequest struct {
	CtlCode           uint32
	FileID            FileID
	Input             []byte
	MaxInputResponse  uint32
	Output            []byte
	MaxOutputResponse uint32
	Flags             uint32
}

func (r *IoctlRequest) Decode(msg []byte) error {
	b, err := body(msg, "ioctl request", 57)
	if err != nil {
		return err
	}
	r.CtlCode = le.Uint32(b[4:])
	r.FileID = getFileID(b[8:])
	r.MaxInputResponse = le.Uint32(b[32:])
	r.MaxOutputResponse = le.Uint32(b[44:])
	r.Flags = le.Uint32(b[48:])
	if r.Input, err = field(msg, uint64(le.Uint32(b[24:])), uint64(le.Uint32(b[28:])), "ioctl request: input"); err != nil {
		return err
	}
	r.Output, err = field(msg, uint64(le.Uint32(b[36:])), uint64(le.Uint32(b[40:])), "ioctl request: output")
	return err
}

func (r *IoctlRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 56)
	b := msg[start:]
	le.PutUint16(b, 57)
	le.PutUint32(b[4:], r.CtlCode)
	putFileID(b[8:], r.FileID)
	le.PutUint32(b[32:], r.MaxInputResponse)
	le.PutUint32(b[44:], r.MaxOutputResponse)
	le.PutUint32(b[48:], r.Flags)
	le.PutUint32(b[24:], uint32(len(msg)))
	le.PutUint32(b[28:], uint32(len(r.Input)))
	msg = append(msg, r.Input...)
	if len(r.Output) > 0 {
		msg = Pad8(msg)
		le.PutUint32(msg[start+36:], uint32(len(msg)))
		le.PutUint32(msg[start+40:], uint32(len(r.Output)))
		msg = append(msg, r.Output...)
	}
	if len(msg) == start+56 {
		msg = append(msg, 0)
	}
	return msg
}

// IoctlResponse is SMB2 IOCTL Response (MS-SMB2 2.2.32).
type IoctlResponse struct {
	CtlCode uint32
	FileID  FileID
	Input   []byte
	Output  []byte
	Flags   uint32
}

func (r *IoctlResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 48)
	b := msg[start:]
	le.PutUint16(b, 49)
	le.PutUint32(b[4:], r.CtlCode)
	putFileID(b[8:], r.FileID)
	le.PutUint32(b[40:], r.Flags)
	le.PutUint32(b[24:], uint32(len(msg)))
	le.PutUint32(b[28:], uint32(len(r.Input)))
	msg = append(msg, r.Input...)
	if len(r.Input) > 0 {
		msg = Pad8(msg)
	}
	le.PutUint32(msg[start+32:], uint32(len(msg)))
	le.PutUint32(msg[start+36:], uint32(len(r.Output)))
	return append(msg, r.Output...) // empty buffers are not padded, as Samba sends them
}

func (r *IoctlResponse) Decode(msg []byte) error {
	b, err := body(msg, "ioctl response", 49)
	if err != nil {
		return err
	}
	r.CtlCode = le.Uint32(b[4:])
	r.FileID = getFileID(b[8:])
	r.Flags = le.Uint32(b[40:])
	if r.Input, err = field(msg, uint64(le.Uint32(b[24:])), uint64(le.Uint32(b[28:])), "ioctl response: input"); err != nil {
		return err
	}
	r.Output, err = field(msg, uint64(le.Uint32(b[32:])), uint64(le.Uint32(b[36:])), "ioctl response: output")
	return err
}

// ValidateNegotiateInfoRequest is VALIDATE_NEGOTIATE_INFO input (2.2.31.4).
type ValidateNegotiateInfoRequest struct {
	Capabilities uint32
	GUID         GUID
	SecurityMode uint16
	Dialects     []Dialect
}

func (v *ValidateNegotiateInfoRequest) Decode(d []byte) error {
	if len(d) < 24 {
		return malformed("validate negotiate info request: %d bytes", len(d))
	}
	v.Capabilities = le.Uint32(d)
	copy(v.GUID[:], d[4:20])
	v.SecurityMode = le.Uint16(d[20:])
	n := int(le.Uint16(d[22:]))
	if 24+2*n > len(d) {
		return malformed("validate negotiate info request: %d dialects beyond %d bytes", n, len(d))
	}
	v.Dialects = make([]Dialect, n)
	for i := range v.Dialects {
		v.Dialects[i] = Dialect(le.Uint16(d[24+2*i:]))
	}
	return nil
}

func (v *ValidateNegotiateInfoRequest) Append(b []byte) []byte {
	b = le.AppendUint32(b, v.Capabilities)
	b = append(b, v.GUID[:]...)
	b = le.AppendUint16(b, v.SecurityMode)
	b = le.AppendUint16(b, uint16(len(v.Dialects)))
	for _, d := range v.Dialects {
		b = le.AppendUint16(b, uint16(d))
	}
	return b
}

// ValidateNegotiateInfoResponse is VALIDATE_NEGOTIATE_INFO output (2.2.32.6).
type ValidateNegotiateInfoResponse struct {
	Capabilities uint32
	GUID         GUID
	SecurityMode uint16
	Dialect      Dialect
}

func (v *ValidateNegotiateInfoResponse) Decode(d []byte) error {
	if len(d) < 24 {
		return malformed("validate negotiate info response: %d bytes", len(d))
	}
	v.Capabilities = le.Uint32(d)
	copy(v.GUID[:], d[4:20])
	v.SecurityMode = le.Uint16(d[20:])
	v.Dialect = Dialect(le.Uint16(d[22:]))
	return nil
}

func (v *ValidateNegotiateInfoResponse) Append(b []byte) []byte {
	b = le.AppendUint32(b, v.Capabilities)
	b = append(b, v.GUID[:]...)
	b = le.AppendUint16(b, v.SecurityMode)
	return le.AppendUint16(b, uint16(v.Dialect))
}

// Network interface capabilities (2.2.32.5).
const (
	InterfaceCapRSS  uint32 = 0x00000001
	InterfaceCapRDMA uint32 = 0x00000002
)

// NetworkInterfaceInfo is one NETWORK_INTERFACE_INFO entry (2.2.32.5).
type NetworkInterfaceInfo struct {
	IfIndex    uint32
	Capability uint32
	LinkSpeed  uint64 // bits per second
	Addr       netip.AddrPort
}

const (
	NetworkInterfaceInfoSize = 152 // bytes per NETWORK_INTERFACE_INFO entry
	afInet                   = 0x0002
	afInet6                  = 0x0017
)

// AppendNetworkInterfaceInfo encodes the FSCTL_QUERY_NETWORK_INTERFACE_INFO
// output: entries of 152 bytes linked by Next (0 on the last).
func AppendNetworkInterfaceInfo(b []byte, ifs []NetworkInterfaceInfo) []byte {
	for i, n := range ifs {
		e := len(b)
		b = grow(b, NetworkInterfaceInfoSize)
		if i < len(ifs)-1 {
			le.PutUint32(b[e:], NetworkInterfaceInfoSize)
		}
		le.PutUint32(b[e+4:], n.IfIndex)
		le.PutUint32(b[e+8:], n.Capability)
		le.PutUint64(b[e+16:], n.LinkSpeed)
		sa := b[e+24:]
		a := n.Addr.Addr()
		// SOCKADDR_IN/IN6 keep the port in network byte order.
		if a.Is4() || a.Is4In6() {
			le.PutUint16(sa, afInet)
			sa[2], sa[3] = byte(n.Addr.Port()>>8), byte(n.Addr.Port())
			v4 := a.Unmap().As4()
			copy(sa[4:8], v4[:])
		} else {
			le.PutUint16(sa, afInet6)
			sa[2], sa[3] = byte(n.Addr.Port()>>8), byte(n.Addr.Port())
			v6 := a.As16()
			copy(sa[8:24], v6[:])
		}
	}
	return b
}

// DecodeNetworkInterfaceInfo decodes the list written by
// AppendNetworkInterfaceInfo.
func DecodeNetworkInterfaceInfo(d []byte) ([]NetworkInterfaceInfo, error) {
	var out []NetworkInterfaceInfo
	off := 0
	for len(d) > 0 {
		if off+NetworkInterfaceInfoSize > len(d) {
			return nil, malformed("network interface info %d: entry at %d beyond %d bytes", len(out), off, len(d))
		}
		e := d[off:]
		n := NetworkInterfaceInfo{IfIndex: le.Uint32(e[4:]), Capability: le.Uint32(e[8:]), LinkSpeed: le.Uint64(e[16:])}
		sa := e[24:]
		port := uint16(sa[2])<<8 | uint16(sa[3])
		switch fam := le.Uint16(sa); fam {
		case afInet:
			n.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(sa[4:8])), port)
		case afInet6:
			n.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(sa[8:24])), port)
		default:
			return nil, malformed("network interface info %d: address family %#x", len(out), fam)
		}
		out = append(out, n)
		next := le.Uint32(e)
		if next == 0 {
			break
		}
		if next < NetworkInterfaceInfoSize || uint64(off)+uint64(next) > uint64(len(d)) {
			return nil, malformed("network interface info %d: next %d", len(out), next)
		}
		off += int(next)
	}
	return out, nil
}

// ResumeKeyResponse is SRV_REQUEST_RESUME_KEY output (2.2.32.3): an opaque
// 24-byte key identifying the source file of a server-side copy.
type ResumeKeyResponse struct{ ResumeKey [24]byte }

func (r *ResumeKeyResponse) Decode(d []byte) error {
	if len(d) < 28 {
		return malformed("resume key response: %d bytes", len(d))
	}
	copy(r.ResumeKey[:], d[:24])
	return nil
}

func (r *ResumeKeyResponse) Append(b []byte) []byte {
	b = append(b, r.ResumeKey[:]...)
	b = le.AppendUint32(b, 4) // ContextLength
	return grow(b, 4)         // Context (unused)
}

// CopyChunk is one SRV_COPYCHUNK range.
type CopyChunk struct {
	SourceOffset, TargetOffset uint64
	Length                     uint32
}

// CopyChunkRequest is SRV_COPYCHUNK_COPY (2.2.31.1).
type CopyChunkRequest struct {
	SourceKey [24]byte
	Chunks    []CopyChunk
}

// MaxCopyChunks bounds the chunk count accepted on decode; Windows limits a
// request to 256 chunks (MS-SMB2 3.3.3 ServerSideCopyMaxNumberofChunks).
const MaxCopyChunks = 256

func (r *CopyChunkRequest) Decode(d []byte) error {
	if len(d) < 32 {
		return malformed("copychunk request: %d bytes", len(d))
	}
	copy(r.SourceKey[:], d[:24])
	n := int(le.Uint32(d[24:]))
	if n > MaxCopyChunks {
		return malformed("copychunk request: %d chunks above %d", n, MaxCopyChunks)
	}
	if 32+24*n > len(d) {
		return malformed("copychunk request: %d chunks beyond %d bytes", n, len(d))
	}
	r.Chunks = make([]CopyChunk, n)
	for i := range r.Chunks {
		c := d[32+24*i:]
		r.Chunks[i] = CopyChunk{SourceOffset: le.Uint64(c), TargetOffset: le.Uint64(c[8:]), Length: le.Uint32(c[16:])}
	}
	return nil
}

func (r *CopyChunkRequest) Append(b []byte) []byte {
	b = append(b, r.SourceKey[:]...)
	b = le.AppendUint32(b, uint32(len(r.Chunks)))
	b = grow(b, 4)
	for _, c := range r.Chunks {
		b = le.AppendUint64(b, c.SourceOffset)
		b = le.AppendUint64(b, c.TargetOffset)
		b = le.AppendUint32(b, c.Length)
		b = grow(b, 4)
	}
	return b
}

// CopyChunkResponse is SRV_COPYCHUNK_RESPONSE (2.2.32.1).
type CopyChunkResponse struct {
	ChunksWritten, ChunkBytesWritten, TotalBytesWritten uint32
}

func (r *CopyChunkResponse) Decode(d []byte) error {
	if len(d) < 12 {
		return malformed("copychunk response: %d bytes", len(d))
	}
	r.ChunksWritten, r.ChunkBytesWritten, r.TotalBytesWritten = le.Uint32(d), le.Uint32(d[4:]), le.Uint32(d[8:])
	return nil
}

func (r *CopyChunkResponse) Append(b []byte) []byte {
	b = le.AppendUint32(b, r.ChunksWritten)
	b = le.AppendUint32(b, r.ChunkBytesWritten)
	return le.AppendUint32(b, r.TotalBytesWritten)
}

// ZeroDataInformation is FILE_ZERO_DATA_INFORMATION (MS-FSCC 2.3.85), the
// FSCTL_SET_ZERO_DATA input: zero [FileOffset, BeyondFinalZero).
type ZeroDataInformation struct{ FileOffset, BeyondFinalZero int64 }

func (z *ZeroDataInformation) Decode(d []byte) error {
	if len(d) < 16 {
		return malformed("zero data information: %d bytes", len(d))
	}
	z.FileOffset, z.BeyondFinalZero = int64(le.Uint64(d)), int64(le.Uint64(d[8:]))
	return nil
}

func (z *ZeroDataInformation) Append(b []byte) []byte {
	b = le.AppendUint64(b, uint64(z.FileOffset))
	return le.AppendUint64(b, uint64(z.BeyondFinalZero))
}

// AllocatedRange is FILE_ALLOCATED_RANGE_BUFFER (MS-FSCC 2.3.52): the
// FSCTL_QUERY_ALLOCATED_RANGES input (one) and output (a list).
type AllocatedRange struct{ FileOffset, Length int64 }

func (a *AllocatedRange) Decode(d []byte) error {
	if len(d) < 16 {
		return malformed("allocated range: %d bytes", len(d))
	}
	a.FileOffset, a.Length = int64(le.Uint64(d)), int64(le.Uint64(d[8:]))
	return nil
}

func (a *AllocatedRange) Append(b []byte) []byte {
	b = le.AppendUint64(b, uint64(a.FileOffset))
	return le.AppendUint64(b, uint64(a.Length))
}

// AppendAllocatedRanges encodes a QUERY_ALLOCATED_RANGES output list.
func AppendAllocatedRanges(b []byte, rs []AllocatedRange) []byte {
	for i := range rs {
		b = rs[i].Append(b)
	}
	return b
}

// DecodeAllocatedRanges decodes an output list (trailing partial entries are
// malformed).
func DecodeAllocatedRanges(d []byte) ([]AllocatedRange, error) {
	if len(d)%16 != 0 {
		return nil, malformed("allocated ranges: %d bytes not a multiple of 16", len(d))
	}
	out := make([]AllocatedRange, len(d)/16)
	for i := range out {
		if err := out[i].Decode(d[16*i:]); err != nil {
			return nil, fmt.Errorf("allocated range %d: %w", i, err)
		}
	}
	return out, nil
}
