package localfs

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"golang.org/x/sys/unix"
)

func TestSecurityDescriptorStored(t *testing.T) {
	for _, hostFS := range fileSystems {
		t.Run(hostFS.name, func(t *testing.T) {
			fs, dir := newTestFS(t, hostFS.dir, Options{})
			for _, name := range []string{"f", "d"} {
				kind := vfs.FileOnly
				if name == "d" {
					kind = vfs.DirectoryOnly
				}
				f := mustOpen(t, fs, name, vfs.OpenRequest{Disposition: vfs.Create, Kind: kind})
				sec, ok := f.(vfs.Securable)
				if !ok {
					t.Fatalf("%s: handle is not vfs.Securable", name)
				}
				if _, err := sec.SecurityDescriptor(); !errors.Is(err, vfs.ErrNotFound) {
					t.Fatalf("%s: unset descriptor: %v, want ErrNotFound", name, err)
				}
				for _, sd := range [][]byte{{1, 0, 4, 0x80}, bytes.Repeat([]byte{0xab}, 300), {}} {
					if err := sec.SetSecurityDescriptor(sd); err != nil {
						t.Fatalf("%s: set %d bytes: %v", name, len(sd), err)
					}
					got, err := sec.SecurityDescriptor()
					if err != nil || !bytes.Equal(got, sd) {
						t.Fatalf("%s: read back %x, %v; want %x", name, got, err, sd)
					}
				}
				if err := sec.SetSecurityDescriptor([]byte("opaque")); err != nil {
					t.Fatal(err)
				}
				// On disk in user.sofs.sd, and seen by another handle.
				buf := make([]byte, 64)
				n, err := unix.Getxattr(filepath.Join(dir, name), sdXattrName, buf)
				if err != nil || string(buf[:n]) != "opaque" {
					t.Fatalf("%s: xattr %s = %q, %v", name, sdXattrName, buf[:max(n, 0)], err)
				}
				other := mustOpen(t, fs, name, vfs.OpenRequest{Disposition: vfs.OpenExisting})
				if got, err := other.(vfs.Securable).SecurityDescriptor(); err != nil || string(got) != "opaque" {
					t.Fatalf("%s: second handle reads %q, %v", name, got, err)
				}
				if err := sec.SetSecurityDescriptor(make([]byte, maxSecurityDescriptor+1)); !errors.Is(err, vfs.ErrNoSpace) {
					t.Errorf("%s: oversized descriptor: %v, want ErrNoSpace", name, err)
				}
			}
			// A stream shares its object's descriptor.
			s := mustOpen(t, fs, "f:s", vfs.OpenRequest{Disposition: vfs.Create})
			if got, err := s.(vfs.Securable).SecurityDescriptor(); err != nil || string(got) != "opaque" {
				t.Errorf("stream descriptor %q, %v", got, err)
			}
			// A descriptor is not a stream.
			if infos, _ := fs.Streams(bg, "f"); len(infos) != 2 {
				t.Errorf("Streams = %+v", infos)
			}
		})
	}
}

func TestSecurityDescriptorLimits(t *testing.T) {
	fs, _ := newTestFS(t, "/dev/shm", Options{})
	sec := mustOpen(t, fs, "f", vfs.OpenRequest{Disposition: vfs.Create}).(vfs.Securable)
	big := bytes.Repeat([]byte{7}, maxSecurityDescriptor)
	if err := sec.SetSecurityDescriptor(big); err != nil {
		t.Fatalf("64 KiB descriptor on tmpfs: %v", err)
	}
	if got, err := sec.SecurityDescriptor(); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("64 KiB descriptor read back %d bytes, %v", len(got), err)
	}
	ext4, _ := newTestFS(t, "/tmp", Options{})
	sec = mustOpen(t, ext4, "f", vfs.OpenRequest{Disposition: vfs.Create}).(vfs.Securable)
	if err := sec.SetSecurityDescriptor(big); err != nil && !errors.Is(err, vfs.ErrNoSpace) {
		t.Fatalf("64 KiB descriptor on ext4: %v, want success or ErrNoSpace", err)
	}
	noX, _ := newTestFS(t, "/dev/shm", Options{NoXattrs: true})
	sec = mustOpen(t, noX, "f", vfs.OpenRequest{Disposition: vfs.Create}).(vfs.Securable)
	if _, err := sec.SecurityDescriptor(); !errors.Is(err, vfs.ErrNotFound) {
		t.Errorf("NoXattrs read: %v, want ErrNotFound", err)
	}
	if err := sec.SetSecurityDescriptor([]byte{1}); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("NoXattrs store: %v, want ErrNotSupported", err)
	}
}
