package acl

import (
	"errors"
	"fmt"
)

// ErrAccessDenied is returned when the token is not granted every right it asked for.
var ErrAccessDenied = errors.New("acl: access denied")

// Token is the caller's identity for an access check: the user, every group the user is in, and
// whether the user is a member of BUILTIN\Administrators.
//
// AccessCheck treats every token but an anonymous one as also holding Everyone (S-1-1-0), and an Admin token as
// holding BUILTIN\Administrators with the privileges Windows gives that group over the network:
// SeSecurityPrivilege (ACCESS_SYSTEM_SECURITY) and SeTakeOwnershipPrivilege (WRITE_OWNER).
// Authenticated Users and the user's domain groups are the caller's to add to Groups.
type Token struct {
	User   SID
	Groups []SID
	Admin  bool
	// Anonymous marks a null-session token. Like Windows since XP (EveryoneIncludesAnonymous
	// = 0), such a token does not hold Everyone; it is matched only by the SIDs it lists.
	Anonymous bool
	// PrimaryGroup becomes the group of objects the token creates and replaces CREATOR GROUP
	// on inheritance. Zero means "use User".
	PrimaryGroup SID
}

// Has reports whether the token holds sid as its user or one of its groups.
func (t Token) Has(sid SID) bool {
	if t.User.Equal(sid) || (!t.Anonymous && sid.Equal(WorldSID)) || (t.Admin && sid.Equal(AdministratorsSID)) {
		return true
	}
	for _, g := range t.Groups {
		if g.Equal(sid) {
			return true
		}
	}
	return false
}

func (t Token) primaryGroup() SID {
	if t.PrimaryGroup.IsZero() {
		return t.User
	}
	return t.PrimaryGroup
}

// validRights is every right a file ACE can grant once generic bits are mapped. MAXIMUM_ALLOWED
// and ACCESS_SYSTEM_SECURITY are never granted by an ACE.
const validRights = FileAllAccess

// AccessCheck runs the MS-DTYP 2.5.3.2 algorithm for a file or directory and returns the rights
// granted. With MAXIMUM_ALLOWED in desired, granted is every right the descriptor allows (and the
// other desired bits must be among them); otherwise granted is exactly desired with generic bits
// mapped. A nil descriptor or a nil DACL grants everything.
//
// Rules, in the order the algorithm applies them:
//   - Privileges first: an Admin token is granted WRITE_OWNER and ACCESS_SYSTEM_SECURITY when
//     it asks for them; anyone else asking for ACCESS_SYSTEM_SECURITY is denied.
//   - The owner is implicitly granted READ_CONTROL and WRITE_DAC unless the DACL has an ACE for
//     OWNER RIGHTS (S-1-3-4), in which case those ACEs decide the owner's rights.
//   - ACEs are visited in order; inherit-only ACEs and ACEs for SIDs the token lacks are skipped.
//     An allow ACE grants its rights not yet decided; a deny ACE denies its rights not yet
//     granted. So a deny only beats an allow that comes after it, as on Windows; canonical
//     order (explicit deny first) is the writer's job.
//   - Generic bits in ACE masks are mapped with GenericMapping before use. Callback (conditional)
//     ACEs, object ACEs and audit/alarm/label ACEs are not evaluated.
//
// Share permissions are a separate descriptor: check both and grant the intersection.
// MS-FSA's implicit rights from the parent directory are added by OpenAccessCheck.
func AccessCheck(sd *SecurityDescriptor, tok Token, desired uint32) (uint32, error) {
	return decide(sd, tok, desired, 0)
}

// OpenAccessCheck is AccessCheck plus the rights MS-FSA 2.1.5.1.2.1 lets the parent directory
// grant on open: DELETE when the parent grants FILE_DELETE_CHILD, and FILE_READ_ATTRIBUTES when
// it grants FILE_LIST_DIRECTORY, even if the file's own DACL denies them. parent is the
// descriptor of the directory holding the file, or nil for a share root (no such rights).
// This is also how Samba computes the maximal access it returns in the MxAc create context.
func OpenAccessCheck(sd, parent *SecurityDescriptor, tok Token, desired uint32) (uint32, error) {
	var implied uint32
	if parent != nil {
		if p, err := decide(parent, tok, MaximumAllowed, 0); err == nil {
			if p&FileDeleteChild != 0 {
				implied |= Delete
			}
			if p&FileReadData != 0 {
				implied |= FileReadAttributes
			}
		}
	}
	return decide(sd, tok, desired, implied)
}

func decide(sd *SecurityDescriptor, tok Token, desired, implied uint32) (uint32, error) {
	wantMax := desired&MaximumAllowed != 0
	want := GenericMapping(desired &^ MaximumAllowed)

	granted := implied
	var denied uint32
	// Privilege-based rights (MS-DTYP 2.5.3.2, the SeSecurityPrivilege and
	// SeTakeOwnershipPrivilege steps) are decided before the DACL is read.
	if want&AccessSystemSecurity != 0 && !tok.Admin {
		return 0, fmt.Errorf("ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege: %w", ErrAccessDenied)
	}
	if tok.Admin {
		granted |= WriteOwner
		if want&AccessSystemSecurity != 0 {
			granted |= AccessSystemSecurity
		}
	}

	if sd == nil || sd.DACL == nil {
		// Null DACL: no protection at all.
		granted |= validRights
	} else {
		isOwner := sd.Owner != nil && tok.Has(*sd.Owner)
		if isOwner && !hasOwnerRightsACE(sd.DACL) {
			granted |= ReadControl | WriteDAC
		}
		for i := range sd.DACL.ACEs {
			a := &sd.DACL.ACEs[i]
			if a.Flags&InheritOnlyACE != 0 {
				continue
			}
			if a.Type != AccessAllowedACEType && a.Type != AccessDeniedACEType {
				continue
			}
			match := tok.Has(a.SID) || (isOwner && a.SID.Equal(OwnerRightsSID))
			if !match {
				continue
			}
			m := GenericMapping(a.Mask) & validRights
			if a.Type == AccessAllowedACEType {
				granted |= m &^ denied
			} else {
				denied |= m &^ granted
			}
		}
	}

	if missing := want &^ granted; missing != 0 {
		return 0, fmt.Errorf("rights %#08x of %#08x not granted: %w", missing, want, ErrAccessDenied)
	}
	if wantMax {
		if granted == 0 {
			return 0, fmt.Errorf("MAXIMUM_ALLOWED with no right granted: %w", ErrAccessDenied)
		}
		return granted, nil
	}
	return want, nil
}

func hasOwnerRightsACE(l *ACL) bool {
	for i := range l.ACEs {
		a := &l.ACEs[i]
		if a.Flags&InheritOnlyACE == 0 && (a.Type == AccessAllowedACEType || a.Type == AccessDeniedACEType) && a.SID.Equal(OwnerRightsSID) {
			return true
		}
	}
	return false
}

// MaySetOwner reports whether tok may make owner the owner of an object: its own user or one
// of the SIDs it holds, Everyone included, or anything for an Admin, whose SeRestorePrivilege
// allows any owner (MS-DTYP 2.5.3.4.1 owner validation; others get STATUS_INVALID_OWNER).
// Everyone is allowed as Samba 4.17 allows it: smbtorture's smb2.acls SDFLAGSVSCHOWN and
// smb2.create aclfile set it as an ordinary user (Windows, where they pass, runs them as an
// administrator). It only lets the caller give away rights it already has.
func (t Token) MaySetOwner(owner SID) bool {
	return t.Admin || t.Has(owner)
}

// QueryAccess is the access a handle needs to read the parts of a descriptor info names
// (MS-SMB2 3.3.5.20.3): READ_CONTROL for owner, group, DACL, label, attribute and scope, and
// ACCESS_SYSTEM_SECURITY for the SACL.
func QueryAccess(info uint32) uint32 {
	info = expandInfo(info)
	var need uint32
	if info&(OwnerSecurityInformation|GroupSecurityInformation|DACLSecurityInformation|
		LabelSecurityInformation|AttributeSecurityInformation|ScopeSecurityInformation) != 0 {
		need |= ReadControl
	}
	if info&SACLSecurityInformation != 0 {
		need |= AccessSystemSecurity
	}
	return need
}

// SetAccess is the access a handle needs to change the parts info names (MS-SMB2 3.3.5.21.3):
// WRITE_OWNER for owner, group and label, WRITE_DAC for the DACL and for resource attributes,
// ACCESS_SYSTEM_SECURITY for the SACL and scoped policy.
func SetAccess(info uint32) uint32 {
	info = expandInfo(info)
	var need uint32
	if info&(OwnerSecurityInformation|GroupSecurityInformation|LabelSecurityInformation) != 0 {
		need |= WriteOwner
	}
	if info&(DACLSecurityInformation|AttributeSecurityInformation) != 0 {
		need |= WriteDAC
	}
	if info&(SACLSecurityInformation|ScopeSecurityInformation) != 0 {
		need |= AccessSystemSecurity
	}
	return need
}
