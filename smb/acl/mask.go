package acl

// Access mask bits for files and directories (MS-DTYP 2.4.3, MS-SMB2 2.2.13.1). Directory
// meanings share the bit of the file right named alongside.
const (
	FileReadData        uint32 = 0x00000001 // directory: FILE_LIST_DIRECTORY
	FileWriteData       uint32 = 0x00000002 // directory: FILE_ADD_FILE
	FileAppendData      uint32 = 0x00000004 // directory: FILE_ADD_SUBDIRECTORY
	FileReadEA          uint32 = 0x00000008
	FileWriteEA         uint32 = 0x00000010
	FileExecute         uint32 = 0x00000020 // directory: FILE_TRAVERSE
	FileDeleteChild     uint32 = 0x00000040
	FileReadAttributes  uint32 = 0x00000080
	FileWriteAttributes uint32 = 0x00000100

	Delete      uint32 = 0x00010000
	ReadControl uint32 = 0x00020000
	WriteDAC    uint32 = 0x00040000
	WriteOwner  uint32 = 0x00080000
	Synchronize uint32 = 0x00100000

	AccessSystemSecurity uint32 = 0x01000000
	MaximumAllowed       uint32 = 0x02000000

	GenericAll     uint32 = 0x10000000
	GenericExecute uint32 = 0x20000000
	GenericWrite   uint32 = 0x40000000
	GenericRead    uint32 = 0x80000000

	genericBits = GenericAll | GenericExecute | GenericWrite | GenericRead
)

// File generic mappings (the FILE_GENERIC_* values of winnt.h that MS-SMB2 2.2.13.1.1 refers to).
const (
	FileGenericRead           = ReadControl | FileReadData | FileReadAttributes | FileReadEA | Synchronize                     // 0x120089
	FileGenericWrite          = ReadControl | FileWriteData | FileWriteAttributes | FileWriteEA | FileAppendData | Synchronize // 0x120116
	FileGenericExecute        = ReadControl | FileReadAttributes | FileExecute | Synchronize                                   // 0x1200a0
	FileAllAccess      uint32 = 0x001F01FF

	// FileModify is Explorer's "Modify": read, write, execute and delete, but not WRITE_DAC,
	// WRITE_OWNER or FILE_DELETE_CHILD.
	FileModify = FileGenericRead | FileGenericWrite | FileGenericExecute | Delete // 0x1301bf
)

// GenericMapping replaces the generic bits of mask by the file rights they stand for and leaves
// every other bit alone (MS-DTYP 2.5.3.2 step "MapGenericBits").
func GenericMapping(mask uint32) uint32 {
	out := mask &^ genericBits
	if mask&GenericRead != 0 {
		out |= FileGenericRead
	}
	if mask&GenericWrite != 0 {
		out |= FileGenericWrite
	}
	if mask&GenericExecute != 0 {
		out |= FileGenericExecute
	}
	if mask&GenericAll != 0 {
		out |= FileAllAccess
	}
	return out
}
