package wire

// More FSCTL payloads (MS-SMB2 2.2.31.x / 2.2.32.x, MS-FSCC 2.3, MS-DFSC 2.2.2).

// SnapshotArray is SRV_SNAPSHOT_ARRAY (MS-SMB2 2.2.32.2), the
// FSCTL_SRV_ENUMERATE_SNAPSHOTS output: snapshot names "@GMT-YYYY.MM.DD-HH.MM.SS".
// NumberOfSnapShots may exceed len(SnapShots) when the client's buffer was
// too small for the array (then only the counts are returned).
type SnapshotArray struct {
	NumberOfSnapShots uint32
	SnapShots         []string
}

// MaxSnapshots bounds the snapshot names decoded.
const MaxSnapshots = 4096

func (s *SnapshotArray) Append(b []byte) []byte {
	b = le.AppendUint32(b, s.NumberOfSnapShots)
	b = le.AppendUint32(b, uint32(len(s.SnapShots)))
	sizeAt := len(b)
	b = grow(b, 4)
	if len(s.SnapShots) == 0 {
		return b
	}
	start := len(b)
	for _, n := range s.SnapShots {
		b = AppendUTF16(b, n)
		b = append(b, 0, 0)
	}
	b = append(b, 0, 0) // the array ends with an extra NUL
	le.PutUint32(b[sizeAt:], uint32(len(b)-start))
	return b
}

func (s *SnapshotArray) Decode(d []byte) error {
	if len(d) < 12 {
		return malformed("snapshot array: %d bytes", len(d))
	}
	s.NumberOfSnapShots = le.Uint32(d)
	returned := int(le.Uint32(d[4:]))
	arr, err := sub(d, 12, uint64(le.Uint32(d[8:])), "snapshot array: names")
	if err != nil {
		return err
	}
	s.SnapShots = nil
	if returned > MaxSnapshots {
		return malformed("snapshot array: %d names above %d", returned, MaxSnapshots)
	}
	for i := 0; i < returned; i++ {
		end := -1
		for j := 0; j+1 < len(arr); j += 2 {
			if arr[j] == 0 && arr[j+1] == 0 {
				end = j
				break
			}
		}
		if end < 0 {
			return malformed("snapshot array: name %d not terminated", i)
		}
		name, err := DecodeUTF16(arr[:end])
		if err != nil {
			return wrapf("snapshot array: name", err)
		}
		s.SnapShots = append(s.SnapShots, name)
		arr = arr[end+2:]
	}
	return nil
}

// PipeWaitRequest is FSCTL_PIPE_WAIT input (MS-FSCC 2.3.49).
type PipeWaitRequest struct {
	Timeout          int64 // 100 ns units, negative relative
	TimeoutSpecified bool
	Name             string
}

func (p *PipeWaitRequest) Append(b []byte) []byte {
	b = le.AppendUint64(b, uint64(p.Timeout))
	b = le.AppendUint32(b, uint32(UTF16Len(p.Name)))
	b = append(b, boolByte(p.TimeoutSpecified), 0)
	return AppendUTF16(b, p.Name)
}

func (p *PipeWaitRequest) Decode(d []byte) error {
	if len(d) < 14 {
		return malformed("pipe wait request: %d bytes", len(d))
	}
	p.Timeout = int64(le.Uint64(d))
	p.TimeoutSpecified = d[12] != 0
	name, err := sub(d, 14, uint64(le.Uint32(d[8:])), "pipe wait request: name")
	if err != nil {
		return err
	}
	if p.Name, err = DecodeUTF16(name); err != nil {
		return wrapf("pipe wait request: name", err)
	}
	return nil
}

// ObjectIDBuffer is FILE_OBJECTID_BUFFER (MS-FSCC 2.1.3), the output of
// FSCTL_CREATE_OR_GET_OBJECT_ID / FSCTL_GET_OBJECT_ID (type 1 form).
type ObjectIDBuffer struct {
	ObjectID, BirthVolumeID, BirthObjectID, DomainID GUID
}

func (o *ObjectIDBuffer) Append(b []byte) []byte {
	b = append(b, o.ObjectID[:]...)
	b = append(b, o.BirthVolumeID[:]...)
	b = append(b, o.BirthObjectID[:]...)
	return append(b, o.DomainID[:]...)
}

func (o *ObjectIDBuffer) Decode(d []byte) error {
	if len(d) < 64 {
		return malformed("object id buffer: %d bytes", len(d))
	}
	copy(o.ObjectID[:], d[0:16])
	copy(o.BirthVolumeID[:], d[16:32])
	copy(o.BirthObjectID[:], d[32:48])
	copy(o.DomainID[:], d[48:64])
	return nil
}

// IntegrityInformation is FSCTL_GET_INTEGRITY_INFORMATION_BUFFER (MS-FSCC
// 2.3.34, 16 bytes); the SET request (2.3.77) is its first 8 bytes.
type IntegrityInformation struct {
	ChecksumAlgorithm        uint16
	Flags                    uint32
	ChecksumChunkSizeInBytes uint32
	ClusterSizeInBytes       uint32
}

func (i *IntegrityInformation) Append(b []byte) []byte {
	b = le.AppendUint16(b, i.ChecksumAlgorithm)
	b = grow(b, 2)
	b = le.AppendUint32(b, i.Flags)
	b = le.AppendUint32(b, i.ChecksumChunkSizeInBytes)
	return le.AppendUint32(b, i.ClusterSizeInBytes)
}

func (i *IntegrityInformation) Decode(d []byte) error {
	if len(d) < 16 {
		return malformed("integrity information: %d bytes", len(d))
	}
	i.ChecksumAlgorithm = le.Uint16(d)
	i.Flags = le.Uint32(d[4:])
	i.ChecksumChunkSizeInBytes = le.Uint32(d[8:])
	i.ClusterSizeInBytes = le.Uint32(d[12:])
	return nil
}

// DecodeSetIntegrityInformation decodes FSCTL_SET_INTEGRITY_INFORMATION_BUFFER.
func DecodeSetIntegrityInformation(d []byte) (algorithm uint16, flags uint32, err error) {
	if len(d) < 8 {
		return 0, 0, malformed("set integrity information: %d bytes", len(d))
	}
	return le.Uint16(d), le.Uint32(d[4:]), nil
}

// DuplicateExtents is SMB2_DUPLICATE_EXTENTS_DATA (MS-FSCC 2.3.7.2): clone
// ByteCount bytes of the open SourceFileID into the file the FSCTL is sent on.
type DuplicateExtents struct {
	SourceFileID                       FileID
	SourceFileOffset, TargetFileOffset int64
	ByteCount                          int64
}

func (x *DuplicateExtents) Append(b []byte) []byte {
	b = grow(b, 16)
	putFileID(b[len(b)-16:], x.SourceFileID)
	b = le.AppendUint64(b, uint64(x.SourceFileOffset))
	b = le.AppendUint64(b, uint64(x.TargetFileOffset))
	return le.AppendUint64(b, uint64(x.ByteCount))
}

func (x *DuplicateExtents) Decode(d []byte) error {
	if len(d) < 40 {
		return malformed("duplicate extents data: %d bytes", len(d))
	}
	x.SourceFileID = getFileID(d)
	x.SourceFileOffset = int64(le.Uint64(d[16:]))
	x.TargetFileOffset = int64(le.Uint64(d[24:]))
	x.ByteCount = int64(le.Uint64(d[32:]))
	return nil
}

// FileLevelTrim is FILE_LEVEL_TRIM (MS-FSCC 2.3.73): ranges the client no
// longer needs; the output FILE_LEVEL_TRIM_OUTPUT is one uint32 (ranges done).
type FileLevelTrim struct {
	Key    uint32
	Ranges []AllocatedRange // FILE_LEVEL_TRIM_RANGE has the same Offset/Length layout
}

// MaxTrimRanges bounds NumRanges on decode.
const MaxTrimRanges = 65536

func (f *FileLevelTrim) Append(b []byte) []byte {
	b = le.AppendUint32(b, f.Key)
	b = le.AppendUint32(b, uint32(len(f.Ranges)))
	return AppendAllocatedRanges(b, f.Ranges)
}

func (f *FileLevelTrim) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("file level trim: %d bytes", len(d))
	}
	f.Key = le.Uint32(d)
	n := uint64(le.Uint32(d[4:]))
	if n > MaxTrimRanges || 8+16*n > uint64(len(d)) {
		return malformed("file level trim: %d ranges with %d bytes", n, len(d))
	}
	f.Ranges = nil
	if n > 0 {
		var err error
		if f.Ranges, err = DecodeAllocatedRanges(d[8 : 8+16*n]); err != nil {
			return wrapf("file level trim", err)
		}
	}
	return nil
}

// DFSReferralRequest is REQ_GET_DFS_REFERRAL (MS-DFSC 2.2.2), the input of
// FSCTL_DFS_GET_REFERRALS.
type DFSReferralRequest struct {
	MaxReferralLevel uint16
	RequestFileName  string
}

func (r *DFSReferralRequest) Append(b []byte) []byte {
	b = le.AppendUint16(b, r.MaxReferralLevel)
	b = AppendUTF16(b, r.RequestFileName)
	return append(b, 0, 0)
}

func (r *DFSReferralRequest) Decode(d []byte) error {
	if len(d) < 4 {
		return malformed("dfs referral request: %d bytes", len(d))
	}
	r.MaxReferralLevel = le.Uint16(d)
	name := d[2:]
	end := -1
	for j := 0; j+1 < len(name); j += 2 {
		if name[j] == 0 && name[j+1] == 0 {
			end = j
			break
		}
	}
	if end < 0 {
		return malformed("dfs referral request: file name not terminated")
	}
	var err error
	if r.RequestFileName, err = DecodeUTF16(name[:end]); err != nil {
		return wrapf("dfs referral request: file name", err)
	}
	return nil
}
