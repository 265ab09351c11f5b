package wire

// Structure sizes of the four OPLOCK_BREAK shapes (MS-SMB2 2.2.23-2.2.26).
const (
	OplockBreakStructureSize      = 24 // notification, acknowledgment and response
	LeaseBreakNotifyStructureSize = 44
	LeaseBreakAckStructureSize    = 36 // acknowledgment and response
)
