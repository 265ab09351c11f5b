package wire

// Create context names (MS-SMB2 2.2.13.2).
const (
	CtxNameEABuffer                 = "ExtA"
	CtxNameSecurityDescriptor       = "SecD"
	CtxNameDurableHandleRequest     = "DHnQ"
	CtxNameDurableHandleReconnect   = "DHnC"
	CtxNameAllocationSize           = "AlSi"
	CtxNameQueryMaximalAccess       = "MxAc"
	CtxNameTimewarpToken            = "TWrp"
	CtxNameQueryOnDiskID            = "QFid"
	CtxNameRequestLease             = "RqLs"
	CtxNameDurableHandleRequestV2   = "DH2Q"
	CtxNameDurableHandleReconnectV2 = "DH2C"
)

// CreateContext is one SMB2_CREATE_CONTEXT: a name (usually 4 ASCII bytes,
// 16 for the GUID-named ones) and its data. Both alias the decoded message.
type CreateContext struct {
	Name string
	Data []byte
}

// maxCreateContexts bounds a context list; each entry needs at least 16
// bytes, so this is far above what a 64 KiB create can carry anyway.
const maxCreateContexts = 256

// DecodeCreateContexts walks a create context chain (Next offsets relative
// to each entry, 8-byte aligned; 0 ends the chain). Name and data offsets are
// relative to the entry start.
func DecodeCreateContexts(b []byte) ([]CreateContext, error) {
	if len(b) == 0 {
		return nil, nil
	}
	out := make([]CreateContext, 0, 4)
	off := 0
	for i := 0; ; i++ {
		if i == maxCreateContexts {
			return nil, malformed("create contexts: more than %d", maxCreateContexts)
		}
		if off+16 > len(b) {
			return nil, malformed("create context %d: header at %d beyond %d bytes", i, off, len(b))
		}
		e := b[off:]
		next := le.Uint32(e)
		nameOff, nameLen := uint64(le.Uint16(e[4:])), uint64(le.Uint16(e[6:]))
		dataOff, dataLen := uint64(le.Uint16(e[10:])), uint64(le.Uint32(e[12:]))
		limit := e
		if next != 0 {
			if next%8 != 0 || uint64(next) < 16 || uint64(next) > uint64(len(e)) {
				return nil, malformed("create context %d: next offset %d", i, next)
			}
			limit = e[:next]
		}
		if nameLen == 0 {
			return nil, malformed("create context %d: empty name", i)
		}
		if nameOff < 16 {
			return nil, malformed("create context %d: name offset %d inside the header", i, nameOff)
		}
		name, err := subN(limit, nameOff, nameLen, "create context", i, "name")
		if err != nil {
			return nil, err
		}
		var data []byte
		if dataLen > 0 {
			if dataOff < 16 {
				return nil, malformed("create context %d: data offset %d inside the header", i, dataOff)
			}
			if data, err = subN(limit, dataOff, dataLen, "create context", i, "data"); err != nil {
				return nil, err
			}
		}
		out = append(out, CreateContext{Name: contextName(name), Data: data})
		if next == 0 {
			return out, nil
		}
		off += int(next)
	}
}

// contextName converts a context name without allocating for the
// well-known ones.
func contextName(b []byte) string {
	switch string(b) {
	case CtxNameQueryMaximalAccess:
		return CtxNameQueryMaximalAccess
	case CtxNameQueryOnDiskID:
		return CtxNameQueryOnDiskID
	case CtxNameRequestLease:
		return CtxNameRequestLease
	case CtxNameDurableHandleRequest:
		return CtxNameDurableHandleRequest
	case CtxNameDurableHandleReconnect:
		return CtxNameDurableHandleReconnect
	case CtxNameDurableHandleRequestV2:
		return CtxNameDurableHandleRequestV2
	case CtxNameDurableHandleReconnectV2:
		return CtxNameDurableHandleReconnectV2
	case CtxNameAllocationSize:
		return CtxNameAllocationSize
	case CtxNameTimewarpToken:
		return CtxNameTimewarpToken
	case CtxNameSecurityDescriptor:
		return CtxNameSecurityDescriptor
	case CtxNameEABuffer:
		return CtxNameEABuffer
	}
	return string(b)
}

// AppendCreateContexts appends the chain; len(b) must be 8-byte aligned
// relative to the SMB2 header.
func AppendCreateContexts(b []byte, ctxs []CreateContext) []byte {
	prev := -1
	for _, c := range ctxs {
		b = Pad8(b)
		e := len(b)
		if prev >= 0 {
			le.PutUint32(b[prev:], uint32(e-prev))
		}
		prev = e
		b = grow(b, 16)
		le.PutUint16(b[e+4:], 16)
		le.PutUint16(b[e+6:], uint16(len(c.Name)))
		b = append(b, c.Name...)
		if len(c.Data) > 0 {
			b = Pad8(b)
			le.PutUint16(b[e+10:], uint16(len(b)-e))
			le.PutUint32(b[e+12:], uint32(len(c.Data)))
			b = append(b, c.Data...)
		}
	}
	return b
}

// FindCreateContext returns the first context named name.
func FindCreateContext(ctxs []CreateContext, name string) (CreateContext, bool) {
	for _, c := range ctxs {
		if c.Name == name {
			return c, true
		}
	}
	return CreateContext{}, false
}

// MaximalAccessRequest is the MxAc request data: an optional timestamp.
type MaximalAccessRequest struct {
	HasTimestamp bool
	Timestamp    uint64
}

func (c *MaximalAccessRequest) Decode(d []byte) error {
	switch len(d) {
	case 0:
		*c = MaximalAccessRequest{}
	case 8:
		*c = MaximalAccessRequest{HasTimestamp: true, Timestamp: le.Uint64(d)}
	default:
		return malformed("MxAc request: %d bytes", len(d))
	}
	return nil
}

func (c *MaximalAccessRequest) Append(b []byte) []byte {
	if !c.HasTimestamp {
		return b
	}
	return le.AppendUint64(b, c.Timestamp)
}

// MaximalAccessResponse is the MxAc response data (MS-SMB2 2.2.14.2.5).
type MaximalAccessResponse struct {
	QueryStatus   Status
	MaximalAccess uint32
}

func (c *MaximalAccessResponse) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("MxAc response: %d bytes", len(d))
	}
	c.QueryStatus = Status(le.Uint32(d))
	c.MaximalAccess = le.Uint32(d[4:])
	return nil
}

func (c *MaximalAccessResponse) Append(b []byte) []byte {
	b = le.AppendUint32(b, uint32(c.QueryStatus))
	return le.AppendUint32(b, c.MaximalAccess)
}

// QueryOnDiskIDResponse is the QFid response data (MS-SMB2 2.2.14.2.9).
type QueryOnDiskIDResponse struct {
	DiskFileID uint64
	VolumeID   uint64
}

func (c *QueryOnDiskIDResponse) Decode(d []byte) error {
	if len(d) < 32 {
		return malformed("QFid response: %d bytes", len(d))
	}
	c.DiskFileID = le.Uint64(d)
	c.VolumeID = le.Uint64(d[8:])
	return nil
}

func (c *QueryOnDiskIDResponse) Append(b []byte) []byte {
	b = le.AppendUint64(b, c.DiskFileID)
	b = le.AppendUint64(b, c.VolumeID)
	return grow(b, 16)
}

// DurableHandleRequest is DHnQ request data: 16 reserved bytes. Its response
// is DurableHandleResponse (8 reserved bytes).
type DurableHandleRequest struct{}

func (*DurableHandleRequest) Decode(d []byte) error {
	if len(d) < 16 {
		return malformed("DHnQ request: %d bytes", len(d))
	}
	return nil
}
func (*DurableHandleRequest) Append(b []byte) []byte { return grow(b, 16) }

type DurableHandleResponse struct{}

func (*DurableHandleResponse) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("DHnQ response: %d bytes", len(d))
	}
	return nil
}
func (*DurableHandleResponse) Append(b []byte) []byte { return grow(b, 8) }

// DurableHandleReconnect is DHnC request data: the file id of the open to
// reclaim.
type DurableHandleReconnect struct{ FileID FileID }

func (c *DurableHandleReconnect) Decode(d []byte) error {
	if len(d) < 16 {
		return malformed("DHnC request: %d bytes", len(d))
	}
	c.FileID = getFileID(d)
	return nil
}

func (c *DurableHandleReconnect) Append(b []byte) []byte {
	b = grow(b, 16)
	putFileID(b[len(b)-16:], c.FileID)
	return b
}

// Durable handle v2 flags.
const DurableHandleFlagPersistent uint32 = 0x00000002

// DurableHandleRequestV2 is DH2Q request data (MS-SMB2 2.2.13.2.11).
type DurableHandleRequestV2 struct {
	Timeout    uint32 // milliseconds
	Flags      uint32
	CreateGUID GUID
}

func (c *DurableHandleRequestV2) Decode(d []byte) error {
	if len(d) < 32 {
		return malformed("DH2Q request: %d bytes", len(d))
	}
	c.Timeout = le.Uint32(d)
	c.Flags = le.Uint32(d[4:])
	copy(c.CreateGUID[:], d[16:32])
	return nil
}

func (c *DurableHandleRequestV2) Append(b []byte) []byte {
	b = le.AppendUint32(b, c.Timeout)
	b = le.AppendUint32(b, c.Flags)
	b = grow(b, 8)
	return append(b, c.CreateGUID[:]...)
}

// DurableHandleResponseV2 is DH2Q response data (MS-SMB2 2.2.14.2.12).
type DurableHandleResponseV2 struct {
	Timeout uint32
	Flags   uint32
}

func (c *DurableHandleResponseV2) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("DH2Q response: %d bytes", len(d))
	}
	c.Timeout = le.Uint32(d)
	c.Flags = le.Uint32(d[4:])
	return nil
}

func (c *DurableHandleResponseV2) Append(b []byte) []byte {
	b = le.AppendUint32(b, c.Timeout)
	return le.AppendUint32(b, c.Flags)
}

// DurableHandleReconnectV2 is DH2C request data (MS-SMB2 2.2.13.2.12).
type DurableHandleReconnectV2 struct {
	FileID     FileID
	CreateGUID GUID
	Flags      uint32
}

func (c *DurableHandleReconnectV2) Decode(d []byte) error {
	if len(d) < 36 {
		return malformed("DH2C request: %d bytes", len(d))
	}
	c.FileID = getFileID(d)
	copy(c.CreateGUID[:], d[16:32])
	c.Flags = le.Uint32(d[32:])
	return nil
}

func (c *DurableHandleReconnectV2) Append(b []byte) []byte {
	b = grow(b, 16)
	putFileID(b[len(b)-16:], c.FileID)
	b = append(b, c.CreateGUID[:]...)
	return le.AppendUint32(b, c.Flags)
}

// Lease states and flags (MS-SMB2 2.2.13.2.8).
const (
	LeaseNone          uint32 = 0x00
	LeaseReadCaching   uint32 = 0x01
	LeaseHandleCaching uint32 = 0x02
	LeaseWriteCaching  uint32 = 0x04

	LeaseFlagBreakInProgress uint32 = 0x00000002
	LeaseFlagParentKeySet    uint32 = 0x00000004

	leaseV1Size = 32
	leaseV2Size = 52
)

// Lease is the RqLs request/response data, version 1 (32 bytes) or 2 (52
// bytes, with parent key and epoch); V2 selects the encoding.
type Lease struct {
	V2        bool
	Key       GUID
	State     uint32
	Flags     uint32
	Duration  uint64
	ParentKey GUID   // v2
	Epoch     uint16 // v2
}

func (c *Lease) Decode(d []byte) error {
	switch {
	case len(d) >= leaseV2Size:
		c.V2 = true
		copy(c.ParentKey[:], d[32:48])
		c.Epoch = le.Uint16(d[48:])
	case len(d) >= leaseV1Size:
		c.V2 = false
		c.ParentKey, c.Epoch = GUID{}, 0
	default:
		return malformed("RqLs: %d bytes", len(d))
	}
	copy(c.Key[:], d[:16])
	c.State = le.Uint32(d[16:])
	c.Flags = le.Uint32(d[20:])
	c.Duration = le.Uint64(d[24:])
	return nil
}

func (c *Lease) Append(b []byte) []byte {
	b = append(b, c.Key[:]...)
	b = le.AppendUint32(b, c.State)
	b = le.AppendUint32(b, c.Flags)
	b = le.AppendUint64(b, c.Duration)
	if !c.V2 {
		return b
	}
	b = append(b, c.ParentKey[:]...)
	b = le.AppendUint16(b, c.Epoch)
	return grow(b, 2)
}

// AllocationSizeContext is the AlSi request data.
type AllocationSizeContext struct{ AllocationSize uint64 }

func (c *AllocationSizeContext) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("AlSi: %d bytes", len(d))
	}
	c.AllocationSize = le.Uint64(d)
	return nil
}

func (c *AllocationSizeContext) Append(b []byte) []byte { return le.AppendUint64(b, c.AllocationSize) }

// TimewarpToken is the TWrp request data: the snapshot time (FILETIME).
type TimewarpToken struct{ Timestamp uint64 }

func (c *TimewarpToken) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("TWrp: %d bytes", len(d))
	}
	c.Timestamp = le.Uint64(d)
	return nil
}

func (c *TimewarpToken) Append(b []byte) []byte { return le.AppendUint64(b, c.Timestamp) }

// CreateContextOf builds a raw context from a typed one.
func CreateContextOf(name string, enc interface{ Append([]byte) []byte }) CreateContext {
	return CreateContext{Name: name, Data: enc.Append(nil)}
}
