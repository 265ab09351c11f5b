package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every decoding error in this package, so callers
// can map any codec failure to STATUS_INVALID_PARAMETER (or drop the
// connection) with a single errors.Is.
var ErrMalformed = errors.New("malformed SMB2 message")

var le = binary.LittleEndian

// malformed builds a decoding error that names the field and wraps ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrMalformed)...)
}

// body returns msg[HeaderSize:] after checking that the fixed part of a body
// of structure size want (odd sizes count one byte of variable buffer, which
// may be absent) is present and carries the right StructureSize.
func body(msg []byte, what string, want uint16) ([]byte, error) {
	fixed := int(want &^ 1)
	if len(msg) < HeaderSize+fixed {
		return nil, malformed("%s: message of %d bytes shorter than header and %d-byte body", what, len(msg), fixed)
	}
	b := msg[HeaderSize:]
	if got := le.Uint16(b); got != want {
		return nil, malformed("%s: structure size %d, want %d", what, got, want)
	}
	return b, nil
}

// field returns the length bytes at off inside msg (offsets are relative to
// the start of the SMB2 header). A zero length yields nil whatever the offset,
// as Windows does. The result's capacity is clipped so that appending to it
// can never overwrite the rest of msg.
func field(msg []byte, off, length uint64, what string) ([]byte, error) {
	if length == 0 {
		return nil, nil
	}
	if off < HeaderSize {
		return nil, malformed("%s: offset %d inside the header", what, off)
	}
	end := off + length
	if end > uint64(len(msg)) || end < off {
		return nil, malformed("%s: offset %d length %d beyond message of %d bytes", what, off, length, len(msg))
	}
	return msg[off:end:end], nil
}

// sub is like field for offsets relative to an arbitrary buffer (contexts,
// info structures) rather than to the SMB2 header.
func sub(b []byte, off, length uint64, what string) ([]byte, error) {
	end := off + length
	if end > uint64(len(b)) || end < off {
		return nil, malformed("%s: offset %d length %d beyond buffer of %d bytes", what, off, length, len(b))
	}
	return b[off:end:end], nil
}

// subN is sub for the i-th element of a list; the name is only formatted
// on error, keeping the success path free of allocations.
func subN(b []byte, off, length uint64, list string, i int, what string) ([]byte, error) {
	end := off + length
	if end > uint64(len(b)) || end < off {
		return nil, malformed("%s %d %s: offset %d length %d beyond buffer of %d bytes", list, i, what, off, length, len(b))
	}
	return b[off:end:end], nil
}

// grow appends n zero bytes to b and returns the extended slice; the compiler
// turns append(b, make([]byte, n)...) into a memclr without a temporary.
func grow(b []byte, n int) []byte {
	return append(b, make([]byte, n)...)
}

// Pad8 appends zero bytes until len(b) is a multiple of 8. SMB2 requires this
// alignment between compounded messages and between context list entries.
func Pad8(b []byte) []byte {
	if r := len(b) % 8; r != 0 {
		b = grow(b, 8-r)
	}
	return b
}

func align8(n int) int { return (n + 7) &^ 7 }

// AppendUTF16 appends s encoded as UTF-16LE (no terminator). Invalid UTF-8
// bytes become U+FFFD, except the WTF-8 encoding of lone surrogates produced
// by DecodeUTF16, which is written back as the original surrogate, so names
// round-trip exactly.
func AppendUTF16(b []byte, s string) []byte {
	// ASCII fast path (most names): one zeroed grow, then only the low
	// bytes are written.
	start := len(b)
	b = grow(b, 2*len(s))
	i, j := 0, start
	for ; i < len(s) && s[i] < utf8.RuneSelf; i++ {
		b[j] = s[i]
		j += 2
	}
	b = b[:j]
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, c, 0)
			i++
			continue
		}
		// Lone surrogate in WTF-8: ED A0..BF 80..BF.
		if c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
			u := uint16(0xD000) | uint16(s[i+1]&0x3F)<<6 | uint16(s[i+2]&0x3F)
			b = append(b, byte(u), byte(u>>8))
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = append(b, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
		} else {
			b = append(b, byte(r), byte(r>>8))
		}
	}
	return b
}

// UTF16Len is the number of bytes AppendUTF16 writes for s.
func UTF16Len(s string) int {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	n := 2 * i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			n += 2
			i++
			continue
		}
		if c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
			n += 2
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			n += 4
		} else {
			n += 2
		}
	}
	return n
}

// DecodeUTF16 decodes UTF-16LE. An odd length is malformed. Unpaired
// surrogates (legal in NTFS names) are kept as their WTF-8 encoding so that
// AppendUTF16 restores the exact original bytes.
func DecodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", malformed("utf-16 string of odd length %d", len(b))
	}
	// Fast path: pure ASCII.
	ascii := true
	for i := 0; i < len(b); i += 2 {
		if b[i+1] != 0 || b[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	var out strings.Builder
	if ascii {
		out.Grow(len(b) / 2)
		for i := 0; i < len(b); i += 2 {
			out.WriteByte(b[i])
		}
		return out.String(), nil
	}
	out.Grow(len(b) + len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u := rune(le.Uint16(b[i:]))
		switch {
		case u >= 0xD800 && u < 0xDC00 && i+3 < len(b):
			u2 := rune(le.Uint16(b[i+2:]))
			if u2 >= 0xDC00 && u2 < 0xE000 {
				out.WriteRune(utf16.DecodeRune(u, u2))
				i += 2
				continue
			}
			writeWTF8Surrogate(&out, u)
		case u >= 0xD800 && u < 0xE000:
			writeWTF8Surrogate(&out, u)
		default:
			out.WriteRune(u)
		}
	}
	return out.String(), nil
}

// writeWTF8Surrogate writes a lone surrogate the way WTF-8 does (the UTF-8
// byte pattern of its code point, which strict UTF-8 forbids).
func writeWTF8Surrogate(out *strings.Builder, u rune) {
	out.WriteByte(0xED)
	out.WriteByte(byte(0x80 | (u>>6)&0x3F))
	out.WriteByte(byte(0x80 | u&0x3F))
}

// filetimeEpochDelta is the number of 100 ns intervals between 1601-01-01 and
// 1970-01-01 (MS-DTYP 2.3.3 FILETIME).
const filetimeEpochDelta = 116444736000000000

// FiletimeFromTime converts t to a FILETIME. The zero time maps to 0, which
// SMB uses for "not specified".
func FiletimeFromTime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix()
	// Times before 1601 clamp to the earliest representable value.
	if s < -11644473600 {
		return 0
	}
	return uint64(s)*1e7 + uint64(t.Nanosecond()/100) + filetimeEpochDelta
}

// TimeFromFiletime converts a FILETIME to time.Time (UTC). 0 yields the zero
// time.
func TimeFromFiletime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	if ft >= filetimeEpochDelta {
		d := ft - filetimeEpochDelta
		return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
	}
	d := filetimeEpochDelta - ft
	return time.Unix(-int64(d/1e7), -int64(d%1e7)*100).UTC()
}

// GUID is a 16-byte identifier in its wire (mixed-endian) byte order.
type GUID [16]byte

// FileID is the SMB2_FILEID: persistent and volatile halves.
type FileID struct {
	Persistent, Volatile uint64
}

func getFileID(b []byte) FileID {
	return FileID{le.Uint64(b), le.Uint64(b[8:])}
}

func putFileID(b []byte, f FileID) {
	le.PutUint64(b, f.Persistent)
	le.PutUint64(b[8:], f.Volatile)
}

// AnyFileID (all ones) in a compounded related request means "the file the
// previous request in the chain opened" (MS-SMB2 3.3.5.2.7.2).
var AnyFileID = FileID{^uint64(0), ^uint64(0)}

func wrapf(what string, err error) error { return fmt.Errorf("%s: %w", what, err) }
