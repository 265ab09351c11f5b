package localfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// xattrName holds the DOS metadata record. The user namespace is writable by the file's owner
// on every Linux file system that supports xattrs (ext4, xfs, btrfs, tmpfs since 6.6).
const xattrName = "user.sofs.dos"

// Record layout, version 1, little endian, 32 bytes:
//
//	[0]     version (1)
//	[1]     flags: bit 0 creation time present, bit 1 change time present; others must be 0
//	[2:4]   reserved, must be 0
//	[4:8]   DOS attributes (only storedAttrs bits are meaningful)
//	[8:16]  creation time, nanoseconds since the Unix epoch (int64)
//	[16:24] change time set by a client, nanoseconds since the Unix epoch (int64)
//	[24:32] change anchor: the wall clock when that change time was set (int64 ns); the set
//	        value stands only while the inode's real ctime is still that moment (see
//	        changeWindow), so later changes advance the change time as on Windows
//
// Absent fields are zero.
// A later version may append fields; a decoder of this version refuses what it does not know,
// and localfs then treats the record as absent (derived attributes) rather than misreading it.
const (
	recordVersion1 = 1
	recordLen      = 32

	recordHasCreation = 1 << 0
	recordHasChange   = 1 << 1
	recordKnownFlags  = recordHasCreation | recordHasChange
)

var errBadRecord = errors.New("malformed sofs.dos record")

// dosRecord is the decoded xattr.
type dosRecord struct {
	attrs       vfs.Attr
	hasCreation bool
	creation    int64 // ns since epoch
	hasChange   bool
	change      int64 // ns since epoch
	anchor      int64 // ns since epoch when change was set
}

func (r dosRecord) encode(b *[recordLen]byte) {
	*b = [recordLen]byte{}
	b[0] = recordVersion1
	if r.hasCreation {
		b[1] |= recordHasCreation
	}
	if r.hasChange {
		b[1] |= recordHasChange
	}
	binary.LittleEndian.PutUint32(b[4:8], uint32(r.attrs&storedAttrs))
	if r.hasCreation {
		binary.LittleEndian.PutUint64(b[8:16], uint64(r.creation))
	}
	if r.hasChange {
		binary.LittleEndian.PutUint64(b[16:24], uint64(r.change))
		binary.LittleEndian.PutUint64(b[24:32], uint64(r.anchor))
	}
}

func decodeRecord(b []byte) (dosRecord, error) {
	if len(b) < 1 {
		return dosRecord{}, fmt.Errorf("%w: empty", errBadRecord)
	}
	if b[0] != recordVersion1 {
		return dosRecord{}, fmt.Errorf("%w: unknown version %d", errBadRecord, b[0])
	}
	if len(b) != recordLen {
		return dosRecord{}, fmt.Errorf("%w: version 1 length %d, want %d", errBadRecord, len(b), recordLen)
	}
	flags := b[1]
	if flags&^recordKnownFlags != 0 {
		return dosRecord{}, fmt.Errorf("%w: unknown flags %#x", errBadRecord, flags)
	}
	if b[2] != 0 || b[3] != 0 {
		return dosRecord{}, fmt.Errorf("%w: reserved bytes set", errBadRecord)
	}
	r := dosRecord{
		attrs:       vfs.Attr(binary.LittleEndian.Uint32(b[4:8])) & storedAttrs,
		hasCreation: flags&recordHasCreation != 0,
		hasChange:   flags&recordHasChange != 0,
	}
	if r.hasCreation {
		r.creation = int64(binary.LittleEndian.Uint64(b[8:16]))
	} else if binary.LittleEndian.Uint64(b[8:16]) != 0 {
		return dosRecord{}, fmt.Errorf("%w: creation time without its flag", errBadRecord)
	}
	if r.hasChange {
		r.change = int64(binary.LittleEndian.Uint64(b[16:24]))
		r.anchor = int64(binary.LittleEndian.Uint64(b[24:32]))
	} else if binary.LittleEndian.Uint64(b[16:24]) != 0 || binary.LittleEndian.Uint64(b[24:32]) != 0 {
		return dosRecord{}, fmt.Errorf("%w: change time without its flag", errBadRecord)
	}
	return r, nil
}

// timeToNanos converts t for the record, clamping to the int64 nanosecond range
// (years 1678..2262); SMB FILETIMEs outside it are rare and clients only compare them.
func timeToNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
