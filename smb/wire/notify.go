package wire

import "fmt"

// ChangeNotify flags and completion filter (MS-SMB2 2.2.35).
const (
	WatchTree uint16 = 0x0001

	FileNotifyChangeFileName    uint32 = 0x00000001
	FileNotifyChangeDirName     uint32 = 0x00000002
	FileNotifyChangeAttributes  uint32 = 0x00000004
	FileNotifyChangeSize        uint32 = 0x00000008
	FileNotifyChangeLastWrite   uint32 = 0x00000010
	FileNotifyChangeLastAccess  uint32 = 0x00000020
	FileNotifyChangeCreation    uint32 = 0x00000040
	FileNotifyChangeEA          uint32 = 0x00000080
	FileNotifyChangeSecurity    uint32 = 0x00000100
	FileNotifyChangeStreamName  uint32 = 0x00000200
	FileNotifyChangeStreamSize  uint32 = 0x00000400
	FileNotifyChangeStreamWrite uint32 = 0x00000800
)

// FILE_NOTIFY_INFORMATION actions (MS-FSCC 2.7.1).
const (
	FileActionAdded          uint32 = 0x00000001
	FileActionRemoved        uint32 = 0x00000002
	FileActionModified       uint32 = 0x00000003
	FileActionRenamedOldName uint32 = 0x00000004
	FileActionRenamedNewName uint32 = 0x00000005
	FileActionAddedStream    uint32 = 0x00000006
	FileActionRemovedStream  uint32 = 0x00000007
	FileActionModifiedStream uint32 = 0x00000008
)

// ChangeNotifyRequest is SMB2 CHANGE_NOTIFY Request (MS-SMB2 2.2.35).
type ChangeNotifyRequest struct {
	Flags              uint16
	OutputBufferLength uint32
	FileID             FileID
	CompletionFilter   uint32
}

func (r *ChangeNotifyRequest) Decode(msg []byte) error {
	b, err := body(msg, "change notify request", 32)
	if err != nil {
		return err
	}
	r.Flags = le.Uint16(b[2:])
	r.OutputBufferLength = le.Uint32(b[4:])
	r.FileID = getFileID(b[8:])
	r.CompletionFilter = le.Uint32(b[24:])
	return nil
}

func (r *ChangeNotifyRequest) Append(msg []byte) []byte {
	start := len(msg)
	msg = grow(msg, 32)
	b := msg[start:]
	le.PutUint16(b, 32)
	le.PutUint16(b[2:], r.Flags)
	le.PutUint32(b[4:], r.OutputBufferLength)
	putFileID(b[8:], r.FileID)
	le.PutUint32(b[24:], r.CompletionFilter)
	return msg
}

// ChangeNotifyResponse is SMB2 CHANGE_NOTIFY Response (MS-SMB2 2.2.36);
// Output is a FILE_NOTIFY_INFORMATION list (AppendFileNotifyInformation).
type ChangeNotifyResponse struct{ Output []byte }

func (r *ChangeNotifyResponse) Append(msg []byte) []byte { return appendOutput(msg, r.Output) }
func (r *ChangeNotifyResponse) Decode(msg []byte) (err error) {
	r.Output, err = decodeOutput(msg, "change notify response")
	return err
}

// FileNotifyInformation is one FILE_NOTIFY_INFORMATION entry (MS-FSCC 2.7.1).
type FileNotifyInformation struct {
	Action   uint32
	FileName string // relative to the watched directory
}

// AppendFileNotifyInformation encodes the list, entries 4-byte aligned and
// linked by NextEntryOffset. It stops before an entry that would exceed
// maxLen and reports how many were written; a caller that cannot fit them
// all answers STATUS_NOTIFY_ENUM_DIR instead.
func AppendFileNotifyInformation(b []byte, infos []FileNotifyInformation, maxLen int) ([]byte, int) {
	base := len(b)
	prev := -1
	for i, n := range infos {
		start := len(b)
		if prev >= 0 {
			start = base + (len(b)-base+3)&^3
		}
		if start-base+12+UTF16Len(n.FileName) > maxLen {
			return b, i
		}
		for len(b) < start {
			b = append(b, 0)
		}
		if prev >= 0 {
			le.PutUint32(b[prev:], uint32(start-prev))
		}
		prev = start
		b = grow(b, 4)
		b = le.AppendUint32(b, n.Action)
		b = le.AppendUint32(b, uint32(UTF16Len(n.FileName)))
		b = AppendUTF16(b, n.FileName)
	}
	return b, len(infos)
}

// DecodeFileNotifyInformation decodes a FILE_NOTIFY_INFORMATION list.
func DecodeFileNotifyInformation(d []byte) ([]FileNotifyInformation, error) {
	var out []FileNotifyInformation
	err := walkEntries(d, 12, "file notify information", func(e []byte) error {
		name, err := sub(e, 12, uint64(le.Uint32(e[8:])), "file name")
		if err != nil {
			return err
		}
		n := FileNotifyInformation{Action: le.Uint32(e[4:])}
		if n.FileName, err = DecodeUTF16(name); err != nil {
			return fmt.Errorf("file name: %w", err)
		}
		out = append(out, n)
		return nil
	})
	return out, err
}
