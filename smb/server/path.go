package server

import (
	"errors"
	"strings"
	"unicode/utf16"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// errInvalidParameter is a request the protocol forbids (becomes STATUS_INVALID_PARAMETER).
var errInvalidParameter = errors.New("invalid parameter")

// errPathSyntax is a path with ".." elements (STATUS_OBJECT_PATH_SYNTAX_BAD, as Windows answers
// for names that try to climb above the share).
var errPathSyntax = errors.New("path syntax bad")

// maxNameUnits is the longest path element NTFS allows, in UTF-16 code units.
const maxNameUnits = 255

// sharePath turns a CREATE (or rename target) name into a vfs name: '\\'-separated elements
// become '/'-separated, the default data stream suffix "::$DATA" is dropped, and every element is
// checked against the NTFS naming rules (MS-FSCC 2.1.5.2). The share root is "".
//
// A leading backslash is refused with STATUS_INVALID_PARAMETER as Windows does (MS-SMB2 3.3.5.9:
// the name is relative to the share). Trailing backslashes are tolerated for directories.
func sharePath(name string) (string, error) {
	p, stream, err := splitSharePath(name)
	if err != nil {
		return "", err
	}
	if stream != "" {
		return "", vfs.ErrInvalidName // the caller does not accept streams
	}
	return p, nil
}

// splitSharePath is sharePath for names that may name a stream (MS-FSCC 2.1.5.2):
// "dir\file:stream" or "dir\file:stream:$DATA" give ("dir/file", "stream"); "file::$DATA" is
// the unnamed data stream, the file itself. Only the last element may carry a stream, and
// $DATA is the only stream type a file can be opened with.
func splitSharePath(name string) (path, stream string, err error) {
	// '/' separates elements as '\' does: Windows and Samba accept "dir/file" (smbtorture
	// smb2.timestamps.test_close_not_attrib opens one); it is never part of an NTFS name.
	name = strings.ReplaceAll(name, "/", `\`)
	if strings.HasPrefix(name, `\`) {
		return "", "", errInvalidParameter
	}
	name = strings.TrimRight(name, `\`)
	if name == "" {
		return "", "", nil
	}
	elems := strings.Split(name, `\`)
	last := elems[len(elems)-1]
	if base, rest, ok := strings.Cut(last, ":"); ok {
		streamName, typ, hasType := strings.Cut(rest, ":")
		if hasType && !strings.EqualFold(typ, "$DATA") || strings.Contains(typ, ":") {
			return "", "", vfs.ErrInvalidName
		}
		if streamName == "" && !hasType {
			return "", "", vfs.ErrInvalidName // "file:" names nothing
		}
		if err := checkStreamName(streamName); err != nil {
			return "", "", err
		}
		elems[len(elems)-1] = base
		stream = streamName
	}
	for _, e := range elems {
		if err := checkElement(e); err != nil {
			return "", "", err
		}
	}
	return strings.Join(elems, "/"), stream, nil
}

// checkStreamName validates a stream name: no separators or NUL, NTFS length. Unlike file
// names, stream names may hold control characters, '*', '?' and the other characters file names
// may not (MS-FSCC 2.1.5.2; smbtorture smb2.streams.names, names2).
func checkStreamName(s string) error {
	for _, c := range s {
		if c == 0 || c == '/' || c == '\\' || c == ':' || c == 0xFFFD {
			return vfs.ErrInvalidName
		}
	}
	if utf16Len(s) > maxNameUnits {
		return vfs.ErrInvalidName
	}
	return nil
}

// checkElement validates one path element.
func checkElement(e string) error {
	if e == ".." {
		return errPathSyntax
	}
	if e == "" || e == "." {
		return vfs.ErrInvalidName
	}
	for _, c := range e {
		if c < 0x20 || strings.ContainsRune(`"*/:<>?|\`, c) || c == 0xFFFD {
			return vfs.ErrInvalidName
		}
	}
	if utf16Len(e) > maxNameUnits {
		return vfs.ErrInvalidName
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, c := range s {
		n += utf16.RuneLen(c)
	}
	return n
}

// parentAndBase splits a vfs name into its parent directory and last element.
func parentAndBase(name string) (string, string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}
