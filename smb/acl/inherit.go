package acl

// Inherit builds the descriptor of a new file (isDir false) or directory created by tok under a
// directory whose descriptor is parent: MS-DTYP 2.5.3.4.1 CreateSecurityDescriptor with no
// creator descriptor, i.e. what a CREATE without an SD create context gets.
//
// Owner is the token's user and group its primary group. The DACL and SACL come from the
// parent's inheritable ACEs (ComputeInheritedACLFromParent, MS-DTYP 2.5.3.4.2):
//   - a file takes the object-inherit (OI) ACEs as effective ACEs;
//   - a directory takes container-inherit (CI) ACEs as effective ACEs, and keeps OI and CI ACEs
//     inheritable for its own children unless NO_PROPAGATE (NP) is set; an OI-only ACE reaches a
//     directory only as inherit-only, to pass on to files;
//   - effective copies have CREATOR OWNER / CREATOR GROUP replaced by the owner and group and
//     generic bits mapped; when that changes the ACE, the inheritable copy is kept separately as
//     inherit-only with the original SID and mask (that is why Windows shows both
//     "(A;;FA;;;<user>)" and "(A;OICIIO;GA;;;CO)");
//   - every inherited ACE carries INHERITED_ACE.
//
// When nothing is inherited (no parent, a null parent DACL or no inheritable ACEs) the DACL is
// the token default Windows uses: the owner and SYSTEM with full access.
func Inherit(parent *SecurityDescriptor, tok Token, isDir bool) *SecurityDescriptor {
	owner := tok.User.clone()
	group := tok.primaryGroup().clone()
	sd := &SecurityDescriptor{Control: SelfRelative | DACLPresent, Owner: &owner, Group: &group}

	var pd, ps *ACL
	if parent != nil {
		pd, ps = parent.DACL, parent.SACL
	}
	if aces := inheritACEs(pd, owner, group, isDir); len(aces) > 0 {
		sd.DACL = &ACL{Revision: revisionFor(aces), ACEs: aces}
		sd.Control |= DACLAutoInherited
	} else {
		sd.DACL = &ACL{Revision: ACLRevision, ACEs: []ACE{
			{Type: AccessAllowedACEType, Mask: FileAllAccess, SID: owner.clone()},
			{Type: AccessAllowedACEType, Mask: FileAllAccess, SID: SystemSID.clone()},
		}}
	}
	if aces := inheritACEs(ps, owner, group, isDir); len(aces) > 0 {
		sd.SACL = &ACL{Revision: revisionFor(aces), ACEs: aces}
		sd.Control |= SACLPresent | SACLAutoInherited
	}
	return sd
}

func inheritACEs(l *ACL, owner, group SID, isDir bool) []ACE {
	if l == nil {
		return nil
	}
	var out []ACE
	for _, a := range l.ACEs {
		oi := a.Flags&ObjectInheritACE != 0
		ci := a.Flags&ContainerInheritACE != 0
		np := a.Flags&NoPropagateInherit != 0
		// Keep the non-inheritance flags (audit success/failure) on every copy.
		keep := a.Flags &^ (inheritanceFlags | InheritedACE)

		effective := (isDir && ci) || (!isDir && oi)
		propagate := isDir && (oi || ci) && !np

		var eff ACE
		if effective {
			eff = a
			eff.SID = a.SID.clone()
			eff.Opaque = cloneBytes(a.Opaque)
			eff.Flags = keep | InheritedACE
			if hasMaskAndSID(a.Type) {
				switch {
				case a.SID.Equal(CreatorOwnerSID):
					eff.SID = owner.clone()
				case a.SID.Equal(CreatorGroupSID):
					eff.SID = group.clone()
				}
			}
			if hasMaskAndSID(a.Type) || isObjectACE(a.Type) {
				eff.Mask = GenericMapping(a.Mask)
			}
		}
		switch {
		case effective && propagate && eff.SID.Equal(a.SID) && eff.Mask == a.Mask:
			// One ACE serves both purposes: effective here and inherited further down.
			eff.Flags = keep | InheritedACE | a.Flags&(ObjectInheritACE|ContainerInheritACE)
			out = append(out, eff)
		default:
			if effective {
				out = append(out, eff)
			}
			if propagate {
				inh := a
				inh.SID = a.SID.clone()
				inh.Opaque = cloneBytes(a.Opaque)
				inh.Flags = keep | InheritedACE | InheritOnlyACE | a.Flags&(ObjectInheritACE|ContainerInheritACE)
				out = append(out, inh)
			}
		}
	}
	return out
}

// revisionFor is the revision a new ACL needs: 4 (ACL_REVISION_DS) only when it holds object ACEs
// (MS-DTYP 2.4.5), which is also what Samba writes for inherited ACLs.
func revisionFor(aces []ACE) uint8 {
	for i := range aces {
		if isObjectACE(aces[i].Type) {
			return ACLRevisionDS
		}
	}
	return ACLRevision
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// DefaultRoot is the descriptor a share root gets when it has none stored: the owner, SYSTEM and
// BUILTIN\Administrators with full control, Authenticated Users with Modify, and CREATOR OWNER
// full control on what users create, all inheritable by files and directories. The DACL is
// protected: a share root has no parent to inherit from.
func DefaultRoot(owner SID) *SecurityDescriptor {
	o := owner.clone()
	g := AdministratorsSID.clone()
	oici := ObjectInheritACE | ContainerInheritACE
	return &SecurityDescriptor{
		Control: SelfRelative | DACLPresent | DACLProtected,
		Owner:   &o,
		Group:   &g,
		DACL: &ACL{Revision: ACLRevision, ACEs: []ACE{
			{Type: AccessAllowedACEType, Flags: oici, Mask: FileAllAccess, SID: owner.clone()},
			{Type: AccessAllowedACEType, Flags: oici, Mask: FileAllAccess, SID: SystemSID.clone()},
			{Type: AccessAllowedACEType, Flags: oici, Mask: FileAllAccess, SID: AdministratorsSID.clone()},
			{Type: AccessAllowedACEType, Flags: oici, Mask: FileModify, SID: AuthenticatedUsersSID.clone()},
			{Type: AccessAllowedACEType, Flags: oici | InheritOnlyACE, Mask: GenericAll, SID: CreatorOwnerSID.clone()},
		}},
	}
}
