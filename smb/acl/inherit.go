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
//   - when the parent's DACL (SACL) is auto-inherited (SE_DACL_AUTO_INHERITED), every inherited
//     ACE carries INHERITED_ACE and the child's DACL is marked auto-inherited too; otherwise the
//     copies are unmarked. That is the DACL_AUTO_INHERIT condition of MS-DTYP 2.5.3.4.2 as
//     Windows applies it: smbtorture's smb2.acls INHERITANCE expects flags 0 on the children of
//     a parent whose DACL was set without SE_DACL_AUTO_INHERITED, and Samba stores the same.
//
// When nothing is inherited (no parent, a null parent DACL or no inheritable ACEs) the DACL is
// the token default Windows uses: the owner and SYSTEM with full access.
func Inherit(parent *SecurityDescriptor, tok Token, isDir bool) *SecurityDescriptor {
	return inheritFor(parent, tok.User.clone(), tok.primaryGroup().clone(), isDir)
}

func inheritFor(parent *SecurityDescriptor, owner, group SID, isDir bool) *SecurityDescriptor {
	sd := &SecurityDescriptor{Control: SelfRelative | DACLPresent, Owner: &owner, Group: &group}

	var pd, ps *ACL
	var pctl uint16
	if parent != nil {
		pd, ps, pctl = parent.DACL, parent.SACL, parent.Control
	}
	if aces := inheritACEs(pd, owner, group, isDir, pctl&DACLAutoInherited != 0); len(aces) > 0 {
		sd.DACL = &ACL{Revision: revisionFor(aces), ACEs: aces}
		sd.Control |= pctl & DACLAutoInherited
	} else {
		sd.DACL = &ACL{Revision: ACLRevision, ACEs: []ACE{
			{Type: AccessAllowedACEType, Mask: FileAllAccess, SID: owner.clone()},
			{Type: AccessAllowedACEType, Mask: FileAllAccess, SID: SystemSID.clone()},
		}}
	}
	if aces := inheritACEs(ps, owner, group, isDir, pctl&SACLAutoInherited != 0); len(aces) > 0 {
		sd.SACL = &ACL{Revision: revisionFor(aces), ACEs: aces}
		sd.Control |= SACLPresent | pctl&SACLAutoInherited
	}
	return sd
}

func inheritACEs(l *ACL, owner, group SID, isDir, markInherited bool) []ACE {
	if l == nil {
		return nil
	}
	var id uint8
	if markInherited {
		id = InheritedACE
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
			eff.Flags = keep | id
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
			eff.Flags = keep | id | a.Flags&(ObjectInheritACE|ContainerInheritACE)
			out = append(out, eff)
		default:
			if effective {
				out = append(out, eff)
			}
			if propagate {
				inh := a
				inh.SID = a.SID.clone()
				inh.Opaque = cloneBytes(a.Opaque)
				inh.Flags = keep | id | InheritOnlyACE | a.Flags&(ObjectInheritACE|ContainerInheritACE)
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
// protected (a share root has no parent to inherit from) and auto-inherited, so what is created
// below carries INHERITED_ACE and Explorer shows the permissions as inherited from the root.
func DefaultRoot(owner SID) *SecurityDescriptor {
	o := owner.clone()
	g := AdministratorsSID.clone()
	oici := ObjectInheritACE | ContainerInheritACE
	return &SecurityDescriptor{
		Control: SelfRelative | DACLPresent | DACLProtected | DACLAutoInherited,
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

// CreateDescriptor builds the descriptor of a new object whose creator supplied one (the SMB2
// CREATE "SecD" context, MS-SMB2 2.2.13.2.1). With creator nil it is Inherit.
//
//   - Owner and group are the creator's when given, the token's otherwise. Whether the token
//     may use that owner is the caller's check (Token.MaySetOwner).
//   - A DACL the creator gives (DACLPresent) is stored as given, as SET_INFO would store it:
//     generic bits of the ACEs that take effect on the object are mapped, the request bits
//     (SE_DACL_AUTO_INHERIT_REQ) are dropped, the creator's protected and auto-inherited bits
//     are kept, and nothing from the parent is merged in. That is what Samba 4.17 does and
//     what smbtorture's smb2.create aclfile/acldir expect: the descriptor read back equals
//     the one sent, ACEs the client marked inherited included. A null creator DACL stays
//     null. Without a creator DACL the DACL is Inherit's (with the creator's owner for
//     CREATOR OWNER).
//   - The SACL follows the same rules with the SACL flags.
func CreateDescriptor(parent, creator *SecurityDescriptor, tok Token, isDir bool) *SecurityDescriptor {
	if creator == nil {
		return Inherit(parent, tok, isDir)
	}
	owner, group := tok.User, tok.primaryGroup()
	if creator.Owner != nil {
		owner = *creator.Owner
	}
	if creator.Group != nil {
		group = *creator.Group
	}
	// CREATOR OWNER in inherited ACEs means the object's owner, so the creator's owner counts.
	sd := inheritFor(parent, owner.clone(), group.clone(), isDir)
	if creator.Control&DACLPresent != 0 || creator.DACL != nil {
		sd.DACL = mapEffectiveGenerics(creator.DACL.clone())
		sd.Control = sd.Control&^daclControl | creator.Control&daclControl&^DACLComputedInheritRq | DACLPresent
	}
	if creator.Control&SACLPresent != 0 || creator.SACL != nil {
		sd.SACL = mapEffectiveGenerics(creator.SACL.clone())
		sd.Control = sd.Control&^saclControl | creator.Control&saclControl&^SACLComputedInheritRq | SACLPresent
	}
	return sd
}
