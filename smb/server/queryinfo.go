package server

import (
	"hash/fnv"
	"strings"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// fileAttrs converts a backend's FileInfo to the neutral form wire encodes.
func fileAttrs(fi vfs.FileInfo) wire.FileAttrs {
	a := wire.FileAttrs{
		CreationTime:   wire.FiletimeFromTime(fi.CreationTime),
		LastAccessTime: wire.FiletimeFromTime(fi.LastAccessTime),
		LastWriteTime:  wire.FiletimeFromTime(fi.LastWriteTime),
		ChangeTime:     wire.FiletimeFromTime(fi.ChangeTime),
		EndOfFile:      fi.Size,
		AllocationSize: fi.Allocation,
		Attributes:     uint32(fi.Attributes),
		FileID:         fi.ID,
		NumberOfLinks:  max(fi.Links, 1),
		Directory:      fi.IsDir(),
		Name:           fi.Name,
	}
	if fi.IsDir() {
		// NTFS reports no size or allocation for directories.
		a.EndOfFile, a.AllocationSize = 0, 0
	}
	return a
}

// infoSpec says, for one info class, which access a query needs and how small an output buffer
// can be before the query fails outright rather than returning truncated data.
type infoSpec struct {
	access uint32 // any of these bits is enough; 0 means none needed
	fixed  int    // minimum output length (MS-FSCC: the fixed part of the structure)
}

// The fixed sizes are those Windows enforces (sizeof the structure with a one-character name,
// rounded), which smbtorture's getinfo buffercheck tests pin down.
var fileInfoSpecs = map[uint8]infoSpec{
	wire.FileBasicInformation:          {wire.FileReadAttributes, 40},
	wire.FileStandardInformation:       {0, 24},
	wire.FileInternalInformation:       {0, 8},
	wire.FileEaInformation:             {0, 4},
	wire.FileAccessInformation:         {0, 4},
	wire.FilePositionInformation:       {0, 8},
	wire.FileModeInformation:           {0, 4},
	wire.FileAlignmentInformation:      {0, 4},
	wire.FileAllInformation:            {wire.FileReadAttributes, 104},
	wire.FileAlternateNameInformation:  {0, 8},
	wire.FileStreamInformation:         {0, 32},
	wire.FileCompressionInformation:    {0, 16},
	wire.FileNetworkOpenInformation:    {wire.FileReadAttributes, 56},
	wire.FileAttributeTagInformation:   {wire.FileReadAttributes, 8},
	wire.FileNormalizedNameInformation: {0, 4},
	wire.FileIDInformation:             {0, 24},
}

// handleQueryInfo implements MS-SMB2 3.3.5.20.
func handleQueryInfo(r *request) error {
	var req wire.QueryInfoRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	maxTransact := r.c.neg.Load().maxTransact
	if req.OutputBufferLength > maxTransact {
		return errInvalidParameter
	}
	if err := r.checkCharge(max(req.OutputBufferLength, uint32(len(req.InputBuffer)))); err != nil {
		return err
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe != nil {
		return wire.StatusNotSupported
	}
	var out []byte
	fixed := 0
	switch req.InfoType {
	case wire.InfoFile:
		spec, ok := fileInfoSpecs[req.FileInfoClass]
		if !ok {
			return wire.StatusInvalidInfoClass
		}
		if spec.access != 0 && !o.has(spec.access) {
			return wire.StatusAccessDenied
		}
		fixed = spec.fixed
		out, err = queryFileInfo(r, o, req.FileInfoClass)
	case wire.InfoFilesystem:
		out, fixed, err = queryFSInfo(r, o, req.FileInfoClass)
	case wire.InfoSecurity:
		out, err = querySecurity(r, o, req.AdditionalInformation, req.OutputBufferLength)
	case wire.InfoQuota:
		return wire.StatusNotSupported
	default:
		return errInvalidParameter
	}
	if err != nil {
		return err
	}
	limit := int(req.OutputBufferLength)
	if limit < fixed {
		return wire.StatusInfoLengthMismatch
	}
	if len(out) > limit {
		// Variable-length classes return what fits (MS-SMB2 3.3.5.20.1).
		out = out[:limit]
		r.status = wire.StatusBufferOverflow
	}
	r.resp = (&wire.QueryInfoResponse{Output: out}).Append(r.resp)
	return nil
}

// smbName renders a vfs name as clients expect it in FileNameInformation: '\'-separated with a
// leading backslash, relative to the share.
func smbName(name string) string { return `\` + smbRelative(name) }

func queryFileInfo(r *request, o *open, class uint8) ([]byte, error) {
	fi, err := o.file.Stat()
	if err != nil {
		return nil, err
	}
	o.reportWriteTime(&fi)
	a := fileAttrs(fi)
	a.DeletePending = o.entry != nil && o.entry.DeletePending()
	o.mu.Lock()
	pos, mode := o.position, o.mode
	o.mu.Unlock()
	var b []byte
	switch class {
	case wire.FileBasicInformation:
		return wire.AppendFileBasicInformation(b, &a), nil
	case wire.FileStandardInformation:
		return wire.AppendFileStandardInformation(b, &a), nil
	case wire.FileInternalInformation:
		return wire.AppendFileInternalInformation(b, &a), nil
	case wire.FileEaInformation:
		return wire.AppendFileEaInformation(b, &a), nil
	case wire.FileAccessInformation:
		return wire.AppendFileAccessInformation(b, o.access), nil
	case wire.FilePositionInformation:
		return wire.AppendFilePositionInformation(b, pos), nil
	case wire.FileModeInformation:
		return wire.AppendFileModeInformation(b, mode), nil
	case wire.FileAlignmentInformation:
		return wire.AppendFileAlignmentInformation(b, 0), nil
	case wire.FileAllInformation:
		a.Name = smbName(o.file.Name())
		return wire.AppendFileAllInformation(b, &a, wire.FileAllInfoExtra{
			AccessFlags: o.access, Mode: mode, CurrentByteOffset: pos}), nil
	case wire.FileAlternateNameInformation:
		_, base := parentAndBase(o.file.Name())
		return wire.AppendFileNameInformation(b, shortName(base)), nil
	case wire.FileStreamInformation:
		return streamInfo(r, o, fi)
	case wire.FileCompressionInformation:
		return wire.AppendFileCompressionInformation(b, &a), nil
	case wire.FileNetworkOpenInformation:
		return wire.AppendFileNetworkOpenInformation(b, &a), nil
	case wire.FileAttributeTagInformation:
		return wire.AppendFileAttributeTagInformation(b, &a), nil
	case wire.FileNormalizedNameInformation:
		if r.c.neg.Load().di.dialect < wire.DialectSMB311 {
			return nil, wire.StatusNotSupported
		}
		return wire.AppendFileNameInformation(b, smbRelative(o.file.Name())), nil
	case wire.FileIDInformation:
		st, err := o.tree.share.FS.StatFS(r.ctx())
		if err != nil {
			return nil, err
		}
		return wire.AppendFileIDInformation(b, uint64(st.SerialNumber), &a), nil
	}
	return nil, wire.StatusInvalidInfoClass
}

// Volume characteristics reported to clients.
const (
	fileDeviceDisk        = 0x00000007
	fileDeviceIsMounted   = 0x00000020
	fsCaseSensitiveSearch = 0x00000001
	fsCasePreservedNames  = 0x00000002
	fsUnicodeOnDisk       = 0x00000004
	fsSupportsSparseFiles = 0x00000040
	fsNamedStreams        = 0x00040000
)

// streamInfo lists an object's streams (FileStreamInformation, MS-FSCC 2.4.43): the unnamed data
// stream of a file as "::$DATA" and named ones as ":name:$DATA"; a directory has only its named
// streams.
func streamInfo(r *request, o *open, fi vfs.FileInfo) ([]byte, error) {
	st, ok := o.tree.share.FS.(vfs.Streamer)
	if !ok {
		if fi.IsDir() {
			return nil, nil
		}
		return wire.AppendFileStreamInformation(nil, []wire.StreamInfo{{Name: "::$DATA", Size: fi.Size, AllocationSize: fi.Allocation}}), nil
	}
	base, _, _ := strings.Cut(o.file.Name(), ":")
	streams, err := st.Streams(r.ctx(), base)
	if err != nil {
		return nil, err
	}
	out := make([]wire.StreamInfo, 0, len(streams))
	for _, s := range streams {
		if s.Name == "" {
			if fi.IsDir() {
				continue
			}
			out = append(out, wire.StreamInfo{Name: "::$DATA", Size: s.Size, AllocationSize: s.Allocation})
			continue
		}
		out = append(out, wire.StreamInfo{Name: ":" + s.Name + ":$DATA", Size: s.Size, AllocationSize: s.Allocation})
	}
	if len(out) == 0 {
		return nil, nil
	}
	return wire.AppendFileStreamInformation(nil, out), nil
}

func queryFSInfo(r *request, o *open, class uint8) ([]byte, int, error) {
	st, err := o.tree.share.FS.StatFS(r.ctx())
	if err != nil {
		return nil, 0, err
	}
	bs := uint64(st.BlockSize)
	if bs == 0 {
		bs = 4096
	}
	sector := st.SectorSize
	if sector == 0 || uint64(sector) > bs {
		sector = 512
	}
	size := wire.FsSize{
		TotalAllocationUnits:           st.TotalBytes / bs,
		CallerAvailableAllocationUnits: st.FreeBytes / bs,
		ActualAvailableAllocationUnits: st.FreeBytes / bs,
		SectorsPerAllocationUnit:       uint32(bs / uint64(sector)),
		BytesPerSector:                 sector,
	}
	switch class {
	case wire.FileFsVolumeInformation:
		return (&wire.FsVolume{CreationTime: wire.FiletimeFromTime(st.CreationTime), SerialNumber: st.SerialNumber, Label: st.Label}).Append(nil), 24, nil
	case wire.FileFsSizeInformation:
		return size.AppendSize(nil), 24, nil
	case wire.FileFsFullSizeInformation:
		return size.AppendFullSize(nil), 32, nil
	case wire.FileFsDeviceInformation:
		return wire.AppendFileFsDeviceInformation(nil, fileDeviceDisk, fileDeviceIsMounted), 8, nil
	case wire.FileFsAttributeInformation:
		attrs := uint32(fsCasePreservedNames | fsUnicodeOnDisk)
		if st.CaseSensitive {
			attrs |= fsCaseSensitiveSearch
		}
		maxName := st.MaxNameLength
		if maxName == 0 {
			maxName = 255
		}
		// Capabilities are advertised only when the backend has them.
		if _, ok := o.tree.share.FS.(vfs.Streamer); ok {
			attrs |= fsNamedStreams
		}
		if _, ok := o.tree.share.FS.(vfs.Sparser); ok {
			attrs |= fsSupportsSparseFiles // FSCTL_SET_SPARSE is kept (fsctl_fs.go)
		}
		if _, ok := o.file.(vfs.Securable); ok {
			attrs |= wire.FilePersistentACLs // opens are checked against them (access.go)
		}
		return wire.AppendFileFsAttributeInformation(nil, attrs, maxName, "NTFS"), 16, nil
	case wire.FileFsControlInformation:
		// No quotas: all limits zero, quota tracking off.
		return (&wire.FsControl{}).Append(nil), 48, nil
	case wire.FileFsSectorSizeInformation:
		return (&wire.FsSectorSize{
			LogicalBytesPerSector:                                 sector,
			PhysicalBytesPerSectorForAtomicity:                    uint32(bs),
			PhysicalBytesPerSectorForPerformance:                  uint32(bs),
			FileSystemEffectivePhysicalBytesPerSectorForAtomicity: uint32(bs),
			Flags: 0x3, // aligned device, partition aligned on device
		}).Append(nil), 28, nil
	case wire.FileFsObjectIDInformation:
		var id wire.GUID
		id[0], id[1], id[2], id[3] = byte(st.SerialNumber), byte(st.SerialNumber>>8), byte(st.SerialNumber>>16), byte(st.SerialNumber>>24)
		return wire.AppendFileFsObjectIDInformation(nil, id, [48]byte{}), 64, nil
	}
	return nil, 0, wire.StatusInvalidInfoClass
}

// isShortName reports whether name is a valid 8.3 name (MS-FSCC 2.1.5.2.1).
func isShortName(name string) bool {
	base, ext, hasDot := strings.Cut(name, ".")
	if len(base) < 1 || len(base) > 8 || len(ext) > 3 || hasDot && len(ext) == 0 || strings.Contains(ext, ".") {
		return false
	}
	for _, c := range base + ext {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("!#$%&'()-@^_`{}~", c):
		default:
			return false
		}
	}
	return true
}

// shortName returns the 8.3 name reported for a file: the name itself when it is a valid 8.3
// name, else a mangled name made from a hash of the long name (as Samba does). Mangled names
// are reported for compatibility only; opening a file by its mangled name is not supported.
func shortName(name string) string {
	if isShortName(name) {
		return name
	}
	fh := fnv.New32a()
	fh.Write([]byte(name))
	h := fh.Sum32()
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var base [8]byte
	for i := 0; i < 6; i++ {
		base[i] = digits[h%36]
		h /= 36
	}
	base[6] = '~'
	base[7] = digits[h%36]
	out := string(base[:])
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		ext := strings.ToUpper(name[i+1:])
		var e []byte
		for j := 0; j < len(ext) && len(e) < 3; j++ {
			if c := ext[j]; c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				e = append(e, c)
			}
		}
		if len(e) > 0 {
			out += "." + string(e)
		}
	}
	return out
}
