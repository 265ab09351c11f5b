package agents

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/sofs-dev/sofs/cluster"
	"github.com/sofs-dev/sofs/csv"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/spaces"
)

func newVolumeRef(t *testing.T) cluster.ResourceRef {
	t.Helper()
	dir := t.TempDir()
	disks := []string{filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")}
	if err := FormatVolume(disks, "vol", 64<<20, FormatOptions{DiskSize: 128 << 20}); err != nil {
		t.Fatal(err)
	}
	return cluster.ResourceRef{Name: "vol", Group: "g", Node: "n1", Epoch: 1,
		Props: map[string]string{PropDisks: disks[0] + "," + disks[1], PropVDisk: "vol"}}
}

func writeFile(t *testing.T, fs vfs.FS, name string, data []byte) {
	t.Helper()
	f, _, err := fs.Open(context.Background(), name, vfs.OpenRequest{Disposition: vfs.OpenIf, Kind: vfs.FileOnly, Read: true, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, fs vfs.FS, name string) []byte {
	t.Helper()
	f, _, err := fs.Open(context.Background(), name, vfs.OpenRequest{Disposition: vfs.OpenExisting, Kind: vfs.FileOnly, Read: true})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, fi.Size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

func mountedFS(t *testing.T, v *Volumes, name string) vfs.FS {
	t.Helper()
	fs, ok := v.FS(name)
	if !ok {
		t.Fatalf("volume %s not mounted", name)
	}
	return fs
}

// Data written survives a clean offline and an online on another node with a higher epoch.
func TestVolumeOfflineOnlineKeepsData(t *testing.T) {
	ref := newVolumeRef(t)
	ctx := context.Background()
	n1 := NewVolumes(t.Logf)
	if err := n1.Online(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := n1.IsAlive(ctx, ref); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("sofs "), 100000)
	writeFile(t, mountedFS(t, n1, "vol"), "f.bin", data)
	if err := n1.Offline(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := n1.LooksAlive(ctx, ref); err == nil {
		t.Fatal("LooksAlive after Offline: want an error")
	}
	// Same node, same epoch (a restart), then another node with a newer epoch.
	for _, step := range []struct {
		node  string
		epoch uint64
	}{{"n1", 1}, {"n2", 2}} {
		v := NewVolumes(t.Logf)
		r := ref
		r.Node, r.Epoch = step.node, step.epoch
		if err := v.Online(ctx, r); err != nil {
			t.Fatalf("online on %s epoch %d: %v", step.node, step.epoch, err)
		}
		if got := readFile(t, mountedFS(t, v, "vol"), "f.bin"); !bytes.Equal(got, data) {
			t.Fatalf("on %s epoch %d: read %d bytes, want the %d written", step.node, step.epoch, len(got), len(data))
		}
		if err := v.Offline(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// A newer owner fences the old one: its IsAlive fails with spaces.ErrFenced, and the old epoch
// cannot mount again.
func TestVolumeFencedByNewerOwner(t *testing.T) {
	ref := newVolumeRef(t)
	ctx := context.Background()
	old := NewVolumes(t.Logf)
	if err := old.Online(ctx, ref); err != nil {
		t.Fatal(err)
	}
	newer := NewVolumes(t.Logf)
	r2 := ref
	r2.Node, r2.Epoch = "n2", 2
	if err := newer.Online(ctx, r2); err != nil {
		t.Fatal(err)
	}
	defer newer.Offline(ctx, r2)
	if err := old.IsAlive(ctx, ref); !errors.Is(err, spaces.ErrFenced) {
		t.Fatalf("old owner IsAlive: %v, want ErrFenced", err)
	}
	old.Offline(ctx, ref)
	again := NewVolumes(t.Logf)
	if err := again.Online(ctx, ref); !errors.Is(err, spaces.ErrFenced) && !errors.Is(err, csv.ErrFenced) {
		t.Fatalf("online with the old epoch after a newer owner: %v, want fenced", err)
	}
}

// Formatting disks that hold a pool is refused unless forced, and the data stays.
func TestFormatVolumeRefusesExistingPool(t *testing.T) {
	ref := newVolumeRef(t)
	ctx := context.Background()
	v := NewVolumes(t.Logf)
	if err := v.Online(ctx, ref); err != nil {
		t.Fatal(err)
	}
	writeFile(t, mountedFS(t, v, "vol"), "keep", []byte("keep me"))
	if err := v.Offline(ctx, ref); err != nil {
		t.Fatal(err)
	}
	disks, _, _ := volumeProps(ref)
	if err := FormatVolume(disks, "vol", 64<<20, FormatOptions{}); !errors.Is(err, ErrPoolExists) {
		t.Fatalf("format over a pool: %v, want ErrPoolExists", err)
	}
	if err := FormatVolume(disks[:1], "vol", 64<<20, FormatOptions{}); !errors.Is(err, ErrPoolExists) {
		t.Fatalf("format over one disk of a pool: %v, want ErrPoolExists", err)
	}
	if err := v.Online(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, mountedFS(t, v, "vol"), "keep"); string(got) != "keep me" {
		t.Fatalf("after refused formats: %q", got)
	}
	v.Offline(ctx, ref)
	if err := FormatVolume(disks, "vol", 64<<20, FormatOptions{Force: true}); err != nil {
		t.Fatalf("forced format: %v", err)
	}
}
