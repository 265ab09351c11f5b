package acl

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

var (
	alice    = MustParseSID("S-1-5-21-1000-2000-3000-1001")
	bob      = MustParseSID("S-1-5-21-1000-2000-3000-1002")
	staff    = MustParseSID("S-1-5-21-1000-2000-3000-2001")
	aliceTok = Token{User: alice, Groups: []SID{staff, AuthenticatedUsersSID}}
	bobTok   = Token{User: bob, Groups: []SID{AuthenticatedUsersSID}}
	adminTok = Token{User: MustParseSID("S-1-5-21-1000-2000-3000-500"), Groups: []SID{AuthenticatedUsersSID}, Admin: true}
)

// sddlWithOwner parses SDDL and replaces the aliases "O:alice" style owners used in the table.
func sdFor(t *testing.T, sddl string) *SecurityDescriptor {
	t.Helper()
	sd, err := ParseSDDL(sddl)
	if err != nil {
		t.Fatalf("ParseSDDL(%q): %v", sddl, err)
	}
	return sd
}

func TestAccessCheck(t *testing.T) {
	a, b, st := alice.String(), bob.String(), staff.String()
	cases := []struct {
		name    string
		sddl    string // nil descriptor when "-"
		tok     Token
		desired uint32
		granted uint32 // 0 means access denied
	}{
		{"no descriptor grants all", "-", bobTok, FileReadData | WriteDAC, FileReadData | WriteDAC},
		{"null DACL grants all", "O:" + a + "D:NO_ACCESS_CONTROL", bobTok, GenericAll, FileAllAccess},
		{"null DACL max allowed", "O:" + a + "D:NO_ACCESS_CONTROL", bobTok, MaximumAllowed, FileAllAccess},
		{"empty DACL denies others", "O:" + a + "D:", bobTok, FileReadData, 0},
		{"empty DACL max allowed for others is denied", "O:" + a + "D:", bobTok, MaximumAllowed, 0},
		{"empty DACL leaves owner READ_CONTROL|WRITE_DAC", "O:" + a + "D:", aliceTok, MaximumAllowed, ReadControl | WriteDAC},
		{"empty DACL owner may rewrite it", "O:" + a + "D:", aliceTok, WriteDAC, WriteDAC},
		{"empty DACL owner still cannot read data", "O:" + a + "D:", aliceTok, FileReadData, 0},
		{"owner rights via group ownership", "O:" + st + "D:", aliceTok, ReadControl, ReadControl},
		{"OWNER RIGHTS ACE replaces implicit rights", "O:" + a + "D:(A;;RC;;;OW)", aliceTok, MaximumAllowed, ReadControl},
		{"OWNER RIGHTS ACE: no WRITE_DAC", "O:" + a + "D:(A;;RC;;;OW)", aliceTok, WriteDAC, 0},
		{"OWNER RIGHTS ACE is ignored for non-owners", "O:" + a + "D:(A;;FA;;;OW)", bobTok, ReadControl, 0},
		{"allow everyone read", "O:" + a + "D:(A;;FR;;;WD)", bobTok, FileReadData, FileReadData},
		{"generic read is mapped", "O:" + a + "D:(A;;FR;;;WD)", bobTok, GenericRead, FileGenericRead},
		{"generic write not granted by FR", "O:" + a + "D:(A;;FR;;;WD)", bobTok, GenericWrite, 0},
		{"generic ACE mask is mapped", "O:" + a + "D:(A;;GA;;;AU)", bobTok, MaximumAllowed, FileAllAccess},
		{"max allowed is the union of allows", "O:" + a + "D:(A;;FR;;;WD)(A;;FX;;;AU)", bobTok, MaximumAllowed, FileGenericRead | FileGenericExecute},
		{"max allowed plus a bit it covers", "O:" + a + "D:(A;;FR;;;WD)", bobTok, MaximumAllowed | FileReadData, FileGenericRead},
		{"max allowed plus a bit it lacks", "O:" + a + "D:(A;;FR;;;WD)", bobTok, MaximumAllowed | FileWriteData, 0},
		{"deny before allow wins", "O:" + a + "D:(D;;0x2;;;" + b + ")(A;;FA;;;WD)", bobTok, FileWriteData, 0},
		{"deny before allow: other bits still granted", "O:" + a + "D:(D;;0x2;;;" + b + ")(A;;FA;;;WD)", bobTok, FileReadData, FileReadData},
		{"deny before allow under max allowed", "O:" + a + "D:(D;;0x2;;;" + b + ")(A;;FA;;;WD)", bobTok, MaximumAllowed, FileAllAccess &^ FileWriteData},
		{"allow before deny: allow already granted", "O:" + a + "D:(A;;FA;;;WD)(D;;0x2;;;" + b + ")", bobTok, FileWriteData, FileWriteData},
		{"deny for another SID does not apply", "O:" + a + "D:(D;;FA;;;" + a + ")(A;;FA;;;WD)", bobTok, FileWriteData, FileWriteData},
		{"deny via group", "O:" + a + "D:(D;;SD;;;" + st + ")(A;;FA;;;WD)", aliceTok, Delete, 0},
		{"deny cannot take the owner's implicit rights", "O:" + a + "D:(D;;FA;;;" + a + ")", aliceTok, ReadControl | WriteDAC, ReadControl | WriteDAC},
		{"inherit-only ACE does not apply", "O:" + a + "D:(A;OICIIO;FA;;;WD)", bobTok, FileReadData, 0},
		{"inherit-only deny does not apply", "O:" + a + "D:(D;IO;FA;;;WD)(A;;FA;;;WD)", bobTok, FileReadData, FileReadData},
		{"inherited ACE applies", "O:" + a + "D:(A;ID;FR;;;WD)", bobTok, FileReadData, FileReadData},
		{"audit ACE in DACL ignored", "O:" + a + "D:(AU;SA;FA;;;WD)", bobTok, FileReadData, 0},
		{"CREATOR OWNER ACE does not match the owner", "O:" + a + "D:(A;;FA;;;CO)", aliceTok, FileReadData, 0},
		{"admin may take ownership", "O:" + a + "D:", adminTok, WriteOwner, WriteOwner},
		{"admin has no data access by privilege", "O:" + a + "D:", adminTok, FileReadData, 0},
		{"admin via BA ACE", "O:" + a + "D:(A;;FA;;;BA)", adminTok, FileReadData | Delete, FileReadData | Delete},
		{"non-admin is not BA", "O:" + a + "D:(A;;FA;;;BA)", bobTok, FileReadData, 0},
		{"ACCESS_SYSTEM_SECURITY needs the privilege", "O:" + a + "D:(A;;FA;;;WD)", bobTok, AccessSystemSecurity, 0},
		{"admin gets ACCESS_SYSTEM_SECURITY", "O:" + a + "D:(A;;FA;;;WD)", adminTok, AccessSystemSecurity | FileReadData, AccessSystemSecurity | FileReadData},
		{"max allowed does not add ACCESS_SYSTEM_SECURITY", "O:" + a + "D:(A;;FA;;;WD)", adminTok, MaximumAllowed, FileAllAccess},
		{"everyone is implicit", "O:" + a + "D:(A;;0x1;;;WD)", Token{User: bob}, FileReadData, FileReadData},
		{"AU comes from the token's groups", "O:" + a + "D:(A;;0x1;;;AU)", Token{User: bob}, FileReadData, 0},
		{"modify lacks WRITE_DAC", "O:" + a + "D:(A;;0x1301bf;;;AU)", bobTok, WriteDAC, 0},
		{"modify has DELETE", "O:" + a + "D:(A;;0x1301bf;;;AU)", bobTok, Delete | FileWriteData | FileAppendData, Delete | FileWriteData | FileAppendData},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sd *SecurityDescriptor
			if c.sddl != "-" {
				sd = sdFor(t, c.sddl)
				// Decode the encoded form, as the server will read it from storage.
				var err error
				if sd, err = Decode(sd.Encode()); err != nil {
					t.Fatal(err)
				}
			}
			got, err := AccessCheck(sd, c.tok, c.desired)
			if c.granted == 0 {
				if !errors.Is(err, ErrAccessDenied) {
					t.Fatalf("AccessCheck(%#x) = %#x, %v; want access denied", c.desired, got, err)
				}
				return
			}
			if err != nil || got != c.granted {
				t.Fatalf("AccessCheck(%#x) = %#x, %v; want %#x", c.desired, got, err, c.granted)
			}
		})
	}
}

func TestGenericMapping(t *testing.T) {
	cases := map[uint32]uint32{
		GenericRead:                       0x120089,
		GenericWrite:                      0x120116,
		GenericExecute:                    0x1200a0,
		GenericAll:                        0x1f01ff,
		GenericRead | GenericExecute:      0x1200a9,
		GenericRead | Delete:              0x130089,
		FileReadData:                      FileReadData,
		MaximumAllowed | GenericWrite:     MaximumAllowed | 0x120116,
		AccessSystemSecurity | GenericAll: AccessSystemSecurity | 0x1f01ff,
	}
	for in, want := range cases {
		if got := GenericMapping(in); got != want {
			t.Errorf("GenericMapping(%#x) = %#x, want %#x", in, got, want)
		}
	}
	if FileModify != 0x1301bf {
		t.Errorf("FileModify = %#x", FileModify)
	}
}

// TestMaximumAccessMatchesSamba compares OpenAccessCheck(MAXIMUM_ALLOWED) with the maximal
// access a Samba 4.17 peer reported (`smbcacls -x`) to the owning user for every captured file:
// inherited descriptors, deny-before-allow, an empty DACL, OWNER RIGHTS, a deny for a group the
// user is in, and rights implied by the parent directory (MS-FSA 2.1.5.1.2.1).
func TestMaximumAccessMatchesSamba(t *testing.T) {
	load := func(name string) *SecurityDescriptor {
		base := "testdata/samba-" + strings.NewReplacer("/", "-", ".", "-").Replace(name)
		if raw, err := os.ReadFile(base + ".bin"); err == nil {
			sd, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			return sd
		}
		// The share root and d/ were never written through SMB; Samba synthesises their
		// descriptors from POSIX modes, so there are no stored bytes, only smbcacls' view.
		return numericDescriptor(t, base+".numeric")
	}
	owner := MustParseSID("S-1-5-21-2471939612-2732714290-968124389-1000")
	tok := Token{User: owner, Groups: []SID{
		MustParseSID("S-1-5-21-2471939612-2732714290-968124389-513"), AuthenticatedUsersSID, NetworkSID, UsersSID,
		UnixUserSID(1001), UnixGroupSID(1001),
	}}
	raw, err := os.ReadFile("testdata/samba-maxaccess.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) < 10 {
		t.Fatalf("only %d maximum-access records", len(lines))
	}
	for _, line := range lines {
		name, hexMask, _ := strings.Cut(line, " ")
		want, err := strconv.ParseUint(hexMask, 0, 32)
		if err != nil {
			t.Fatal(err)
		}
		parent := "root"
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			parent = name[:i]
		}
		got, err := OpenAccessCheck(load(name), load(parent), tok, MaximumAllowed)
		if err != nil || got != uint32(want) {
			t.Errorf("%s: OpenAccessCheck(MAXIMUM_ALLOWED) = %#x, %v; Samba says %#x", name, got, err, want)
		}
	}
}

func TestOpenAccessCheckParentRights(t *testing.T) {
	a := alice.String()
	file := sdFor(t, "O:"+a+"D:(D;;SD;;;WD)(A;;FR;;;WD)")
	parentAll := sdFor(t, "O:"+a+"D:(A;;FA;;;WD)")
	parentNone := sdFor(t, "O:"+a+"D:(A;;0x20;;;WD)")
	if _, err := OpenAccessCheck(file, parentAll, bobTok, Delete); err != nil {
		t.Errorf("DELETE through the parent's FILE_DELETE_CHILD: %v", err)
	}
	if _, err := OpenAccessCheck(file, parentNone, bobTok, Delete); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("DELETE without FILE_DELETE_CHILD on the parent: %v", err)
	}
	if _, err := AccessCheck(file, bobTok, Delete); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("AccessCheck alone must not look at the parent: %v", err)
	}
	noAttrs := sdFor(t, "O:"+a+"D:(A;;0x1;;;WD)")
	if got, err := OpenAccessCheck(noAttrs, parentAll, bobTok, MaximumAllowed); err != nil || got != FileReadData|FileReadAttributes|Delete {
		t.Errorf("MAXIMUM_ALLOWED with parent rights = %#x, %v", got, err)
	}
	if got, err := OpenAccessCheck(noAttrs, nil, bobTok, MaximumAllowed); err != nil || got != FileReadData {
		t.Errorf("MAXIMUM_ALLOWED at a share root = %#x, %v", got, err)
	}
}

func TestAnonymousIsNotEveryone(t *testing.T) {
	sd := sdFor(t, "O:BAD:(A;;FR;;;WD)(A;;0x2;;;AN)")
	anon := Token{User: AnonymousSID, Anonymous: true}
	if got, err := AccessCheck(sd, anon, MaximumAllowed); err != nil || got != FileWriteData {
		t.Errorf("anonymous MAXIMUM_ALLOWED = %#x, %v; want only its own ACE", got, err)
	}
	if _, err := AccessCheck(sd, Token{User: bob}, FileReadData); err != nil {
		t.Errorf("named user is in Everyone: %v", err)
	}
}

func TestMaySetOwner(t *testing.T) {
	if !aliceTok.MaySetOwner(alice) || !aliceTok.MaySetOwner(staff) {
		t.Errorf("alice may own as herself or her group")
	}
	if aliceTok.MaySetOwner(bob) || !aliceTok.MaySetOwner(WorldSID) {
		t.Errorf("alice may not give ownership to bob; she may to Everyone (as Samba allows)")
	}
	if !adminTok.MaySetOwner(bob) {
		t.Errorf("an admin (SeRestorePrivilege) may set any owner")
	}
}

func TestRequiredAccessForSecurityInfo(t *testing.T) {
	cases := []struct {
		info       uint32
		query, set uint32
	}{
		{OwnerSecurityInformation, ReadControl, WriteOwner},
		{GroupSecurityInformation, ReadControl, WriteOwner},
		{DACLSecurityInformation, ReadControl, WriteDAC},
		{SACLSecurityInformation, AccessSystemSecurity, AccessSystemSecurity},
		{LabelSecurityInformation, ReadControl, WriteOwner},
		{AttributeSecurityInformation, ReadControl, WriteDAC},
		{ScopeSecurityInformation, ReadControl, AccessSystemSecurity},
		{OwnerSecurityInformation | DACLSecurityInformation, ReadControl, WriteOwner | WriteDAC},
		{BackupSecurityInformation, ReadControl | AccessSystemSecurity, WriteOwner | WriteDAC | AccessSystemSecurity},
		{0x80000000, 0, 0}, // PROTECTED_DACL_SECURITY_INFORMATION is not an SMB2 bit: ignored
	}
	for _, c := range cases {
		if got := QueryAccess(c.info); got != c.query {
			t.Errorf("QueryAccess(%#x) = %#x, want %#x", c.info, got, c.query)
		}
		if got := SetAccess(c.info); got != c.set {
			t.Errorf("SetAccess(%#x) = %#x, want %#x", c.info, got, c.set)
		}
	}
}

// TestSmbtortureACLExpectations replays what smbtorture's smb2.acls subtests (written against
// Windows; source4/torture/smb2/acls.c) expect of the access check, through the same path the
// server takes: SET_INFO (Merge) of a DACL on a file the user owns in a directory granting them
// full control, then CREATE with MAXIMUM_ALLOWED or specific rights (OpenAccessCheck). Like
// the tests, DELETE (implied by the parent) is masked out of maximal access.
func TestSmbtortureACLExpectations(t *testing.T) {
	o := alice.String()
	parent := sdFor(t, "O:"+o+"D:(A;OICI;FA;;;"+o+")")
	file := sdFor(t, "O:"+o+"D:(A;;FA;;;"+o+")")
	tok := Token{User: alice, Groups: []SID{AuthenticatedUsersSID}}
	const fileRead = FileGenericRead // SEC_RIGHTS_FILE_READ
	cases := []struct {
		name    string
		dacl    string
		desired uint32
		want    uint32 // 0: access denied
	}{
		{"OWNER-RIGHTS: owner and OWNER RIGHTS ACEs add up, no implicit WRITE_DAC",
			"D:(A;;FR;;;" + o + ")(A;;0x2;;;OW)", MaximumAllowed, fileRead | FileWriteData},
		{"OWNER-RIGHTS-DENY: leading OWNER RIGHTS deny removes READ_DATA",
			"D:(D;;0x1;;;OW)(A;;FR;;;" + o + ")", MaximumAllowed, fileRead &^ FileReadData},
		{"OWNER-RIGHTS-DENY1: trailing deny does not take back",
			"D:(A;;FR;;;" + o + ")(A;;0x2;;;OW)(D;;0x3;;;OW)", MaximumAllowed, fileRead | FileWriteData},
		{"DENY1: trailing deny for the owner does not take back; WRITE_DAC from ownership",
			"D:(A;;0x12008b;;;" + o + ")(D;;0x2;;;" + o + ")", MaximumAllowed, fileRead | FileWriteData | WriteDAC},
		{"MXAC-NOT-GRANTED: MAXIMUM_ALLOWED plus an ungranted right fails",
			"D:(A;;0x1;;;" + o + ")", MaximumAllowed | FileWriteData, 0},
		{"GENERIC: GENERIC_READ is stored mapped and grants FILE_GENERIC_READ",
			"D:(A;;GR;;;" + o + ")", MaximumAllowed, fileRead | WriteDAC | ReadControl | FileReadAttributes},
		{"GENERIC: GENERIC_ALL", "D:(A;;GA;;;" + o + ")", MaximumAllowed, FileAllAccess &^ Delete},
		{"OWNER: WRITE_DATA only; READ_ATTRIBUTES comes from the parent",
			"D:(A;;0x2;;;" + o + ")", FileReadAttributes, FileReadAttributes},
		{"OWNER: READ_DATA not granted", "D:(A;;0x2;;;" + o + ")", FileReadData, 0},
		{"OWNER: WRITE_DAC via ownership", "D:(A;;0x2;;;" + o + ")", WriteDAC, WriteDAC},
		{"OWNER: WRITE_OWNER not granted", "D:(A;;0x2;;;" + o + ")", WriteOwner, 0},
		{"CREATOR: a non-inheritable CREATOR OWNER ACE grants the owner nothing",
			"D:(A;;0x1f0089;;;CO)", FileReadData, 0},
		{"CREATOR: ... nor generic read", "D:(A;;0x1f0089;;;CO)", GenericRead, 0},
		{"CREATOR: the same ACE for the owner SID allows read", "D:(A;;0x1f0089;;;" + o + ")", FileReadData, FileReadData},
		{"CREATOR: generic read maps to FILE_GENERIC_READ", "D:(A;;0x1f0089;;;" + o + ")", GenericRead, fileRead},
		{"CREATOR: no write", "D:(A;;0x1f0089;;;" + o + ")", FileWriteData, 0},
		{"CREATOR: generic write", "D:(A;;0x801f0000;;;" + o + ")", GenericWrite, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stored := Merge(file, sdFor(t, c.dacl), DACLSecurityInformation)
			if c.name[:7] == "GENERIC" && stored.DACL.ACEs[0].Mask&genericBits != 0 {
				t.Fatalf("generic bits stored: %s", stored.SDDL())
			}
			got, err := OpenAccessCheck(stored, parent, tok, c.desired)
			if c.want == 0 {
				if !errors.Is(err, ErrAccessDenied) {
					t.Fatalf("granted %#x, %v; want access denied", got, err)
				}
				return
			}
			if c.desired&MaximumAllowed != 0 {
				got &^= Delete
			}
			if err != nil || got != c.want {
				t.Fatalf("granted %#x, %v; want %#x", got, err, c.want)
			}
		})
	}
}
