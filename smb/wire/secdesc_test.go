package wire

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func TestSIDString(t *testing.T) {
	for _, s := range []string{"S-1-5-32-544", "S-1-1-0", "S-1-5-21-1004336348-1177238915-682003330-512", "S-1-0x123456789ABC-1"} {
		sid, err := ParseSID(s)
		if err != nil {
			t.Fatal(err)
		}
		if sid.String() != s {
			t.Fatalf("%s -> %s", s, sid.String())
		}
		back, n, err := DecodeSID(sid.Append(nil))
		if err != nil || n != sid.Len() || !back.Equal(sid) {
			t.Fatalf("%s: %v %d", s, err, n)
		}
	}
	// S-1-5-32-544: rev 1, 2 subauths, authority 5 big-endian, 32, 544 little-endian.
	want := []byte{1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0}
	if got := SIDAdministrators.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("% x", got)
	}
	for _, bad := range []string{"", "S-1", "X-1-5", "S-1-5-x", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"} {
		if _, err := ParseSID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestSecurityDescriptorLayout checks "O:BAG:SYD:(A;OICI;FA;;;WD)" by hand
// against MS-DTYP 2.4.6: 20-byte header, owner at 20, group at 36, DACL at
// 48 with one ACCESS_ALLOWED_ACE.
func TestSecurityDescriptorLayout(t *testing.T) {
	owner, group := SIDAdministrators, SIDLocalSystem
	sd := SecurityDescriptor{Owner: &owner, Group: &group, DACL: &ACL{Revision: 2, ACEs: []ACE{
		{Type: AccessAllowedACEType, Flags: ObjectInheritACE | ContainerInheritACE, Mask: FileAllAccess, SID: SIDEveryone},
	}}}
	b := sd.Append(nil)
	want := []byte{1, 0, 0x04, 0x80, 20, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0, 48, 0, 0, 0}
	want = append(want, SIDAdministrators.Append(nil)...)
	want = append(want, SIDLocalSystem.Append(nil)...)
	want = append(want, 2, 0, 28, 0, 1, 0, 0, 0) // ACL: rev 2, size 8+20, 1 ACE
	want = append(want, 0, 3, 20, 0, 0xFF, 0x01, 0x1F, 0x00)
	want = append(want, SIDEveryone.Append(nil)...)
	if !bytes.Equal(b, want) {
		t.Fatalf("\n got % x\nwant % x", b, want)
	}
	back, err := DecodeSecurityDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	sd.Revision, sd.Control = 1, SESelfRelative|SEDACLPresent
	if !sameValue(&sd, back) {
		t.Fatalf("%+v", back)
	}
	// NULL DACL: present flag, no offset.
	null := SecurityDescriptor{Control: SEDACLPresent}
	back, err = DecodeSecurityDescriptor(null.Append(nil))
	if err != nil || back.DACL != nil || back.Control&SEDACLPresent == 0 {
		t.Fatalf("null dacl %+v %v", back, err)
	}
	for name, mutate := range map[string]func([]byte){
		"owner offset beyond": func(b []byte) { le.PutUint32(b[4:], 1000) },
		"acl size beyond":     func(b []byte) { le.PutUint16(b[48+2:], 200) },
		"ace count beyond":    func(b []byte) { le.PutUint16(b[48+4:], 5) },
		"sid subauth count":   func(b []byte) { b[20+1] = 16 },
		"not self-relative":   func(b []byte) { b[3] = 0 },
	} {
		m := append([]byte(nil), b...)
		mutate(m)
		if _, err := DecodeSecurityDescriptor(m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func genSID() *rapid.Generator[SID] {
	return rapid.Custom(func(t *rapid.T) SID {
		s := SID{Revision: 1, Authority: rapid.Uint64Range(0, 1<<48-1).Draw(t, "auth")}
		if n := rapid.IntRange(0, 6).Draw(t, "n"); n > 0 {
			s.SubAuthorities = rapid.SliceOfN(rapid.Uint32(), n, n).Draw(t, "sub")
		}
		return s
	})
}

func genACL() *rapid.Generator[*ACL] {
	return rapid.Custom(func(t *rapid.T) *ACL {
		l := &ACL{Revision: rapid.SampledFrom([]uint8{2, 4}).Draw(t, "rev")}
		for i := rapid.IntRange(0, 5).Draw(t, "n"); i > 0; i-- {
			a := ACE{Type: rapid.SampledFrom([]uint8{AccessAllowedACEType, AccessDeniedACEType, SystemAuditACEType,
				AccessAllowedCallbackACEType, AccessAllowedObjectACEType, SystemMandatoryLabelACEType}).Draw(t, "type"),
				Flags: rapid.Uint8().Draw(t, "flags")}
			if aceHasSID(a.Type) {
				a.Mask, a.SID = rapid.Uint32().Draw(t, "mask"), genSID().Draw(t, "sid")
				a.ApplicationData = genBytes(8).Draw(t, "app")
			} else {
				a.Raw = genBytes(40).Draw(t, "raw")
			}
			l.ACEs = append(l.ACEs, a)
		}
		return l
	})
}

func TestSecurityDescriptorRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sd := &SecurityDescriptor{Revision: 1, Control: rapid.Uint16().Draw(t, "ctl") | SESelfRelative}
		if rapid.Bool().Draw(t, "owner") {
			s := genSID().Draw(t, "o")
			sd.Owner = &s
		}
		if rapid.Bool().Draw(t, "group") {
			s := genSID().Draw(t, "g")
			sd.Group = &s
		}
		if rapid.Bool().Draw(t, "sacl") {
			sd.SACL = genACL().Draw(t, "s")
			sd.Control |= SESACLPresent
		}
		if rapid.Bool().Draw(t, "dacl") {
			sd.DACL = genACL().Draw(t, "d")
			sd.Control |= SEDACLPresent
		}
		back, err := DecodeSecurityDescriptor(sd.Append(nil))
		if err != nil || !sameValue(sd, back) {
			t.Fatalf("%+v -> %+v (%v)", sd, back, err)
		}
	})
}

func FuzzDecodeSecurityDescriptor(f *testing.F) {
	owner := SIDAdministrators
	f.Add((&SecurityDescriptor{Owner: &owner, DACL: &ACL{Revision: 2, ACEs: []ACE{{Mask: 1, SID: SIDEveryone}}}}).Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() { _, _ = DecodeSecurityDescriptor(data) })
		sd, err := DecodeSecurityDescriptor(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		enc := sd.Append(nil)
		back, err := DecodeSecurityDescriptor(enc)
		if err != nil || !sameValue(sd, back) {
			t.Fatalf("%+v -> %+v (%v)", sd, back, err)
		}
		if !bytes.Equal(back.Append(nil), enc) {
			t.Fatal("re-encoding not stable")
		}
	})
}

// FuzzParseSID: whatever parses formats back to a string that parses to the
// same SID, and its binary form decodes to it.
func FuzzParseSID(f *testing.F) {
	f.Add("S-1-5-21-1004336348-1177238915-682003330-512")
	f.Add("S-1-0x123456789ABC-1")
	f.Fuzz(func(t *testing.T, s string) {
		sid, err := ParseSID(s)
		if err != nil {
			return
		}
		again, err := ParseSID(sid.String())
		if err != nil || !again.Equal(sid) {
			t.Fatalf("%q -> %s -> %v (%v)", s, sid, again, err)
		}
		back, n, err := DecodeSID(sid.Append(nil))
		if err != nil || n != sid.Len() || !back.Equal(sid) {
			t.Fatalf("%s: binary round trip %v %v", sid, back, err)
		}
	})
}
