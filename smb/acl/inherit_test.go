package acl

import (
	"errors"
	"os"
	"testing"
)

func TestInheritRules(t *testing.T) {
	a := alice.String()
	st := staff.String()
	tok := Token{User: alice, PrimaryGroup: staff, Groups: []SID{staff}}
	cases := []struct {
		name      string
		parent    string
		file, dir string // DACL part of the expected SDDL for a new file / directory
	}{
		{"OI+CI plain", "D:(A;OICI;FA;;;BA)", "D:AI(A;ID;FA;;;BA)", "D:AI(A;OICIID;FA;;;BA)"},
		{"OI only", "D:(A;OI;FR;;;WD)", "D:AI(A;ID;FR;;;WD)", "D:AI(A;OIIOID;FR;;;WD)"},
		{"CI only", "D:(A;CI;FR;;;WD)", "D:(A;;FA;;;" + a + ")(A;;FA;;;SY)", "D:AI(A;CIID;FR;;;WD)"},
		{"no inheritance flags", "D:(A;;FA;;;WD)", "D:(A;;FA;;;" + a + ")(A;;FA;;;SY)", "D:(A;;FA;;;" + a + ")(A;;FA;;;SY)"},
		{"NP stops after one level", "D:(A;OICINP;FR;;;WD)", "D:AI(A;ID;FR;;;WD)", "D:AI(A;ID;FR;;;WD)"},
		{"OI+NP reaches no directory", "D:(A;OINP;FR;;;WD)(A;CI;FR;;;AU)", "D:AI(A;ID;FR;;;WD)", "D:AI(A;CIID;FR;;;AU)"},
		{"IO on the parent is dropped", "D:(A;OICIIO;FR;;;WD)", "D:AI(A;ID;FR;;;WD)", "D:AI(A;OICIID;FR;;;WD)"},
		{"CREATOR OWNER is substituted and kept inheritable", "D:(A;OICIIO;GA;;;CO)",
			"D:AI(A;ID;FA;;;" + a + ")", "D:AI(A;ID;FA;;;" + a + ")(A;OICIIOID;GA;;;CO)"},
		{"CREATOR GROUP becomes the primary group", "D:(A;OICI;FR;;;CG)",
			"D:AI(A;ID;FR;;;" + st + ")", "D:AI(A;ID;FR;;;" + st + ")(A;OICIIOID;FR;;;CG)"},
		{"generic bits split into mapped and inherit-only", "D:(A;OICI;GR;;;WD)",
			"D:AI(A;ID;FR;;;WD)", "D:AI(A;ID;FR;;;WD)(A;OICIIOID;GR;;;WD)"},
		{"CREATOR OWNER with NP: effective only", "D:(A;OICINPIO;GA;;;CO)", "D:AI(A;ID;FA;;;" + a + ")", "D:AI(A;ID;FA;;;" + a + ")"},
		{"deny order kept", "D:(D;OICI;SD;;;WD)(A;OICI;FA;;;WD)", "D:AI(D;ID;0x10000;;;WD)(A;ID;FA;;;WD)", "D:AI(D;OICIID;0x10000;;;WD)(A;OICIID;FA;;;WD)"},
		{"already inherited ACEs inherit again", "D:AI(A;OICIID;FA;;;BA)", "D:AI(A;ID;FA;;;BA)", "D:AI(A;OICIID;FA;;;BA)"},
		{"null DACL parent gives the token default", "D:NO_ACCESS_CONTROL", "D:(A;;FA;;;" + a + ")(A;;FA;;;SY)", "D:(A;;FA;;;" + a + ")(A;;FA;;;SY)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := sdFor(t, "O:BAG:BA"+c.parent)
			// An auto-inherited parent, so children carry ID/AI (TestInheritAutoInheritCondition
			// covers the other case).
			parent.Control |= DACLAutoInherited
			for _, kind := range []struct {
				isDir bool
				want  string
			}{{false, c.file}, {true, c.dir}} {
				got := Inherit(parent, tok, kind.isDir)
				want := "O:" + a + "G:" + st + kind.want
				if got.SDDL() != want {
					t.Errorf("isDir=%v: Inherit = %s\nwant            %s", kind.isDir, got.SDDL(), want)
				}
				if _, err := Decode(got.Encode()); err != nil {
					t.Errorf("inherited descriptor does not encode: %v", err)
				}
			}
		})
	}
}

func TestInheritSACLAndNoParent(t *testing.T) {
	parent := sdFor(t, "O:BAG:BAD:AI(A;OICI;FA;;;BA)S:AI(AU;OICISAFA;FA;;;WD)(AU;;FA;;;AU)")
	got := Inherit(parent, Token{User: alice}, false)
	if want := "O:" + alice.String() + "G:" + alice.String() + "D:AI(A;ID;FA;;;BA)S:AI(AU;IDSAFA;FA;;;WD)"; got.SDDL() != want {
		t.Errorf("Inherit = %s\nwant      %s", got.SDDL(), want)
	}
	none := Inherit(nil, Token{User: bob}, true)
	if want := "O:" + bob.String() + "G:" + bob.String() + "D:(A;;FA;;;" + bob.String() + ")(A;;FA;;;SY)"; none.SDDL() != want {
		t.Errorf("Inherit(nil) = %s", none.SDDL())
	}
	// Inherit must not alias the parent: changing the child leaves the parent alone.
	child := Inherit(parent, Token{User: alice}, true)
	child.DACL.ACEs[0].SID.Sub[0] = 99
	if !parent.DACL.ACEs[0].SID.Equal(AdministratorsSID) {
		t.Errorf("Inherit aliased the parent's SID")
	}
}

// TestInheritMatchesSamba compares Inherit with what a Samba 4.17 peer stored for files and
// directories created below a directory with deny, NP, CREATOR OWNER, CI-only and OI+CI ACEs
// (testdata/samba-top*): which ACEs, their order, flags, CREATOR OWNER substitution and
// splitting, NP, and no INHERITED_ACE because the parent is not auto-inherited.
func TestInheritMatchesSamba(t *testing.T) {
	load := func(name string) *SecurityDescriptor {
		raw, err := os.ReadFile("testdata/samba-" + name + ".bin")
		if err != nil {
			t.Fatal(err)
		}
		sd, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		return sd
	}
	owner := MustParseSID("S-1-5-21-2471939612-2732714290-968124389-1000")
	tok := Token{User: owner, PrimaryGroup: MustParseSID("S-1-5-21-2471939612-2732714290-968124389-513")}
	for _, c := range []struct {
		parent, child string
		isDir         bool
	}{
		{"top", "top-a-txt", false},
		{"top", "top-b", true},
		{"top-b", "top-b-c", true},
		{"top-b-c", "top-b-c-x-txt", false},
	} {
		got := Inherit(load(c.parent), tok, c.isDir)
		want := load(c.child)
		if !got.Equal(want) {
			t.Errorf("Inherit(%s, dir=%v) =\n%s\nSamba stored\n%s", c.parent, c.isDir, got.SDDL(), want.SDDL())
		}
	}
}

func TestDefaultRoot(t *testing.T) {
	root := DefaultRoot(alice)
	if want := "O:" + alice.String() + "G:BAD:PAI(A;OICI;FA;;;" + alice.String() + ")(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;AU)(A;OICIIO;GA;;;CO)"; root.SDDL() != want {
		t.Errorf("DefaultRoot = %s", root.SDDL())
	}
	// What the default root means for callers: the owner and admins have full control,
	// authenticated users may modify but not change permissions, anonymous users get nothing.
	check := func(tok Token, desired uint32, ok bool) {
		t.Helper()
		_, err := AccessCheck(root, tok, desired)
		if ok != (err == nil) {
			t.Errorf("AccessCheck(root, %s, %#x) = %v, want ok=%v", tok.User, desired, err, ok)
		}
	}
	check(aliceTok, GenericAll, true)
	check(adminTok, GenericAll, true)
	check(bobTok, GenericRead|GenericWrite|Delete, true)
	check(bobTok, WriteDAC, false)
	check(Token{User: AnonymousSID}, FileReadData, false)
	// A file bob creates in the root: bob has full control through CREATOR OWNER, alice
	// through her inheritable owner ACE, other authenticated users may modify.
	file := Inherit(root, bobTok, false)
	check2 := func(tok Token, desired uint32, ok bool) {
		t.Helper()
		if _, err := AccessCheck(file, tok, desired); ok != (err == nil) {
			t.Errorf("AccessCheck(file, %s, %#x) = %v, want ok=%v", tok.User, desired, err, ok)
		}
	}
	check2(bobTok, WriteDAC|WriteOwner, true)
	check2(aliceTok, GenericAll, true)
	other := Token{User: MustParseSID("S-1-5-21-1000-2000-3000-1003"), Groups: []SID{AuthenticatedUsersSID}}
	check2(other, GenericWrite, true)
	if _, err := AccessCheck(file, other, WriteDAC); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("other user may change permissions of bob's file")
	}
}

func TestCreateDescriptor(t *testing.T) {
	a, st := alice.String(), staff.String()
	tok := Token{User: alice, PrimaryGroup: staff, Groups: []SID{staff}}
	parent := sdFor(t, "O:BAG:BAD:AI(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)")
	cases := []struct {
		name, creator string
		isDir         bool
		want          string
	}{
		{"creator DACL replaces the inherited one", "D:(A;;FR;;;WD)", false,
			"O:" + a + "G:" + st + "D:(A;;FR;;;WD)"},
		{"creator auto-inherited bit kept", "D:AI(A;;FR;;;WD)", false,
			"O:" + a + "G:" + st + "D:AI(A;;FR;;;WD)"},
		{"protected creator DACL inherits nothing", "D:P(A;;FR;;;WD)", false,
			"O:" + a + "G:" + st + "D:P(A;;FR;;;WD)"},
		{"creator owner and group win", "O:BUG:BGD:P(A;;FR;;;WD)", false,
			"O:BUG:BGD:P(A;;FR;;;WD)"},
		{"ACEs the creator marked inherited are kept in place", "D:P(A;ID;FA;;;AU)(A;;FR;;;WD)", false,
			"O:" + a + "G:" + st + "D:P(A;ID;FA;;;AU)(A;;FR;;;WD)"},
		{"null creator DACL stays null", "D:NO_ACCESS_CONTROL", false,
			"O:" + a + "G:" + st + "D:NO_ACCESS_CONTROL"},
		{"no creator DACL: inherit", "O:BU", false,
			"O:BUG:" + st + "D:AI(A;ID;FA;;;BA)(A;ID;FA;;;BU)"},
		{"creator generic bits of an effective directory ACE are mapped", "D:P(A;OICI;GA;;;CO)", true,
			"O:" + a + "G:" + st + "D:P(A;OICI;FA;;;CO)"},
		{"creator generic bits on a file are mapped", "D:P(A;;GR;;;WD)", false,
			"O:" + a + "G:" + st + "D:P(A;;FR;;;WD)"},
		{"creator inherit-only ACE kept as is", "D:P(A;OICIIO;GR;;;WD)", true,
			"O:" + a + "G:" + st + "D:P(A;OICIIO;GR;;;WD)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := CreateDescriptor(parent, sdFor(t, c.creator), tok, c.isDir)
			if got.SDDL() != c.want {
				t.Errorf("CreateDescriptor = %s\nwant             %s", got.SDDL(), c.want)
			}
			if _, err := Decode(got.Encode()); err != nil {
				t.Errorf("does not encode: %v", err)
			}
		})
	}
	if got, want := CreateDescriptor(parent, nil, tok, true).SDDL(), Inherit(parent, tok, true).SDDL(); got != want {
		t.Errorf("CreateDescriptor without creator = %s, Inherit = %s", got, want)
	}
}

// TestInheritAutoInheritCondition replays the expectations of smbtorture's ACL INHERITANCE test
// (source4/torture/raw/acls.c test_inheritance, also in smb2/acls.c), written against Windows:
// the parent directory's DACL is set to (A;<flags>;FILE_WRITE_DATA;;;CO)(A;;FILE_ALL;;;WD)
// without SE_DACL_AUTO_INHERITED, then a file and a directory are created in it.
//   - a file gets one ACE for the owner with flags 0 when <flags> has OI, otherwise the default
//     DACL (owner and SYSTEM full access);
//   - a directory with CI and NP gets one owner ACE with flags 0; with CI it gets the owner ACE
//     (flags 0) plus CREATOR OWNER with the parent's OI/CI and IO; with OI alone (no NP) only
//     CREATOR OWNER with OI|IO; otherwise the default DACL.
func TestInheritAutoInheritCondition(t *testing.T) {
	owner := alice
	tok := Token{User: owner}
	def := "D:(A;;FA;;;" + owner.String() + ")(A;;FA;;;SY)"
	for _, pf := range []uint8{0, ObjectInheritACE, ContainerInheritACE, ObjectInheritACE | ContainerInheritACE,
		NoPropagateInherit, NoPropagateInherit | ObjectInheritACE, NoPropagateInherit | ContainerInheritACE,
		NoPropagateInherit | ContainerInheritACE | ObjectInheritACE, InheritOnlyACE, InheritOnlyACE | ObjectInheritACE,
		InheritOnlyACE | ContainerInheritACE, InheritOnlyACE | ContainerInheritACE | ObjectInheritACE,
		InheritOnlyACE | NoPropagateInherit, InheritOnlyACE | NoPropagateInherit | ObjectInheritACE,
		InheritOnlyACE | NoPropagateInherit | ContainerInheritACE,
		InheritOnlyACE | NoPropagateInherit | ContainerInheritACE | ObjectInheritACE} {
		parent := &SecurityDescriptor{Control: SelfRelative | DACLPresent, Owner: &owner, DACL: &ACL{Revision: ACLRevision, ACEs: []ACE{
			{Type: AccessAllowedACEType, Flags: pf, Mask: FileWriteData, SID: CreatorOwnerSID},
			{Type: AccessAllowedACEType, Mask: FileAllAccess, SID: WorldSID},
		}}}
		oi, ci, np := pf&ObjectInheritACE != 0, pf&ContainerInheritACE != 0, pf&NoPropagateInherit != 0
		wantFile := def
		if oi {
			wantFile = "D:(A;;0x2;;;" + owner.String() + ")"
		}
		wantDir := def
		switch {
		case ci && np:
			wantDir = "D:(A;;0x2;;;" + owner.String() + ")"
		case ci:
			f := "CIIO"
			if oi {
				f = "OICIIO"
			}
			wantDir = "D:(A;;0x2;;;" + owner.String() + ")(A;" + f + ";0x2;;;CO)"
		case oi && !np:
			wantDir = "D:(A;OIIO;0x2;;;CO)"
		}
		file, dir := Inherit(parent, tok, false), Inherit(parent, tok, true)
		if got := file.Select(DACLSecurityInformation).SDDL(); got != wantFile {
			t.Errorf("parent flags %#x: file %s, want %s", pf, got, wantFile)
		}
		if got := dir.Select(DACLSecurityInformation).SDDL(); got != wantDir {
			t.Errorf("parent flags %#x: dir %s, want %s", pf, got, wantDir)
		}
	}

	// The second half of that test: an OI ACE for the owner with WRITE_DATA|WRITE_DAC gives the
	// new file exactly that ACE with flags 0; reopening for FILE_ALL is denied, for WRITE_DATA
	// it is granted together with FILE_READ_ATTRIBUTES, which the parent's Everyone ACE
	// (FILE_LIST_DIRECTORY) implies.
	parent := sdFor(t, "O:"+owner.String()+"D:(A;OI;0x40002;;;"+owner.String()+")(A;;FA;;;WD)")
	file := Inherit(parent, tok, false)
	if got, want := file.Select(OwnerSecurityInformation|DACLSecurityInformation).SDDL(), "O:"+owner.String()+"D:(A;;0x40002;;;"+owner.String()+")"; got != want {
		t.Errorf("inherited file %s, want %s", got, want)
	}
	if _, err := OpenAccessCheck(file, parent, tok, FileAllAccess); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("reopen for FILE_ALL: %v, want denied", err)
	}
	if got, err := OpenAccessCheck(file, parent, tok, FileWriteData|MaximumAllowed); err != nil || got&(FileWriteData|FileReadAttributes) != FileWriteData|FileReadAttributes {
		t.Errorf("reopen for WRITE_DATA: %#x, %v", got, err)
	}
}
