package localfs

import (
	"fmt"
	"strings"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// Named streams (MS-FSCC 2.1.5.2) live in user xattrs of their object, one per stream:
// streamXattrPrefix followed by the stream name in the encoding below. The unnamed stream is the
// object's ordinary data.

const streamXattrPrefix = "user.sofs.stream."

// xattrNameMax is XATTR_NAME_MAX of <linux/limits.h>: the longest xattr name, prefix included.
const xattrNameMax = 255

// maxStreamNameBytes bounds an encoded stream name so prefix and name fit in one xattr name.
// Stream names longer than this (Windows allows 255 UTF-16 units) are refused as invalid names,
// the same limitation Samba's streams_xattr has.
const maxStreamNameBytes = xattrNameMax - len(streamXattrPrefix)

// streamEscaped reports the bytes written as %XX in an encoded stream name: '%' itself (so the
// encoding is reversible) and control characters (so a listing or log line cannot be garbled
// by them). Every other byte, UTF-8 sequences included, is kept as it is: xattr names are
// arbitrary NUL-terminated byte strings, so they are safe there.
func streamEscaped(b byte) bool { return b < 0x20 || b == 0x7f || b == '%' }

const hexDigits = "0123456789ABCDEF"

// encodeStreamName maps a validated stream name to its xattr name suffix.
func encodeStreamName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if streamEscaped(c) {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// decodeStreamName inverts encodeStreamName. It accepts only the canonical encoding (upper-case
// hex, escapes only where encodeStreamName writes them, a valid stream name as the result), so
// every accepted suffix has exactly one name and an xattr some other tool wrote under our
// prefix is not mistaken for a stream.
func decodeStreamName(enc string) (string, bool) {
	if enc == "" {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(enc))
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if c != '%' {
			if streamEscaped(c) {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(enc) {
			return "", false
		}
		hi, lo := strings.IndexByte(hexDigits, enc[i+1]), strings.IndexByte(hexDigits, enc[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		v := byte(hi<<4 | lo)
		if !streamEscaped(v) {
			return "", false
		}
		b.WriteByte(v)
		i += 2
	}
	name := b.String()
	if checkStreamName(name) != nil {
		return "", false
	}
	return name, true
}

// checkStreamName enforces MS-FSCC 2.1.5.2: a stream name has no '\', '/', ':' or NUL, and is
// not empty (the empty name is the unnamed stream, handled before this). Its encoding must fit
// in an xattr name.
func checkStreamName(name string) error {
	if name == "" {
		return vfs.ErrInvalidName
	}
	if strings.ContainsAny(name, "\\/:\x00") {
		return vfs.ErrInvalidName
	}
	if len(encodeStreamName(name)) > maxStreamNameBytes {
		return vfs.ErrInvalidName
	}
	return nil
}

// splitStream parses an Open name: the last element may carry ":stream", ":stream:$DATA" or
// "::$DATA" (MS-FSCC 2.1.5.2; the type is matched case-insensitively and only $DATA exists for
// named streams). It returns the object's name and the stream name, "" for the unnamed stream.
// Names without ':' in their last element come back unchanged.
func splitStream(name string) (object, stream string, err error) {
	parent, last := splitName(name)
	i := strings.IndexByte(last, ':')
	if i < 0 {
		return name, "", nil
	}
	base, rest := last[:i], last[i+1:]
	stream = rest
	if j := strings.IndexByte(rest, ':'); j >= 0 {
		stream = rest[:j]
		if !strings.EqualFold(rest[j+1:], "$DATA") {
			return "", "", fmt.Errorf("localfs: open %q: stream type %q: %w", name, rest[j+1:], vfs.ErrInvalidName)
		}
	} else if stream == "" {
		return "", "", fmt.Errorf("localfs: open %q: empty stream name: %w", name, vfs.ErrInvalidName)
	}
	if base == "" && parent != "" {
		return "", "", fmt.Errorf("localfs: open %q: stream without an object: %w", name, vfs.ErrInvalidName)
	}
	if stream != "" {
		if err := checkStreamName(stream); err != nil {
			return "", "", fmt.Errorf("localfs: open %q: stream name: %w", name, err)
		}
	}
	// base "" with parent "" is the share root, whose streams are those of the root directory.
	return joinName(parent, base), stream, nil
}
