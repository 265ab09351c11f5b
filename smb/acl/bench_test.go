package acl

import (
	"os"
	"testing"
)

// The access check runs on every CREATE, usually after decoding the stored descriptor.
func benchDescriptor(b *testing.B) []byte {
	raw, err := os.ReadFile("testdata/samba-top-b.bin")
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func BenchmarkDecode(b *testing.B) {
	raw := benchDescriptor(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	sd, _ := Decode(benchDescriptor(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = sd.Encode()
	}
}

func BenchmarkAccessCheck(b *testing.B) {
	sd, _ := Decode(benchDescriptor(b))
	tok := Token{User: MustParseSID("S-1-5-21-2471939612-2732714290-968124389-1000"), Groups: []SID{AuthenticatedUsersSID, UsersSID}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AccessCheck(sd, tok, MaximumAllowed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInherit(b *testing.B) {
	sd, _ := Decode(benchDescriptor(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = Inherit(sd, aliceTok, false).Encode()
	}
}
