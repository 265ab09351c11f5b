package wire

// dirLayout describes where the variable fields of one directory
// information class sit (MS-FSCC 2.4.8, 2.4.10, 2.4.17, 2.4.18, 2.4.19,
// 2.4.20, 2.4.33).
type dirLayout struct {
	fixed      int // bytes before FileName
	hasAttrs   bool
	eaSize     int // offset of EaSize, 0 if absent
	shortName  int // offset of ShortNameLength (ShortName follows at +2), 0 if absent
	fileID     int // offset of the 8-byte FileId, 0 if absent
	fileID128  int // offset of the 16-byte FileId, 0 if absent
	reparseTag int // offset of ReparsePointTag, 0 if absent
}

var dirLayouts = map[uint8]dirLayout{
	FileDirectoryInformation:       {fixed: 64, hasAttrs: true},
	FileFullDirectoryInformation:   {fixed: 68, hasAttrs: true, eaSize: 64},
	FileIDFullDirectoryInformation: {fixed: 80, hasAttrs: true, eaSize: 64, fileID: 72},
	FileBothDirectoryInformation:   {fixed: 94, hasAttrs: true, eaSize: 64, shortName: 68},
	FileIDBothDirectoryInformation: {fixed: 104, hasAttrs: true, eaSize: 64, shortName: 68, fileID: 96},
	FileIDExtdDirectoryInformation: {fixed: 88, hasAttrs: true, eaSize: 64, reparseTag: 68, fileID128: 72},
	FileNamesInformation:           {fixed: 12},
}

// IsDirInfoClass reports whether DirWriter supports class.
func IsDirInfoClass(class uint8) bool {
	_, ok := dirLayouts[class]
	return ok
}

// DirWriter appends directory entries of one information class into a buffer
// capped at OutputBufferLength, 8-byte aligning entries and linking
// NextEntryOffset. Add returns false when an entry does not fit; the caller
// keeps it for the next QUERY_DIRECTORY.
type DirWriter struct {
	layout dirLayout
	buf    []byte
	base   int // start of the entries in buf
	max    int // OutputBufferLength
	last   int // offset of the previous entry in buf, -1 if none
	count  int
}

// NewDirWriter starts a listing of class appended to buf (usually a reused
// buffer's [:0]) limited to maxLen bytes. ok is false for classes it does
// not support (the server answers STATUS_INVALID_INFO_CLASS).
func NewDirWriter(buf []byte, class uint8, maxLen int) (w *DirWriter, ok bool) {
	l, ok := dirLayouts[class]
	if !ok {
		return nil, false
	}
	return &DirWriter{layout: l, buf: buf, base: len(buf), max: maxLen, last: -1}, true
}

// Add appends one entry. Name (and ShortName where the class has one) come
// from a; FileIndex is written as given (0 is what Windows NTFS reports).
func (w *DirWriter) Add(a *FileAttrs) bool {
	l := w.layout
	nameLen := UTF16Len(a.Name)
	start := w.base
	if w.last >= 0 {
		start = w.base + align8(len(w.buf)-w.base)
	}
	if start-w.base+l.fixed+nameLen > w.max {
		return false
	}
	for len(w.buf) < start {
		w.buf = append(w.buf, 0)
	}
	if w.last >= 0 {
		le.PutUint32(w.buf[w.last:], uint32(start-w.last))
	}
	w.last = start
	w.count++
	w.buf = grow(w.buf, l.fixed)
	e := w.buf[start:]
	le.PutUint32(e[4:], a.FileIndex)
	if !l.hasAttrs { // FileNamesInformation
		le.PutUint32(e[8:], uint32(nameLen))
		w.buf = AppendUTF16(w.buf, a.Name)
		return true
	}
	le.PutUint64(e[8:], a.CreationTime)
	le.PutUint64(e[16:], a.LastAccessTime)
	le.PutUint64(e[24:], a.LastWriteTime)
	le.PutUint64(e[32:], a.ChangeTime)
	le.PutUint64(e[40:], uint64(a.EndOfFile))
	le.PutUint64(e[48:], uint64(a.AllocationSize))
	le.PutUint32(e[56:], a.Attributes)
	le.PutUint32(e[60:], uint32(nameLen))
	if l.eaSize != 0 {
		// With FILE_ATTRIBUTE_REPARSE_POINT the EaSize slot carries the
		// reparse tag (MS-FSCC 2.4.17).
		ea := a.EaSize
		if a.Attributes&FileAttributeReparsePoint != 0 && l.reparseTag == 0 {
			ea = a.ReparseTag
		}
		le.PutUint32(e[l.eaSize:], ea)
	}
	if l.shortName != 0 && a.ShortName != "" {
		sn := AppendUTF16(make([]byte, 0, 24), a.ShortName)
		if len(sn) <= 24 {
			e[l.shortName] = uint8(len(sn))
			copy(e[l.shortName+2:], sn)
		}
	}
	if l.fileID != 0 {
		le.PutUint64(e[l.fileID:], a.FileID)
	}
	if l.reparseTag != 0 {
		le.PutUint32(e[l.reparseTag:], a.ReparseTag)
	}
	if l.fileID128 != 0 {
		id := a.fileID128()
		copy(e[l.fileID128:], id[:])
	}
	w.buf = AppendUTF16(w.buf, a.Name)
	return true
}

// Count is the number of entries written.
func (w *DirWriter) Count() int { return w.count }

// Len is the number of bytes written so far.
func (w *DirWriter) Len() int { return len(w.buf) - w.base }

// Bytes returns the buffer passed to NewDirWriter extended by the entries.
func (w *DirWriter) Bytes() []byte { return w.buf }

// DecodeDirEntries parses a QUERY_DIRECTORY output of class into FileAttrs
// (the fields that class carries). Used by the raw test client and tests.
func DecodeDirEntries(class uint8, d []byte) ([]FileAttrs, error) {
	l, ok := dirLayouts[class]
	if !ok {
		return nil, malformed("directory entries: unsupported class %d", class)
	}
	var out []FileAttrs
	err := walkEntries(d, l.fixed, "directory entries", func(e []byte) error {
		var a FileAttrs
		a.FileIndex = le.Uint32(e[4:])
		nameAt := 8
		if l.hasAttrs {
			a.CreationTime = le.Uint64(e[8:])
			a.LastAccessTime = le.Uint64(e[16:])
			a.LastWriteTime = le.Uint64(e[24:])
			a.ChangeTime = le.Uint64(e[32:])
			a.EndOfFile = int64(le.Uint64(e[40:]))
			a.AllocationSize = int64(le.Uint64(e[48:]))
			a.Attributes = le.Uint32(e[56:])
			nameAt = 60
		}
		name, err := sub(e, uint64(l.fixed), uint64(le.Uint32(e[nameAt:])), "file name")
		if err != nil {
			return err
		}
		if a.Name, err = DecodeUTF16(name); err != nil {
			return err
		}
		if l.eaSize != 0 {
			a.EaSize = le.Uint32(e[l.eaSize:])
			if a.Attributes&FileAttributeReparsePoint != 0 && l.reparseTag == 0 {
				a.ReparseTag, a.EaSize = a.EaSize, 0
			}
		}
		if l.shortName != 0 {
			n := int(e[l.shortName])
			if n > 24 {
				return malformed("short name length %d", n)
			}
			if a.ShortName, err = DecodeUTF16(e[l.shortName+2 : l.shortName+2+n]); err != nil {
				return err
			}
		}
		if l.fileID != 0 {
			a.FileID = le.Uint64(e[l.fileID:])
		}
		if l.reparseTag != 0 {
			a.ReparseTag = le.Uint32(e[l.reparseTag:])
		}
		if l.fileID128 != 0 {
			copy(a.FileID128[:], e[l.fileID128:l.fileID128+16])
			a.FileID = le.Uint64(a.FileID128[:])
		}
		out = append(out, a)
		return nil
	})
	return out, err
}
