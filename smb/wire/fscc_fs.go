package wire

// File system information classes (MS-FSCC 2.5), used with InfoFilesystem.
const (
	FileFsVolumeInformation      uint8 = 1
	FileFsLabelInformation       uint8 = 2
	FileFsSizeInformation        uint8 = 3
	FileFsDeviceInformation      uint8 = 4
	FileFsAttributeInformation   uint8 = 5
	FileFsControlInformation     uint8 = 6
	FileFsFullSizeInformation    uint8 = 7
	FileFsObjectIDInformation    uint8 = 8
	FileFsDriverPathInformation  uint8 = 9
	FileFsVolumeFlagsInformation uint8 = 10
	FileFsSectorSizeInformation  uint8 = 11
)

// File system attribute flags (MS-FSCC 2.5.1).
const (
	FileCaseSensitiveSearch        uint32 = 0x00000001
	FileCasePreservedNames         uint32 = 0x00000002
	FileUnicodeOnDisk              uint32 = 0x00000004
	FilePersistentACLs             uint32 = 0x00000008
	FileFileCompression            uint32 = 0x00000010
	FileVolumeQuotas               uint32 = 0x00000020
	FileSupportsSparseFiles        uint32 = 0x00000040
	FileSupportsReparsePoints      uint32 = 0x00000080
	FileSupportsRemoteStorage      uint32 = 0x00000100
	FileVolumeIsCompressed         uint32 = 0x00008000
	FileSupportsObjectIDs          uint32 = 0x00010000
	FileSupportsEncryption         uint32 = 0x00020000
	FileNamedStreams               uint32 = 0x00040000
	FileReadOnlyVolume             uint32 = 0x00080000
	FileSequentialWriteOnce        uint32 = 0x00100000
	FileSupportsTransactions       uint32 = 0x00200000
	FileSupportsHardLinks          uint32 = 0x00400000
	FileSupportsExtendedAttributes uint32 = 0x00800000
	FileSupportsOpenByFileID       uint32 = 0x01000000
	FileSupportsUSNJournal         uint32 = 0x02000000
	FileSupportsIntegrityStreams   uint32 = 0x04000000
	FileSupportsBlockRefcounting   uint32 = 0x08000000
	FileSupportsSparseVDL          uint32 = 0x10000000
)

// Device types and characteristics (MS-FSCC 2.5.10).
const (
	FileDeviceDisk       uint32 = 0x00000007
	FileDeviceNamedPipe  uint32 = 0x00000011
	FileRemoteDevice     uint32 = 0x00000010
	FileDeviceIsMounted  uint32 = 0x00000020
	FileDeviceSecureOpen uint32 = 0x00000100
)

// Sector size information flags (MS-FSCC 2.5.8).
const (
	SSINFOFlagsAlignedDevice            uint32 = 0x00000001
	SSINFOFlagsPartitionAlignedOnDevice uint32 = 0x00000002
	SSINFOFlagsNoSeekPenalty            uint32 = 0x00000004
	SSINFOFlagsTrimEnabled              uint32 = 0x00000008
)

// FsVolume is FILE_FS_VOLUME_INFORMATION (2.5.9).
type FsVolume struct {
	CreationTime    uint64
	SerialNumber    uint32
	SupportsObjects bool
	Label           string
}

func (v *FsVolume) Append(b []byte) []byte {
	b = le.AppendUint64(b, v.CreationTime)
	b = le.AppendUint32(b, v.SerialNumber)
	b = le.AppendUint32(b, uint32(UTF16Len(v.Label)))
	b = append(b, boolByte(v.SupportsObjects), 0)
	return AppendUTF16(b, v.Label)
}

// FsSize is FILE_FS_SIZE_INFORMATION (2.5.8) and, with the caller/actual
// split, FILE_FS_FULL_SIZE_INFORMATION (2.5.4).
type FsSize struct {
	TotalAllocationUnits           uint64
	CallerAvailableAllocationUnits uint64
	ActualAvailableAllocationUnits uint64
	SectorsPerAllocationUnit       uint32
	BytesPerSector                 uint32
}

// AppendSize writes FILE_FS_SIZE_INFORMATION (24 bytes; available = caller's).
func (s *FsSize) AppendSize(b []byte) []byte {
	b = le.AppendUint64(b, s.TotalAllocationUnits)
	b = le.AppendUint64(b, s.CallerAvailableAllocationUnits)
	b = le.AppendUint32(b, s.SectorsPerAllocationUnit)
	return le.AppendUint32(b, s.BytesPerSector)
}

// AppendFullSize writes FILE_FS_FULL_SIZE_INFORMATION (32 bytes).
func (s *FsSize) AppendFullSize(b []byte) []byte {
	b = le.AppendUint64(b, s.TotalAllocationUnits)
	b = le.AppendUint64(b, s.CallerAvailableAllocationUnits)
	b = le.AppendUint64(b, s.ActualAvailableAllocationUnits)
	b = le.AppendUint32(b, s.SectorsPerAllocationUnit)
	return le.AppendUint32(b, s.BytesPerSector)
}

// AppendFileFsDeviceInformation: FILE_FS_DEVICE_INFORMATION (2.5.10).
func AppendFileFsDeviceInformation(b []byte, deviceType, characteristics uint32) []byte {
	b = le.AppendUint32(b, deviceType)
	return le.AppendUint32(b, characteristics)
}

// AppendFileFsAttributeInformation: FILE_FS_ATTRIBUTE_INFORMATION (2.5.1).
func AppendFileFsAttributeInformation(b []byte, attributes, maxComponentNameLength uint32, fsName string) []byte {
	b = le.AppendUint32(b, attributes)
	b = le.AppendUint32(b, maxComponentNameLength)
	b = le.AppendUint32(b, uint32(UTF16Len(fsName)))
	return AppendUTF16(b, fsName)
}

// FsSectorSize is FILE_FS_SECTOR_SIZE_INFORMATION (2.5.7), 28 bytes.
type FsSectorSize struct {
	LogicalBytesPerSector                                 uint32
	PhysicalBytesPerSectorForAtomicity                    uint32
	PhysicalBytesPerSectorForPerformance                  uint32
	FileSystemEffectivePhysicalBytesPerSectorForAtomicity uint32
	Flags                                                 uint32
	ByteOffsetForSectorAlignment                          uint32
	ByteOffsetForPartitionAlignment                       uint32
}

func (s *FsSectorSize) Append(b []byte) []byte {
	for _, v := range [...]uint32{s.LogicalBytesPerSector, s.PhysicalBytesPerSectorForAtomicity,
		s.PhysicalBytesPerSectorForPerformance, s.FileSystemEffectivePhysicalBytesPerSectorForAtomicity,
		s.Flags, s.ByteOffsetForSectorAlignment, s.ByteOffsetForPartitionAlignment} {
		b = le.AppendUint32(b, v)
	}
	return b
}

// AppendFileFsObjectIDInformation: FILE_FS_OBJECTID_INFORMATION (2.5.6), 64 bytes.
func AppendFileFsObjectIDInformation(b []byte, objectID GUID, extended [48]byte) []byte {
	b = append(b, objectID[:]...)
	return append(b, extended[:]...)
}

// FsControl is FILE_FS_CONTROL_INFORMATION (2.5.2), 48 bytes.
type FsControl struct {
	FreeSpaceStartFiltering, FreeSpaceThreshold, FreeSpaceStopFiltering int64
	DefaultQuotaThreshold, DefaultQuotaLimit                            uint64
	FileSystemControlFlags                                              uint32
}

func (c *FsControl) Append(b []byte) []byte {
	b = le.AppendUint64(b, uint64(c.FreeSpaceStartFiltering))
	b = le.AppendUint64(b, uint64(c.FreeSpaceThreshold))
	b = le.AppendUint64(b, uint64(c.FreeSpaceStopFiltering))
	b = le.AppendUint64(b, c.DefaultQuotaThreshold)
	b = le.AppendUint64(b, c.DefaultQuotaLimit)
	b = le.AppendUint32(b, c.FileSystemControlFlags)
	return grow(b, 4)
}

func (c *FsControl) Decode(d []byte) error {
	if len(d) < 44 {
		return malformed("fs control information: %d bytes", len(d))
	}
	c.FreeSpaceStartFiltering = int64(le.Uint64(d))
	c.FreeSpaceThreshold = int64(le.Uint64(d[8:]))
	c.FreeSpaceStopFiltering = int64(le.Uint64(d[16:]))
	c.DefaultQuotaThreshold = le.Uint64(d[24:])
	c.DefaultQuotaLimit = le.Uint64(d[32:])
	c.FileSystemControlFlags = le.Uint32(d[40:])
	return nil
}

func (v *FsVolume) Decode(d []byte) error {
	if len(d) < 18 {
		return malformed("fs volume information: %d bytes", len(d))
	}
	v.CreationTime = le.Uint64(d)
	v.SerialNumber = le.Uint32(d[8:])
	v.SupportsObjects = d[16] != 0
	label, err := sub(d, 18, uint64(le.Uint32(d[12:])), "fs volume information: label")
	if err != nil {
		return err
	}
	if v.Label, err = DecodeUTF16(label); err != nil {
		return wrapf("fs volume information: label", err)
	}
	return nil
}

// DecodeSize reads FILE_FS_SIZE_INFORMATION (available units go to both
// caller and actual).
func (s *FsSize) DecodeSize(d []byte) error {
	if len(d) < 24 {
		return malformed("fs size information: %d bytes", len(d))
	}
	s.TotalAllocationUnits = le.Uint64(d)
	s.CallerAvailableAllocationUnits = le.Uint64(d[8:])
	s.ActualAvailableAllocationUnits = s.CallerAvailableAllocationUnits
	s.SectorsPerAllocationUnit = le.Uint32(d[16:])
	s.BytesPerSector = le.Uint32(d[20:])
	return nil
}

// DecodeFullSize reads FILE_FS_FULL_SIZE_INFORMATION.
func (s *FsSize) DecodeFullSize(d []byte) error {
	if len(d) < 32 {
		return malformed("fs full size information: %d bytes", len(d))
	}
	s.TotalAllocationUnits = le.Uint64(d)
	s.CallerAvailableAllocationUnits = le.Uint64(d[8:])
	s.ActualAvailableAllocationUnits = le.Uint64(d[16:])
	s.SectorsPerAllocationUnit = le.Uint32(d[24:])
	s.BytesPerSector = le.Uint32(d[28:])
	return nil
}

// FsAttribute is FILE_FS_ATTRIBUTE_INFORMATION decoded.
type FsAttribute struct {
	Attributes             uint32
	MaxComponentNameLength uint32
	FileSystemName         string
}

func (f *FsAttribute) Append(b []byte) []byte {
	return AppendFileFsAttributeInformation(b, f.Attributes, f.MaxComponentNameLength, f.FileSystemName)
}

func (f *FsAttribute) Decode(d []byte) error {
	if len(d) < 12 {
		return malformed("fs attribute information: %d bytes", len(d))
	}
	f.Attributes = le.Uint32(d)
	f.MaxComponentNameLength = le.Uint32(d[4:])
	name, err := sub(d, 12, uint64(le.Uint32(d[8:])), "fs attribute information: name")
	if err != nil {
		return err
	}
	if f.FileSystemName, err = DecodeUTF16(name); err != nil {
		return wrapf("fs attribute information: name", err)
	}
	return nil
}

func (s *FsSectorSize) Decode(d []byte) error {
	if len(d) < 28 {
		return malformed("fs sector size information: %d bytes", len(d))
	}
	for i, p := range [...]*uint32{&s.LogicalBytesPerSector, &s.PhysicalBytesPerSectorForAtomicity,
		&s.PhysicalBytesPerSectorForPerformance, &s.FileSystemEffectivePhysicalBytesPerSectorForAtomicity,
		&s.Flags, &s.ByteOffsetForSectorAlignment, &s.ByteOffsetForPartitionAlignment} {
		*p = le.Uint32(d[4*i:])
	}
	return nil
}
