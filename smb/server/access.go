package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sofs-dev/sofs/smb/acl"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// Access checks on open (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1.2.1 and 2.1.5.1.1): the rights an open
// gets are what the object's DACL grants the session's token (with the rights its parent
// directory implies: DELETE from FILE_DELETE_CHILD, FILE_READ_ATTRIBUTES from
// FILE_LIST_DIRECTORY), intersected with the share's permissions (the tree's maximal access).
// Creating an object needs FILE_ADD_FILE or FILE_ADD_SUBDIRECTORY on the parent, and the new
// object stores the descriptor it inherits from the parent (or the one the client supplied in a
// SecD create context, MS-SMB2 2.2.13.2.1), so the descriptor is checked from then on.
//
// Objects of a backend that does not store descriptors (no vfs.Securable) are checked against
// the share's permissions only.

// openAccess decides one CREATE's access. The parent's descriptor is loaded only when needed:
// for a create, for MAXIMUM_ALLOWED and MxAc, and when the object's own DACL refuses.
type openAccess struct {
	r        *request
	name     string // the object's path in the share ("" is the root)
	tok      acl.Token
	desired  uint32 // DesiredAccess as the client sent it
	shareMax uint32 // the share's permissions for this tree

	parentDone bool
	parent     *acl.SecurityDescriptor // the parent's effective descriptor; nil at the root or when not stored
}

func newOpenAccess(r *request, name string, desired uint32) *openAccess {
	return &openAccess{r: r, name: name, tok: r.sess.token(), desired: desired, shareMax: r.tree.maximalAccess}
}

// parentName is the path of the directory holding name, and false for the share root.
func parentName(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	base, _, _ := strings.Cut(name, ":") // a stream's parent is its file's parent
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		return base[:i], true
	}
	return "", true
}

// openDir opens a directory of the tree's share only to look at it (no data access).
func openDir(r *request, name string) (vfs.File, error) {
	sh := r.tree.share
	f, _, err := sh.FS.Open(r.ctx(), name, vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.DirectoryOnly, CaseInsensitive: !sh.CaseSensitive})
	return f, err
}

// parentDescriptor returns the effective descriptor of the parent directory, or nil when the
// object is the share root or the backend stores no descriptors.
func (a *openAccess) parentDescriptor() (*acl.SecurityDescriptor, error) {
	if a.parentDone {
		return a.parent, nil
	}
	pname, ok := parentName(a.name)
	if !ok {
		a.parentDone = true
		return nil, nil
	}
	f, err := openDir(a.r, pname)
	if err != nil {
		if errors.Is(err, vfs.ErrNotFound) || errors.Is(err, vfs.ErrNotDir) {
			return nil, fmt.Errorf("open parent %q: %w", pname, vfs.ErrPathNotFound)
		}
		return nil, fmt.Errorf("open parent %q: %w", pname, err)
	}
	defer f.Close()
	sd, err := effectiveDescriptor(a.tok, f, true, nil)
	if err != nil {
		return nil, fmt.Errorf("descriptor of parent %q: %w", pname, err)
	}
	a.parent, a.parentDone = sd, true
	return sd, nil
}

// effectiveDescriptor is the descriptor an access check uses: the stored one, or for an object
// that never had one what it would have inherited (from parent when known, else from the
// default share root descriptor). It is nil when the backend stores no descriptors.
func effectiveDescriptor(tok acl.Token, f vfs.File, isDir bool, parent *acl.SecurityDescriptor) (*acl.SecurityDescriptor, error) {
	sec, ok := f.(vfs.Securable)
	if !ok {
		return nil, nil
	}
	raw, err := sec.SecurityDescriptor()
	switch {
	case err == nil:
		sd, derr := acl.Decode(raw)
		if derr != nil {
			// A stored descriptor we cannot read: refuse, never invent one.
			return nil, fmt.Errorf("stored security descriptor of %q: %v: %w", f.Name(), derr, wire.StatusInternalError)
		}
		return sd, nil
	case errors.Is(err, vfs.ErrNotFound):
		root := acl.DefaultRoot(tok.User)
		if f.Name() == "" {
			return root, nil
		}
		if parent == nil {
			parent = root
		}
		return acl.Inherit(parent, tok, isDir), nil
	default:
		return nil, err
	}
}

// checkExisting decides the access to an existing object f (MS-FSA 2.1.5.1.2.1) and returns the
// rights granted and, when needMaximal, the maximal access (for MxAc), both within the share's
// permissions. extra is access the disposition needs beyond what was asked (FILE_WRITE_DATA to
// overwrite); it is checked but not granted unless asked for.
func (a *openAccess) checkExisting(f vfs.File, fi vfs.FileInfo, extra uint32, needMaximal bool) (granted, maximal uint32, err error) {
	want := acl.GenericMapping(a.desired &^ wire.MaximumAllowed)
	sd, err := effectiveDescriptor(a.tok, f, fi.IsDir(), nil)
	if err != nil {
		return 0, 0, err
	}
	if sd == nil { // nothing stored: the share's permissions decide
		maximal = a.clip(a.shareMax, fi)
		if (want|extra)&^a.shareMax != 0 {
			return 0, maximal, wire.StatusAccessDenied
		}
		if a.desired&wire.MaximumAllowed != 0 {
			want |= maximal
		}
		return want, maximal, nil
	}
	maxAllowed := a.desired&wire.MaximumAllowed != 0
	if !maxAllowed && !needMaximal && (want|extra)&^a.shareMax == 0 {
		// The common case: the object's own DACL grants what was asked; no parent needed.
		if _, err := acl.AccessCheck(sd, a.tok, want|extra); err == nil {
			return want, 0, nil
		}
	}
	parent, err := a.parentDescriptor()
	if err != nil {
		return 0, 0, err
	}
	maximal, err = acl.OpenAccessCheck(sd, parent, a.tok, wire.MaximumAllowed)
	if err != nil {
		maximal = 0 // nothing granted at all
	}
	maximal = a.clip(maximal, fi)
	if (want|extra)&^(maximal|wire.AccessSystemSecurity) != 0 {
		return 0, maximal, wire.StatusAccessDenied
	}
	if want&wire.AccessSystemSecurity != 0 {
		if _, err := acl.OpenAccessCheck(sd, parent, a.tok, wire.AccessSystemSecurity); err != nil {
			return 0, maximal, wire.StatusPrivilegeNotHeld
		}
	}
	if maxAllowed {
		want |= maximal
	}
	return want, maximal, nil
}

// clip limits rights to the share's permissions and, for a read-only file, removes the data
// writes MS-FSA 2.1.5.1.2.1 never grants with MAXIMUM_ALLOWED.
func (a *openAccess) clip(m uint32, fi vfs.FileInfo) uint32 {
	m &= a.shareMax
	if fi.Attributes&vfs.AttrReadOnly != 0 && !fi.IsDir() {
		m &^= wire.FileWriteData | wire.FileAppendData | wire.FileDeleteChild
	}
	return m
}

// checkCreate decides whether the token may create the object in its parent (MS-FSA 2.1.5.1.1:
// FILE_ADD_SUBDIRECTORY for a directory, FILE_ADD_FILE for anything else).
func (a *openAccess) checkCreate(isDir bool) error {
	parent, err := a.parentDescriptor()
	if err != nil || parent == nil {
		return err
	}
	need := wire.FileWriteData // FILE_ADD_FILE
	if isDir {
		need = wire.FileAppendData // FILE_ADD_SUBDIRECTORY
	}
	if _, err := acl.AccessCheck(parent, a.tok, need); err != nil {
		return wire.StatusAccessDenied
	}
	return nil
}

// initialDescriptor is the descriptor a new object stores: inherited from its parent, merged
// with the SecD create context's when the client sent one (MS-DTYP 2.5.3.4.1).
func (a *openAccess) initialDescriptor(creator *acl.SecurityDescriptor, isDir bool) (*acl.SecurityDescriptor, error) {
	parent, err := a.parentDescriptor()
	if err != nil {
		return nil, err
	}
	if parent == nil {
		parent = acl.DefaultRoot(a.tok.User)
	}
	if creator != nil && creator.Owner != nil && !a.tok.MaySetOwner(*creator.Owner) {
		return nil, wire.StatusInvalidOwner
	}
	return acl.CreateDescriptor(parent, creator, a.tok, isDir), nil
}

// storeInitial stores a new object's descriptor, when its backend keeps them, and returns the
// object's maximal access under it (for MxAc).
func (a *openAccess) storeInitial(f vfs.File, creator *acl.SecurityDescriptor, fi vfs.FileInfo) (maximal uint32, err error) {
	sec, ok := f.(vfs.Securable)
	if !ok {
		return a.clip(a.shareMax, fi), nil
	}
	var sd *acl.SecurityDescriptor
	if strings.Contains(a.name, ":") && hasDescriptor(sec) {
		// A new stream of a file that has a descriptor shares it: keep it.
		if sd, err = effectiveDescriptor(a.tok, f, false, nil); err != nil {
			return 0, err
		}
		if _, err := a.parentDescriptor(); err != nil {
			return 0, err
		}
	} else {
		if sd, err = a.initialDescriptor(creator, fi.IsDir()); err != nil {
			return 0, err
		}
		if err := a.store(sec, sd, f.Name()); err != nil {
			return 0, err
		}
	}
	maximal, err = acl.OpenAccessCheck(sd, a.parent, a.tok, wire.MaximumAllowed)
	if err != nil {
		maximal = 0
	}
	return a.clip(maximal, fi), nil
}

func hasDescriptor(sec vfs.Securable) bool {
	_, err := sec.SecurityDescriptor()
	return err == nil
}

// store writes a new object's descriptor; a backend instance that keeps none (localfs without
// xattrs) is not an error.
func (a *openAccess) store(sec vfs.Securable, sd *acl.SecurityDescriptor, name string) error {
	if err := sec.SetSecurityDescriptor(sd.Encode()); err != nil && !errors.Is(err, vfs.ErrNotSupported) {
		return fmt.Errorf("store descriptor of new %q: %w", name, err)
	}
	return nil
}

// secdContext decodes the SecD create context, or nil when the request has none.
func secdContext(req *wire.CreateRequest) (*acl.SecurityDescriptor, error) {
	cc, ok := wire.FindCreateContext(req.Contexts, wire.CtxNameSecurityDescriptor)
	if !ok {
		return nil, nil
	}
	sd, err := acl.Decode(cc.Data)
	if err != nil {
		return nil, errInvalidParameter
	}
	return sd, nil
}
