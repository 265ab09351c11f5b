package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// Security descriptor control flags (MS-DTYP 2.4.6).
const (
	SEOwnerDefaulted     uint16 = 0x0001
	SEGroupDefaulted     uint16 = 0x0002
	SEDACLPresent        uint16 = 0x0004
	SEDACLDefaulted      uint16 = 0x0008
	SESACLPresent        uint16 = 0x0010
	SESACLDefaulted      uint16 = 0x0020
	SEDACLTrusted        uint16 = 0x0040
	SEServerSecurity     uint16 = 0x0080
	SEDACLAutoInheritReq uint16 = 0x0100
	SESACLAutoInheritReq uint16 = 0x0200
	SEDACLAutoInherited  uint16 = 0x0400
	SESACLAutoInherited  uint16 = 0x0800
	SEDACLProtected      uint16 = 0x1000
	SESACLProtected      uint16 = 0x2000
	SERMControlValid     uint16 = 0x4000
	SESelfRelative       uint16 = 0x8000
)

// ACE types (MS-DTYP 2.4.4.1).
const (
	AccessAllowedACEType               uint8 = 0x00
	AccessDeniedACEType                uint8 = 0x01
	SystemAuditACEType                 uint8 = 0x02
	SystemAlarmACEType                 uint8 = 0x03
	AccessAllowedCompoundACEType       uint8 = 0x04
	AccessAllowedObjectACEType         uint8 = 0x05
	AccessDeniedObjectACEType          uint8 = 0x06
	SystemAuditObjectACEType           uint8 = 0x07
	SystemAlarmObjectACEType           uint8 = 0x08
	AccessAllowedCallbackACEType       uint8 = 0x09
	AccessDeniedCallbackACEType        uint8 = 0x0A
	AccessAllowedCallbackObjectACEType uint8 = 0x0B
	AccessDeniedCallbackObjectACEType  uint8 = 0x0C
	SystemAuditCallbackACEType         uint8 = 0x0D
	SystemAlarmCallbackACEType         uint8 = 0x0E
	SystemAuditCallbackObjectACEType   uint8 = 0x0F
	SystemAlarmCallbackObjectACEType   uint8 = 0x10
	SystemMandatoryLabelACEType        uint8 = 0x11
	SystemResourceAttributeACEType     uint8 = 0x12
	SystemScopedPolicyIDACEType        uint8 = 0x13
)

// ACE flags.
const (
	ObjectInheritACE        uint8 = 0x01
	ContainerInheritACE     uint8 = 0x02
	NoPropagateInheritACE   uint8 = 0x04
	InheritOnlyACE          uint8 = 0x08
	InheritedACE            uint8 = 0x10
	SuccessfulAccessACEFlag uint8 = 0x40
	FailedAccessACEFlag     uint8 = 0x80
)

// maxSubAuthorities is the SID limit of MS-DTYP 2.4.2.
const maxSubAuthorities = 15

// SID is a security identifier (MS-DTYP 2.4.2.2).
type SID struct {
	Revision       uint8
	Authority      uint64 // 48 bits, big-endian on the wire
	SubAuthorities []uint32
}

// Well-known SIDs.
var (
	SIDEveryone       = SID{Revision: 1, Authority: 1, SubAuthorities: []uint32{0}}
	SIDAuthenticated  = SID{Revision: 1, Authority: 5, SubAuthorities: []uint32{11}}
	SIDLocalSystem    = SID{Revision: 1, Authority: 5, SubAuthorities: []uint32{18}}
	SIDAdministrators = SID{Revision: 1, Authority: 5, SubAuthorities: []uint32{32, 544}}
	SIDCreatorOwner   = SID{Revision: 1, Authority: 3, SubAuthorities: []uint32{0}}
)

// Len is the encoded size: 8 + 4 per sub-authority.
func (s *SID) Len() int { return 8 + 4*len(s.SubAuthorities) }

func (s *SID) Append(b []byte) []byte {
	b = append(b, s.Revision, uint8(len(s.SubAuthorities)))
	a := s.Authority
	b = append(b, byte(a>>40), byte(a>>32), byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
	for _, v := range s.SubAuthorities {
		b = le.AppendUint32(b, v)
	}
	return b
}

// DecodeSID decodes a SID at the start of d and returns its length.
func DecodeSID(d []byte) (SID, int, error) {
	if len(d) < 8 {
		return SID{}, 0, malformed("sid: %d bytes", len(d))
	}
	n := int(d[1])
	if n > maxSubAuthorities {
		return SID{}, 0, malformed("sid: %d sub-authorities above %d", n, maxSubAuthorities)
	}
	if len(d) < 8+4*n {
		return SID{}, 0, malformed("sid: %d sub-authorities beyond %d bytes", n, len(d))
	}
	s := SID{Revision: d[0]}
	for _, c := range d[2:8] {
		s.Authority = s.Authority<<8 | uint64(c)
	}
	if n > 0 {
		s.SubAuthorities = make([]uint32, n)
		for i := range s.SubAuthorities {
			s.SubAuthorities[i] = le.Uint32(d[8+4*i:])
		}
	}
	return s, 8 + 4*n, nil
}

// String formats the SID as "S-1-5-21-...".
func (s SID) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "S-%d-", s.Revision)
	if s.Authority >= 1<<32 {
		fmt.Fprintf(&b, "0x%012X", s.Authority)
	} else {
		b.WriteString(strconv.FormatUint(s.Authority, 10))
	}
	for _, v := range s.SubAuthorities {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

// ParseSID parses the "S-R-A-S1-S2..." form.
func ParseSID(str string) (SID, error) {
	parts := strings.Split(str, "-")
	if len(parts) < 3 || (parts[0] != "S" && parts[0] != "s") {
		return SID{}, fmt.Errorf("parse sid %q: want S-R-A[-S...]", str)
	}
	if len(parts)-3 > maxSubAuthorities {
		return SID{}, fmt.Errorf("parse sid %q: more than %d sub-authorities", str, maxSubAuthorities)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return SID{}, fmt.Errorf("parse sid %q: revision: %w", str, err)
	}
	var auth uint64
	if strings.HasPrefix(parts[2], "0x") || strings.HasPrefix(parts[2], "0X") {
		auth, err = strconv.ParseUint(parts[2][2:], 16, 48)
	} else {
		auth, err = strconv.ParseUint(parts[2], 10, 48)
	}
	if err != nil {
		return SID{}, fmt.Errorf("parse sid %q: authority: %w", str, err)
	}
	s := SID{Revision: uint8(rev), Authority: auth}
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, fmt.Errorf("parse sid %q: sub-authority: %w", str, err)
		}
		s.SubAuthorities = append(s.SubAuthorities, uint32(v))
	}
	return s, nil
}

// Equal reports whether two SIDs are the same.
func (s SID) Equal(o SID) bool {
	if s.Revision != o.Revision || s.Authority != o.Authority || len(s.SubAuthorities) != len(o.SubAuthorities) {
		return false
	}
	for i := range s.SubAuthorities {
		if s.SubAuthorities[i] != o.SubAuthorities[i] {
			return false
		}
	}
	return true
}

// ACE is one access control entry. Types whose body is AccessMask + SID
// (+ application data for the callback types) decode into Mask, SID and
// ApplicationData; any other type (object ACEs, compound, resource
// attribute) keeps its body after the 4-byte header in Raw, so every ACE
// round-trips byte for byte.
type ACE struct {
	Type            uint8
	Flags           uint8
	Mask            uint32
	SID             SID
	ApplicationData []byte // bytes after the SID up to AceSize (callback data or padding)
	Raw             []byte // body of ACE types not decoded
}

func aceHasSID(t uint8) bool {
	switch t {
	case AccessAllowedACEType, AccessDeniedACEType, SystemAuditACEType, SystemAlarmACEType,
		AccessAllowedCallbackACEType, AccessDeniedCallbackACEType, SystemAuditCallbackACEType,
		SystemAlarmCallbackACEType, SystemMandatoryLabelACEType, SystemScopedPolicyIDACEType:
		return true
	}
	return false
}

func (a *ACE) Len() int {
	if !aceHasSID(a.Type) {
		return 4 + len(a.Raw)
	}
	return 8 + a.SID.Len() + len(a.ApplicationData)
}

func (a *ACE) Append(b []byte) []byte {
	b = append(b, a.Type, a.Flags)
	b = le.AppendUint16(b, uint16(a.Len()))
	if !aceHasSID(a.Type) {
		return append(b, a.Raw...)
	}
	b = le.AppendUint32(b, a.Mask)
	b = a.SID.Append(b)
	return append(b, a.ApplicationData...)
}

// ACL is an access control list (MS-DTYP 2.4.5).
type ACL struct {
	Revision uint8 // 2 (ACL_REVISION) or 4 (ACL_REVISION_DS)
	ACEs     []ACE
}

func (l *ACL) Len() int {
	n := 8
	for i := range l.ACEs {
		n += l.ACEs[i].Len()
	}
	return n
}

func (l *ACL) Append(b []byte) []byte {
	b = append(b, l.Revision, 0)
	b = le.AppendUint16(b, uint16(l.Len()))
	b = le.AppendUint16(b, uint16(len(l.ACEs)))
	b = append(b, 0, 0)
	for i := range l.ACEs {
		b = l.ACEs[i].Append(b)
	}
	return b
}

// DecodeACL decodes an ACL at the start of d.
func DecodeACL(d []byte) (*ACL, error) {
	if len(d) < 8 {
		return nil, malformed("acl: %d bytes", len(d))
	}
	size := int(le.Uint16(d[2:]))
	count := int(le.Uint16(d[4:]))
	if size < 8 || size > len(d) {
		return nil, malformed("acl: size %d with %d bytes", size, len(d))
	}
	body := d[8:size]
	l := &ACL{Revision: d[0]}
	if count > 0 {
		l.ACEs = make([]ACE, 0, boundedCount(count, 8, len(body)))
	}
	for i := 0; i < count; i++ {
		if len(body) < 4 {
			return nil, malformed("acl: ace %d header beyond acl size %d", i, size)
		}
		as := int(le.Uint16(body[2:]))
		if as < 4 || as > len(body) {
			return nil, malformed("acl: ace %d size %d with %d bytes left", i, as, len(body))
		}
		e := body[:as:as]
		a := ACE{Type: e[0], Flags: e[1]}
		if aceHasSID(a.Type) {
			if as < 8 {
				return nil, malformed("acl: ace %d size %d too small", i, as)
			}
			a.Mask = le.Uint32(e[4:])
			sid, n, err := DecodeSID(e[8:])
			if err != nil {
				return nil, fmt.Errorf("acl: ace %d: %w", i, err)
			}
			a.SID = sid
			if rest := e[8+n:]; len(rest) > 0 {
				a.ApplicationData = rest
			}
		} else if as > 4 {
			a.Raw = e[4:]
		}
		l.ACEs = append(l.ACEs, a)
		body = body[as:]
	}
	return l, nil
}

// SecurityDescriptor is a self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6).
// A nil DACL with SEDACLPresent in Control is a NULL DACL (everyone has
// full access), which is different from an empty DACL (nobody has access).
type SecurityDescriptor struct {
	Revision uint8
	Control  uint16
	Owner    *SID
	Group    *SID
	SACL     *ACL
	DACL     *ACL
}

// DecodeSecurityDescriptor decodes a self-relative security descriptor (as
// carried by SET_INFO/QUERY_INFO InfoSecurity and the SecD create context).
func DecodeSecurityDescriptor(d []byte) (*SecurityDescriptor, error) {
	if len(d) < 20 {
		return nil, malformed("security descriptor: %d bytes", len(d))
	}
	sd := &SecurityDescriptor{Revision: d[0], Control: le.Uint16(d[2:])}
	if sd.Revision != 1 {
		return nil, malformed("security descriptor: revision %d", sd.Revision)
	}
	if sd.Control&SESelfRelative == 0 {
		return nil, malformed("security descriptor: not self-relative")
	}
	part := func(off uint32, what string) ([]byte, error) {
		if off < 20 || uint64(off) >= uint64(len(d)) {
			return nil, malformed("security descriptor: %s offset %d with %d bytes", what, off, len(d))
		}
		return d[off:], nil
	}
	if off := le.Uint32(d[4:]); off != 0 {
		p, err := part(off, "owner")
		if err != nil {
			return nil, err
		}
		s, _, err := DecodeSID(p)
		if err != nil {
			return nil, fmt.Errorf("security descriptor: owner: %w", err)
		}
		sd.Owner = &s
	}
	if off := le.Uint32(d[8:]); off != 0 {
		p, err := part(off, "group")
		if err != nil {
			return nil, err
		}
		s, _, err := DecodeSID(p)
		if err != nil {
			return nil, fmt.Errorf("security descriptor: group: %w", err)
		}
		sd.Group = &s
	}
	if off := le.Uint32(d[12:]); off != 0 && sd.Control&SESACLPresent != 0 {
		p, err := part(off, "sacl")
		if err != nil {
			return nil, err
		}
		if sd.SACL, err = DecodeACL(p); err != nil {
			return nil, fmt.Errorf("security descriptor: sacl: %w", err)
		}
	}
	if off := le.Uint32(d[16:]); off != 0 && sd.Control&SEDACLPresent != 0 {
		p, err := part(off, "dacl")
		if err != nil {
			return nil, err
		}
		if sd.DACL, err = DecodeACL(p); err != nil {
			return nil, fmt.Errorf("security descriptor: dacl: %w", err)
		}
	}
	return sd, nil
}

// Append encodes the descriptor self-relative: header, owner, group, SACL,
// DACL. SESelfRelative is always set; SESACLPresent / SEDACLPresent are set
// when the list is non-nil (a NULL DACL keeps SEDACLPresent from Control).
func (sd *SecurityDescriptor) Append(b []byte) []byte {
	start := len(b)
	b = grow(b, 20)
	rev := sd.Revision
	if rev == 0 {
		rev = 1
	}
	b[start] = rev
	ctl := sd.Control | SESelfRelative
	if sd.SACL != nil {
		ctl |= SESACLPresent
	}
	if sd.DACL != nil {
		ctl |= SEDACLPresent
	}
	le.PutUint16(b[start+2:], ctl)
	if sd.Owner != nil {
		le.PutUint32(b[start+4:], uint32(len(b)-start))
		b = sd.Owner.Append(b)
	}
	if sd.Group != nil {
		le.PutUint32(b[start+8:], uint32(len(b)-start))
		b = sd.Group.Append(b)
	}
	if sd.SACL != nil {
		le.PutUint32(b[start+12:], uint32(len(b)-start))
		b = sd.SACL.Append(b)
	}
	if sd.DACL != nil {
		le.PutUint32(b[start+16:], uint32(len(b)-start))
		b = sd.DACL.Append(b)
	}
	return b
}
