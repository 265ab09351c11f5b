package wire

import "fmt"

// File information classes (MS-FSCC 2.4), used with InfoFile and in
// QUERY_DIRECTORY.
const (
	FileDirectoryInformation                 uint8 = 1
	FileFullDirectoryInformation             uint8 = 2
	FileBothDirectoryInformation             uint8 = 3
	FileBasicInformation                     uint8 = 4
	FileStandardInformation                  uint8 = 5
	FileInternalInformation                  uint8 = 6
	FileEaInformation                        uint8 = 7
	FileAccessInformation                    uint8 = 8
	FileNameInformation                      uint8 = 9
	FileRenameInformation                    uint8 = 10
	FileLinkInformation                      uint8 = 11
	FileNamesInformation                     uint8 = 12
	FileDispositionInformation               uint8 = 13
	FilePositionInformation                  uint8 = 14
	FileFullEaInformation                    uint8 = 15
	FileModeInformation                      uint8 = 16
	FileAlignmentInformation                 uint8 = 17
	FileAllInformation                       uint8 = 18
	FileAllocationInformation                uint8 = 19
	FileEndOfFileInformation                 uint8 = 20
	FileAlternateNameInformation             uint8 = 21
	FileStreamInformation                    uint8 = 22
	FilePipeInformation                      uint8 = 23
	FilePipeLocalInformation                 uint8 = 24
	FilePipeRemoteInformation                uint8 = 25
	FileMailslotQueryInformation             uint8 = 26
	FileMailslotSetInformation               uint8 = 27
	FileCompressionInformation               uint8 = 28
	FileObjectIDInformation                  uint8 = 29
	FileCompletionInformation                uint8 = 30
	FileMoveClusterInformation               uint8 = 31
	FileQuotaInformation                     uint8 = 32
	FileReparsePointInformation              uint8 = 33
	FileNetworkOpenInformation               uint8 = 34
	FileAttributeTagInformation              uint8 = 35
	FileTrackingInformation                  uint8 = 36
	FileIDBothDirectoryInformation           uint8 = 37
	FileIDFullDirectoryInformation           uint8 = 38
	FileValidDataLengthInformation           uint8 = 39
	FileShortNameInformation                 uint8 = 40
	FileIoCompletionNotificationInformation  uint8 = 41
	FileIoStatusBlockRangeInformation        uint8 = 42
	FileIoPriorityHintInformation            uint8 = 43
	FileSfioReserveInformation               uint8 = 44
	FileSfioVolumeInformation                uint8 = 45
	FileHardLinkInformation                  uint8 = 46
	FileProcessIDsUsingFileInformation       uint8 = 47
	FileNormalizedNameInformation            uint8 = 48
	FileNetworkPhysicalNameInformation       uint8 = 49
	FileIDGlobalTxDirectoryInformation       uint8 = 50
	FileIsRemoteDeviceInformation            uint8 = 51
	FileUnusedInformation                    uint8 = 52
	FileNumaNodeInformation                  uint8 = 53
	FileStandardLinkInformation              uint8 = 54
	FileRemoteProtocolInformation            uint8 = 55
	FileRenameInformationBypassAccessCheck   uint8 = 56
	FileLinkInformationBypassAccessCheck     uint8 = 57
	FileVolumeNameInformation                uint8 = 58
	FileIDInformation                        uint8 = 59
	FileIDExtdDirectoryInformation           uint8 = 60
	FileReplaceCompletionInformation         uint8 = 61
	FileHardLinkFullIDInformation            uint8 = 62
	FileIDExtdBothDirectoryInformation       uint8 = 63
	FileDispositionInformationEx             uint8 = 64
	FileRenameInformationEx                  uint8 = 65
	FileRenameInformationExBypassAccessCheck uint8 = 66
	FileDesiredStorageClassInformation       uint8 = 67
	FileStatInformation                      uint8 = 68
	FileMemoryPartitionInformation           uint8 = 69
	FileStatLxInformation                    uint8 = 70
	FileCaseSensitiveInformation             uint8 = 71
	FileLinkInformationEx                    uint8 = 72
)

// FileAttrs is the backend-neutral description of a file that the FSCC
// encoders take (wire does not import smb/vfs). Times are FILETIME.
type FileAttrs struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	EndOfFile, AllocationSize                               int64
	Attributes                                              uint32
	FileID                                                  uint64
	NumberOfLinks                                           uint32
	DeletePending, Directory                                bool
	EaSize                                                  uint32
	Name                                                    string // UTF-8
	ShortName                                               string // 8.3 name, if any
	// Directory enumeration extras.
	FileIndex  uint32
	ReparseTag uint32
	FileID128  [16]byte // FileIdExtdDirectoryInformation / FileIdInformation; zero means FileID widened
}

func (a *FileAttrs) fileID128() [16]byte {
	if a.FileID128 != ([16]byte{}) {
		return a.FileID128
	}
	var id [16]byte
	le.PutUint64(id[:], a.FileID)
	return id
}

func appendTimes(b []byte, a *FileAttrs) []byte {
	b = le.AppendUint64(b, a.CreationTime)
	b = le.AppendUint64(b, a.LastAccessTime)
	b = le.AppendUint64(b, a.LastWriteTime)
	return le.AppendUint64(b, a.ChangeTime)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// AppendFileBasicInformation: FILE_BASIC_INFORMATION (MS-FSCC 2.4.7), 40 bytes.
func AppendFileBasicInformation(b []byte, a *FileAttrs) []byte {
	b = appendTimes(b, a)
	b = le.AppendUint32(b, a.Attributes)
	return grow(b, 4)
}

// AppendFileStandardInformation: FILE_STANDARD_INFORMATION (2.4.41), 24 bytes.
func AppendFileStandardInformation(b []byte, a *FileAttrs) []byte {
	b = le.AppendUint64(b, uint64(a.AllocationSize))
	b = le.AppendUint64(b, uint64(a.EndOfFile))
	b = le.AppendUint32(b, a.NumberOfLinks)
	return append(b, boolByte(a.DeletePending), boolByte(a.Directory), 0, 0)
}

// AppendFileInternalInformation: FILE_INTERNAL_INFORMATION (2.4.22), 8 bytes.
func AppendFileInternalInformation(b []byte, a *FileAttrs) []byte {
	return le.AppendUint64(b, a.FileID)
}

// AppendFileEaInformation: FILE_EA_INFORMATION (2.4.13), 4 bytes.
func AppendFileEaInformation(b []byte, a *FileAttrs) []byte { return le.AppendUint32(b, a.EaSize) }

// AppendFileAccessInformation: FILE_ACCESS_INFORMATION (2.4.1): the granted
// access mask of the open.
func AppendFileAccessInformation(b []byte, access uint32) []byte { return le.AppendUint32(b, access) }

// AppendFilePositionInformation: FILE_POSITION_INFORMATION (2.4.35).
func AppendFilePositionInformation(b []byte, pos int64) []byte {
	return le.AppendUint64(b, uint64(pos))
}

// AppendFileModeInformation: FILE_MODE_INFORMATION (2.4.26).
func AppendFileModeInformation(b []byte, mode uint32) []byte { return le.AppendUint32(b, mode) }

// AppendFileAlignmentInformation: FILE_ALIGNMENT_INFORMATION (2.4.3).
func AppendFileAlignmentInformation(b []byte, alignment uint32) []byte {
	return le.AppendUint32(b, alignment)
}

// AppendFileNameInformation: FILE_NAME_INFORMATION (2.4.28); also
// FileNormalizedNameInformation and FileAlternateNameInformation.
func AppendFileNameInformation(b []byte, name string) []byte {
	b = le.AppendUint32(b, uint32(UTF16Len(name)))
	return AppendUTF16(b, name)
}

// FileAllInfoExtra carries the per-open parts of FILE_ALL_INFORMATION.
type FileAllInfoExtra struct {
	AccessFlags, Mode, AlignmentRequirement uint32
	CurrentByteOffset                       int64
}

// AppendFileAllInformation: FILE_ALL_INFORMATION (2.4.2): basic, standard,
// internal, EA, access, position, mode, alignment and name information, 100
// bytes plus the name. a.Name is the full path as the client should see it.
func AppendFileAllInformation(b []byte, a *FileAttrs, x FileAllInfoExtra) []byte {
	b = AppendFileBasicInformation(b, a)
	b = AppendFileStandardInformation(b, a)
	b = AppendFileInternalInformation(b, a)
	b = AppendFileEaInformation(b, a)
	b = AppendFileAccessInformation(b, x.AccessFlags)
	b = AppendFilePositionInformation(b, x.CurrentByteOffset)
	b = AppendFileModeInformation(b, x.Mode)
	b = AppendFileAlignmentInformation(b, x.AlignmentRequirement)
	return AppendFileNameInformation(b, a.Name)
}

// AppendFileNetworkOpenInformation: FILE_NETWORK_OPEN_INFORMATION (2.4.29), 56 bytes.
func AppendFileNetworkOpenInformation(b []byte, a *FileAttrs) []byte {
	b = appendTimes(b, a)
	b = le.AppendUint64(b, uint64(a.AllocationSize))
	b = le.AppendUint64(b, uint64(a.EndOfFile))
	b = le.AppendUint32(b, a.Attributes)
	return grow(b, 4)
}

// AppendFileAttributeTagInformation: FILE_ATTRIBUTE_TAG_INFORMATION (2.4.6).
func AppendFileAttributeTagInformation(b []byte, a *FileAttrs) []byte {
	b = le.AppendUint32(b, a.Attributes)
	return le.AppendUint32(b, a.ReparseTag)
}

// StreamInfo is one entry of FILE_STREAM_INFORMATION; Name is like "::$DATA"
// or ":name:$DATA".
type StreamInfo struct {
	Name           string
	Size           int64
	AllocationSize int64
}

// AppendFileStreamInformation: FILE_STREAM_INFORMATION (2.4.43), entries
// 8-byte aligned and linked by NextEntryOffset.
func AppendFileStreamInformation(b []byte, streams []StreamInfo) []byte {
	base := len(b)
	prev := -1
	for _, s := range streams {
		for (len(b)-base)%8 != 0 {
			b = append(b, 0)
		}
		e := len(b)
		if prev >= 0 {
			le.PutUint32(b[prev:], uint32(e-prev))
		}
		prev = e
		b = grow(b, 4)
		b = le.AppendUint32(b, uint32(UTF16Len(s.Name)))
		b = le.AppendUint64(b, uint64(s.Size))
		b = le.AppendUint64(b, uint64(s.AllocationSize))
		b = AppendUTF16(b, s.Name)
	}
	return b
}

// DecodeFileStreamInformation decodes FILE_STREAM_INFORMATION.
func DecodeFileStreamInformation(d []byte) ([]StreamInfo, error) {
	var out []StreamInfo
	err := walkEntries(d, 24, "stream information", func(e []byte) error {
		name, err := sub(e, 24, uint64(le.Uint32(e[4:])), "stream information: name")
		if err != nil {
			return err
		}
		s := StreamInfo{Size: int64(le.Uint64(e[8:])), AllocationSize: int64(le.Uint64(e[16:]))}
		if s.Name, err = DecodeUTF16(name); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// walkEntries iterates a NextEntryOffset-linked list whose entries have a
// fixed part of at least min bytes, calling fn with each entry (bounded by
// the next one).
func walkEntries(d []byte, min int, what string, fn func(e []byte) error) error {
	off := 0
	for i := 0; len(d) > 0; i++ {
		if off+min > len(d) {
			return malformed("%s entry %d: at %d beyond %d bytes", what, i, off, len(d))
		}
		e := d[off:]
		next := le.Uint32(e)
		if next != 0 {
			if uint64(next) < uint64(min) || uint64(next) > uint64(len(e)) {
				return malformed("%s entry %d: next entry offset %d", what, i, next)
			}
			e = e[:next]
		}
		if err := fn(e); err != nil {
			return fmt.Errorf("%s entry %d: %w", what, i, err)
		}
		if next == 0 {
			return nil
		}
		off += int(next)
	}
	return nil
}

// AppendFileCompressionInformation: FILE_COMPRESSION_INFORMATION (2.4.9)
// for an uncompressed file.
func AppendFileCompressionInformation(b []byte, a *FileAttrs) []byte {
	b = le.AppendUint64(b, uint64(a.EndOfFile))
	return grow(b, 8) // format NONE, shifts 0, reserved
}

// AppendFileIDInformation: FILE_ID_INFORMATION (2.4.21), 24 bytes.
func AppendFileIDInformation(b []byte, volumeSerial uint64, a *FileAttrs) []byte {
	b = le.AppendUint64(b, volumeSerial)
	id := a.fileID128()
	return append(b, id[:]...)
}

// Decoders for what clients SET.

// DecodeFileBasicInformation decodes FILE_BASIC_INFORMATION into a (times
// and attributes only). Zero means "don't change", -1 (all ones) "stop
// updating", per MS-FSCC 2.4.7; the caller interprets them.
func DecodeFileBasicInformation(d []byte, a *FileAttrs) error {
	if len(d) < 36 {
		return malformed("file basic information: %d bytes", len(d))
	}
	a.CreationTime = le.Uint64(d)
	a.LastAccessTime = le.Uint64(d[8:])
	a.LastWriteTime = le.Uint64(d[16:])
	a.ChangeTime = le.Uint64(d[24:])
	a.Attributes = le.Uint32(d[32:])
	return nil
}

func decodeInt64(d []byte, what string) (int64, error) {
	if len(d) < 8 {
		return 0, malformed("%s: %d bytes", what, len(d))
	}
	return int64(le.Uint64(d)), nil
}

// DecodeFileEndOfFileInformation: FILE_END_OF_FILE_INFORMATION (2.4.14).
func DecodeFileEndOfFileInformation(d []byte) (int64, error) {
	return decodeInt64(d, "end of file information")
}

// DecodeFileAllocationInformation: FILE_ALLOCATION_INFORMATION (2.4.4).
func DecodeFileAllocationInformation(d []byte) (int64, error) {
	return decodeInt64(d, "allocation information")
}

// DecodeFilePositionInformation: FILE_POSITION_INFORMATION (2.4.35).
func DecodeFilePositionInformation(d []byte) (int64, error) {
	return decodeInt64(d, "position information")
}

// DecodeFileValidDataLengthInformation: FILE_VALID_DATA_LENGTH_INFORMATION (2.4.49).
func DecodeFileValidDataLengthInformation(d []byte) (int64, error) {
	return decodeInt64(d, "valid data length information")
}

// DecodeFileModeInformation: FILE_MODE_INFORMATION (2.4.26).
func DecodeFileModeInformation(d []byte) (uint32, error) {
	if len(d) < 4 {
		return 0, malformed("mode information: %d bytes", len(d))
	}
	return le.Uint32(d), nil
}

// DecodeFileDispositionInformation: FILE_DISPOSITION_INFORMATION (2.4.11).
func DecodeFileDispositionInformation(d []byte) (deletePending bool, err error) {
	if len(d) < 1 {
		return false, malformed("disposition information: empty")
	}
	return d[0] != 0, nil
}

// FileDispositionInformationEx flags (MS-FSCC 2.4.12).
const (
	FileDispositionDelete                  uint32 = 0x00000001
	FileDispositionPosixSemantics          uint32 = 0x00000002
	FileDispositionForceImageSectionCheck  uint32 = 0x00000004
	FileDispositionOnClose                 uint32 = 0x00000008
	FileDispositionIgnoreReadonlyAttribute uint32 = 0x00000010
)

// DecodeFileDispositionInformationEx returns the flags of
// FILE_DISPOSITION_INFORMATION_EX.
func DecodeFileDispositionInformationEx(d []byte) (uint32, error) {
	if len(d) < 4 {
		return 0, malformed("disposition information ex: %d bytes", len(d))
	}
	return le.Uint32(d), nil
}

// RenameInformation is FILE_RENAME_INFORMATION_TYPE_2 (MS-FSCC 2.4.37.2),
// the SMB2 form; FileLinkInformation (2.4.25) has the same layout.
// FileName is the target path relative to the share root.
type RenameInformation struct {
	ReplaceIfExists bool
	RootDirectory   uint64
	FileName        string
}

// LinkInformation is FILE_LINK_INFORMATION_TYPE_2 (MS-FSCC 2.4.25.2),
// laid out exactly like RenameInformation.
type LinkInformation = RenameInformation

func (r *RenameInformation) Decode(d []byte) error {
	if len(d) < 20 {
		return malformed("rename information: %d bytes", len(d))
	}
	r.ReplaceIfExists = d[0] != 0
	r.RootDirectory = le.Uint64(d[8:])
	name, err := sub(d, 20, uint64(le.Uint32(d[16:])), "rename information: file name")
	if err != nil {
		return err
	}
	if r.FileName, err = DecodeUTF16(name); err != nil {
		return wrapf("rename information: file name", err)
	}
	return nil
}

func (r *RenameInformation) Append(b []byte) []byte {
	b = append(b, boolByte(r.ReplaceIfExists))
	b = grow(b, 7)
	b = le.AppendUint64(b, r.RootDirectory)
	b = le.AppendUint32(b, uint32(UTF16Len(r.FileName)))
	return AppendUTF16(b, r.FileName)
}

// FullEA is one FILE_FULL_EA_INFORMATION entry (MS-FSCC 2.4.15).
type FullEA struct {
	Flags uint8
	Name  string // OEM/ASCII
	Value []byte
}

// FileNeedEA flag.
const FileNeedEA uint8 = 0x80

// DecodeFileFullEaInformation decodes a FILE_FULL_EA_INFORMATION list.
func DecodeFileFullEaInformation(d []byte) ([]FullEA, error) {
	var out []FullEA
	err := walkEntries(d, 8, "full EA information", func(e []byte) error {
		nl, vl := uint64(e[5]), uint64(le.Uint16(e[6:]))
		name, err := sub(e, 8, nl, "name")
		if err != nil {
			return err
		}
		if 8+nl >= uint64(len(e)) || e[8+nl] != 0 {
			return malformed("EA name not NUL-terminated")
		}
		val, err := sub(e, 8+nl+1, vl, "value")
		if err != nil {
			return err
		}
		if len(val) == 0 {
			val = nil
		}
		out = append(out, FullEA{Flags: e[4], Name: string(name), Value: val})
		return nil
	})
	return out, err
}

// AppendFileFullEaInformation encodes the list, entries 4-byte aligned.
func AppendFileFullEaInformation(b []byte, eas []FullEA) []byte {
	base := len(b)
	prev := -1
	for _, ea := range eas {
		for (len(b)-base)%4 != 0 {
			b = append(b, 0)
		}
		e := len(b)
		if prev >= 0 {
			le.PutUint32(b[prev:], uint32(e-prev))
		}
		prev = e
		b = grow(b, 4)
		b = append(b, ea.Flags, uint8(len(ea.Name)))
		b = le.AppendUint16(b, uint16(len(ea.Value)))
		b = append(b, ea.Name...)
		b = append(b, 0)
		b = append(b, ea.Value...)
	}
	return b
}

// Decoders for query outputs (used by the raw test client and to check our
// encoders against recorded Samba answers).

// DecodeFileStandardInformation fills the FILE_STANDARD_INFORMATION fields of a.
func DecodeFileStandardInformation(d []byte, a *FileAttrs) error {
	if len(d) < 22 {
		return malformed("file standard information: %d bytes", len(d))
	}
	a.AllocationSize = int64(le.Uint64(d))
	a.EndOfFile = int64(le.Uint64(d[8:]))
	a.NumberOfLinks = le.Uint32(d[16:])
	a.DeletePending = d[20] != 0
	a.Directory = d[21] != 0
	return nil
}

// DecodeFileNetworkOpenInformation fills the FILE_NETWORK_OPEN_INFORMATION fields of a.
func DecodeFileNetworkOpenInformation(d []byte, a *FileAttrs) error {
	if len(d) < 52 {
		return malformed("file network open information: %d bytes", len(d))
	}
	a.CreationTime = le.Uint64(d)
	a.LastAccessTime = le.Uint64(d[8:])
	a.LastWriteTime = le.Uint64(d[16:])
	a.ChangeTime = le.Uint64(d[24:])
	a.AllocationSize = int64(le.Uint64(d[32:]))
	a.EndOfFile = int64(le.Uint64(d[40:]))
	a.Attributes = le.Uint32(d[48:])
	return nil
}

// DecodeFileAttributeTagInformation fills attributes and reparse tag.
func DecodeFileAttributeTagInformation(d []byte, a *FileAttrs) error {
	if len(d) < 8 {
		return malformed("file attribute tag information: %d bytes", len(d))
	}
	a.Attributes = le.Uint32(d)
	a.ReparseTag = le.Uint32(d[4:])
	return nil
}

// DecodeFileNameInformation decodes FILE_NAME_INFORMATION.
func DecodeFileNameInformation(d []byte) (string, error) {
	if len(d) < 4 {
		return "", malformed("file name information: %d bytes", len(d))
	}
	name, err := sub(d, 4, uint64(le.Uint32(d)), "file name information: name")
	if err != nil {
		return "", err
	}
	s, err := DecodeUTF16(name)
	if err != nil {
		return "", wrapf("file name information", err)
	}
	return s, nil
}

// DecodeFileAllInformation decodes FILE_ALL_INFORMATION.
func DecodeFileAllInformation(d []byte) (FileAttrs, FileAllInfoExtra, error) {
	var a FileAttrs
	var x FileAllInfoExtra
	if len(d) < 100 {
		return a, x, malformed("file all information: %d bytes", len(d))
	}
	if err := DecodeFileBasicInformation(d, &a); err != nil {
		return a, x, err
	}
	if err := DecodeFileStandardInformation(d[40:], &a); err != nil {
		return a, x, err
	}
	a.FileID = le.Uint64(d[64:])
	a.EaSize = le.Uint32(d[72:])
	x.AccessFlags = le.Uint32(d[76:])
	x.CurrentByteOffset = int64(le.Uint64(d[80:]))
	x.Mode = le.Uint32(d[88:])
	x.AlignmentRequirement = le.Uint32(d[92:])
	name, err := DecodeFileNameInformation(d[96:])
	if err != nil {
		return a, x, wrapf("file all information", err)
	}
	a.Name = name
	return a, x, nil
}
