package test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// go-smb2 dialect codes.
const (
	smb21  = 0x0210
	smb30  = 0x0300
	smb311 = 0x0311
)

// TestGoSMB2Lifecycle drives the go-smb2 client over 2.1, 3.0 and 3.1.1, signed and encrypted:
// create, write, read back, rename, list, delete.
func TestGoSMB2Lifecycle(t *testing.T) {
	type variant struct {
		name       string
		dialect    uint16
		sign       bool
		serverArgs []string
	}
	var cases []variant
	for _, d := range []struct {
		n string
		v uint16
	}{{"2.1", smb21}, {"3.0", smb30}, {"3.1.1", smb311}} {
		cases = append(cases, variant{d.n + "-signed", d.v, true, nil})
		if d.v >= smb30 {
			cases = append(cases, variant{d.n + "-encrypted", d.v, false, []string{"--require-encryption"}})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startSofsd(t, tc.serverArgs...)
			_, fs := dialGoSMB2(t, s, tc.dialect, tc.sign)
			if err := fs.Mkdir("dir", 0o755); err != nil {
				t.Fatal(err)
			}
			data := make([]byte, 2<<20+777)
			rand.Read(data)
			f, err := fs.Create(`dir\a.bin`)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := f.Write(data); err != nil || n != len(data) {
				t.Fatalf("write: %d, %v", n, err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if err := fs.Rename(`dir\a.bin`, `dir\b.bin`); err != nil {
				t.Fatalf("rename: %v", err)
			}
			infos, err := fs.ReadDir("dir")
			if err != nil || len(infos) != 1 || infos[0].Name() != "b.bin" || infos[0].Size() != int64(len(data)) {
				t.Fatalf("readdir after rename: %v %v", infos, err)
			}
			onDisk, err := os.ReadFile(filepath.Join(s.Dir, "dir", "b.bin"))
			if err != nil || !bytes.Equal(onDisk, data) {
				t.Fatalf("server disk content differs: %v", err)
			}
			if err := fs.Remove(`dir\b.bin`); err != nil {
				t.Fatal(err)
			}
			if err := fs.Remove("dir"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(s.Dir, "dir")); !os.IsNotExist(err) {
				t.Fatalf("dir not deleted on the server: %v", err)
			}
		})
	}
}

// TestGoSMB2LargeSparseFile writes at 1 GiB and beyond: the file is 1 GiB + 1 MiB long, the
// untouched range reads as zeros, and the written data reads back.
func TestGoSMB2LargeSparseFile(t *testing.T) {
	s := startSofsd(t)
	_, fs := dialGoSMB2(t, s, smb311, true)
	f, err := fs.Create("big.vhdx")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tailData := make([]byte, 1<<20)
	rand.Read(tailData)
	const at = 1 << 30
	if _, err := f.WriteAt(tailData, at); err != nil {
		t.Fatalf("write at 1 GiB: %v", err)
	}
	head := []byte("VHDX header")
	if _, err := f.WriteAt(head, 0); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil || st.Size() != at+int64(len(tailData)) {
		t.Fatalf("size %v (err %v), want %d", st.Size(), err, at+len(tailData))
	}
	got := make([]byte, len(tailData))
	if _, err := f.ReadAt(got, at); err != nil || !bytes.Equal(got, tailData) {
		t.Fatalf("tail read back wrong: %v", err)
	}
	hole := make([]byte, 4<<20)
	if _, err := f.ReadAt(hole, 512<<20); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hole, make([]byte, len(hole))) {
		t.Fatal("the never-written middle of the file is not zeros")
	}
	if _, err := f.ReadAt(got[:len(head)], 0); err != nil || !bytes.Equal(got[:len(head)], head) {
		t.Fatalf("head read back wrong: %v", err)
	}
}

// TestGoSMB2ManyFiles creates 10,000 files in one directory and lists them all.
func TestGoSMB2ManyFiles(t *testing.T) {
	const n = 10000
	s := startSofsd(t)
	_, fs := dialGoSMB2(t, s, smb311, false)
	if err := fs.Mkdir("many", 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		f, err := fs.Create(fmt.Sprintf(`many\f%05d.txt`, i))
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if i%1000 == 0 {
			if _, err := f.Write([]byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := fs.ReadDir("many")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != n {
		t.Fatalf("listed %d entries, want %d", len(infos), n)
	}
	names := make([]string, len(infos))
	for i, fi := range infos {
		names[i] = fi.Name()
	}
	sort.Strings(names)
	for i, name := range names {
		if want := fmt.Sprintf("f%05d.txt", i); name != want {
			t.Fatalf("entry %d is %q, want %q", i, name, want)
		}
	}
}
