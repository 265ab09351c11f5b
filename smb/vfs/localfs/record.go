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
//	[1]     flags: bit 0 creation time present, bit 1 change time present, bits 2 and 3 the
//	        creation and change time are in 100 ns units (set only for a time outside the
//	        int64 nanosecond range, years 1678..2262: SMB clients may set any FILETIME,
//	        smbtorture smb2.timestamps.time_t_15032385535); others must be 0
//	[2:4]   reserved, must be 0
//	[4:8]   DOS attributes (only storedAttrs bits are meaningful)
//	[8:16]  creation time, nanoseconds (or with bit 2, 100 ns units) since the Unix epoch (int64)
//	[16:24] change time set by a client, nanoseconds (bit 3: 100 ns units) since the Unix epoch
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
	recordFarCreation = 1 << 2
	recordFarChange   = 1 << 3
	recordKnownFlags  = recordHasCreation | recordHasChange | recordFarCreation | recordFarChange
)

var errBadRecord = errors.New("malformed sofs.dos record")

// dosRecord is the decoded xattr.
type dosRecord struct {
	attrs       vfs.Attr
	hasCreation bool
	creation    int64 // ns since epoch (100 ns units when farCreation); use creationTime/setCreation
	farCreation bool
	hasChange   bool
	change      int64 // ns since epoch (100 ns units when farChange); use changeTime/setChange
	farChange   bool
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
	if r.hasCreation && r.farCreation {
		b[1] |= recordFarCreation
	}
	if r.hasChange && r.farChange {
		b[1] |= recordFarChange
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
		farCreation: flags&recordFarCreation != 0,
		farChange:   flags&recordFarChange != 0,
	}
	if r.farCreation && !r.hasCreation || r.farChange && !r.hasChange {
		return dosRecord{}, fmt.Errorf("%w: far time flag without its time", errBadRecord)
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

// creationTime is the recorded creation time (hasCreation must be set).
func (r *dosRecord) creationTime() time.Time { return recordTime(r.creation, r.farCreation) }

// changeTime is the recorded change time (hasChange must be set).
func (r *dosRecord) changeTime() time.Time { return recordTime(r.change, r.farChange) }

// setCreation records t as the creation time.
func (r *dosRecord) setCreation(t time.Time) {
	r.hasCreation = true
	r.creation, r.farCreation = recordValue(t)
}

// setChange records t as the change time (the caller sets the anchor).
func (r *dosRecord) setChange(t time.Time) {
	r.hasChange = true
	r.change, r.farChange = recordValue(t)
}

// recordValue encodes a time in nanoseconds when it fits (the form every earlier version
// reads), else in 100 ns units (FILETIME resolution, about ±29,000 years), reporting which.
func recordValue(t time.Time) (v int64, far bool) {
	if !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64)) {
		return t.UnixNano(), false
	}
	return t.Unix()*1e7 + int64(t.Nanosecond()/100), true
}

func recordTime(v int64, far bool) time.Time {
	if far {
		return time.Unix(v/1e7, v%1e7*100)
	}
	return time.Unix(0, v)
}
