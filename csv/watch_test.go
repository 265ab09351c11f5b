package csv

import (
	"context"
	"fmt"
	"testing"

	"github.com/sofs-dev/sofs/smb/vfs"
)

func nextChange(t *testing.T, ch <-chan vfs.Change) vfs.Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return c
	default:
		t.Fatal("no change reported")
	}
	return vfs.Change{}
}

// TestWatch checks that changes made through the volume are reported to watches with names
// relative to the watched directory (changes are queued before the operation returns, so no
// waiting is needed), that a watch on a subtree ignores the rest, and that a full queue reports
// Overflow once.
func TestWatch(t *testing.T) {
	v, _ := newVolume(t)
	mustOpen(t, v, "d", vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly}).Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, err := v.Watch(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := v.Watch(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, v, "d/f", createReq())
	if c := nextChange(t, root); c.Action != vfs.ChangeAdded || c.Name != "d/f" || c.Filter != vfs.FilterFileName {
		t.Fatalf("create reported %+v", c)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if c := nextChange(t, root); c.Action != vfs.ChangeModified || c.Name != "d/f" || c.Filter&vfs.FilterSize == 0 {
		t.Fatalf("write reported %+v", c)
	}
	if err := f.Rename("d/g", false); err != nil {
		t.Fatal(err)
	}
	if c := nextChange(t, root); c.Action != vfs.ChangeRenamedOldName || c.Name != "d/f" {
		t.Fatalf("rename old %+v", c)
	}
	if c := nextChange(t, root); c.Action != vfs.ChangeRenamedNewName || c.Name != "d/g" {
		t.Fatalf("rename new %+v", c)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if c := nextChange(t, root); c.Action != vfs.ChangeRemoved || c.Name != "d/g" {
		t.Fatalf("remove %+v", c)
	}
	select {
	case c := <-flat:
		t.Fatalf("non-recursive watch of the root saw %+v from a subdirectory", c)
	default:
	}
	// Overflow: more changes than the queue holds, then one Overflow before the next change.
	for i := 0; i < watchQueue+10; i++ {
		mustOpen(t, v, fmt.Sprintf("f%d", i), vfs.OpenRequest{Disposition: vfs.Create}).Close()
	}
	for i := 0; i < watchQueue; i++ {
		if c := nextChange(t, flat); c.Overflow {
			t.Fatalf("overflow reported early at %d", i)
		}
	}
	mustOpen(t, v, "last", vfs.OpenRequest{Disposition: vfs.Create}).Close()
	if c := nextChange(t, flat); !c.Overflow {
		t.Fatalf("after a full queue got %+v, want Overflow", c)
	}
	if c := nextChange(t, flat); c.Name != "last" {
		t.Fatalf("after Overflow got %+v", c)
	}
	cancel()
	for range root { // drains, then ends when the watch closes its channel
	}
}
