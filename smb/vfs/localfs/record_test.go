package localfs

import (
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []dosRecord{
		{},
		{attrs: vfs.AttrHidden | vfs.AttrSystem},
		{attrs: vfs.AttrSettable, hasCreation: true, creation: -1, hasChange: true, change: 1 << 62, anchor: 7},
		{hasChange: true, change: time.Date(2004, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()},
	} {
		var b [recordLen]byte
		r.encode(&b)
		got, err := decodeRecord(b[:])
		if err != nil || got != r {
			t.Errorf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
}

func TestRecordRejects(t *testing.T) {
	var good [recordLen]byte
	dosRecord{attrs: vfs.AttrHidden, hasCreation: true, creation: 5}.encode(&good)
	mutate := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good[:]...)
		return f(b)
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"version 0":      mutate(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":      mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"short":          good[:recordLen-1],
		"long":           append(good[:], 0),
		"unknown flag":   mutate(func(b []byte) []byte { b[1] |= 0x80; return b }),
		"reserved":       mutate(func(b []byte) []byte { b[3] = 1; return b }),
		"change no flag": mutate(func(b []byte) []byte { b[16] = 1; return b }),
		"anchor no flag": mutate(func(b []byte) []byte { b[31] = 1; return b }),
		"creation no flag": mutate(func(b []byte) []byte {
			b[1] &^= recordHasCreation
			return b
		}),
	} {
		if r, err := decodeRecord(b); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, r)
		}
	}
}

// FuzzDecodeRecord: the decoder never panics, and whatever it accepts re-encodes to a record
// that decodes to the same value (the on-disk form is canonical for what it carries).
func FuzzDecodeRecord(f *testing.F) {
	var b [recordLen]byte
	dosRecord{attrs: vfs.AttrReadOnly | vfs.AttrArchive, hasCreation: true, creation: 1e18}.encode(&b)
	f.Add(b[:])
	dosRecord{}.encode(&b)
	f.Add(b[:])
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		if r.attrs&^storedAttrs != 0 {
			t.Fatalf("decoded attributes that are not stored %#x", r.attrs)
		}
		var out [recordLen]byte
		r.encode(&out)
		again, err := decodeRecord(out[:])
		if err != nil || again != r {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, again, err)
		}
	})
}

// Creation times outside the int64 nanosecond range (an SMB client may set any FILETIME) are
// kept at FILETIME resolution; those inside keep the nanosecond form earlier versions read.
func TestRecordCreationRange(t *testing.T) {
	for _, want := range []time.Time{
		time.Unix(15032385535, 0),                   // year 2446, the ext4 limit smbtorture probes
		time.Unix(10000000000, 123456700),           // year 2286
		time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), // FILETIME 0's instant
		time.Unix(1700000000, 5),                    // ordinary: nanoseconds kept
	} {
		var r dosRecord
		r.setCreation(want)
		var b [recordLen]byte
		r.encode(&b)
		got, err := decodeRecord(b[:])
		if err != nil || !got.creationTime().Equal(want) {
			t.Errorf("creation %v: got %v, %v", want, got.creationTime(), err)
		}
		if inRange := want.Year() > 1678 && want.Year() < 2262; got.farCreation == inRange {
			t.Errorf("creation %v: far form %v", want, got.farCreation)
		}
	}
}

func TestRecordChangeRange(t *testing.T) {
	want := time.Unix(15032385535, 100)
	var r dosRecord
	r.setChange(want)
	r.anchor = 1
	var b [recordLen]byte
	r.encode(&b)
	got, err := decodeRecord(b[:])
	if err != nil || !got.changeTime().Equal(want) || !got.farChange {
		t.Errorf("change %v: got %v (far %v), %v", want, got.changeTime(), got.farChange, err)
	}
}
