package wire

import "fmt"

// Oplock levels (MS-SMB2 2.2.13 RequestedOplockLevel).
const (
	OplockLevelNone      uint8 = 0x00
	OplockLevelII        uint8 = 0x01
	OplockLevelExclusive uint8 = 0x08
	OplockLevelBatch     uint8 = 0x09
	OplockLevelLease     uint8 = 0xFF
)

// Impersonation levels.
const (
	ImpersonationAnonymous      uint32 = 0
	ImpersonationIdentification uint32 = 1
	ImpersonationImpersonation  uint32 = 2
	ImpersonationDelegate       uint32 = 3
)

// Access mask bits (MS-SMB2 2.2.13.1, MS-DTYP 2.4.3).
const (
	FileReadData         uint32 = 0x00000001 // FILE_LIST_DIRECTORY for directories
	FileWriteData        uint32 = 0x00000002 // FILE_ADD_FILE
	FileAppendData       uint32 = 0x00000004 // FILE_ADD_SUBDIRECTORY
	FileReadEA           uint32 = 0x00000008
	FileWriteEA          uint32 = 0x00000010
	FileExecute          uint32 = 0x00000020 // FILE_TRAVERSE
	FileDeleteChild      uint32 = 0x00000040
	FileReadAttributes   uint32 = 0x00000080
	FileWriteAttributes  uint32 = 0x00000100
	Delete               uint32 = 0x00010000
	ReadControl          uint32 = 0x00020000
	WriteDAC             uint32 = 0x00040000
	WriteOwner           uint32 = 0x00080000
	Synchronize          uint32 = 0x00100000
	AccessSystemSecurity uint32 = 0x01000000
	MaximumAllowed       uint32 = 0x02000000
	GenericAll           uint32 = 0x10000000
	GenericExecute       uint32 = 0x20000000
	GenericWrite         uint32 = 0x40000000
	GenericRead          uint32 = 0x80000000

	// FileAllAccess is the full specific+standard rights of a file (0x1F01FF).
	FileAllAccess uint32 = 0x001F01FF
)

// Share access.
const (
	FileShareRead   uint32 = 0x00000001
	FileShareWrite  uint32 = 0x00000002
	FileShareDelete uint32 = 0x00000004
)

// Create dispositions.
const (
	FileSupersede   uint32 = 0x00000000
	FileOpen        uint32 = 0x00000001
	FileCreate      uint32 = 0x00000002
	FileOpenIf      uint32 = 0x00000003
	FileOverwrite   uint32 = 0x00000004
	FileOverwriteIf uint32 = 0x00000005
)

// Create options.
const (
	FileDirectoryFile           uint32 = 0x00000001
	FileWriteThrough            uint32 = 0x00000002
	FileSequentialOnly          uint32 = 0x00000004
	FileNoIntermediateBuffering uint32 = 0x00000008
	FileSynchronousIOAlert      uint32 = 0x00000010
	FileSynchronousIONonalert   uint32 = 0x00000020
	FileNonDirectoryFile        uint32 = 0x00000040
	FileCompleteIfOplocked      uint32 = 0x00000100
	FileNoEAKnowledge           uint32 = 0x00000200
	FileRandomAccess            uint32 = 0x00000800
	FileDeleteOnClose           uint32 = 0x00001000
	FileOpenByFileID            uint32 = 0x00002000
	FileOpenForBackupIntent     uint32 = 0x00004000
	FileNoCompression           uint32 = 0x00008000
	FileOpenRemoteInstance      uint32 = 0x00000400
	FileOpenRequiringOplock     uint32 = 0x00010000
	FileDisallowExclusive       uint32 = 0x00020000
	FileReserveOpfilter         uint32 = 0x00100000
	FileOpenReparsePoint        uint32 = 0x00200000
	FileOpenNoRecall            uint32 = 0x00400000
	FileOpenForFreeSpaceQuery   uint32 = 0x00800000
)

// Create actions (response).
const (
	FileSuperseded  uint32 = 0x00000000
	FileOpened      uint32 = 0x00000001
	FileCreated     uint32 = 0x00000002
	FileOverwritten uint32 = 0x00000003
)

// File attributes (MS-FSCC 2.6).
const (
	FileAttributeReadonly          uint32 = 0x00000001
	FileAttributeHidden            uint32 = 0x00000002
	FileAttributeSystem            uint32 = 0x00000004
	FileAttributeDirectory         uint32 = 0x00000010
	FileAttributeArchive           uint32 = 0x00000020
	FileAttributeNormal            uint32 = 0x00000080
	FileAttributeTemporary         uint32 = 0x00000100
	FileAttributeSparseFile        uint32 = 0x00000200
	FileAttributeReparsePoint      uint32 = 0x00000400
	FileAttributeCompressed        uint32 = 0x00000800
	FileAttributeOffline           uint32 = 0x00001000
	FileAttributeNotContentIndexed uint32 = 0x00002000
	FileAttributeEncrypted         uint32 = 0x00004000
	FileAttributeIntegrityStream   uint32 = 0x00008000
	FileAttributeNoScrubData       uint32 = 0x00020000
)

// CreateResponse flags.
const CreateFlagReparsePoint uint8 = 0x01

// CreateRequest is SMB2 CREATE Request (MS-SMB2 2.2.13).
type CreateRequest struct {
	SecurityFlags        uint8
	RequestedOplockLevel uint8
	ImpersonationLevel   uint32
	SMBCreateFlags       uint64
	DesiredAccess        uint32
	FileAttributes       uint32
	ShareAccess          uint32
	CreateDisposition    uint32
	CreateOptions        uint32
	Name                 string // relative to the share root, '\'-separated
	Contexts             []CreateContext
}

func (r *CreateRequest) Decode(msg []byte) error {
	b, err := body(msg, "create request", 57)
	if err != nil {
		return err
	}
	r.SecurityFlags = b[2]
	r.RequestedOplockLevel = b[3]
	r.ImpersonationLevel = le.Uint32(b[4:])
	r.SMBCreateFlags = le.Uint64(b[8:])
	r.DesiredAccess = le.Uint32(b[24:])
	r.FileAttributes = le.Uint32(b[28:])
	r.ShareAccess = le.Uint32(b[32:])
	r.CreateDisposition = le.Uint32(b[36:])
	r.CreateOptions = le.Uint32(b[40:])
	name, err := field(msg, uint64(le.Uint16(b[44:])), uint64(le.Uint16(b[46:])), "create request: name")
	if err != nil {
		return err
	}
	if r.Name, err = DecodeUTF16(name); err != nil {
		return fmt.Errorf("create request: name: %w", err)
	}
	ctx, err := field(msg, uint64(le.Uint32(b[48:])), uint64(le.Uint32(b[52:])), "create request: create contexts")
	if err != nil {
		return err
	}
	if r.Contexts, err = DecodeCreateContexts(ctx); err != nil {
		return fmt.Errorf("create request: %w", err)
	}
	return nil
}

func (r *CreateRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 56)
	b := msg[start:]
	le.PutUint16(b, 57)
	b[2] = r.SecurityFlags
	b[3] = r.RequestedOplockLevel
	le.PutUint32(b[4:], r.ImpersonationLevel)
	le.PutUint64(b[8:], r.SMBCreateFlags)
	le.PutUint32(b[24:], r.DesiredAccess)
	le.PutUint32(b[28:], r.FileAttributes)
	le.PutUint32(b[32:], r.ShareAccess)
	le.PutUint32(b[36:], r.CreateDisposition)
	le.PutUint32(b[40:], r.CreateOptions)
	le.PutUint16(b[44:], uint16(len(msg)))
	le.PutUint16(b[46:], uint16(UTF16Len(r.Name)))
	msg = AppendUTF16(msg, r.Name)
	if r.Name == "" {
		msg = append(msg, 0) // the buffer is at least one byte (StructureSize 57)
	}
	if len(r.Contexts) > 0 {
		msg = Pad8(msg)
		off := len(msg)
		msg = AppendCreateContexts(msg, r.Contexts)
		le.PutUint32(msg[start+48:], uint32(off))
		le.PutUint32(msg[start+52:], uint32(len(msg)-off))
	}
	return msg
}

// CreateResponse is SMB2 CREATE Response (MS-SMB2 2.2.14).
type CreateResponse struct {
	OplockLevel    uint8
	Flags          uint8
	CreateAction   uint32
	CreationTime   uint64
	LastAccessTime uint64
	LastWriteTime  uint64
	ChangeTime     uint64
	AllocationSize int64
	EndOfFile      int64
	FileAttributes uint32
	FileID         FileID
	Contexts       []CreateContext
}

func (r *CreateResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 88)
	b := msg[start:]
	le.PutUint16(b, 89)
	b[2] = r.OplockLevel
	b[3] = r.Flags
	le.PutUint32(b[4:], r.CreateAction)
	le.PutUint64(b[8:], r.CreationTime)
	le.PutUint64(b[16:], r.LastAccessTime)
	le.PutUint64(b[24:], r.LastWriteTime)
	le.PutUint64(b[32:], r.ChangeTime)
	le.PutUint64(b[40:], uint64(r.AllocationSize))
	le.PutUint64(b[48:], uint64(r.EndOfFile))
	le.PutUint32(b[56:], r.FileAttributes)
	putFileID(b[64:], r.FileID)
	if len(r.Contexts) == 0 {
		return msg // no pad byte for the empty buffer, as Samba and Windows send it
	}
	msg = Pad8(msg)
	off := len(msg)
	msg = AppendCreateContexts(msg, r.Contexts)
	le.PutUint32(msg[start+80:], uint32(off))
	le.PutUint32(msg[start+84:], uint32(len(msg)-off))
	return msg
}

func (r *CreateResponse) Decode(msg []byte) error {
	b, err := body(msg, "create response", 89)
	if err != nil {
		return err
	}
	r.OplockLevel = b[2]
	r.Flags = b[3]
	r.CreateAction = le.Uint32(b[4:])
	r.CreationTime = le.Uint64(b[8:])
	r.LastAccessTime = le.Uint64(b[16:])
	r.LastWriteTime = le.Uint64(b[24:])
	r.ChangeTime = le.Uint64(b[32:])
	r.AllocationSize = int64(le.Uint64(b[40:]))
	r.EndOfFile = int64(le.Uint64(b[48:]))
	r.FileAttributes = le.Uint32(b[56:])
	r.FileID = getFileID(b[64:])
	ctx, err := field(msg, uint64(le.Uint32(b[80:])), uint64(le.Uint32(b[84:])), "create response: create contexts")
	if err != nil {
		return err
	}
	if r.Contexts, err = DecodeCreateContexts(ctx); err != nil {
		return fmt.Errorf("create response: %w", err)
	}
	return nil
}

// Close flags.
const CloseFlagPostQueryAttrib uint16 = 0x0001

// CloseRequest is SMB2 CLOSE Request (MS-SMB2 2.2.15).
type CloseRequest struct {
	Flags  uint16
	FileID FileID
}

func (r *CloseRequest) Decode(msg []byte) error {
	b, err := body(msg, "close request", 24)
	if err != nil {
		return err
	}
	r.Flags = le.Uint16(b[2:])
	r.FileID = getFileID(b[8:])
	return nil
}

func (r *CloseRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 24)
	le.PutUint16(msg[start:], 24)
	le.PutUint16(msg[start+2:], r.Flags)
	putFileID(msg[start+8:], r.FileID)
	return msg
}

// CloseResponse is SMB2 CLOSE Response (MS-SMB2 2.2.16). The attributes are
// meaningful only with CloseFlagPostQueryAttrib.
type CloseResponse struct {
	Flags          uint16
	CreationTime   uint64
	LastAccessTime uint64
	LastWriteTime  uint64
	ChangeTime     uint64
	AllocationSize int64
	EndOfFile      int64
	FileAttributes uint32
}

func (r *CloseResponse) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 60)
	b := msg[start:]
	le.PutUint16(b, 60)
	le.PutUint16(b[2:], r.Flags)
	le.PutUint64(b[8:], r.CreationTime)
	le.PutUint64(b[16:], r.LastAccessTime)
	le.PutUint64(b[24:], r.LastWriteTime)
	le.PutUint64(b[32:], r.ChangeTime)
	le.PutUint64(b[40:], uint64(r.AllocationSize))
	le.PutUint64(b[48:], uint64(r.EndOfFile))
	le.PutUint32(b[56:], r.FileAttributes)
	return msg
}

func (r *CloseResponse) Decode(msg []byte) error {
	b, err := body(msg, "close response", 60)
	if err != nil {
		return err
	}
	r.Flags = le.Uint16(b[2:])
	r.CreationTime = le.Uint64(b[8:])
	r.LastAccessTime = le.Uint64(b[16:])
	r.LastWriteTime = le.Uint64(b[24:])
	r.ChangeTime = le.Uint64(b[32:])
	r.AllocationSize = int64(le.Uint64(b[40:]))
	r.EndOfFile = int64(le.Uint64(b[48:]))
	r.FileAttributes = le.Uint32(b[56:])
	return nil
}

// FlushRequest is SMB2 FLUSH Request (MS-SMB2 2.2.17).
type FlushRequest struct{ FileID FileID }

func (r *FlushRequest) Decode(msg []byte) error {
	b, err := body(msg, "flush request", 24)
	if err != nil {
		return err
	}
	r.FileID = getFileID(b[8:])
	return nil
}

func (r *FlushRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 24)
	le.PutUint16(msg[start:], 24)
	putFileID(msg[start+8:], r.FileID)
	return msg
}

// FlushResponse is SMB2 FLUSH Response (MS-SMB2 2.2.18).
type FlushResponse struct{}

func (*FlushResponse) Decode(msg []byte) error  { return decodeEmpty(msg, "flush response") }
func (*FlushResponse) Append(msg []byte) []byte { return appendEmpty(msg) }
