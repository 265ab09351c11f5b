package acl

import (
	"encoding/binary"
	"fmt"
)

// ACE types (MS-DTYP 2.4.4.1). Only allow and deny take part in access checks; the others are
// decoded and re-encoded unchanged so a descriptor survives a QUERY/SET round trip.
const (
	AccessAllowedACEType        uint8 = 0x00
	AccessDeniedACEType         uint8 = 0x01
	SystemAuditACEType          uint8 = 0x02
	SystemAlarmACEType          uint8 = 0x03
	AccessAllowedCompoundType   uint8 = 0x04
	AccessAllowedObjectACEType  uint8 = 0x05
	AccessDeniedObjectACEType   uint8 = 0x06
	SystemAuditObjectACEType    uint8 = 0x07
	SystemAlarmObjectACEType    uint8 = 0x08
	AccessAllowedCallbackType   uint8 = 0x09
	AccessDeniedCallbackType    uint8 = 0x0A
	AllowedCallbackObjectType   uint8 = 0x0B
	DeniedCallbackObjectType    uint8 = 0x0C
	SystemAuditCallbackType     uint8 = 0x0D
	SystemAlarmCallbackType     uint8 = 0x0E
	AuditCallbackObjectType     uint8 = 0x0F
	AlarmCallbackObjectType     uint8 = 0x10
	SystemMandatoryLabelACEType uint8 = 0x11
	SystemResourceAttributeType uint8 = 0x12
	SystemScopedPolicyIDType    uint8 = 0x13
)

// ACE flags (MS-DTYP 2.4.4.1 AceFlags).
const (
	ObjectInheritACE     uint8 = 0x01 // OI: files created below inherit it
	ContainerInheritACE  uint8 = 0x02 // CI: directories created below inherit it
	NoPropagateInherit   uint8 = 0x04 // NP: inherited one level only
	InheritOnlyACE       uint8 = 0x08 // IO: does not apply to this object, only to children
	InheritedACE         uint8 = 0x10 // ID: came from the parent
	SuccessfulAccessFlag uint8 = 0x40 // SA: audit successes
	FailedAccessFlag     uint8 = 0x80 // FA: audit failures
	inheritanceFlags           = ObjectInheritACE | ContainerInheritACE | NoPropagateInherit | InheritOnlyACE
)

// Security descriptor control bits (MS-DTYP 2.4.6).
const (
	OwnerDefaulted        uint16 = 0x0001 // OD
	GroupDefaulted        uint16 = 0x0002 // GD
	DACLPresent           uint16 = 0x0004 // DP
	DACLDefaulted         uint16 = 0x0008 // DD
	SACLPresent           uint16 = 0x0010 // SP
	SACLDefaulted         uint16 = 0x0020 // SD
	DACLTrusted           uint16 = 0x0040 // DT
	ServerSecurity        uint16 = 0x0080 // SS
	DACLComputedInheritRq uint16 = 0x0100 // DC
	SACLComputedInheritRq uint16 = 0x0200 // SC
	DACLAutoInherited     uint16 = 0x0400 // DI
	SACLAutoInherited     uint16 = 0x0800 // SI
	DACLProtected         uint16 = 0x1000 // PD
	SACLProtected         uint16 = 0x2000 // PS
	RMControlValid        uint16 = 0x4000 // RM
	SelfRelative          uint16 = 0x8000 // SR

	daclControl = DACLPresent | DACLDefaulted | DACLTrusted | DACLComputedInheritRq | DACLAutoInherited | DACLProtected
	saclControl = SACLPresent | SACLDefaulted | SACLComputedInheritRq | SACLAutoInherited | SACLProtected
)

// ACL revisions (MS-DTYP 2.4.5): 2 for plain ACEs, 4 when object ACEs may be present.
const (
	ACLRevision   uint8 = 2
	ACLRevisionDS uint8 = 4
)

// ACE is one access control entry. For the types that carry a mask followed by a SID (allow,
// deny, audit, alarm, callback, label, resource attribute, scoped policy) Mask and SID are
// decoded and Opaque holds whatever follows the SID inside AceSize (callback application data,
// attribute data, padding). For object ACEs and unknown types only Mask is decoded (when the type
// has one) and Opaque holds the rest of the body; SID is zero and access checks skip them.
type ACE struct {
	Type   uint8
	Flags  uint8
	Mask   uint32
	SID    SID
	Opaque []byte
}

// ACL is an access control list (MS-DTYP 2.4.5).
type ACL struct {
	Revision uint8
	ACEs     []ACE
}

// SecurityDescriptor is the absolute form of a descriptor. A nil DACL grants everyone full
// access (MS-DTYP 2.4.6: "if the DACL is NULL ... all access is granted"); whether a nil DACL is
// present-but-null or absent is kept in Control's DACLPresent bit. An empty (non-nil) DACL
// grants nothing to anyone but the owner's implicit rights.
type SecurityDescriptor struct {
	Control uint16
	Owner   *SID
	Group   *SID
	DACL    *ACL
	SACL    *ACL
}

// Layout selects the order in which Encode places the variable parts after the 20-byte header.
// Both are valid self-relative descriptors; they differ only in offsets.
type Layout int

const (
	// LayoutWindows is SACL, DACL, owner, group: what Windows produces (MS-DTYP 2.5.1.4 example).
	LayoutWindows Layout = iota
	// LayoutSamba is owner, group, SACL, DACL: what Samba's marshall_sec_desc produces.
	LayoutSamba
)

const sdHeaderLen = 20

func hasMaskAndSID(t uint8) bool {
	switch t {
	case AccessAllowedACEType, AccessDeniedACEType, SystemAuditACEType, SystemAlarmACEType,
		AccessAllowedCallbackType, AccessDeniedCallbackType, SystemAuditCallbackType, SystemAlarmCallbackType,
		SystemMandatoryLabelACEType, SystemResourceAttributeType, SystemScopedPolicyIDType:
		return true
	}
	return false
}

func isObjectACE(t uint8) bool {
	switch t {
	case AccessAllowedObjectACEType, AccessDeniedObjectACEType, SystemAuditObjectACEType, SystemAlarmObjectACEType,
		AllowedCallbackObjectType, DeniedCallbackObjectType, AuditCallbackObjectType, AlarmCallbackObjectType:
		return true
	}
	return false
}

func (a *ACE) bodyLen() int {
	switch {
	case hasMaskAndSID(a.Type):
		return 4 + a.SID.binaryLen() + len(a.Opaque)
	case isObjectACE(a.Type):
		return 4 + len(a.Opaque)
	default:
		return len(a.Opaque)
	}
}

func (a *ACE) size() int { return 4 + a.bodyLen() }

func (a *ACE) appendBinary(b []byte) []byte {
	b = append(b, a.Type, a.Flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(a.size()))
	switch {
	case hasMaskAndSID(a.Type):
		b = binary.LittleEndian.AppendUint32(b, a.Mask)
		b = a.SID.appendBinary(b)
	case isObjectACE(a.Type):
		b = binary.LittleEndian.AppendUint32(b, a.Mask)
	}
	return append(b, a.Opaque...)
}

func decodeACE(b []byte) (ACE, int, error) {
	if len(b) < 4 {
		return ACE{}, 0, fmt.Errorf("ACE header needs 4 bytes, have %d: %w", len(b), ErrMalformed)
	}
	a := ACE{Type: b[0], Flags: b[1]}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	if size < 4 || size > len(b) {
		return ACE{}, 0, fmt.Errorf("ACE size %d with %d bytes left: %w", size, len(b), ErrMalformed)
	}
	// Windows keeps every ACE 4-byte aligned (RtlValidAcl rejects others) and Samba's encoder
	// does too; insisting on it keeps every part of a descriptor we write aligned.
	if size%4 != 0 {
		return ACE{}, 0, fmt.Errorf("ACE size %d is not a multiple of 4: %w", size, ErrMalformed)
	}
	body := b[4:size]
	switch {
	case hasMaskAndSID(a.Type):
		if len(body) < 4 {
			return ACE{}, 0, fmt.Errorf("ACE type %#x without a mask: %w", a.Type, ErrMalformed)
		}
		a.Mask = binary.LittleEndian.Uint32(body)
		sid, n, err := decodeSID(body[4:])
		if err != nil {
			return ACE{}, 0, fmt.Errorf("ACE type %#x SID: %w", a.Type, err)
		}
		a.SID = sid
		if rest := body[4+n:]; len(rest) > 0 {
			a.Opaque = append([]byte(nil), rest...)
		}
	case isObjectACE(a.Type):
		if len(body) < 4 {
			return ACE{}, 0, fmt.Errorf("object ACE type %#x without a mask: %w", a.Type, ErrMalformed)
		}
		a.Mask = binary.LittleEndian.Uint32(body)
		if len(body) > 4 {
			a.Opaque = append([]byte(nil), body[4:]...)
		}
	default:
		if len(body) > 0 {
			a.Opaque = append([]byte(nil), body...)
		}
	}
	return a, size, nil
}

const aclHeaderLen = 8

func (l *ACL) size() int {
	n := aclHeaderLen
	for i := range l.ACEs {
		n += l.ACEs[i].size()
	}
	return n
}

func (l *ACL) appendBinary(b []byte) []byte {
	b = append(b, l.Revision, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(l.size()))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(l.ACEs)))
	b = append(b, 0, 0)
	for i := range l.ACEs {
		b = l.ACEs[i].appendBinary(b)
	}
	return b
}

// decodeACL reads an ACL at the start of b. AclSize may exceed the ACEs (Windows leaves slack
// space when ACEs are removed); the slack is not kept.
func decodeACL(b []byte) (*ACL, error) {
	if len(b) < aclHeaderLen {
		return nil, fmt.Errorf("ACL header needs 8 bytes, have %d: %w", len(b), ErrMalformed)
	}
	l := &ACL{Revision: b[0]}
	if l.Revision != ACLRevision && l.Revision != ACLRevisionDS {
		return nil, fmt.Errorf("ACL revision %d: %w", l.Revision, ErrMalformed)
	}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	count := int(binary.LittleEndian.Uint16(b[4:]))
	if size < aclHeaderLen || size > len(b) {
		return nil, fmt.Errorf("ACL size %d with %d bytes available: %w", size, len(b), ErrMalformed)
	}
	// Each ACE takes at least 4 bytes, so a count beyond that is a lie; checking first keeps
	// allocation proportional to the input.
	if count > (size-aclHeaderLen)/4 {
		return nil, fmt.Errorf("ACL claims %d ACEs in %d bytes: %w", count, size, ErrMalformed)
	}
	if count > 0 {
		l.ACEs = make([]ACE, 0, count)
	}
	off := aclHeaderLen
	for i := 0; i < count; i++ {
		a, n, err := decodeACE(b[off:size])
		if err != nil {
			return nil, fmt.Errorf("ACE %d at offset %d: %w", i, off, err)
		}
		l.ACEs = append(l.ACEs, a)
		off += n
	}
	return l, nil
}

// Decode parses a self-relative security descriptor (MS-DTYP 2.4.6). Every offset and length is
// checked against b; malformed input returns an error wrapping ErrMalformed, never a panic.
// Control's present bits are normalised to what the offsets say: a DACL or SACL is decoded when
// its offset is non-zero (the offsets are what a self-relative reader follows), and DP/SP are then
// set so that Encode reproduces the same descriptor.
func Decode(b []byte) (*SecurityDescriptor, error) {
	if len(b) < sdHeaderLen {
		return nil, fmt.Errorf("decode security descriptor: %d bytes, header needs %d: %w", len(b), sdHeaderLen, ErrMalformed)
	}
	if b[0] != 1 {
		return nil, fmt.Errorf("decode security descriptor: revision %d: %w", b[0], ErrMalformed)
	}
	sd := &SecurityDescriptor{Control: binary.LittleEndian.Uint16(b[2:])}
	if sd.Control&SelfRelative == 0 {
		return nil, fmt.Errorf("decode security descriptor: control %#04x lacks SE_SELF_RELATIVE: %w", sd.Control, ErrMalformed)
	}
	offs := [4]uint32{}
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint32(b[4+4*i:])
		if o := offs[i]; o != 0 && (o < sdHeaderLen || o >= uint32(len(b)) || o%4 != 0) {
			return nil, fmt.Errorf("decode security descriptor: %s offset %d outside %d bytes or unaligned: %w",
				[]string{"owner", "group", "SACL", "DACL"}[i], o, len(b), ErrMalformed)
		}
	}
	if o := offs[0]; o != 0 {
		s, _, err := decodeSID(b[o:])
		if err != nil {
			return nil, fmt.Errorf("decode security descriptor owner: %w", err)
		}
		sd.Owner = &s
	}
	if o := offs[1]; o != 0 {
		s, _, err := decodeSID(b[o:])
		if err != nil {
			return nil, fmt.Errorf("decode security descriptor group: %w", err)
		}
		sd.Group = &s
	}
	if o := offs[2]; o != 0 {
		l, err := decodeACL(b[o:])
		if err != nil {
			return nil, fmt.Errorf("decode security descriptor SACL: %w", err)
		}
		sd.SACL = l
		sd.Control |= SACLPresent
	}
	if o := offs[3]; o != 0 {
		l, err := decodeACL(b[o:])
		if err != nil {
			return nil, fmt.Errorf("decode security descriptor DACL: %w", err)
		}
		sd.DACL = l
		sd.Control |= DACLPresent
	}
	return sd, nil
}

// Validate reports whether sd can be encoded: SIDs with revision 1 and at most 15
// sub-authorities, ACL revisions 2 or 4, and every ACE and ACL within the 16-bit size fields.
func (sd *SecurityDescriptor) Validate() error {
	checkSID := func(what string, s SID) error {
		if s.Revision != 1 || len(s.Sub) > maxSubAuthorities {
			return fmt.Errorf("%s SID %s: %w", what, s, ErrMalformed)
		}
		return nil
	}
	if sd.Owner != nil {
		if err := checkSID("owner", *sd.Owner); err != nil {
			return err
		}
	}
	if sd.Group != nil {
		if err := checkSID("group", *sd.Group); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		name string
		acl  *ACL
	}{{"SACL", sd.SACL}, {"DACL", sd.DACL}} {
		if l.acl == nil {
			continue
		}
		if l.acl.Revision != ACLRevision && l.acl.Revision != ACLRevisionDS {
			return fmt.Errorf("%s revision %d: %w", l.name, l.acl.Revision, ErrMalformed)
		}
		if len(l.acl.ACEs) > 0xffff || l.acl.size() > 0xffff {
			return fmt.Errorf("%s of %d ACEs does not fit 64 KiB: %w", l.name, len(l.acl.ACEs), ErrMalformed)
		}
		for i := range l.acl.ACEs {
			a := &l.acl.ACEs[i]
			if hasMaskAndSID(a.Type) && (a.SID.Revision != 1 || len(a.SID.Sub) > maxSubAuthorities) {
				return fmt.Errorf("%s ACE %d SID %s: %w", l.name, i, a.SID, ErrMalformed)
			}
			if a.size() > 0xffff || a.size()%4 != 0 {
				return fmt.Errorf("%s ACE %d is %d bytes (at most 65535, a multiple of 4): %w", l.name, i, a.size(), ErrMalformed)
			}
		}
	}
	return nil
}

// Encode returns the self-relative form in the Windows layout. It returns nil when Validate fails.
func (sd *SecurityDescriptor) Encode() []byte { return sd.EncodeLayout(LayoutWindows) }

// EncodeLayout returns the self-relative form with the parts in the given order, or nil when
// Validate fails. SE_SELF_RELATIVE is always set, and DP/SP whenever the DACL/SACL is non-nil; a
// nil DACL keeps DP as given (present-but-null versus absent).
func (sd *SecurityDescriptor) EncodeLayout(layout Layout) []byte {
	if sd.Validate() != nil {
		return nil
	}
	ctl := sd.Control | SelfRelative
	if sd.DACL != nil {
		ctl |= DACLPresent
	}
	if sd.SACL != nil {
		ctl |= SACLPresent
	}
	b := make([]byte, sdHeaderLen, sd.encodedLen())
	b[0] = 1
	binary.LittleEndian.PutUint16(b[2:], ctl)
	put := func(field int) { binary.LittleEndian.PutUint32(b[4+4*field:], uint32(len(b))) }
	owner := func() {
		if sd.Owner != nil {
			put(0)
			b = sd.Owner.appendBinary(b)
		}
	}
	group := func() {
		if sd.Group != nil {
			put(1)
			b = sd.Group.appendBinary(b)
		}
	}
	sacl := func() {
		if sd.SACL != nil {
			put(2)
			b = sd.SACL.appendBinary(b)
		}
	}
	dacl := func() {
		if sd.DACL != nil {
			put(3)
			b = sd.DACL.appendBinary(b)
		}
	}
	if layout == LayoutSamba {
		owner()
		group()
		sacl()
		dacl()
	} else {
		sacl()
		dacl()
		owner()
		group()
	}
	return b
}

func (sd *SecurityDescriptor) encodedLen() int {
	n := sdHeaderLen
	if sd.Owner != nil {
		n += sd.Owner.binaryLen()
	}
	if sd.Group != nil {
		n += sd.Group.binaryLen()
	}
	if sd.SACL != nil {
		n += sd.SACL.size()
	}
	if sd.DACL != nil {
		n += sd.DACL.size()
	}
	return n
}

// Clone returns a deep copy.
func (sd *SecurityDescriptor) Clone() *SecurityDescriptor {
	if sd == nil {
		return nil
	}
	c := &SecurityDescriptor{Control: sd.Control}
	if sd.Owner != nil {
		o := sd.Owner.clone()
		c.Owner = &o
	}
	if sd.Group != nil {
		g := sd.Group.clone()
		c.Group = &g
	}
	c.DACL = sd.DACL.clone()
	c.SACL = sd.SACL.clone()
	return c
}

func (s SID) clone() SID {
	if s.Sub != nil {
		s.Sub = append([]uint32(nil), s.Sub...)
	}
	return s
}

func (l *ACL) clone() *ACL {
	if l == nil {
		return nil
	}
	c := &ACL{Revision: l.Revision}
	if l.ACEs != nil {
		c.ACEs = make([]ACE, len(l.ACEs))
		for i, a := range l.ACEs {
			a.SID = a.SID.clone()
			if a.Opaque != nil {
				a.Opaque = append([]byte(nil), a.Opaque...)
			}
			c.ACEs[i] = a
		}
	}
	return c
}

// Equal reports whether two descriptors encode identically (same control after Encode's
// normalisation, same parts, same ACE order). Nil and empty slices compare equal.
func (sd *SecurityDescriptor) Equal(o *SecurityDescriptor) bool {
	if sd == nil || o == nil {
		return sd == o
	}
	ea, eb := sd.Encode(), o.Encode()
	if ea == nil || eb == nil {
		return false
	}
	return string(ea) == string(eb)
}
