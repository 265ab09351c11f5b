package wire

import "fmt"

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

// DFS referral header flags and entry constants (MS-DFSC 2.2.4, 2.2.5.3).
const (
	DFSReferralServers   uint32 = 0x00000001 // R
	DFSStorageServers    uint32 = 0x00000002 // S
	DFSTargetFailback    uint32 = 0x00000004 // T
	DFSServerTypeNonRoot uint16 = 0x0000
	DFSServerTypeRoot    uint16 = 0x0001
	DFSTargetSetBoundary uint16 = 0x0004 // v4 ReferralEntryFlags
	dfsNameListReferral  uint16 = 0x0002
	dfsReferralV3Size           = 34
	MaxDFSReferrals             = 256
)

// DFSReferral is one DFS_REFERRAL_V3/V4 entry with NameListReferral clear
// (MS-DFSC 2.2.5.3.1): a target NetworkAddress (\server\share) for DFSPath.
type DFSReferral struct {
	ServerType       uint16
	EntryFlags       uint16
	TimeToLive       uint32 // seconds
	DFSPath          string
	DFSAlternatePath string
	NetworkAddress   string
}

// DFSReferralResponse is RESP_GET_DFS_REFERRAL (MS-DFSC 2.2.4) with version
// 3 or 4 entries, the FSCTL_DFS_GET_REFERRALS output. PathConsumed counts
// bytes (not characters) of the request path the referral matched.
type DFSReferralResponse struct {
	PathConsumed uint16
	HeaderFlags  uint32
	Version      uint16 // 3 or 4
	Referrals    []DFSReferral
}

func (r *DFSReferralResponse) Append(b []byte) []byte {
	b = le.AppendUint16(b, r.PathConsumed)
	b = le.AppendUint16(b, uint16(len(r.Referrals)))
	b = le.AppendUint32(b, r.HeaderFlags)
	entries := len(b)
	b = grow(b, dfsReferralV3Size*len(r.Referrals))
	for i, ref := range r.Referrals {
		e := entries + i*dfsReferralV3Size
		le.PutUint16(b[e:], r.Version)
		le.PutUint16(b[e+2:], dfsReferralV3Size)
		le.PutUint16(b[e+4:], ref.ServerType)
		le.PutUint16(b[e+6:], ref.EntryFlags&^dfsNameListReferral)
		le.PutUint32(b[e+8:], ref.TimeToLive)
		for j, s := range [...]string{ref.DFSPath, ref.DFSAlternatePath, ref.NetworkAddress} {
			le.PutUint16(b[e+12+2*j:], uint16(len(b)-e))
			b = AppendUTF16(b, s)
			b = append(b, 0, 0)
		}
	}
	return b
}

func (r *DFSReferralResponse) Decode(d []byte) error {
	if len(d) < 8 {
		return malformed("dfs referral response: %d bytes", len(d))
	}
	r.PathConsumed = le.Uint16(d)
	n := int(le.Uint16(d[2:]))
	r.HeaderFlags = le.Uint32(d[4:])
	if n > MaxDFSReferrals || 8+n*dfsReferralV3Size > len(d) {
		return malformed("dfs referral response: %d referrals with %d bytes", n, len(d))
	}
	r.Referrals, r.Version = nil, 0
	off := 8
	for i := 0; i < n; i++ {
		e := d[off:]
		if len(e) < dfsReferralV3Size {
			return malformed("dfs referral %d: %d bytes", i, len(e))
		}
		v, size := le.Uint16(e), int(le.Uint16(e[2:]))
		if v != 3 && v != 4 {
			return malformed("dfs referral %d: version %d", i, v)
		}
		if i > 0 && v != r.Version {
			return malformed("dfs referral %d: version %d differs from %d", i, v, r.Version)
		}
		r.Version = v
		ref := DFSReferral{ServerType: le.Uint16(e[4:]), EntryFlags: le.Uint16(e[6:]), TimeToLive: le.Uint32(e[8:])}
		if ref.EntryFlags&dfsNameListReferral != 0 {
			return malformed("dfs referral %d: name list referrals not supported", i)
		}
		for j, dst := range [...]*string{&ref.DFSPath, &ref.DFSAlternatePath, &ref.NetworkAddress} {
			s, err := nulTerminatedUTF16(e, int(le.Uint16(e[12+2*j:])))
			if err != nil {
				return fmt.Errorf("dfs referral %d string %d: %w", i, j, err)
			}
			*dst = s
		}
		r.Referrals = append(r.Referrals, ref)
		if size < dfsReferralV3Size {
			return malformed("dfs referral %d: size %d", i, size)
		}
		off += size
	}
	return nil
}

// nulTerminatedUTF16 decodes the NUL-terminated UTF-16 string at b[off:].
func nulTerminatedUTF16(b []byte, off int) (string, error) {
	if off > len(b) {
		return "", malformed("string offset %d beyond %d bytes", off, len(b))
	}
	s := b[off:]
	for j := 0; j+1 < len(s); j += 2 {
		if s[j] == 0 && s[j+1] == 0 {
			return DecodeUTF16(s[:j])
		}
	}
	return "", malformed("string at %d not terminated", off)
}
