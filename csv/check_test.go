package csv

import (
	"strings"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// TestCheckFindsProblems damages a consistent state in one way at a time and requires checkState
// to name the damage, so check cannot pass a broken volume.
func TestCheckFindsProblems(t *testing.T) {
	build := func(t *testing.T) *state {
		s := newState(100, 1000, 1)
		for _, r := range []record{
			{kind: recCreate, id: 2, other: 1, name: "dir", dir: true},
			{kind: recCreate, id: 3, other: 2, name: "a"},
			{kind: recMap, id: 3, fileBlock: 0, phys: 100, count: 4, size: 4 * BlockSize},
			{kind: recCreate, id: 4, other: 1, name: "b"},
			{kind: recMap, id: 4, fileBlock: 2, phys: 200, count: 2, size: 4 * BlockSize},
			{kind: recCreate, id: 5, other: 1, name: "c"},
			{kind: recClone, id: 5, other: 3, fileBlock: 0, phys: 0, count: 4, size: 4 * BlockSize},
		} {
			if err := s.apply(&r); err != nil {
				t.Fatal(err)
			}
		}
		if p := checkState(s); len(p) > 0 {
			t.Fatalf("clean state has problems: %q", p)
		}
		return s
	}
	cases := []struct {
		name, want string
		damage     func(s *state)
	}{
		{"extent overlap across files", "extent overlap", func(s *state) {
			s.inodes[4].ext = append(s.inodes[4].ext, extent{fileBlock: 10, phys: 101, count: 1})
		}},
		{"overlap within a file", "overlaps the previous", func(s *state) {
			s.inodes[4].ext = extentMap{{2, 200, 2}, {3, 300, 1}}
			s.used.set(200)
			s.usedCount++
		}},
		{"leaked block", "leak", func(s *state) { s.used.set(500); s.usedCount++ }},
		{"referenced block marked free", "marked free", func(s *state) { s.used.clear(200 - 100); s.usedCount-- }},
		{"used count wrong", "used block count", func(s *state) { s.usedCount++ }},
		{"shared count wrong", "shared count", func(s *state) { s.shared.add(101, 1, -1) }},
		{"extent outside data area", "outside the data area", func(s *state) {
			s.inodes[4].ext = append(s.inodes[4].ext, extent{fileBlock: 20, phys: 5, count: 1})
		}},
		{"orphan", "not connected", func(s *state) {
			s.inodes[2].parent = 77
		}},
		{"cycle", "not connected", func(s *state) {
			s.inodes[2].parent = 2
			s.inodes[2].children["DIR"] = 2
		}},
		{"dangling entry", "missing inode", func(s *state) { s.inodes[1].children["GHOST"] = 99 }},
		{"entry under wrong name", "not listed in parent", func(s *state) {
			delete(s.inodes[1].children, "B")
			s.inodes[1].children["BB"] = 4
		}},
		{"directory with data", "directory 2 has data", func(s *state) { s.inodes[2].size = 5 }},
		{"id beyond next id", "not below next id", func(s *state) { s.nextID = 3 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := build(t)
			c.damage(s)
			probs := checkState(s)
			if !strings.Contains(strings.Join(probs, "\n"), c.want) {
				t.Fatalf("problems %q do not mention %q", probs, c.want)
			}
		})
	}
}

// TestCheckDevice checks a volume on a device: clean after use, a problem after a superblock
// copy is damaged, and unreadable when every checkpoint is gone.
func TestCheckDevice(t *testing.T) {
	dev := newMemDevice(16 << 20)
	if err := Format(dev, FormatOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := Mount(dev, MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := v.Open(ctx, "x", vfs.OpenRequest{Disposition: vfs.Create, Write: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("data"), 0); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if r := Check(dev); !r.OK() || r.Files != 1 || r.UsedBlocks != 1 {
		t.Fatalf("clean volume: %+v", r)
	}
	dev.b[20] ^= 0xff // the volume id of superblock copy A
	if r := Check(dev); r.OK() {
		t.Fatal("damaged superblock copy not reported")
	}
	if _, err := Mount(dev, MountOptions{}); err != nil {
		t.Fatalf("mount with one good superblock copy: %v", err)
	}
	sb, _, _ := readSuperblock(dev)
	for _, a := range sb.CheckpointStart {
		dev.b[int64(a)*BlockSize+20] ^= 0xff
	}
	if r := Check(dev); r.OK() || !strings.Contains(strings.Join(r.Problems, " "), "no valid checkpoint") {
		t.Fatalf("volume without checkpoints: %q", r.Problems)
	}
}
