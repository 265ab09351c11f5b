package test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmbclient drives Samba's smbclient through a file's whole life on every protocol family and
// with encryption, comparing transferred bytes exactly.
func TestSmbclient(t *testing.T) {
	cases := []struct {
		name       string
		serverArgs []string
		clientArgs []string
	}{
		{"SMB2_02", nil, []string{"-m", "SMB2_02"}},
		{"SMB3", nil, []string{"-m", "SMB3"}},
		{"SMB3-signing-required", []string{"--require-signing"}, []string{"-m", "SMB3"}},
		{"SMB3-encryption-required", []string{"--require-encryption"}, []string{"-m", "SMB3", "--client-protection=encrypt"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startSofsd(t, tc.serverArgs...)
			local := t.TempDir()
			src := filepath.Join(local, "src.bin")
			data := make([]byte, 3<<20+12345) // several multi-credit I/Os and a partial one
			rand.Read(data)
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			back := filepath.Join(local, "back.bin")
			mustSmbclient(t, s, "mkdir dir1; cd dir1; put "+src+" file.bin; ls; get file.bin "+back, tc.clientArgs...)
			got, err := os.ReadFile(back)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get returned %d bytes (err %v), want the %d bytes put", len(got), err, len(data))
			}
			onDisk, err := os.ReadFile(filepath.Join(s.Dir, "dir1", "file.bin"))
			if err != nil || !bytes.Equal(onDisk, data) {
				t.Fatalf("file on the server's disk differs from what was put (err %v)", err)
			}
			out := mustSmbclient(t, s, `allinfo dir1\file.bin`, tc.clientArgs...)
			for _, want := range []string{"create_time:", "write_time:", "attributes: A", "stream: [::$DATA], 3158073 bytes"} {
				if !strings.Contains(out, want) {
					t.Errorf("allinfo output lacks %q:\n%s", want, out)
				}
			}
			mustSmbclient(t, s, `rename dir1\file.bin dir1\renamed.bin`, tc.clientArgs...)
			out = mustSmbclient(t, s, `ls dir1\*`, tc.clientArgs...)
			if !strings.Contains(out, "renamed.bin") || strings.Contains(out, "file.bin") {
				t.Fatalf("after rename, ls shows:\n%s", out)
			}
			mustSmbclient(t, s, `rm dir1\renamed.bin; rmdir dir1`, tc.clientArgs...)
			if _, err := os.Stat(filepath.Join(s.Dir, "dir1")); !os.IsNotExist(err) {
				t.Fatalf("dir1 still exists on disk after rm + rmdir: %v", err)
			}
			// A missing file is an error the client reports, not a hang or a crash.
			out, _ = smbclient(t, s, "get nosuchfile "+filepath.Join(local, "x"), tc.clientArgs...)
			if !strings.Contains(out, "NT_STATUS_OBJECT_NAME_NOT_FOUND") {
				t.Fatalf("get of a missing file: want NT_STATUS_OBJECT_NAME_NOT_FOUND, got:\n%s", out)
			}
		})
	}
}

// TestSmbclientList checks share enumeration over the srvsvc pipe (smbclient -L).
func TestSmbclientList(t *testing.T) {
	s := startSofsd(t)
	for _, proto := range []string{"SMB2_02", "SMB3"} {
		out, err := smbclient(t, &sofsd{Host: s.Host, Port: s.Port, Share: ""}, "", "-L", "//"+s.Host, "-m", proto)
		_ = err // smbclient -L exits non-zero when the SMB1 workgroup browse fails; the list is what counts
		if !strings.Contains(out, "data") || !strings.Contains(out, "IPC$") || !strings.Contains(out, "Disk") {
			t.Fatalf("smbclient -L -m %s did not list the shares:\n%s", proto, out)
		}
	}
}

// TestEncryptionRequiredRefusesPlainClients: a server requiring encryption does not serve a client
// that cannot encrypt (SMB 2.0.2 has no encryption).
func TestEncryptionRequiredRefusesPlainClients(t *testing.T) {
	s := startSofsd(t, "--require-encryption")
	out, err := smbclient(t, s, "ls", "-m", "SMB2_02")
	if err == nil || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Fatalf("SMB 2.0.2 client on an encryption-required server: err %v\n%s", err, out)
	}
}

// TestWrongPassword: a bad password is a clean logon failure.
func TestWrongPassword(t *testing.T) {
	s := startSofsd(t)
	out, err := smbclient(t, s, "ls", "-U", testUser+"%wrong", "-m", "SMB3")
	if err == nil || !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Fatalf("wrong password: err %v\n%s", err, out)
	}
}
