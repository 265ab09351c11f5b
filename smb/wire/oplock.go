package wire

// Structure sizes of the four OPLOCK_BREAK shapes (MS-SMB2 2.2.23-2.2.25).
const (
	OplockBreakStructureSize      = 24 // oplock notification, acknowledgment and response
	LeaseBreakNotifyStructureSize = 44
	LeaseBreakAckStructureSize    = 36 // lease acknowledgment and response
)

// Lease break notification flags.
const LeaseBreakFlagAckRequired uint32 = 0x00000001

// OplockBreak is the oplock shape shared by the notification (2.2.23.1),
// acknowledgment (2.2.24.1) and response (2.2.25.1).
type OplockBreak struct {
	OplockLevel uint8
	FileID      FileID
}

func (r *OplockBreak) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 24)
	le.PutUint16(msg[start:], OplockBreakStructureSize)
	msg[start+2] = r.OplockLevel
	putFileID(msg[start+8:], r.FileID)
	return msg
}

func (r *OplockBreak) decodeBody(b []byte) {
	r.OplockLevel = b[2]
	r.FileID = getFileID(b[8:])
}

func (r *OplockBreak) Decode(msg []byte) error {
	b, err := body(msg, "oplock break", OplockBreakStructureSize)
	if err != nil {
		return err
	}
	r.decodeBody(b)
	return nil
}

// LeaseBreakNotification is the Lease Break Notification (2.2.23.2), sent
// by the server with MessageID 0xFFFFFFFFFFFFFFFF.
type LeaseBreakNotification struct {
	NewEpoch          uint16
	Flags             uint32
	LeaseKey          GUID
	CurrentLeaseState uint32
	NewLeaseState     uint32
	BreakReason       uint32
	AccessMaskHint    uint32
	ShareMaskHint     uint32
}

func (r *LeaseBreakNotification) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 44)
	b := msg[start:]
	le.PutUint16(b, LeaseBreakNotifyStructureSize)
	le.PutUint16(b[2:], r.NewEpoch)
	le.PutUint32(b[4:], r.Flags)
	copy(b[8:24], r.LeaseKey[:])
	le.PutUint32(b[24:], r.CurrentLeaseState)
	le.PutUint32(b[28:], r.NewLeaseState)
	le.PutUint32(b[32:], r.BreakReason)
	le.PutUint32(b[36:], r.AccessMaskHint)
	le.PutUint32(b[40:], r.ShareMaskHint)
	return msg
}

func (r *LeaseBreakNotification) Decode(msg []byte) error {
	b, err := body(msg, "lease break notification", LeaseBreakNotifyStructureSize)
	if err != nil {
		return err
	}
	r.NewEpoch = le.Uint16(b[2:])
	r.Flags = le.Uint32(b[4:])
	copy(r.LeaseKey[:], b[8:24])
	r.CurrentLeaseState = le.Uint32(b[24:])
	r.NewLeaseState = le.Uint32(b[28:])
	r.BreakReason = le.Uint32(b[32:])
	r.AccessMaskHint = le.Uint32(b[36:])
	r.ShareMaskHint = le.Uint32(b[40:])
	return nil
}

// LeaseBreakAck is the Lease Break Acknowledgment (2.2.24.2) and the Lease
// Break Response (2.2.25.2), which share one layout.
type LeaseBreakAck struct {
	Flags         uint32
	LeaseKey      GUID
	LeaseState    uint32
	LeaseDuration uint64
}

func (r *LeaseBreakAck) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 36)
	b := msg[start:]
	le.PutUint16(b, LeaseBreakAckStructureSize)
	le.PutUint32(b[4:], r.Flags)
	copy(b[8:24], r.LeaseKey[:])
	le.PutUint32(b[24:], r.LeaseState)
	le.PutUint64(b[28:], r.LeaseDuration)
	return msg
}

func (r *LeaseBreakAck) decodeBody(b []byte) {
	r.Flags = le.Uint32(b[4:])
	copy(r.LeaseKey[:], b[8:24])
	r.LeaseState = le.Uint32(b[24:])
	r.LeaseDuration = le.Uint64(b[28:])
}

func (r *LeaseBreakAck) Decode(msg []byte) error {
	b, err := body(msg, "lease break acknowledgment", LeaseBreakAckStructureSize)
	if err != nil {
		return err
	}
	r.decodeBody(b)
	return nil
}

// OplockBreakRequest is what a client sends with CmdOplockBreak: an oplock
// break acknowledgment (StructureSize 24) or a lease break acknowledgment
// (36). IsLease tells which field is valid.
type OplockBreakRequest struct {
	IsLease bool
	Oplock  OplockBreak
	Lease   LeaseBreakAck
}

func (r *OplockBreakRequest) Decode(msg []byte) error {
	if len(msg) < HeaderSize+2 {
		return malformed("oplock break request: message of %d bytes has no body", len(msg))
	}
	switch ss := le.Uint16(msg[HeaderSize:]); ss {
	case OplockBreakStructureSize:
		*r = OplockBreakRequest{}
		return r.Oplock.Decode(msg)
	case LeaseBreakAckStructureSize:
		*r = OplockBreakRequest{IsLease: true}
		return r.Lease.Decode(msg)
	default:
		return malformed("oplock break request: structure size %d", ss)
	}
}

func (r *OplockBreakRequest) Append(msg []byte) []byte {
	if r.IsLease {
		return r.Lease.Append(msg)
	}
	return r.Oplock.Append(msg)
}

// OplockBreakResponse is the server's answer to an acknowledgment: the
// oplock (24) or lease (36) shape.
type OplockBreakResponse = OplockBreakRequest

// OplockBreakNotify is a server-initiated break: an oplock (24) or lease
// (44) notification, as decoded by a client.
type OplockBreakNotify struct {
	IsLease bool
	Oplock  OplockBreak
	Lease   LeaseBreakNotification
}

func (r *OplockBreakNotify) Decode(msg []byte) error {
	if len(msg) < HeaderSize+2 {
		return malformed("oplock break notification: message of %d bytes has no body", len(msg))
	}
	switch ss := le.Uint16(msg[HeaderSize:]); ss {
	case OplockBreakStructureSize:
		*r = OplockBreakNotify{}
		return r.Oplock.Decode(msg)
	case LeaseBreakNotifyStructureSize:
		*r = OplockBreakNotify{IsLease: true}
		return r.Lease.Decode(msg)
	default:
		return malformed("oplock break notification: structure size %d", ss)
	}
}

func (r *OplockBreakNotify) Append(msg []byte) []byte {
	if r.IsLease {
		return r.Lease.Append(msg)
	}
	return r.Oplock.Append(msg)
}
