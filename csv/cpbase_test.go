package csv

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
	"pgregory.net/rapid"
)

// TestIncrementalSnapshot checks that the checkpoint base, brought up to date from the objects
// changed since the last snapshot and collected while later operations change them, encodes
// exactly as a full copy of the state at the snapshot does, over random sequences of creates,
// writes, truncates, renames and removes with snapshots and collections between.
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
		// A snapshot taken (frozen) and not yet collected, and the full copy of that moment.
		var pending *stateDelta
		var want []byte
		collect := func() {
			if pending == nil {
				return
			}
			pending.collect(c.st, c.mu.RLock, c.mu.RUnlock)
			c.mu.Lock()
			c.st.frozen = nil
			c.mu.Unlock()
			if got := c.cpBase.apply(pending).encode(); !bytes.Equal(got, want) {
				rt.Fatalf("incremental snapshot (%d bytes) differs from a full copy at the snapshot (%d bytes)", len(got), len(want))
			}
			pending = nil
		}
		steps := rapid.IntRange(1, 80).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 6).Draw(rt, "op") {
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
				// What commitOnce does for a checkpoint; the objects are collected later, after
				// more changes (copy on write keeps their snapshot versions).
				if pending == nil {
					c.mu.Lock()
					want = snapshotState(c.st).encode()
					pending = snapshotDelta(c.st)
					c.mu.Unlock()
				}
			case 6:
				collect()
			}
		}
		collect()
	})
}
