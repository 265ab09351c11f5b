package acl

import (
	"bytes"
	"os"
	"testing"
)

func fullDescriptor(t *testing.T) *SecurityDescriptor {
	return sdFor(t, "O:"+alice.String()+"G:"+staff.String()+"D:PAI(D;;SD;;;AN)(A;OICI;FA;;;BA)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)")
}

func TestSelect(t *testing.T) {
	sd := fullDescriptor(t)
	a, st := alice.String(), staff.String()
	cases := []struct {
		info uint32
		want string
	}{
		{OwnerSecurityInformation, "O:" + a},
		{GroupSecurityInformation, "G:" + st},
		{OwnerSecurityInformation | GroupSecurityInformation, "O:" + a + "G:" + st},
		{DACLSecurityInformation, "D:PAI(D;;0x10000;;;AN)(A;OICI;FA;;;BA)"},
		{SACLSecurityInformation, "S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{LabelSecurityInformation, "S:(ML;;0x1;;;S-1-16-8192)"},
		{AttributeSecurityInformation, ""},
		{BackupSecurityInformation, sd.SDDL()},
		{0, ""},
	}
	for _, c := range cases {
		got := sd.Select(c.info)
		if got.SDDL() != c.want {
			t.Errorf("Select(%#x) = %q, want %q", c.info, got.SDDL(), c.want)
		}
		if got.Control&SelfRelative == 0 {
			t.Errorf("Select(%#x) lost SE_SELF_RELATIVE", c.info)
		}
	}
	// Selecting only the owner keeps no DACL control bits: a reader must not see DP without a
	// DACL, which would mean "null DACL, everyone allowed".
	if got := sd.Select(OwnerSecurityInformation).Encode(); got[2] != 0 || got[3] != 0x80 {
		t.Errorf("owner-only control %x", got[2:4])
	}
	// A null DACL is returned as present-and-null, not dropped.
	null := sdFor(t, "O:BAD:NO_ACCESS_CONTROL")
	if got := null.Select(DACLSecurityInformation).SDDL(); got != "D:NO_ACCESS_CONTROL" {
		t.Errorf("Select(null DACL) = %q", got)
	}
	// The result is a copy.
	sel := sd.Select(DACLSecurityInformation)
	sel.DACL.ACEs[0].Mask = 0
	if sd.DACL.ACEs[0].Mask != Delete {
		t.Errorf("Select aliased the DACL")
	}
	if got := (*SecurityDescriptor)(nil).Select(OwnerSecurityInformation); got.Owner != nil {
		t.Errorf("Select on nil = %+v", got)
	}
	// Against Samba bytes: selecting owner, group and DACL of a descriptor without SACL gives
	// back the same bytes Samba served.
	raw, err := os.ReadFile("testdata/samba-d-sub.bin")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := dec.Select(OwnerSecurityInformation | GroupSecurityInformation | DACLSecurityInformation).EncodeLayout(LayoutSamba); !bytes.Equal(got, raw) {
		t.Errorf("Select(O|G|D) of Samba descriptor changed bytes")
	}
}

func TestMerge(t *testing.T) {
	cur := fullDescriptor(t)
	a, b, st := alice.String(), bob.String(), staff.String()
	cases := []struct {
		name string
		upd  string
		info uint32
		want string
	}{
		{"owner only", "O:" + b + "G:BAD:(A;;FA;;;WD)", OwnerSecurityInformation,
			"O:" + b + "G:" + st + "D:PAI(D;;0x10000;;;AN)(A;OICI;FA;;;BA)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{"DACL replaces DACL and its flags", "O:" + b + "D:P(A;;FR;;;WD)", DACLSecurityInformation,
			"O:" + a + "G:" + st + "D:P(A;;FR;;;WD)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{"auto-inherited without the request bit is dropped", "D:AI(A;;FR;;;WD)", DACLSecurityInformation,
			"O:" + a + "G:" + st + "D:(A;;FR;;;WD)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{"auto-inherited with the request bit is kept", "D:ARAI(A;;FR;;;WD)", DACLSecurityInformation,
			"O:" + a + "G:" + st + "D:AI(A;;FR;;;WD)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{"null DACL is stored", "D:NO_ACCESS_CONTROL", DACLSecurityInformation,
			"O:" + a + "G:" + st + "D:NO_ACCESS_CONTROL" + "S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{"computed-inheritance request is not stored", "D:ARP(A;;FR;;;WD)", DACLSecurityInformation,
			"O:" + a + "G:" + st + "D:P(A;;FR;;;WD)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{"owner named but absent keeps the old one", "G:BA", OwnerSecurityInformation | GroupSecurityInformation,
			"O:" + a + "G:BAD:PAI(D;;0x10000;;;AN)(A;OICI;FA;;;BA)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
		{"label only keeps audit ACEs", "S:(ML;;0x3;;;S-1-16-12288)(AU;FA;FA;;;AU)", LabelSecurityInformation,
			"O:" + a + "G:" + st + "D:PAI(D;;0x10000;;;AN)(A;OICI;FA;;;BA)S:AI(AU;SA;FA;;;WD)(ML;;0x3;;;S-1-16-12288)"},
		{"SACL replaces the whole SACL", "S:(AU;FA;FA;;;AU)", SACLSecurityInformation,
			"O:" + a + "G:" + st + "D:PAI(D;;0x10000;;;AN)(A;OICI;FA;;;BA)S:(AU;FA;FA;;;AU)"},
		{"generic bits of effective ACEs are mapped", "D:(A;;GR;;;WD)(A;OICI;GA;;;BA)(A;OICIIO;GA;;;CO)", DACLSecurityInformation,
			"O:" + a + "G:" + st + "D:(A;;FR;;;WD)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)S:AI(AU;SA;FA;;;WD)(ML;;0x1;;;S-1-16-8192)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Merge(cur, sdFor(t, c.upd), c.info)
			if got.SDDL() != c.want {
				t.Errorf("Merge = %s\nwant    %s", got.SDDL(), c.want)
			}
			if _, err := Decode(got.Encode()); err != nil {
				t.Errorf("merged descriptor does not encode: %v", err)
			}
		})
	}
	if cur.SDDL() != fullDescriptor(t).SDDL() {
		t.Errorf("Merge modified cur")
	}
	// No stored descriptor yet: the update becomes the descriptor.
	got := Merge(nil, sdFor(t, "O:BAD:(A;;FA;;;WD)"), OwnerSecurityInformation|DACLSecurityInformation)
	if got.SDDL() != "O:BAD:(A;;FA;;;WD)" {
		t.Errorf("Merge(nil) = %s", got.SDDL())
	}
	// Applying what Select returned restores the original: SET_INFO of a QUERY_INFO result is
	// a no-op, given the SE_DACL_AUTO_INHERIT_REQ that Windows' SetSecurityInfo adds when the
	// DACL is auto-inherited.
	for _, info := range []uint32{OwnerSecurityInformation, DACLSecurityInformation, SACLSecurityInformation,
		OwnerSecurityInformation | GroupSecurityInformation | DACLSecurityInformation | SACLSecurityInformation} {
		upd := cur.Select(info)
		upd.Control |= DACLComputedInheritRq
		if back := Merge(cur, upd, info); !back.Equal(cur) {
			t.Errorf("Merge(cur, Select(%#x)) = %s", info, back.SDDL())
		}
	}
}
