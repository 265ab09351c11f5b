package acl

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSIDStringRoundTrip(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"S-1-1-0", "S-1-1-0"},
		{"S-1-5-18", "S-1-5-18"},
		{"S-1-5-32-544", "S-1-5-32-544"},
		{"S-1-5", "S-1-5"},
		{"S-1-5-21-2471939612-2732714290-968124389-1000", "S-1-5-21-2471939612-2732714290-968124389-1000"},
		{"S-1-4294967295-1", "S-1-4294967295-1"},
		// MS-DTYP 2.4.2.1: authorities of 2^32 and above are written in hex.
		{"S-1-0x0000FFFFFFFFFFFF-7", "S-1-0xFFFFFFFFFFFF-7"},
		{"S-1-0xFFFFFFFFFFFF-7", "S-1-0xFFFFFFFFFFFF-7"},
		{"S-1-4294967296", "S-1-0x000100000000"},
		{"S-1-0x05-18", "S-1-5-18"},
		{"S-1-0-0-1-2-3-4-5-6-7-8-9-10-11-12-13-14", "S-1-0-0-1-2-3-4-5-6-7-8-9-10-11-12-13-14"},
	}
	for _, c := range cases {
		s, err := ParseSID(c.in)
		if err != nil {
			t.Fatalf("ParseSID(%q): %v", c.in, err)
		}
		if got := s.String(); got != c.want {
			t.Errorf("ParseSID(%q).String() = %q, want %q", c.in, s.String(), c.want)
		}
		back, err := DecodeSID(s.Bytes())
		if err != nil || !back.Equal(s) {
			t.Errorf("DecodeSID(Bytes(%s)) = %v, %v", s, back, err)
		}
	}
	for _, bad := range []string{"", "S-1", "S-2-5-18", "X-1-5", "S-1-5-x", "S-1-281474976710656", "S-1-5-4294967296",
		"S-1-0-0-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15"} {
		if _, err := ParseSID(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSID(%q) error = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestWellKnownSIDs(t *testing.T) {
	for sid, want := range map[*SID]string{
		&WorldSID: "S-1-1-0", &CreatorOwnerSID: "S-1-3-0", &CreatorGroupSID: "S-1-3-1", &SystemSID: "S-1-5-18",
		&AdministratorsSID: "S-1-5-32-544", &AuthenticatedUsersSID: "S-1-5-11", &OwnerRightsSID: "S-1-3-4",
	} {
		if sid.String() != want {
			t.Errorf("%s, want %s", sid, want)
		}
	}
	// Binary form of BA, MS-DTYP 2.4.2.2: revision 1, 2 sub-authorities, authority 5 big-endian.
	if got := hex.EncodeToString(AdministratorsSID.Bytes()); got != "01020000000000052000000020020000" {
		t.Errorf("BA bytes %s", got)
	}
	if d := MachineDomainSID("cluster-a"); !d.Equal(MachineDomainSID("cluster-a")) || d.Equal(MachineDomainSID("cluster-b")) ||
		len(d.Sub) != 4 || d.Sub[0] != 21 {
		t.Errorf("MachineDomainSID not stable and distinct: %s", d)
	}
	if got := UnixUserSID(1000).String(); got != "S-1-22-1-1000" {
		t.Errorf("UnixUserSID = %s", got)
	}
	if got := MachineDomainSID("x").WithRID(513); len(got.Sub) != 5 || got.Sub[4] != 513 {
		t.Errorf("WithRID = %s", got)
	}
}

// msdtypExample is MS-DTYP 2.5.1.4 "SDDL String to Binary Security Descriptor Examples": the
// SDDL and the self-relative bytes Windows produces for it.
const msdtypExampleSDDL = "O:BAG:BAD:P(A;CIOI;GRGX;;;BU)(A;CIOI;GA;;;BA)(A;CIOI;GA;;;SY)(A;CIOI;GA;;;CO)S:P(AU;FA;GR;;;WD)"

var msdtypExampleHex = strings.Join([]string{
	"01 00 14 b0 90 00 00 00 a0 00 00 00 14 00 00 00",
	"30 00 00 00 02 00 1c 00 01 00 00 00 02 80 14 00",
	"00 00 00 80 01 01 00 00 00 00 00 01 00 00 00 00",
	"02 00 60 00 04 00 00 00 00 03 18 00 00 00 00 a0",
	"01 02 00 00 00 00 00 05 20 00 00 00 21 02 00 00",
	"00 03 18 00 00 00 00 10 01 02 00 00 00 00 00 05",
	"20 00 00 00 20 02 00 00 00 03 14 00 00 00 00 10",
	"01 01 00 00 00 00 00 05 12 00 00 00 00 03 14 00",
	"00 00 00 10 01 01 00 00 00 00 00 03 00 00 00 00",
	"01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00",
	"01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00",
}, " ")

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMSDTYPExampleByteExact(t *testing.T) {
	want := mustHex(t, msdtypExampleHex)
	sd, err := ParseSDDL(msdtypExampleSDDL)
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("Encode(ParseSDDL(example)) =\n%x\nwant\n%x", got, want)
	}
	dec, err := Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec.Encode(), want) {
		t.Fatalf("Decode/Encode of the MS-DTYP example is not byte-exact")
	}
	if !dec.Equal(sd) {
		t.Fatalf("Decode(example) = %s, want %s", dec.SDDL(), sd.SDDL())
	}
	if got := dec.SDDL(); got != "O:BAG:BAD:P(A;OICI;GRGX;;;BU)(A;OICI;GA;;;BA)(A;OICI;GA;;;SY)(A;OICI;GA;;;CO)S:P(AU;FA;GR;;;WD)" {
		t.Errorf("SDDL() = %s", got)
	}
	if dec.Control != 0xb014 || dec.SACL.ACEs[0].Flags != FailedAccessFlag || dec.DACL.ACEs[0].Mask != GenericRead|GenericExecute {
		t.Errorf("decoded fields: control %#x, %+v", dec.Control, dec)
	}
}

// numericDescriptor parses the output of `smbcacls --numeric`, Samba's own decoding of the
// descriptor it serves, so the captured bytes are checked against an independent reader.
func numericDescriptor(t *testing.T, path string) *SecurityDescriptor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sd := &SecurityDescriptor{}
	sc := bufio.NewScanner(f)
	num := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, s, err)
		}
		return v
	}
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch k {
		case "CONTROL":
			sd.Control = uint16(num(v))
		case "OWNER":
			s := MustParseSID(v)
			sd.Owner = &s
		case "GROUP":
			s := MustParseSID(v)
			sd.Group = &s
		case "ACL":
			// ACL:<sid>:<type>/<flags>/<mask>
			i := strings.LastIndexByte(v, ':')
			parts := strings.Split(v[i+1:], "/")
			if sd.DACL == nil {
				sd.DACL = &ACL{Revision: ACLRevision}
			}
			sd.DACL.ACEs = append(sd.DACL.ACEs, ACE{Type: uint8(num(parts[0])), Flags: uint8(num(parts[1])),
				Mask: uint32(num(parts[2])), SID: MustParseSID(v[:i])})
		}
	}
	// smbcacls prints no ACL lines for an empty DACL (it would for a null one too, but Samba
	// never stores a null DACL through acl_xattr).
	if sd.Control&DACLPresent != 0 && sd.DACL == nil {
		sd.DACL = &ACL{Revision: ACLRevision}
	}
	return sd
}

// TestSambaDescriptors uses descriptors a Samba 4.17 peer stored and served (see
// testdata/README): Decode must agree with Samba's own decoding and SDDL, and encoding in Samba's
// layout must reproduce the bytes exactly.
func TestSambaDescriptors(t *testing.T) {
	bins, _ := filepath.Glob("testdata/samba-*.bin")
	if len(bins) < 5 {
		t.Fatalf("expected Samba testdata, found %v", bins)
	}
	for _, bin := range bins {
		base := strings.TrimSuffix(bin, ".bin")
		t.Run(filepath.Base(base), func(t *testing.T) {
			raw, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := sd.EncodeLayout(LayoutSamba); !bytes.Equal(got, raw) {
				t.Fatalf("EncodeLayout(Samba) differs:\n got %x\nwant %x", got, raw)
			}
			again, err := Decode(sd.Encode())
			if err != nil || !again.Equal(sd) {
				t.Fatalf("Windows-layout round trip: %v", err)
			}
			// Neither smbcacls output nor SDDL carries the ACL revision (Samba writes 4 for ACLs
			// set through SDDL, 2 for inherited ones); take it from the bytes.
			if want := sameRevision(numericDescriptor(t, base+".numeric"), sd); !sd.Equal(want) {
				t.Errorf("Decode = %s\nsmbcacls --numeric says %s", sd.SDDL(), want.SDDL())
			}
			sddl, err := os.ReadFile(base + ".sddl")
			if err != nil {
				t.Fatal(err)
			}
			fromSamba, err := ParseSDDL(strings.TrimSpace(string(sddl)))
			if err != nil {
				t.Fatal(err)
			}
			// Samba's SDDL does not print SE_DACL_AUTO_INHERITED etc. the same way; compare
			// the parts.
			fromSamba.Control = sd.Control
			sameRevision(fromSamba, sd)
			if !fromSamba.Equal(sd) {
				t.Errorf("ParseSDDL(samba) = %s\nDecode = %s", fromSamba.SDDL(), sd.SDDL())
			}
			if back, err := ParseSDDL(sd.SDDL()); err != nil || !sameRevision(back, sd).Equal(sd) {
				t.Errorf("SDDL round trip of %s: %v", sd.SDDL(), err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good := mustHex(t, msdtypExampleHex)
	mut := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	cases := map[string][]byte{
		"empty":             nil,
		"short header":      good[:19],
		"revision 2":        mut(func(b []byte) []byte { b[0] = 2; return b }),
		"not self-relative": mut(func(b []byte) []byte { b[3] &^= 0x80; return b }),
		"owner past end":    mut(func(b []byte) []byte { b[4] = 0xb0; return b }),
		"owner in header":   mut(func(b []byte) []byte { b[4] = 0x10; return b }),
		"owner unaligned":   mut(func(b []byte) []byte { b[4] = 0x91; return b }),
		"truncated group":   good[:0xa0+8],
		"SID revision 0":    mut(func(b []byte) []byte { b[0x90] = 0; return b }),
		"16 sub-auth":       mut(func(b []byte) []byte { b[0x91] = 16; return b }),
		"ACL revision 3":    mut(func(b []byte) []byte { b[0x30] = 3; return b }),
		"ACL size too big":  mut(func(b []byte) []byte { b[0x32] = 0xff; return b }),
		"ACL size < header": mut(func(b []byte) []byte { b[0x32] = 4; b[0x33] = 0; return b }),
		"ACE count lies":    mut(func(b []byte) []byte { b[0x34] = 0xff; b[0x35] = 0xff; return b }),
		"ACE size < 4":      mut(func(b []byte) []byte { b[0x3a] = 2; return b }),
		"ACE past ACL":      mut(func(b []byte) []byte { b[0x3a] = 0x80; return b }),
		"ACE SID cut":       mut(func(b []byte) []byte { b[0x3a] = 0x10; return b }),
	}
	for name, b := range cases {
		if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode error = %v, want ErrMalformed", name, err)
		}
	}
}

// TestOpaqueACEsSurvive: ACE kinds the server does not evaluate (object, callback with
// application data, unknown) come back byte for byte, so a SET_INFO/QUERY_INFO round trip does
// not lose what a client stored.
func TestOpaqueACEsSurvive(t *testing.T) {
	owner := MustParseSID("S-1-5-21-1-2-3-1000")
	sd := &SecurityDescriptor{Control: SelfRelative | DACLPresent, Owner: &owner, DACL: &ACL{Revision: ACLRevisionDS, ACEs: []ACE{
		{Type: AccessAllowedObjectACEType, Flags: ContainerInheritACE, Mask: 0x30, Opaque: append([]byte{1, 0, 0, 0}, append(bytes.Repeat([]byte{0xab}, 16), AdministratorsSID.Bytes()...)...)},
		{Type: AccessAllowedCallbackType, Mask: FileAllAccess, SID: WorldSID, Opaque: []byte("artx\x00\x00\x00\x00")},
		{Type: 0x42, Flags: 3, Opaque: []byte{9, 9, 9, 9}},
		{Type: AccessDeniedACEType, Mask: Delete, SID: WorldSID},
	}}}
	b := sd.Encode()
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Encode(), b) || !back.Equal(sd) {
		t.Fatalf("opaque ACEs changed: %+v", back.DACL.ACEs)
	}
	// Only the deny ACE is evaluated: the callback ACE for Everyone grants nothing.
	if _, err := AccessCheck(back, Token{User: MustParseSID("S-1-5-21-1-2-3-1001")}, FileReadData); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("callback ACE was evaluated as allow: %v", err)
	}
}

func TestNullVersusAbsentDACLEncoding(t *testing.T) {
	null := &SecurityDescriptor{Control: DACLPresent}
	absent := &SecurityDescriptor{}
	bn, ba := null.Encode(), absent.Encode()
	if hex.EncodeToString(bn) != "0100048000000000000000000000000000000000" || hex.EncodeToString(ba) != "0100008000000000000000000000000000000000" {
		t.Fatalf("null %x absent %x", bn, ba)
	}
	dn, _ := Decode(bn)
	if dn.DACL != nil || dn.Control&DACLPresent == 0 {
		t.Errorf("null DACL decoded as %+v", dn)
	}
	if null.SDDL() != "D:NO_ACCESS_CONTROL" || absent.SDDL() != "" {
		t.Errorf("SDDL null %q absent %q", null.SDDL(), absent.SDDL())
	}
	if back := MustParseSDDL("D:NO_ACCESS_CONTROL"); !back.Equal(null) {
		t.Errorf("ParseSDDL(NO_ACCESS_CONTROL) = %+v", back)
	}
}

func TestParseSDDLRejects(t *testing.T) {
	for _, s := range []string{
		"O:", "O:XX", "X:BA", "O:BAO:BA", "D:(A;;FA;;;WD", "D:(A;;FA;;WD)", "D:(Q;;FA;;;WD)", "D:(A;ZZ;FA;;;WD)",
		"D:(A;O;FA;;;WD)", "D:(A;;QQ;;;WD)", "D:(A;;F;;;WD)", "D:(A;;0xfffffffff;;;WD)", "D:(OA;;FA;1-2;;WD)",
		"D:x(A;;FA;;;WD)", "D:(A;;FA;;;S-1-5-x)", "BA",
	} {
		if _, err := ParseSDDL(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSDDL(%q) error = %v, want ErrMalformed", s, err)
		}
	}
}

func TestSDDLRights(t *testing.T) {
	sd := MustParseSDDL("D:AI(A;ID;FRFX;;;AU)(A;;RPWPCRCCDCLCLODTSW;;;OW)(D;;SDRCWDWO;;;AN)(A;;0x1301bf;;;NU)(A;;1;;;BG)")
	want := []uint32{FileGenericRead | FileGenericExecute, 0x1ff, Delete | ReadControl | WriteDAC | WriteOwner, FileModify, 1}
	for i, a := range sd.DACL.ACEs {
		if a.Mask != want[i] {
			t.Errorf("ACE %d mask %#x, want %#x", i, a.Mask, want[i])
		}
	}
	if sd.Control&DACLAutoInherited == 0 || sd.DACL.ACEs[0].Flags != InheritedACE {
		t.Errorf("AI/ID not parsed: %#x", sd.Control)
	}
	if !sd.DACL.ACEs[1].SID.Equal(OwnerRightsSID) {
		t.Errorf("OW alias")
	}
}

func sameRevision(sd, from *SecurityDescriptor) *SecurityDescriptor {
	if sd.DACL != nil && from.DACL != nil {
		sd.DACL.Revision = from.DACL.Revision
	}
	if sd.SACL != nil && from.SACL != nil {
		sd.SACL.Revision = from.SACL.Revision
	}
	return sd
}
