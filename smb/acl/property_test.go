package acl

import (
	"errors"
	"flag"
	"os"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// TestMain sets the number of rapid cases per property: 400 in the default run (well under a
// second here), 20000 with SOFS_LONG=1. An explicit -rapid.checks wins.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" {
		n := "400"
		if os.Getenv("SOFS_LONG") == "1" {
			n = "20000"
		}
		_ = f.Value.Set(n)
	}
	os.Exit(m.Run())
}

// TestLongModeRecorded reads SOFS_LONG while tests run so go test's cache keys on it.
func TestLongModeRecorded(t *testing.T) {
	if os.Getenv("SOFS_LONG") == "1" {
		t.Log("SOFS_LONG=1: 20000 rapid checks per property")
	}
}

func genSID() *rapid.Generator[SID] {
	return rapid.Custom(func(t *rapid.T) SID {
		s := SID{Revision: 1}
		for i := range s.Authority {
			s.Authority[i] = rapid.SampledFrom([]byte{0, 0, 0, 1, 5, 0xff}).Draw(t, "auth")
		}
		n := rapid.IntRange(0, maxSubAuthorities).Draw(t, "subs")
		for range n {
			s.Sub = append(s.Sub, rapid.Uint32().Draw(t, "sub"))
		}
		return s
	})
}

func genBytes(max int) *rapid.Generator[[]byte] {
	return rapid.Custom(func(t *rapid.T) []byte {
		b := rapid.SliceOfN(rapid.Byte(), 0, max).Draw(t, "bytes")
		if len(b) == 0 {
			return nil
		}
		return b
	})
}

func genACE(allTypes bool) *rapid.Generator[ACE] {
	return rapid.Custom(func(t *rapid.T) ACE {
		types := []uint8{AccessAllowedACEType, AccessDeniedACEType, SystemAuditACEType, SystemAlarmACEType, SystemMandatoryLabelACEType}
		if allTypes {
			types = append(types, AccessAllowedCallbackType, AccessAllowedObjectACEType, SystemAuditObjectACEType, 0x14, 0x7f)
		}
		a := ACE{Type: rapid.SampledFrom(types).Draw(t, "type"), Flags: rapid.Byte().Draw(t, "flags")}
		switch {
		case hasMaskAndSID(a.Type):
			a.Mask = rapid.Uint32().Draw(t, "mask")
			a.SID = genSID().Draw(t, "sid")
			if allTypes {
				a.Opaque = genBytes(12).Draw(t, "opaque")
			}
		case isObjectACE(a.Type):
			a.Mask = rapid.Uint32().Draw(t, "mask")
			a.Opaque = genBytes(40).Draw(t, "opaque")
		default:
			a.Opaque = genBytes(16).Draw(t, "opaque")
		}
		// ACEs are 4-byte aligned (see decodeACE).
		if n := len(a.Opaque) % 4; n != 0 {
			a.Opaque = a.Opaque[:len(a.Opaque)-n]
			if len(a.Opaque) == 0 {
				a.Opaque = nil
			}
		}
		return a
	})
}

func genACL(allTypes bool) *rapid.Generator[*ACL] {
	return rapid.Custom(func(t *rapid.T) *ACL {
		if rapid.IntRange(0, 4).Draw(t, "aclNil") == 0 {
			return nil
		}
		l := &ACL{Revision: ACLRevision}
		if allTypes {
			l.Revision = rapid.SampledFrom([]uint8{ACLRevision, ACLRevisionDS}).Draw(t, "rev")
		}
		n := rapid.IntRange(0, 8).Draw(t, "aces")
		for range n {
			l.ACEs = append(l.ACEs, genACE(allTypes).Draw(t, "ace"))
		}
		return l
	})
}

// genDescriptor draws descriptors in the normal form Decode produces: present bits set for
// non-nil ACLs, nil rather than empty slices. With sddlOnly it keeps to what SDDL can express.
func genDescriptor(sddlOnly bool) *rapid.Generator[*SecurityDescriptor] {
	return rapid.Custom(func(t *rapid.T) *SecurityDescriptor {
		sd := &SecurityDescriptor{}
		if sddlOnly {
			ctl := rapid.SampledFrom([]uint16{0, DACLProtected, DACLAutoInherited, DACLComputedInheritRq, DACLProtected | DACLAutoInherited}).Draw(t, "dctl")
			ctl |= rapid.SampledFrom([]uint16{0, SACLProtected, SACLAutoInherited, SACLComputedInheritRq}).Draw(t, "sctl")
			sd.Control = ctl | SelfRelative
		} else {
			sd.Control = rapid.Uint16().Draw(t, "control") | SelfRelative
		}
		if rapid.Bool().Draw(t, "owner") {
			s := genSID().Draw(t, "ownerSID")
			sd.Owner = &s
		}
		if rapid.Bool().Draw(t, "group") {
			s := genSID().Draw(t, "groupSID")
			sd.Group = &s
		}
		sd.DACL = genACL(!sddlOnly).Draw(t, "dacl")
		sd.SACL = genACL(!sddlOnly).Draw(t, "sacl")
		if sd.DACL != nil {
			sd.Control |= DACLPresent
		}
		if sd.SACL != nil {
			sd.Control |= SACLPresent
		}
		if sddlOnly {
			// SDDL has no way to say "DACL flags but no DACL part": keep the flags only where
			// a D: or S: part is printed.
			if sd.DACL == nil && sd.Control&DACLPresent == 0 {
				if rapid.Bool().Draw(t, "nullDACL") {
					sd.Control |= DACLPresent
				} else {
					sd.Control &^= daclControl
				}
			}
			if sd.SACL == nil {
				sd.Control &^= saclControl
			}
		}
		return sd
	})
}

func TestPropertyDecodeEncode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sd := genDescriptor(false).Draw(t, "sd")
		for _, layout := range []Layout{LayoutWindows, LayoutSamba} {
			b := sd.EncodeLayout(layout)
			if len(b) != sd.encodedLen() {
				t.Fatalf("encoded %d bytes, encodedLen says %d", len(b), sd.encodedLen())
			}
			back, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode(x)): %v", err)
			}
			if !reflect.DeepEqual(back, sd) {
				t.Fatalf("Decode(Encode(x)) != x\n x   = %#v\n got = %#v", sd, back)
			}
		}
		if !reflect.DeepEqual(sd.Clone(), sd) {
			t.Fatalf("Clone differs")
		}
	})
}

func TestPropertySDDLRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sd := genDescriptor(true).Draw(t, "sd")
		s := sd.SDDL()
		back, err := ParseSDDL(s)
		if err != nil {
			t.Fatalf("ParseSDDL(%q): %v", s, err)
		}
		if !reflect.DeepEqual(back, sd) {
			t.Fatalf("ParseSDDL(SDDL(x)) != x\nSDDL %s\n x   = %#v\n got = %#v", s, sd, back)
		}
	})
}

// TestPropertyAccessCheckOracle compares AccessCheck with a per-bit reading of MS-DTYP 2.5.3.2
// for tokens that are neither owner nor admin (so no implicit or privilege rights): a right is
// granted exactly when the first applicable ACE that mentions it is an allow. In particular a
// deny that precedes every allow for a bit always wins.
func TestPropertyAccessCheckOracle(t *testing.T) {
	universe := []SID{WorldSID, AuthenticatedUsersSID, alice, bob, staff, AdministratorsSID, CreatorOwnerSID}
	rapid.Check(t, func(t *rapid.T) {
		tok := Token{User: rapid.SampledFrom([]SID{alice, bob}).Draw(t, "user")}
		if rapid.Bool().Draw(t, "staff") {
			tok.Groups = append(tok.Groups, staff)
		}
		if rapid.Bool().Draw(t, "au") {
			tok.Groups = append(tok.Groups, AuthenticatedUsersSID)
		}
		owner := MustParseSID("S-1-5-21-9-9-9-9")
		dacl := &ACL{Revision: ACLRevision}
		for range rapid.IntRange(0, 8).Draw(t, "n") {
			dacl.ACEs = append(dacl.ACEs, ACE{
				Type:  rapid.SampledFrom([]uint8{AccessAllowedACEType, AccessDeniedACEType, SystemAuditACEType}).Draw(t, "type"),
				Flags: rapid.SampledFrom([]uint8{0, InheritOnlyACE, InheritedACE, ObjectInheritACE | ContainerInheritACE}).Draw(t, "flags"),
				Mask: rapid.SampledFrom([]uint32{FileReadData, FileWriteData, Delete, WriteDAC, FileAllAccess, FileModify,
					GenericRead, GenericAll, FileReadData | FileWriteData}).Draw(t, "mask"),
				SID: rapid.SampledFrom(universe).Draw(t, "sid"),
			})
		}
		sd := &SecurityDescriptor{Control: SelfRelative | DACLPresent, Owner: &owner, DACL: dacl}

		var oracle uint32
		for bit := uint32(1); bit != 0; bit <<= 1 {
			for _, a := range dacl.ACEs {
				if a.Flags&InheritOnlyACE != 0 || (a.Type != AccessAllowedACEType && a.Type != AccessDeniedACEType) || !tok.Has(a.SID) {
					continue
				}
				if GenericMapping(a.Mask)&bit == 0 {
					continue
				}
				if a.Type == AccessAllowedACEType {
					oracle |= bit
				}
				break
			}
		}
		got, err := AccessCheck(sd, tok, MaximumAllowed)
		if oracle == 0 {
			if !errors.Is(err, ErrAccessDenied) {
				t.Fatalf("MAXIMUM_ALLOWED = %#x, %v; oracle grants nothing", got, err)
			}
		} else if err != nil || got != oracle {
			t.Fatalf("MAXIMUM_ALLOWED = %#x, %v; oracle %#x", got, err, oracle)
		}
		desired := rapid.SampledFrom([]uint32{FileReadData, FileWriteData, Delete, WriteDAC, GenericRead, GenericWrite, GenericAll, FileModify}).Draw(t, "desired")
		got, err = AccessCheck(sd, tok, desired)
		if want := GenericMapping(desired); want&^oracle == 0 {
			if err != nil || got != want {
				t.Fatalf("AccessCheck(%#x) = %#x, %v; oracle %#x", desired, got, err, oracle)
			}
		} else if !errors.Is(err, ErrAccessDenied) {
			t.Fatalf("AccessCheck(%#x) = %#x, %v; oracle %#x lacks %#x", desired, got, err, oracle, want&^oracle)
		}
	})
}

// TestPropertyDenyFirstAlwaysWins states the deny rule on its own, for any token including
// owners and admins: a bit denied by an applicable deny ACE that comes before every applicable
// allow is never granted, except the rights MS-DTYP grants before reading the DACL (the owner's
// READ_CONTROL|WRITE_DAC, an admin's WRITE_OWNER).
func TestPropertyDenyFirstAlwaysWins(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tok := Token{User: rapid.SampledFrom([]SID{alice, bob}).Draw(t, "user"), Admin: rapid.Bool().Draw(t, "admin"), Groups: []SID{staff}}
		denyMask := GenericMapping(rapid.Uint32().Draw(t, "deny")) & FileAllAccess
		denySID := rapid.SampledFrom([]SID{tok.User, staff, WorldSID}).Draw(t, "denySID")
		owner := rapid.SampledFrom([]SID{alice, bob}).Draw(t, "owner")
		aces := []ACE{{Type: AccessDeniedACEType, Mask: denyMask, SID: denySID}}
		for range rapid.IntRange(0, 5).Draw(t, "n") {
			aces = append(aces, ACE{Type: rapid.SampledFrom([]uint8{AccessAllowedACEType, AccessDeniedACEType}).Draw(t, "t"),
				Mask: rapid.Uint32().Draw(t, "m"), SID: rapid.SampledFrom([]SID{WorldSID, alice, bob, staff, AdministratorsSID}).Draw(t, "s")})
		}
		sd := &SecurityDescriptor{Control: SelfRelative | DACLPresent, Owner: &owner, DACL: &ACL{Revision: ACLRevision, ACEs: aces}}
		exempt := uint32(0)
		if tok.Has(owner) {
			exempt |= ReadControl | WriteDAC
		}
		if tok.Admin {
			exempt |= WriteOwner
		}
		got, err := AccessCheck(sd, tok, MaximumAllowed)
		if err == nil && got&denyMask&^exempt != 0 {
			t.Fatalf("granted %#x includes denied %#x", got, denyMask)
		}
		for bit := uint32(1); bit <= FileAllAccess; bit <<= 1 {
			if denyMask&bit == 0 || exempt&bit != 0 {
				continue
			}
			if _, err := AccessCheck(sd, tok, bit); !errors.Is(err, ErrAccessDenied) {
				t.Fatalf("bit %#x denied first but granted (%v)", bit, err)
			}
		}
	})
}

// TestPropertyInherit: whatever the parent, an inherited descriptor encodes, its ACEs are all
// marked inherited (or it is the token default), files get no inheritance flags, and effective
// ACEs never name CREATOR OWNER / CREATOR GROUP or carry generic bits.
func TestPropertyInherit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parent := genDescriptor(false).Draw(t, "parent")
		isDir := rapid.Bool().Draw(t, "isDir")
		child := Inherit(parent, aliceTok, isDir)
		if _, err := Decode(child.Encode()); err != nil {
			t.Fatalf("child does not encode: %v", err)
		}
		if !child.Owner.Equal(alice) || child.DACL == nil {
			t.Fatalf("owner %v DACL %v", child.Owner, child.DACL)
		}
		for _, l := range []*ACL{child.DACL, child.SACL} {
			if l == nil {
				continue
			}
			for _, a := range l.ACEs {
				if child.Control&DACLAutoInherited != 0 && l == child.DACL && a.Flags&InheritedACE == 0 {
					t.Fatalf("inherited DACL has an ACE without ID: %+v", a)
				}
				if !isDir && a.Flags&inheritanceFlags != 0 {
					t.Fatalf("file ACE with inheritance flags: %+v", a)
				}
				if a.Flags&InheritOnlyACE == 0 && hasMaskAndSID(a.Type) {
					if a.SID.Equal(CreatorOwnerSID) || a.SID.Equal(CreatorGroupSID) || a.Mask&genericBits != 0 {
						t.Fatalf("effective ACE not substituted/mapped: %+v", a)
					}
				}
			}
		}
	})
}
