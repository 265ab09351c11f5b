package acl

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecode: Decode never panics; whatever it accepts re-encodes (in both layouts) to bytes
// that decode to the same descriptor, and the rest of the package copes with it.
func FuzzDecode(f *testing.F) {
	f.Add(mustHex(f, msdtypExampleHex))
	bins, _ := filepath.Glob("testdata/samba-*.bin")
	for _, p := range bins {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(DefaultRoot(alice).Encode())
	f.Add((&SecurityDescriptor{Control: DACLPresent}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := Decode(b)
		if err != nil {
			return
		}
		for _, layout := range []Layout{LayoutWindows, LayoutSamba} {
			enc := sd.EncodeLayout(layout)
			if enc == nil {
				t.Fatalf("decoded descriptor does not encode: %v", sd.Validate())
			}
			back, err := Decode(enc)
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if !reflect.DeepEqual(back, sd) {
				t.Fatalf("round trip changed the descriptor:\n%#v\n%#v", sd, back)
			}
		}
		_ = sd.SDDL()
		_, _ = AccessCheck(sd, aliceTok, MaximumAllowed)
		_, _ = AccessCheck(sd, adminTok, GenericAll|AccessSystemSecurity)
		if Inherit(sd, aliceTok, true).Encode() == nil || Inherit(sd, aliceTok, false).Encode() == nil ||
			CreateDescriptor(sd, sd, aliceTok, true).Encode() == nil || CreateDescriptor(nil, sd, aliceTok, false).Encode() == nil {
			t.Fatalf("inherited descriptor does not encode")
		}
		if sd.Select(0xffffffff).Encode() == nil || Merge(sd, sd, LabelSecurityInformation).Encode() == nil {
			t.Fatalf("Select/Merge result does not encode")
		}
	})
}

// FuzzParseSDDL: ParseSDDL never panics, and what it accepts prints back to SDDL that parses
// to the same descriptor and encodes.
func FuzzParseSDDL(f *testing.F) {
	for _, s := range []string{
		msdtypExampleSDDL,
		"O:BAG:SYD:PAI(A;OICI;FA;;;WD)(D;;0x10000;;;AN)(A;OICIIO;GA;;;CO)(A;CI;0x1301bf;;;AU)",
		"D:NO_ACCESS_CONTROL",
		"D:ARP(A;0x1f;RPWPCRCCDCLCLODTSW;;;S-1-5-21-1-2-3-1000)S:AI(ML;;0x1;;;S-1-16-8192)",
		"O:S-1-0x123456789ABC-1G:CG",
	} {
		f.Add(s)
	}
	for _, p := range mustGlob(f, "testdata/samba-*.sddl") {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		sd, err := ParseSDDL(s)
		if err != nil {
			return
		}
		out := sd.SDDL()
		back, err := ParseSDDL(out)
		if err != nil {
			t.Fatalf("ParseSDDL(%q) ok but its SDDL %q does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(back, sd) {
			t.Fatalf("SDDL round trip of %q via %q:\n%#v\n%#v", s, out, sd, back)
		}
		if sd.Encode() == nil {
			t.Fatalf("ParseSDDL(%q) result does not encode: %v", s, sd.Validate())
		}
	})
}

// FuzzParseSID: ParseSID never panics and what it accepts prints and encodes back to itself.
func FuzzParseSID(f *testing.F) {
	for _, s := range []string{"S-1-5-21-1-2-3-1000", "S-1-0xFFFFFFFFFFFF", "S-1-5", "S-1-1-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sid, err := ParseSID(s)
		if err != nil {
			return
		}
		again, err := ParseSID(sid.String())
		if err != nil || !again.Equal(sid) {
			t.Fatalf("ParseSID(%q).String() = %q does not parse back: %v", s, sid.String(), err)
		}
		if dec, err := DecodeSID(sid.Bytes()); err != nil || !dec.Equal(sid) {
			t.Fatalf("binary round trip of %s: %v", sid, err)
		}
	})
}

func mustGlob(f *testing.F, pattern string) []string {
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		f.Fatalf("glob %s: %v %v", pattern, m, err)
	}
	return m
}
