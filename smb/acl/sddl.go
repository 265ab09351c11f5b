package acl

import (
	"fmt"
	"strconv"
	"strings"
)

// SDDL support (MS-DTYP 2.5.1) for the subset sofs needs in tests and diagnostics: owner, group,
// DACL and SACL with their P/AI/AR flags, ACE types A, D, AU, AL and ML, ACE flags, two-letter
// rights (file, generic, standard and the directory-service letters Samba prints) or hex masks,
// and SID aliases or S-1-... strings. Object and callback ACEs are not expressible.

var sidAliases = []struct {
	alias string
	sid   SID
}{
	{"WD", WorldSID},
	{"CO", CreatorOwnerSID},
	{"CG", CreatorGroupSID},
	{"OW", OwnerRightsSID},
	{"SY", SystemSID},
	{"BA", AdministratorsSID},
	{"BU", UsersSID},
	{"BG", GuestsSID},
	{"AU", AuthenticatedUsersSID},
	{"AN", AnonymousSID},
	{"NU", NetworkSID},
}

var aceTypeNames = []struct {
	name string
	t    uint8
}{
	{"A", AccessAllowedACEType},
	{"D", AccessDeniedACEType},
	{"AU", SystemAuditACEType},
	{"AL", SystemAlarmACEType},
	{"ML", SystemMandatoryLabelACEType},
}

var aceFlagNames = []struct {
	name string
	f    uint8
}{
	{"OI", ObjectInheritACE},
	{"CI", ContainerInheritACE},
	{"NP", NoPropagateInherit},
	{"IO", InheritOnlyACE},
	{"ID", InheritedACE},
	{"SA", SuccessfulAccessFlag},
	{"FA", FailedAccessFlag},
}

// rightNames are the two-letter rights accepted in masks. Whole-mask aliases come first: SDDL()
// prints a mask by its alias when one matches exactly, otherwise in hex.
var rightNames = []struct {
	name string
	m    uint32
}{
	{"FA", FileAllAccess},
	{"FR", FileGenericRead},
	{"FW", FileGenericWrite},
	{"FX", FileGenericExecute},
	{"GA", GenericAll},
	{"GR", GenericRead},
	{"GW", GenericWrite},
	{"GX", GenericExecute},
	{"RC", ReadControl},
	{"SD", Delete},
	{"WD", WriteDAC},
	{"WO", WriteOwner},
	// Directory-service letters, which name the low 9 bits; Samba prints file masks with them.
	{"CC", 0x001},
	{"DC", 0x002},
	{"LC", 0x004},
	{"SW", 0x008},
	{"RP", 0x010},
	{"WP", 0x020},
	{"DT", 0x040},
	{"LO", 0x080},
	{"CR", 0x100},
}

func sidSDDL(s SID) string {
	for _, a := range sidAliases {
		if a.sid.Equal(s) {
			return a.alias
		}
	}
	return s.String()
}

func parseSDDLSID(s string) (SID, error) {
	for _, a := range sidAliases {
		if a.alias == s {
			return a.sid.clone(), nil
		}
	}
	if strings.HasPrefix(s, "S-") {
		return ParseSID(s)
	}
	return SID{}, fmt.Errorf("SDDL SID %q: %w", s, ErrMalformed)
}

func maskSDDL(m uint32) string {
	for _, r := range rightNames[:8] {
		if r.m == m {
			return r.name
		}
	}
	if m != 0 && m&^genericBits == 0 {
		var b strings.Builder
		for _, r := range rightNames[4:8] {
			if m&r.m != 0 {
				b.WriteString(r.name)
			}
		}
		return b.String()
	}
	return fmt.Sprintf("0x%x", m)
}

func parseSDDLMask(s string) (uint32, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return 0, fmt.Errorf("SDDL mask %q: %w", s, ErrMalformed)
		}
		return uint32(v), nil
	}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("SDDL mask %q: %w", s, ErrMalformed)
		}
		return uint32(v), nil
	}
	if len(s)%2 != 0 {
		return 0, fmt.Errorf("SDDL mask %q: %w", s, ErrMalformed)
	}
	var m uint32
next:
	for i := 0; i < len(s); i += 2 {
		for _, r := range rightNames {
			if r.name == s[i:i+2] {
				m |= r.m
				continue next
			}
		}
		return 0, fmt.Errorf("SDDL right %q: %w", s[i:i+2], ErrMalformed)
	}
	return m, nil
}

// SDDL renders the descriptor as an SDDL string. ACEs SDDL cannot express (object and callback
// types, ACEs with trailing data) are rendered as "(0x<type>;...)" which ParseSDDL rejects.
func (sd *SecurityDescriptor) SDDL() string {
	var b strings.Builder
	if sd.Owner != nil {
		b.WriteString("O:" + sidSDDL(*sd.Owner))
	}
	if sd.Group != nil {
		b.WriteString("G:" + sidSDDL(*sd.Group))
	}
	writeACL := func(tag string, l *ACL, present, protected, autoInh, autoReq uint16) {
		if sd.Control&present == 0 && l == nil {
			return
		}
		b.WriteString(tag)
		if sd.Control&protected != 0 {
			b.WriteString("P")
		}
		if sd.Control&autoReq != 0 {
			b.WriteString("AR")
		}
		if sd.Control&autoInh != 0 {
			b.WriteString("AI")
		}
		if l == nil {
			b.WriteString("NO_ACCESS_CONTROL")
			return
		}
		for _, a := range l.ACEs {
			b.WriteString("(")
			typ := fmt.Sprintf("0x%x", a.Type)
			for _, t := range aceTypeNames {
				if t.t == a.Type && a.Opaque == nil {
					typ = t.name
				}
			}
			b.WriteString(typ + ";")
			if a.Flags&^(inheritanceFlags|InheritedACE|SuccessfulAccessFlag|FailedAccessFlag) != 0 {
				// A flag SDDL has no letters for: print them all as one number.
				fmt.Fprintf(&b, "0x%x", a.Flags)
			} else {
				for _, f := range aceFlagNames {
					if a.Flags&f.f != 0 {
						b.WriteString(f.name)
					}
				}
			}
			b.WriteString(";" + maskSDDL(a.Mask) + ";;;" + sidSDDL(a.SID) + ")")
		}
	}
	writeACL("D:", sd.DACL, DACLPresent, DACLProtected, DACLAutoInherited, DACLComputedInheritRq)
	writeACL("S:", sd.SACL, SACLPresent, SACLProtected, SACLAutoInherited, SACLComputedInheritRq)
	return b.String()
}

// maxSDDLACEs bounds what ParseSDDL builds so hostile input cannot ask for more than one ACL
// can hold.
const maxSDDLACEs = 0xffff / 16

// ParseSDDL parses the SDDL subset SDDL produces. Owner, group, DACL and SACL may come in any
// order, each at most once. The ACL revision is 2, or 4 if the string held object ACEs (it cannot).
func ParseSDDL(s string) (*SecurityDescriptor, error) {
	sd := &SecurityDescriptor{Control: SelfRelative}
	seen := map[byte]bool{}
	rest := s
	for rest != "" {
		if len(rest) < 2 || rest[1] != ':' {
			return nil, fmt.Errorf("parse SDDL %q: expected O:, G:, D: or S: at %q: %w", s, rest, ErrMalformed)
		}
		tag := rest[0]
		if seen[tag] {
			return nil, fmt.Errorf("parse SDDL %q: %c: twice: %w", s, tag, ErrMalformed)
		}
		seen[tag] = true
		rest = rest[2:]
		// A part runs until the next "X:" tag outside parentheses.
		end := len(rest)
		depth := 0
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case '(':
				depth++
			case ')':
				depth--
			case ':':
				if depth == 0 && i > 0 {
					end = i - 1
					i = len(rest)
				}
			}
		}
		part := rest[:end]
		rest = rest[end:]
		switch tag {
		case 'O', 'G':
			sid, err := parseSDDLSID(part)
			if err != nil {
				return nil, fmt.Errorf("parse SDDL %c: %w", tag, err)
			}
			if tag == 'O' {
				sd.Owner = &sid
			} else {
				sd.Group = &sid
			}
		case 'D', 'S':
			l, ctl, err := parseSDDLACL(part, tag == 'D')
			if err != nil {
				return nil, fmt.Errorf("parse SDDL %c: %w", tag, err)
			}
			sd.Control |= ctl
			if tag == 'D' {
				sd.DACL = l
			} else {
				sd.SACL = l
			}
		default:
			return nil, fmt.Errorf("parse SDDL %q: unknown part %c: %w", s, tag, ErrMalformed)
		}
	}
	if err := sd.Validate(); err != nil {
		return nil, fmt.Errorf("parse SDDL: %w", err)
	}
	return sd, nil
}

func parseSDDLACL(s string, dacl bool) (*ACL, uint16, error) {
	present, protected, autoInh, autoReq := SACLPresent, SACLProtected, SACLAutoInherited, SACLComputedInheritRq
	if dacl {
		present, protected, autoInh, autoReq = DACLPresent, DACLProtected, DACLAutoInherited, DACLComputedInheritRq
	}
	ctl := present
	for {
		switch {
		case strings.HasPrefix(s, "P"):
			ctl |= protected
			s = s[1:]
			continue
		case strings.HasPrefix(s, "AI"):
			ctl |= autoInh
			s = s[2:]
			continue
		case strings.HasPrefix(s, "AR"):
			ctl |= autoReq
			s = s[2:]
			continue
		}
		break
	}
	if s == "NO_ACCESS_CONTROL" {
		return nil, ctl, nil
	}
	l := &ACL{Revision: ACLRevision}
	for s != "" {
		if s[0] != '(' {
			return nil, 0, fmt.Errorf("ACE must start with '(' at %q: %w", s, ErrMalformed)
		}
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return nil, 0, fmt.Errorf("unterminated ACE %q: %w", s, ErrMalformed)
		}
		if len(l.ACEs) >= maxSDDLACEs {
			return nil, 0, fmt.Errorf("more than %d ACEs: %w", maxSDDLACEs, ErrMalformed)
		}
		a, err := parseSDDLACE(s[1:end])
		if err != nil {
			return nil, 0, err
		}
		l.ACEs = append(l.ACEs, a)
		s = s[end+1:]
	}
	return l, ctl, nil
}

func parseSDDLACE(s string) (ACE, error) {
	f := strings.Split(s, ";")
	if len(f) != 6 {
		return ACE{}, fmt.Errorf("ACE %q has %d fields, want 6: %w", s, len(f), ErrMalformed)
	}
	var a ACE
	found := false
	for _, t := range aceTypeNames {
		if t.name == f[0] {
			a.Type, found = t.t, true
		}
	}
	if !found {
		return ACE{}, fmt.Errorf("ACE type %q: %w", f[0], ErrMalformed)
	}
	if strings.HasPrefix(f[1], "0x") {
		v, err := strconv.ParseUint(f[1][2:], 16, 8)
		if err != nil {
			return ACE{}, fmt.Errorf("ACE flags %q: %w", f[1], ErrMalformed)
		}
		a.Flags = uint8(v)
		f[1] = ""
	}
	if len(f[1])%2 != 0 {
		return ACE{}, fmt.Errorf("ACE flags %q: %w", f[1], ErrMalformed)
	}
flags:
	for i := 0; i < len(f[1]); i += 2 {
		for _, fl := range aceFlagNames {
			if fl.name == f[1][i:i+2] {
				a.Flags |= fl.f
				continue flags
			}
		}
		return ACE{}, fmt.Errorf("ACE flag %q: %w", f[1][i:i+2], ErrMalformed)
	}
	m, err := parseSDDLMask(f[2])
	if err != nil {
		return ACE{}, fmt.Errorf("ACE %q: %w", s, err)
	}
	a.Mask = m
	if f[3] != "" || f[4] != "" {
		return ACE{}, fmt.Errorf("ACE %q: object GUIDs are not supported: %w", s, ErrMalformed)
	}
	if a.SID, err = parseSDDLSID(f[5]); err != nil {
		return ACE{}, fmt.Errorf("ACE %q: %w", s, err)
	}
	return a, nil
}

// MustParseSDDL is ParseSDDL for literals in code and tests; it panics on a bad string.
func MustParseSDDL(s string) *SecurityDescriptor {
	sd, err := ParseSDDL(s)
	if err != nil {
		panic(err)
	}
	return sd
}
