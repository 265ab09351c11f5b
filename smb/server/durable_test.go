package server

import (
	"errors"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// parkedDurable returns a table holding one disconnected durable open with persistent id 7.
func parkedDurable(t *testing.T) (*durableTable, *open) {
	t.Helper()
	entry, err := vfs.NewOpenTable().Open(1, vfs.Access(wire.FileReadData), vfs.ShareMode(7))
	if err != nil {
		t.Fatal(err)
	}
	d := &durableTable{}
	o := &open{entry: entry, id: wire.FileID{Persistent: 7, Volatile: 7}}
	o.durable = &durableState{table: d, timeout: time.Hour}
	d.add(o)
	d.keep(o)
	t.Cleanup(func() { d.forget(o) })
	return d, o
}

// A reconnect of an open another reconnect is reclaiming fails with FILE_NOT_AVAILABLE at once;
// once the first gives the open back (its checks failed), the open can be taken again.
func TestDurableTakeWhileReclaiming(t *testing.T) {
	d, o := parkedDurable(t)
	got, err := d.take(7)
	if err != nil || got != o {
		t.Fatalf("first take: %v, %v", got, err)
	}
	if got, err := d.take(7); got != nil || !errors.Is(err, wire.StatusFileNotAvailable) {
		t.Fatalf("take while reclaiming: %v, %v; want STATUS_FILE_NOT_AVAILABLE", got, err)
	}
	d.keepAgain(o)
	d.reclaimed(o)
	if got, err := d.take(7); err != nil || got != o {
		t.Fatalf("take after the reclaim gave it back: %v, %v", got, err)
	}
	d.reclaimed(o)
	if got, err := d.take(8); got != nil || err != nil {
		t.Fatalf("take of an unknown id: %v, %v; want nothing", got, err)
	}
}
