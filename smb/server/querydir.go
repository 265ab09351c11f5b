package server

import (
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// dirCursor is an open directory's enumeration state (MS-SMB2 3.3.5.18): a snapshot of the
// matching entries taken at the first query (or on restart/reopen), and the index of the next
// entry to return. Windows takes the pattern only at the start of a scan; so do we.
type dirCursor struct {
	entries []vfs.FileInfo // "." and ".." first when they match
	next    int
}

// handleQueryDirectory implements MS-SMB2 3.3.5.18.
func handleQueryDirectory(r *request) error {
	var req wire.QueryDirectoryRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	maxTransact := r.c.neg.Load().maxTransact
	if req.OutputBufferLength > maxTransact {
		return errInvalidParameter
	}
	if err := r.checkCharge(req.OutputBufferLength); err != nil {
		return err
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if !wire.IsDirInfoClass(req.FileInfoClass) {
		return wire.StatusInvalidInfoClass
	}
	if o.pipe != nil || !o.isDir {
		return errInvalidParameter
	}
	if !o.has(wire.FileReadData) {
		return wire.StatusAccessDenied
	}
	o.dirMu.Lock()
	defer o.dirMu.Unlock()
	first := o.dir == nil || req.Flags&(wire.QueryDirRestartScans|wire.QueryDirReopen) != 0
	if first {
		pattern := req.FileName
		if pattern == "" {
			pattern = "*"
		}
		entries, err := snapshotDir(r, o, pattern)
		if err != nil {
			return err
		}
		o.dir = &dirCursor{entries: entries}
	}
	cur := o.dir
	w, _ := wire.NewDirWriter(make([]byte, 0, min(int(req.OutputBufferLength), 64<<10)), req.FileInfoClass, int(req.OutputBufferLength))
	for cur.next < len(cur.entries) {
		a := fileAttrs(cur.entries[cur.next])
		if !w.Add(&a) {
			break
		}
		cur.next++
		if req.Flags&wire.QueryDirReturnSingleEntry != 0 {
			break
		}
	}
	if w.Count() == 0 {
		switch {
		case cur.next < len(cur.entries):
			return wire.StatusInfoLengthMismatch // not even one entry fits
		case first && len(cur.entries) == 0:
			return wire.StatusNoSuchFile
		default:
			return wire.StatusNoMoreFiles
		}
	}
	r.resp = (&wire.QueryDirectoryResponse{Output: w.Bytes()}).Append(r.resp)
	return nil
}

// snapshotDir lists the directory and keeps the entries matching pattern, "." and ".." first.
func snapshotDir(r *request, o *open, pattern string) ([]vfs.FileInfo, error) {
	sh := o.tree.share
	ci := !sh.CaseSensitive
	list, err := o.file.ReadDir()
	if err != nil {
		return nil, err
	}
	out := make([]vfs.FileInfo, 0, len(list)+2)
	if matchPattern(pattern, ".", ci) || matchPattern(pattern, "..", ci) {
		self, err := o.file.Stat()
		if err != nil {
			return nil, err
		}
		if matchPattern(pattern, ".", ci) {
			dot := self
			dot.Name = "."
			out = append(out, dot)
		}
		if matchPattern(pattern, "..", ci) {
			parent := self
			if name := o.file.Name(); name != "" {
				pname, _ := parentAndBase(name)
				if pf, _, err := sh.FS.Open(r.ctx(), pname, vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.DirectoryOnly}); err == nil {
					if pfi, err := pf.Stat(); err == nil {
						parent = pfi
					}
					pf.Close()
				}
			}
			parent.Name = ".."
			out = append(out, parent)
		}
	}
	for _, e := range list {
		if matchPattern(pattern, e.Name, ci) {
			out = append(out, e)
		}
	}
	return out, nil
}
