package acl

// AdditionalInformation bits of SMB2 QUERY_INFO / SET_INFO for SMB2_0_INFO_SECURITY
// (MS-SMB2 2.2.37 and 2.2.39).
const (
	OwnerSecurityInformation     uint32 = 0x00000001
	GroupSecurityInformation     uint32 = 0x00000002
	DACLSecurityInformation      uint32 = 0x00000004
	SACLSecurityInformation      uint32 = 0x00000008
	LabelSecurityInformation     uint32 = 0x00000010
	AttributeSecurityInformation uint32 = 0x00000020
	ScopeSecurityInformation     uint32 = 0x00000040
	BackupSecurityInformation    uint32 = 0x00010000
)

// expandInfo turns BACKUP_SECURITY_INFORMATION into the parts it stands for (MS-SMB2 2.2.37:
// "the security descriptor ... owner, group, DACL, SACL, label, attribute and scope").
func expandInfo(info uint32) uint32 {
	if info&BackupSecurityInformation != 0 {
		info |= OwnerSecurityInformation | GroupSecurityInformation | DACLSecurityInformation |
			SACLSecurityInformation | LabelSecurityInformation | AttributeSecurityInformation | ScopeSecurityInformation
	}
	return info
}

// saclPartType maps the SACL-resident ACE types that have their own information bit.
func saclPartBit(t uint8) uint32 {
	switch t {
	case SystemMandatoryLabelACEType:
		return LabelSecurityInformation
	case SystemResourceAttributeType:
		return AttributeSecurityInformation
	case SystemScopedPolicyIDType:
		return ScopeSecurityInformation
	}
	return SACLSecurityInformation
}

// Select returns a descriptor with only the parts info asks for, which is what QUERY_INFO
// returns (MS-SMB2 3.3.5.20.3). Control keeps SE_SELF_RELATIVE and only the bits that describe
// the selected parts. With SACL_SECURITY_INFORMATION the whole SACL is returned; with only
// LABEL/ATTRIBUTE/SCOPE bits, a SACL holding just those ACEs (mandatory label, resource
// attribute, scoped policy) is returned when there are any.
func (sd *SecurityDescriptor) Select(info uint32) *SecurityDescriptor {
	info = expandInfo(info)
	out := &SecurityDescriptor{Control: SelfRelative}
	if sd == nil {
		return out
	}
	c := sd.Clone()
	if info&OwnerSecurityInformation != 0 && c.Owner != nil {
		out.Owner = c.Owner
		out.Control |= c.Control & OwnerDefaulted
	}
	if info&GroupSecurityInformation != 0 && c.Group != nil {
		out.Group = c.Group
		out.Control |= c.Control & GroupDefaulted
	}
	if info&DACLSecurityInformation != 0 {
		out.DACL = c.DACL
		out.Control |= c.Control & daclControl
	}
	switch {
	case info&SACLSecurityInformation != 0:
		out.SACL = c.SACL
		out.Control |= c.Control & saclControl
	case info&(LabelSecurityInformation|AttributeSecurityInformation|ScopeSecurityInformation) != 0 && c.SACL != nil:
		var kept []ACE
		for _, a := range c.SACL.ACEs {
			if b := saclPartBit(a.Type); b != SACLSecurityInformation && info&b != 0 {
				kept = append(kept, a)
			}
		}
		if kept != nil {
			out.SACL = &ACL{Revision: c.SACL.Revision, ACEs: kept}
			out.Control |= SACLPresent
		}
	}
	return out
}

// Merge applies a SET_INFO security request: the parts of upd that info names replace those of
// cur, everything else of cur is kept (MS-SMB2 3.3.5.21.3). cur may be nil (no stored descriptor).
//
//   - An owner or group named in info but absent from upd leaves cur's in place; callers that
//     must reject that (STATUS_INVALID_OWNER) check upd.Owner themselves.
//   - DACL: upd's DACL replaces cur's, a nil one included (a null DACL is a legal request, and
//     one without SE_DACL_PRESENT is stored as a present null DACL), and
//     upd's DACL control bits (protected, defaulted) come with it. SE_DACL_AUTO_INHERITED is
//     kept only when SE_DACL_AUTO_INHERIT_REQ came with it, as Windows does; the request bits
//     (DC/SC) themselves are never stored.
//   - Generic bits in ACEs that take effect on the object (not inherit-only) are mapped to file
//     rights, as Windows does: smbtorture's smb2.acls GENERIC sets GENERIC_READ and expects
//     FILE_GENERIC_READ back. Inherit-only ACEs keep theirs for the children's inheritance to
//     map (Samba 4.17 maps those too).
//   - LABEL/ATTRIBUTE/SCOPE without SACL replace only the ACEs of those kinds in cur's SACL.
func Merge(cur *SecurityDescriptor, upd *SecurityDescriptor, info uint32) *SecurityDescriptor {
	info = expandInfo(info)
	out := cur.Clone()
	if out == nil {
		out = &SecurityDescriptor{}
	}
	out.Control |= SelfRelative
	if upd == nil {
		upd = &SecurityDescriptor{}
	}
	u := upd.Clone()
	if info&OwnerSecurityInformation != 0 && u.Owner != nil {
		out.Owner = u.Owner
		out.Control = out.Control&^OwnerDefaulted | u.Control&OwnerDefaulted
	}
	if info&GroupSecurityInformation != 0 && u.Group != nil {
		out.Group = u.Group
		out.Control = out.Control&^GroupDefaulted | u.Control&GroupDefaulted
	}
	if info&DACLSecurityInformation != 0 {
		out.DACL = mapEffectiveGenerics(u.DACL)
		ctl := u.Control & daclControl
		// Windows keeps SE_DACL_AUTO_INHERITED only when the request also carries
		// SE_DACL_AUTO_INHERIT_REQ, and never stores the request bit (smbtorture
		// smb2.acls_non_canonical; Samba's "acl flag inherited canonicalization").
		if ctl&(DACLAutoInherited|DACLComputedInheritRq) != DACLAutoInherited|DACLComputedInheritRq {
			ctl &^= DACLAutoInherited
		}
		// A DACL set without SE_DACL_PRESENT is a null DACL: Windows stores and returns it as
		// present and null (smbtorture smb2.create.nulldacl, "set empty sd").
		out.Control = out.Control&^daclControl | ctl&^DACLComputedInheritRq | DACLPresent
	}
	switch {
	case info&SACLSecurityInformation != 0:
		out.SACL = mapEffectiveGenerics(u.SACL)
		out.Control = out.Control&^saclControl | u.Control&saclControl&^SACLComputedInheritRq
		if u.SACL != nil {
			out.Control |= SACLPresent
		}
	case info&(LabelSecurityInformation|AttributeSecurityInformation|ScopeSecurityInformation) != 0:
		var aces []ACE
		rev := ACLRevision
		if out.SACL != nil {
			rev = out.SACL.Revision
			for _, a := range out.SACL.ACEs {
				if b := saclPartBit(a.Type); b == SACLSecurityInformation || info&b == 0 {
					aces = append(aces, a)
				}
			}
		}
		if u.SACL != nil {
			for _, a := range u.SACL.ACEs {
				if b := saclPartBit(a.Type); b != SACLSecurityInformation && info&b != 0 {
					aces = append(aces, a)
				}
			}
		}
		if out.SACL != nil || aces != nil {
			out.SACL = &ACL{Revision: rev, ACEs: aces}
			out.Control |= SACLPresent
		}
	}
	return out
}

// mapEffectiveGenerics maps the generic bits of the ACEs that apply to the object itself; l is
// already a private copy.
func mapEffectiveGenerics(l *ACL) *ACL {
	if l == nil {
		return nil
	}
	for i := range l.ACEs {
		a := &l.ACEs[i]
		if a.Flags&InheritOnlyACE == 0 && (hasMaskAndSID(a.Type) || isObjectACE(a.Type)) {
			a.Mask = GenericMapping(a.Mask)
		}
	}
	return l
}
