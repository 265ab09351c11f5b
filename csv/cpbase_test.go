package csv

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"pgregory.net/rapid"
)

// TestIncrementalSnapshot checks that the checkpoint base, brought up to date from the objects
// changed since the last snapshot, always encodes exactly as a full copy of the state does, over
// random sequences of creates, writes, truncates, renames and removes with snapshots between.
func TestIncrementalSnapshot(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dev := newMemDevice(8 << 20)
		if err := Format(dev, FormatOptions{}); err != nil {
			rt.Fatal(err)
		}
		v, err := Mount(dev, MountOptions{CommitDelay: -1})
		if err != nil {
			rt.Fatal(err)
		}
		defer v.Close()
		name := func() string { return fmt.Sprintf("f%d", rapid.IntRange(0, 12).Draw(rt, "name")) }
		open := func(d vfs.Disposition) vfs.File {
			f, _, err := v.Open(ctx, name(), vfs.OpenRequest{Disposition: d, Read: true, Write: true})
			if err != nil {
				return nil
			}
			return f
		}
		c := v.c
		steps := rapid.IntRange(1, 60).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 5).Draw(rt, "op") {
			case 0:
				if f := open(vfs.OpenIf); f != nil {
					f.Close()
				}
			case 1:
				if f := open(vfs.OpenExisting); f != nil {
					f.WriteAt(patterned(1, rapid.IntRange(1, 3*BlockSize).Draw(rt, "len")), int64(rapid.IntRange(0, 8).Draw(rt, "blk"))*BlockSize)
					f.Close()
				}
			case 2:
				if f := open(vfs.OpenExisting); f != nil {
					f.Truncate(int64(rapid.IntRange(0, 5*BlockSize).Draw(rt, "size")))
					f.Close()
				}
			case 3:
				if f := open(vfs.OpenExisting); f != nil {
					f.Rename(name(), rapid.Bool().Draw(rt, "replace"))
					f.Close()
				}
			case 4:
				if f := open(vfs.OpenExisting); f != nil {
					f.Remove()
					f.Close()
				}
			case 5:
				// What commitOnce does for a checkpoint, compared with a full copy.
				c.mu.Lock()
				incremental := c.cpBase.apply(snapshotDelta(c.st)).encode()
				full := snapshotState(c.st).encode()
				c.mu.Unlock()
				if !bytes.Equal(incremental, full) {
					rt.Fatalf("incremental snapshot (%d bytes) differs from a full one (%d bytes)", len(incremental), len(full))
				}
			}
		}
	})
}
