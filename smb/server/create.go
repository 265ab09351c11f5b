package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sofs-dev/sofs/smb/acl"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// validCreateOptions are the options MS-SMB2 2.2.13 defines; the rest must be zero.
const validCreateOptions = 0x00FFFFFF

// mapAccess turns a DesiredAccess into the access granted, or an error (MS-SMB2 3.3.5.9): generic
// rights map to file rights (acl.GenericMapping), MAXIMUM_ALLOWED grants what the tree allows.
func mapAccess(desired, maximal uint32, readOnlyFile bool) (uint32, error) {
	if desired&wire.AccessSystemSecurity != 0 {
		return 0, wire.StatusPrivilegeNotHeld
	}
	if desired&^(wire.FileAllAccess|wire.MaximumAllowed|wire.GenericAll|wire.GenericExecute|wire.GenericWrite|wire.GenericRead) != 0 {
		return 0, wire.StatusAccessDenied
	}
	granted := acl.GenericMapping(desired&^wire.MaximumAllowed) & wire.FileAllAccess
	allowed := maximal
	if readOnlyFile {
		allowed &^= wire.FileWriteData | wire.FileAppendData
	}
	if desired&wire.MaximumAllowed != 0 {
		granted |= allowed
	}
	if granted&^allowed != 0 {
		return 0, wire.StatusAccessDenied
	}
	return granted, nil
}

// handleCreate implements MS-SMB2 3.3.5.9 for disk shares and named pipes.
func handleCreate(r *request) error {
	var req wire.CreateRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	var dur *durableContexts
	if !r.tree.share.ipc {
		// A reconnect is answered from the kept open before the other fields are judged: clients
		// send them as they please on reconnect (MS-SMB2 3.3.5.9.7).
		var err error
		if dur, err = parseDurable(r, &req); err != nil {
			return err
		}
		if handled, err := durableBeforeCreate(r, &req, dur); handled {
			return err
		}
		defer r.c.srv.durables.endCreate(dur)
	}
	if req.ImpersonationLevel > wire.ImpersonationDelegate {
		return wire.StatusBadImpersonationLevel
	}
	if req.CreateOptions&^validCreateOptions != 0 || req.CreateDisposition > wire.FileOverwriteIf ||
		req.CreateOptions&(wire.FileDirectoryFile|wire.FileNonDirectoryFile) == wire.FileDirectoryFile|wire.FileNonDirectoryFile {
		return errInvalidParameter
	}
	if req.FileAttributes&^uint32(0x00037FB7) != 0 { // MS-FSCC 2.6 bits a client may send
		return errInvalidParameter
	}
	if r.tree.share.ipc {
		return createPipe(r, &req)
	}
	if req.CreateOptions&(wire.FileOpenByFileID|wire.FileReserveOpfilter) != 0 {
		return wire.StatusNotSupported
	}
	sh := r.tree.share
	name, stream, err := splitSharePath(req.Name)
	if err != nil {
		return fmt.Errorf("create %q: %w", req.Name, err)
	}
	if stream != "" {
		if _, ok := sh.FS.(vfs.Streamer); !ok {
			return fmt.Errorf("create %q: named streams not supported by this share: %w", req.Name, vfs.ErrInvalidName)
		}
		name += ":" + stream
	}
	kind := vfs.AnyKind
	switch {
	case req.CreateOptions&wire.FileDirectoryFile != 0:
		kind = vfs.DirectoryOnly
		if req.CreateDisposition != wire.FileCreate && req.CreateDisposition != wire.FileOpen && req.CreateDisposition != wire.FileOpenIf {
			return errInvalidParameter
		}
	case req.CreateOptions&wire.FileNonDirectoryFile != 0:
		kind = vfs.FileOnly
	}
	access, err := mapAccess(req.DesiredAccess, r.tree.maximalAccess, false)
	if err != nil {
		return err
	}
	if access == 0 && req.DesiredAccess&wire.MaximumAllowed == 0 {
		return wire.StatusAccessDenied
	}
	deleteOnClose := req.CreateOptions&wire.FileDeleteOnClose != 0
	if deleteOnClose && access&wire.Delete == 0 {
		return wire.StatusAccessDenied
	}
	if sh.ReadOnly && req.CreateDisposition != wire.FileOpen {
		// Every other disposition may create or truncate.
		return wire.StatusAccessDenied
	}
	if deleteOnClose && req.FileAttributes&uint32(vfs.AttrReadOnly) != 0 && req.CreateDisposition == wire.FileCreate {
		// A new read-only file cannot be delete-on-close (MS-FSA 2.1.5.1.1); refuse before
		// creating anything. Other creating dispositions are checked once the action is known.
		return wire.StatusCannotDelete
	}
	creator, err := secdContext(&req)
	if err != nil {
		return err
	}
	_, wantMaximal := wire.FindCreateContext(req.Contexts, wire.CtxNameQueryMaximalAccess)
	chk := newOpenAccess(r, name, req.DesiredAccess)
	o, action, err := openObject(r.ctx(), sh, name, kind, &req, access, chk)
	if err != nil {
		return err
	}
	fi, err := o.file.Stat()
	if err != nil {
		o.file.Close()
		return err
	}
	if fi.IsDir() && namesDataStream(req.Name) {
		// "dir::$DATA": a directory has no unnamed data stream (smbtorture smb2.streams.dir).
		o.file.Close()
		if kind == vfs.DirectoryOnly {
			return wire.StatusNotADirectory
		}
		return wire.StatusFileIsADirectory
	}
	maximal := o.access // the truncating dispositions checked access before truncating
	switch action {
	case vfs.Opened:
		access, maximal, err = chk.checkExisting(o.file, fi, 0, wantMaximal)
	case vfs.Created:
		maximal, err = chk.storeInitial(o.file, creator, fi)
	default:
		access = o.access
		if wantMaximal {
			_, maximal, err = chk.checkExisting(o.file, fi, 0, true)
		}
	}
	if err == nil && action == vfs.Created {
		fi, err = o.file.Stat() // storing the descriptor changed the change time
		if err == nil && deleteOnClose && fi.Attributes&vfs.AttrReadOnly != 0 && !fi.IsDir() {
			// Created read-only by open-if or overwrite-if: undo it (MS-FSA 2.1.5.1.1).
			if rerr := o.file.Remove(); rerr != nil {
				r.c.log.Info("remove read-only delete-on-close file", "name", name, "err", rerr)
			}
			err = wire.StatusCannotDelete
		}
	}
	if err == nil && deleteOnClose && access&wire.Delete == 0 {
		err = wire.StatusAccessDenied
	}
	if err != nil {
		o.file.Close()
		return err
	}
	if fi.Attributes&vfs.AttrReadOnly != 0 {
		// A read-only file grants no data writes, and cannot be deleted (MS-FSA 2.1.5.1.2.1).
		if access&(wire.FileWriteData|wire.FileAppendData) != 0 && action == vfs.Opened {
			o.file.Close()
			return wire.StatusAccessDenied
		}
		if deleteOnClose {
			o.file.Close()
			return wire.StatusCannotDelete
		}
	}
	if deleteOnClose && fi.IsDir() && name == "" {
		o.file.Close()
		return wire.StatusCannotDelete
	}
	if cc, ok := wire.FindCreateContext(req.Contexts, wire.CtxNameAllocationSize); ok && action != vfs.Opened && !fi.IsDir() {
		var al wire.AllocationSizeContext
		if err := al.Decode(cc.Data); err != nil || al.AllocationSize > 1<<50 {
			o.file.Close()
			return errInvalidParameter
		}
		if err := o.file.Allocate(int64(al.AllocationSize)); err != nil {
			o.file.Close()
			return err
		}
		if fi, err = o.file.Stat(); err != nil {
			o.file.Close()
			return err
		}
	}
	o.id.Volatile = r.c.srv.nextHandle.Add(1)
	o.id.Persistent = o.id.Volatile
	o.csn.current = r.hdr.ChannelSequence() // Open.ChannelSequence starts at the CREATE's (3.3.5.9)
	want := vfs.OplockLevel(req.RequestedOplockLevel)
	if fi.IsDir() || req.RequestedOplockLevel == wire.OplockLevelLease {
		want = vfs.OplockNone // no directory oplocks; a lease replaces the oplock (lease.go)
	}
	o.sess = r.sess
	lr, err := leaseForCreate(r, &req, fi.IsDir())
	if err == nil && fi.IsDir() {
		err = checkDirLeaseKey(r, &req, sh, openKey(fi.ID, name))
	}
	if err != nil {
		undoCreate(r, o, action, name)
		return err
	}
	oreq := vfs.OplockRequest{
		Want:          want,
		BreakToNone:   vfs.Disposition(req.CreateDisposition) == vfs.Overwrite || vfs.Disposition(req.CreateDisposition) == vfs.OverwriteIf || vfs.Disposition(req.CreateDisposition) == vfs.Supersede,
		DeleteOnClose: deleteOnClose,
		OnBreak:       o.oplockBreaker(),
		OnWait:        func() { r.goAsync() },
	}
	if lr != nil {
		oreq.Lease = lr.vfsRequest(o)
	}
	entry, granted, err := sh.opens.OpenOplock(createWaitContext(r, dur), openKey(fi.ID, name), vfs.Access(access), vfs.ShareMode(req.ShareAccess&7), oreq)
	if err != nil {
		if errors.Is(err, vfs.ErrLeaseKeyInUse) {
			undoCreate(r, o, action, name)
		} else {
			// Another client may already have opened what this create made: leave it.
			o.file.Close()
		}
		return err
	}
	if err := linkStreamBase(entry, fi.ID, name); err != nil {
		entry.Close()
		o.file.Close()
		return err
	}
	if deleteOnClose {
		entry.SetDeleteOnClose()
	}
	o.entry = entry
	o.tree = r.tree
	o.access = access
	o.isDir = fi.IsDir()
	o.writeThru = req.CreateOptions&wire.FileWriteThrough != 0
	orphan := !r.sess.addOpen(o)
	r.fileID = o.id

	resp := wire.CreateResponse{
		OplockLevel:  uint8(granted),
		CreateAction: uint32(action),
		FileID:       o.id,
	}
	if lr != nil {
		info, _ := entry.Lease()
		resp.OplockLevel = wire.OplockLevelLease
		resp.Contexts = append(resp.Contexts, lr.responseContext(info))
	}
	resp.Contexts = append(resp.Contexts, grantDurable(r, &req, o, dur, lr, granted)...)
	r.c.srv.durables.created(dur, o, uint32(action), lr)
	if orphan {
		// The session ended while the create waited (createWaitContext): nobody can get the
		// response, but a durable open is kept for the client's reconnect or replay.
		r.sess.keepOrClose(o)
		return wire.StatusUserSessionDeleted
	}
	fillCreateTimes(&resp, fi)
	for _, cc := range req.Contexts {
		switch cc.Name {
		case wire.CtxNameQueryMaximalAccess:
			var mx wire.MaximalAccessRequest
			if err := mx.Decode(cc.Data); err != nil {
				return closeAndFail(r, o, errInvalidParameter)
			}
			resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: cc.Name,
				Data: (&wire.MaximalAccessResponse{MaximalAccess: maximal}).Append(nil)})
		case wire.CtxNameQueryOnDiskID:
			st, _ := sh.FS.StatFS(r.ctx())
			resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: cc.Name,
				Data: (&wire.QueryOnDiskIDResponse{DiskFileID: fi.ID, VolumeID: uint64(st.SerialNumber)}).Append(nil)})
		}
		// Other contexts are not granted: per MS-SMB2 a server that does not grant them
		// simply returns no context for them.
	}
	r.resp = resp.Append(r.resp)
	return nil
}

// createWaitContext is what a create waits on while other opens' oplocks or leases break. A
// create in the replay cache (it carries a create GUID) belongs to its session, not to the
// connection it came on: a multichannel client whose channel fails replays it on another
// channel and must get STATUS_FILE_NOT_AVAILABLE while it still waits, then its result once it
// finished (MS-SMB2 3.3.5.9.10; smbtorture smb2.replay.dhv2-pending2*-sane). So its wait ends
// on CANCEL or when the session ends, not when the connection closes; the break timeout bounds
// it either way.
func createWaitContext(r *request, dur *durableContexts) context.Context {
	if dur == nil || dur.pending == nil || r.sess.ctx == nil {
		return r.cancellable()
	}
	return r.cancellableFrom(r.sess.ctx)
}

// undoCreate closes an open that failed before it was registered and, when this create made
// the object, removes it: a create that fails leaves nothing behind (a lease key already leasing
// another object, smbtorture smb2.lease.request). Only for failures that come before any other
// open can see the object's open state, or that no other open causes.
func undoCreate(r *request, o *open, action vfs.OpenAction, name string) {
	if action == vfs.Created {
		if err := o.file.Remove(); err != nil {
			r.c.log.Info("remove the object of a failed create", "name", name, "err", err)
		}
	}
	o.file.Close()
}

func closeAndFail(r *request, o *open, err error) error {
	r.sess.takeOpen(o.id.Volatile)
	o.close()
	return err
}

func fillCreateTimes(resp *wire.CreateResponse, fi vfs.FileInfo) {
	if fi.IsDir() {
		fi.Size, fi.Allocation = 0, 0
	}
	resp.CreationTime = wire.FiletimeFromTime(fi.CreationTime)
	resp.LastAccessTime = wire.FiletimeFromTime(fi.LastAccessTime)
	resp.LastWriteTime = wire.FiletimeFromTime(fi.LastWriteTime)
	resp.ChangeTime = wire.FiletimeFromTime(fi.ChangeTime)
	resp.AllocationSize = fi.Allocation
	resp.EndOfFile = fi.Size
	resp.FileAttributes = uint32(fi.Attributes)
}

// openObject opens or creates the object. Truncating dispositions (supersede, overwrite,
// overwrite-if) first open the existing object without truncating so the read-only attribute
// and share modes are checked before any data is destroyed.
//
// chk decides access: creating needs the parent's permission, and an existing object is checked
// before it is truncated (the open's access is then the rights granted).
func openObject(ctx context.Context, sh *shareState, name string, kind vfs.Kind, req *wire.CreateRequest, access uint32, chk *openAccess) (*open, vfs.OpenAction, error) {
	vreq := vfs.OpenRequest{
		Kind:            kind,
		Read:            access&(wire.FileReadData|wire.FileExecute) != 0,
		Write:           access&(wire.FileWriteData|wire.FileAppendData) != 0,
		Attributes:      vfs.Attr(req.FileAttributes) & vfs.AttrSettable,
		WriteThrough:    req.CreateOptions&wire.FileWriteThrough != 0,
		CaseInsensitive: !sh.CaseSensitive,
	}
	disp := vfs.Disposition(req.CreateDisposition)
	truncating := disp == vfs.Supersede || disp == vfs.Overwrite || disp == vfs.OverwriteIf
	if !truncating {
		vreq.Disposition = disp
		createDenied := false
		if disp == vfs.Create || disp == vfs.OpenIf {
			if err := chk.checkCreate(kind == vfs.DirectoryOnly); err != nil {
				if disp == vfs.Create || !errors.Is(err, wire.StatusAccessDenied) {
					return nil, 0, err
				}
				// The parent refuses new objects: open-if may still open an existing one.
				vreq.Disposition, createDenied = vfs.OpenExisting, true
			}
		}
		f, action, err := sh.FS.Open(ctx, name, vreq)
		if createDenied && errors.Is(err, vfs.ErrNotFound) {
			return nil, 0, wire.StatusAccessDenied
		}
		if err != nil {
			return nil, 0, err
		}
		return &open{file: f}, action, nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		vreq.Disposition = vfs.OpenExisting
		vreq.Write = true
		f, _, err := sh.FS.Open(ctx, name, vreq)
		switch {
		case err == nil:
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, 0, err
			}
			if fi.IsDir() {
				f.Close()
				return nil, 0, vfs.ErrIsDir
			}
			if fi.Attributes&(vfs.AttrReadOnly) != 0 {
				f.Close()
				return nil, 0, wire.StatusAccessDenied
			}
			// Hidden/system files can only be overwritten by a request that keeps those bits
			// (MS-FSA 2.1.5.1.2.1).
			keep := vfs.Attr(req.FileAttributes)
			if fi.Attributes&vfs.AttrHidden != 0 && keep&vfs.AttrHidden == 0 ||
				fi.Attributes&vfs.AttrSystem != 0 && keep&vfs.AttrSystem == 0 {
				f.Close()
				return nil, 0, wire.StatusAccessDenied
			}
			granted, _, err := chk.checkExisting(f, fi, wire.FileWriteData, false)
			if err != nil {
				f.Close()
				return nil, 0, err
			}
			if err := sh.opens.Check(openKey(fi.ID, name), vfs.Access(granted|wire.FileWriteData), vfs.ShareMode(req.ShareAccess&7)); err != nil {
				f.Close()
				return nil, 0, err
			}
			if err := f.Truncate(0); err != nil {
				f.Close()
				return nil, 0, err
			}
			attrs := (vfs.Attr(req.FileAttributes) & vfs.AttrSettable) | vfs.AttrArchive
			if err := f.SetInfo(vfs.SetInfo{Attributes: &attrs}); err != nil {
				f.Close()
				return nil, 0, err
			}
			action := vfs.Overwritten
			if disp == vfs.Supersede {
				action = vfs.Superseded
			}
			return &open{file: f, access: granted}, action, nil
		case errors.Is(err, vfs.ErrNotFound) && disp != vfs.Overwrite:
			if err := chk.checkCreate(false); err != nil {
				return nil, 0, err
			}
			vreq.Disposition = vfs.Create
			vreq.Write = access&(wire.FileWriteData|wire.FileAppendData) != 0
			f, action, err := sh.FS.Open(ctx, name, vreq)
			if errors.Is(err, vfs.ErrExists) {
				continue // lost a race with another creator: overwrite what is there now
			}
			if err != nil {
				return nil, 0, err
			}
			return &open{file: f}, action, nil
		default:
			return nil, 0, err
		}
	}
	return nil, 0, vfs.ErrInUse
}

// createPipe opens a named pipe on IPC$ (MS-SMB2 3.3.5.9: pipes are "files" on the IPC share).
func createPipe(r *request, req *wire.CreateRequest) error {
	name := strings.TrimPrefix(strings.ToLower(req.Name), `\pipe\`)
	p, err := r.c.srv.rpc.OpenPipe(name)
	if err != nil {
		return err
	}
	o := &open{pipe: p, tree: r.tree, access: wire.FileAllAccess &^ wire.Delete}
	o.id.Volatile = r.c.srv.nextHandle.Add(1)
	o.id.Persistent = o.id.Volatile
	if !r.sess.addOpen(o) {
		o.close()
		return wire.StatusUserSessionDeleted
	}
	r.fileID = o.id
	resp := wire.CreateResponse{CreateAction: wire.FileOpened, FileID: o.id, FileAttributes: wire.FileAttributeNormal}
	r.resp = resp.Append(r.resp)
	return nil
}

// handleClose implements MS-SMB2 3.3.5.10.
func handleClose(r *request) error {
	var req wire.CloseRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	resp := wire.CloseResponse{}
	if req.Flags&wire.CloseFlagPostQueryAttrib != 0 && o.file != nil {
		o.closeWriteTime() // the attributes returned are those after the close
		if fi, err := o.file.Stat(); err == nil {
			resp.Flags = wire.CloseFlagPostQueryAttrib
			resp.CreationTime = wire.FiletimeFromTime(fi.CreationTime)
			resp.LastAccessTime = wire.FiletimeFromTime(fi.LastAccessTime)
			resp.LastWriteTime = wire.FiletimeFromTime(fi.LastWriteTime)
			resp.ChangeTime = wire.FiletimeFromTime(fi.ChangeTime)
			resp.AllocationSize = fi.Allocation
			resp.EndOfFile = fi.Size
			resp.FileAttributes = uint32(fi.Attributes)
		}
	}
	r.sess.takeOpen(o.id.Volatile)
	if err := o.close(); err != nil {
		r.c.log.Info("close", "err", err)
	}
	r.resp = resp.Append(r.resp)
	return nil
}

// ctx is the context handlers pass to backends: it ends when the connection closes.
func (r *request) ctx() context.Context { return r.c.ctx }
