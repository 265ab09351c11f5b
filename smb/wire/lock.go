package wire

// Lock flags (MS-SMB2 2.2.26.1).
const (
	LockFlagSharedLock      uint32 = 0x00000001
	LockFlagExclusiveLock   uint32 = 0x00000002
	LockFlagUnlock          uint32 = 0x00000004
	LockFlagFailImmediately uint32 = 0x00000010
)

// LockElement is SMB2_LOCK_ELEMENT.
type LockElement struct {
	Offset, Length uint64
	Flags          uint32
}

// MaxLockElements bounds LockCount on decode (the element array must also
// fit in the message).
const MaxLockElements = 4096

// LockRequest is SMB2 LOCK Request (MS-SMB2 2.2.26).
type LockRequest struct {
	LockSequenceNumber uint8  // 4 bits
	LockSequenceIndex  uint32 // 28 bits
	FileID             FileID
	Locks              []LockElement
}

func (r *LockRequest) Decode(msg []byte) error {
	b, err := body(msg, "lock request", 48)
	if err != nil {
		return err
	}
	n := int(le.Uint16(b[2:]))
	if n == 0 {
		return malformed("lock request: lock count 0")
	}
	if n > MaxLockElements || 24+24*n > len(b) {
		return malformed("lock request: %d locks beyond body of %d bytes", n, len(b))
	}
	seq := le.Uint32(b[4:])
	r.LockSequenceNumber = uint8(seq & 0xF)
	r.LockSequenceIndex = seq >> 4
	r.FileID = getFileID(b[8:])
	r.Locks = make([]LockElement, n)
	for i := range r.Locks {
		e := b[24+24*i:]
		r.Locks[i] = LockElement{Offset: le.Uint64(e), Length: le.Uint64(e[8:]), Flags: le.Uint32(e[16:])}
	}
	return nil
}

func (r *LockRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 24)
	b := msg[start:]
	le.PutUint16(b, 48)
	le.PutUint16(b[2:], uint16(len(r.Locks)))
	le.PutUint32(b[4:], uint32(r.LockSequenceNumber&0xF)|r.LockSequenceIndex<<4)
	putFileID(b[8:], r.FileID)
	for _, l := range r.Locks {
		msg = le.AppendUint64(msg, l.Offset)
		msg = le.AppendUint64(msg, l.Length)
		msg = le.AppendUint32(msg, l.Flags)
		msg = grow(msg, 4)
	}
	if len(r.Locks) == 0 {
		msg = grow(msg, 24) // the fixed part includes one element
	}
	return msg
}

// LockResponse is SMB2 LOCK Response (MS-SMB2 2.2.27).
type LockResponse struct{}

func (*LockResponse) Decode(msg []byte) error  { return decodeEmpty(msg, "lock response") }
func (*LockResponse) Append(msg []byte) []byte { return appendEmpty(msg) }
