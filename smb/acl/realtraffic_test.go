package acl

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRecordedTrafficDescriptors decodes the security descriptors recorded between smbtorture's
// smb2.acls tests and Samba 4.17 (also the FuzzDecode seed corpus): each decodes, re-encodes in
// Samba's layout to the same bytes, and decodes back to the same value.
func TestRecordedTrafficDescriptors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecode", "real-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d recorded descriptors", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b := []byte(s)
		sd, err := Decode(b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		enc := sd.EncodeLayout(LayoutSamba)
		if !bytes.Equal(enc, b) {
			t.Errorf("%s: Samba-layout re-encoding differs from the recorded bytes", filepath.Base(f))
		}
		back, err := Decode(sd.Encode())
		if err != nil || !back.Equal(sd) {
			t.Errorf("%s: Windows-layout round trip lost something (%v)", filepath.Base(f), err)
		}
	}
}
