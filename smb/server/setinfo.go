package server

import (
	"errors"
	"strings"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// handleSetInfo implements MS-SMB2 3.3.5.21 for the file classes clients use.
func handleSetInfo(r *request) error {
	var req wire.SetInfoRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	maxTransact := r.c.neg.Load().maxTransact
	if uint32(len(req.Buffer)) > maxTransact {
		return errInvalidParameter
	}
	if err := r.checkCharge(uint32(len(req.Buffer))); err != nil {
		return err
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe != nil {
		return wire.StatusNotSupported
	}
	switch req.InfoType {
	case wire.InfoFile:
		err = setFileInfo(r, o, req.FileInfoClass, req.Buffer)
	case wire.InfoFilesystem:
		err = wire.StatusAccessDenied
	case wire.InfoSecurity:
		err = setSecurity(r, o, req.AdditionalInformation, req.Buffer)
	case wire.InfoQuota:
		err = wire.StatusNotSupported
	default:
		err = errInvalidParameter
	}
	if err != nil {
		return err
	}
	r.resp = (&wire.SetInfoResponse{}).Append(r.resp)
	return nil
}

func setFileInfo(r *request, o *open, class uint8, buf []byte) error {
	if r.tree.share.ReadOnly && class != wire.FilePositionInformation && class != wire.FileModeInformation {
		return wire.StatusAccessDenied
	}
	switch class {
	case wire.FileBasicInformation:
		if !o.has(wire.FileWriteAttributes) {
			return wire.StatusAccessDenied
		}
		var a wire.FileAttrs
		if err := wire.DecodeFileBasicInformation(buf, &a); err != nil {
			return errInvalidParameter
		}
		return setBasic(o, &a)
	case wire.FileEndOfFileInformation:
		return setSize(o, buf, wire.DecodeFileEndOfFileInformation, o.file.Truncate)
	case wire.FileAllocationInformation:
		return setSize(o, buf, wire.DecodeFileAllocationInformation, o.file.Allocate)
	case wire.FileDispositionInformation:
		if !o.has(wire.Delete) {
			return wire.StatusAccessDenied
		}
		pending, err := wire.DecodeFileDispositionInformation(buf)
		if err != nil {
			return errInvalidParameter
		}
		return setDisposition(o, pending)
	case wire.FilePositionInformation:
		pos, err := wire.DecodeFilePositionInformation(buf)
		if err != nil || pos < 0 {
			return errInvalidParameter
		}
		o.mu.Lock()
		o.position = pos
		o.mu.Unlock()
		return nil
	case wire.FileModeInformation:
		mode, err := wire.DecodeFileModeInformation(buf)
		if err != nil {
			return errInvalidParameter
		}
		o.mu.Lock()
		o.mode = mode
		o.mu.Unlock()
		return nil
	case wire.FileRenameInformation:
		if !o.has(wire.Delete) {
			return wire.StatusAccessDenied
		}
		var ri wire.RenameInformation
		if err := ri.Decode(buf); err != nil {
			return errInvalidParameter
		}
		return rename(r, o, &ri)
	case wire.FileFullEaInformation:
		return wire.StatusEAsNotSupported
	case wire.FileLinkInformation, wire.FileValidDataLengthInformation, wire.FileShortNameInformation:
		return wire.StatusNotSupported
	}
	return wire.StatusInvalidInfoClass
}

// setBasic applies FileBasicInformation: a time of 0 leaves it unchanged, and so do -1 and -2
// (which ask NTFS to stop and resume updating it automatically); attributes 0 leave them
// unchanged (MS-FSCC 2.4.7, MS-FSA 2.1.5.14.2).
func setBasic(o *open, a *wire.FileAttrs) error {
	var si vfs.SetInfo
	setTime := func(ft uint64) *time.Time {
		// 0 leaves the time as it is; -1 and -2 (0xFFFFFFFF_FFFFFFFF, ..._FFFFFFFE) stop and
		// resume the automatic updates of that time and leave its value too (MS-FSCC 2.4.7).
		if ft == 0 || ft == ^uint64(0) || ft == ^uint64(1) {
			return nil
		}
		t := wire.TimeFromFiletime(ft)
		return &t
	}
	si.CreationTime = setTime(a.CreationTime)
	si.LastAccessTime = setTime(a.LastAccessTime)
	si.LastWriteTime = setTime(a.LastWriteTime)
	si.ChangeTime = setTime(a.ChangeTime)
	if a.Attributes != 0 {
		attr := vfs.Attr(a.Attributes)
		if attr&vfs.AttrDirectory != 0 && !o.isDir || attr&vfs.AttrTemporary != 0 && o.isDir {
			return errInvalidParameter
		}
		attr &= vfs.AttrSettable
		si.Attributes = &attr
	}
	// Any FileBasicInformation makes a pending write-time update first, even all zeroes
	// (Windows; smbtorture smb2.timestamps.delayed-write-vs-setbasic); an explicit write time
	// then stands against the handle's later writes (writetime.go).
	if !o.isDir {
		o.flushWriteTime()
	}
	if err := o.file.SetInfo(si); err != nil {
		return err
	}
	switch {
	case o.isDir:
	case si.LastWriteTime != nil:
		o.setExplicitWriteTime(*si.LastWriteTime)
	case a.LastWriteTime == ^uint64(0): // -1 freezes the write time where it is
		if fi, err := o.file.Stat(); err == nil {
			o.setExplicitWriteTime(fi.LastWriteTime)
		}
	case a.LastWriteTime == ^uint64(1): // -2 resumes automatic updates
		o.thawWriteTime()
	}
	return nil
}

// setDisposition sets or clears delete-pending (MS-FSA 2.1.5.14.3): a read-only file cannot be
// deleted, and a directory must be empty.
func setDisposition(o *open, pending bool) error {
	if pending {
		fi, err := o.file.Stat()
		if err != nil {
			return err
		}
		if fi.Attributes&vfs.AttrReadOnly != 0 {
			return wire.StatusCannotDelete
		}
		if fi.IsDir() {
			if fi.ID == 0 || o.file.Name() == "" {
				return wire.StatusCannotDelete
			}
			entries, err := o.file.ReadDir()
			if err != nil {
				return err
			}
			if len(entries) > 0 {
				return wire.StatusDirectoryNotEmpty
			}
		}
	}
	o.entry.SetDeletePending(pending)
	return nil
}

// rename implements FileRenameInformation (MS-FSCC 2.4.42): the target is a full path from the
// share root.
func rename(r *request, o *open, ri *wire.RenameInformation) error {
	if ri.RootDirectory != 0 {
		return errInvalidParameter
	}
	target, err := sharePath(strings.TrimPrefix(ri.FileName, `\`))
	if err != nil {
		return err
	}
	if target == "" || o.file.Name() == "" {
		return wire.StatusAccessDenied
	}
	if strings.EqualFold(target, o.file.Name()) && target == o.file.Name() {
		return nil
	}
	if err := checkParentForRename(r, o.file.Name()); err != nil {
		return err
	}
	if o.isDir && r.c.srv.openBelow(r.tree.share, o.file.Name()) {
		// A directory with open files below it cannot be renamed (Windows, Samba;
		// smbtorture smb2.rename.rename_dir_openfile).
		return wire.StatusAccessDenied
	}
	if ri.ReplaceIfExists {
		// A target that is open elsewhere cannot be replaced (MS-FSA 2.1.5.14.11).
		sh := r.tree.share
		f, _, err := sh.FS.Open(r.ctx(), target, vfs.OpenRequest{Disposition: vfs.OpenExisting, CaseInsensitive: !sh.CaseSensitive})
		if err == nil {
			fi, serr := f.Stat()
			f.Close()
			if serr == nil {
				if fi.IsDir() {
					return wire.StatusAccessDenied
				}
				if err := r.tree.share.opens.Check(fi.ID, vfs.AccessDelete, 0); err != nil {
					return wire.StatusAccessDenied
				}
			}
		}
	}
	// Other keys' leases lose H first, and the rename waits for them (vfs BreakHandleCaching).
	if err := o.entry.BreakHandleCaching(r.cancellable(), func() { r.goAsync() }); err != nil {
		return err
	}
	err = o.file.Rename(target, ri.ReplaceIfExists)
	if errors.Is(err, vfs.ErrExists) {
		return wire.StatusObjectNameCollision
	}
	return err
}

// checkParentForRename refuses a rename while the parent directory is open with DELETE access
// or without FILE_SHARE_DELETE: the rename acts on the directory as an open for DELETE that
// shares read and write would (Windows and Samba; smbtorture smb2.rename
// share_delete_and_delete_access, no_share_delete_*).
func checkParentForRename(r *request, name string) error {
	pname, ok := parentName(name)
	if !ok {
		return nil
	}
	d, err := openDir(r, pname)
	if err != nil {
		return nil // the rename itself reports what is wrong with the path
	}
	fi, err := d.Stat()
	d.Close()
	if err != nil {
		return nil
	}
	if err := r.tree.share.opens.Check(fi.ID, vfs.AccessDelete, vfs.ShareRead|vfs.ShareWrite); errors.Is(err, vfs.ErrSharingViolation) {
		return wire.StatusSharingViolation
	}
	return nil
}

// openBelow reports whether any session has an object below dir of share open. The opens are
// collected under the locks and their names read after, since a name may need I/O.
func (s *Server) openBelow(sh *shareState, dir string) bool {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	var opens []*open
	for _, sess := range sessions {
		sess.mu.Lock()
		for _, o := range sess.opens {
			if o.file != nil && o.tree != nil && o.tree.share == sh {
				opens = append(opens, o)
			}
		}
		sess.mu.Unlock()
	}
	for _, o := range opens {
		if strings.HasPrefix(o.file.Name(), dir+"/") {
			return true
		}
	}
	return false
}

// setSize applies FileEndOfFileInformation or FileAllocationInformation: both need write access,
// refuse directories, and change what other opens' Level II oplocks cached.
func setSize(o *open, buf []byte, decode func([]byte) (int64, error), apply func(int64) error) error {
	if !o.has(wire.FileWriteData) {
		return wire.StatusAccessDenied
	}
	size, err := decode(buf)
	if err != nil || size < 0 || o.isDir {
		return errInvalidParameter
	}
	o.entry.BreakLevelII()
	if err := apply(size); err != nil {
		return err
	}
	o.flushWriteTime() // a size change makes a pending write-time update (writetime.go)
	return nil
}
