package csv

import (
	"errors"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// TestNamesNormalised checks that names which are canonically equivalent (composed and
// decomposed forms) and differ only in case are one name, that the name keeps the form and case
// it was created with, and that this holds after a remount (replay) and after a checkpoint.
func TestNamesNormalised(t *testing.T) {
	const (
		composed    = "caf\u00e9"           // café, as Windows clients send it
		decomposed  = "cafe\u0301"          // café, e + COMBINING ACUTE (macOS)
		upperDecomp = "CAFE\u0301"          // CAFÉ decomposed
		dirNFD      = "A\u030angstr\u00f6m" // Ångström: decomposed Å, composed ö
		dirNFC      = "\u00c5ngstro\u0308m" // composed Å, decomposed ö
	)
	v, path := newVolume(t)
	open := func(v *Volume, name string, d vfs.Disposition) (vfs.File, vfs.OpenAction, error) {
		return v.Open(ctx, name, vfs.OpenRequest{Disposition: d, Read: true, Write: true})
	}
	f, _, err := open(v, composed, vfs.Create)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("latte"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, _, err := open(v, decomposed, vfs.Create); !errors.Is(err, vfs.ErrExists) {
		t.Fatalf("create %q beside %q: %v, want exists", decomposed, composed, err)
	}
	d, _, err := v.Open(ctx, dirNFD, vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if f, _, err := open(v, dirNFC+"/"+composed, vfs.Create); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}

	check := func(v *Volume, when string) {
		t.Helper()
		for _, name := range []string{composed, decomposed, upperDecomp} {
			f, action, err := open(v, name, vfs.OpenIf)
			if err != nil || action != vfs.Opened {
				t.Fatalf("%s: open %q: %v, %v; want the existing file", when, name, action, err)
			}
			buf := make([]byte, 5)
			if n, _ := f.ReadAt(buf, 0); string(buf[:n]) != "latte" {
				t.Fatalf("%s: %q reads %q", when, name, buf[:n])
			}
			if fi, _ := f.Stat(); fi.Name != composed {
				t.Fatalf("%s: %q has name %q, want %q as created", when, name, fi.Name, composed)
			}
			f.Close()
		}
		if _, _, err := open(v, upperDecomp+"/x", vfs.OpenExisting); !errors.Is(err, vfs.ErrPathNotFound) && !errors.Is(err, vfs.ErrNotFound) {
			t.Fatalf("%s: file used as a directory: %v", when, err)
		}
		if f, _, err := open(v, dirNFC+"/"+upperDecomp, vfs.OpenExisting); err != nil {
			t.Fatalf("%s: %q under the other form of its directory: %v", when, upperDecomp, err)
		} else {
			f.Close()
		}
		root, _, err := v.Open(ctx, "", vfs.OpenRequest{Disposition: vfs.OpenExisting})
		if err != nil {
			t.Fatal(err)
		}
		list, err := root.ReadDir()
		root.Close()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, fi := range list {
			names = append(names, fi.Name)
		}
		if len(names) != 2 || !(names[0] == dirNFD && names[1] == composed || names[1] == dirNFD && names[0] == composed) {
			t.Fatalf("%s: root lists %q, want %q and %q as created", when, names, composed, dirNFD)
		}
	}
	check(v, "live")

	// Renaming to another form of the same name is a rename of the file to itself: it changes
	// the stored form, as a case-only rename changes the case.
	f, _, err = open(v, decomposed, vfs.OpenExisting)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Rename(decomposed, false); err != nil {
		t.Fatalf("rename %q to its decomposed form: %v", composed, err)
	}
	if fi, _ := f.Stat(); fi.Name != decomposed {
		t.Fatalf("after rename the name is %q, want %q", fi.Name, decomposed)
	}
	if err := f.Rename(composed, false); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Crash-style remount: the tree comes back from the journal.
	v.c.fail(errors.New("simulated crash"))
	<-v.c.done
	v.Close()
	v2 := mountPath(t, path)
	check(v2, "after replay")
	// Clean close writes a checkpoint; the next mount decodes names from it.
	if err := v2.Close(); err != nil {
		t.Fatal(err)
	}
	v3 := mountPath(t, path)
	defer v3.Close()
	check(v3, "after checkpoint")
	if r := Check(v3.dev); !r.OK() {
		t.Fatalf("check: %q", r.Problems)
	}
}
