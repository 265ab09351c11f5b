package server

import "github.com/sofs-dev/sofs/smb/vfs"

// dirCursor is an open directory's enumeration state (MS-SMB2 3.3.5.18): a snapshot of the
// entries taken at the first query (or on restart/reopen), the pattern it was taken for, and
// the index of the next entry to return.
type dirCursor struct {
	pattern string
	entries []vfs.FileInfo // includes "." and ".." first
	next    int
}
