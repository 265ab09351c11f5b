package csv

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// TestScale creates many files (a tenth of them in one directory) with concurrent creators,
// remounts by journal replay and from a checkpoint, and reports create and lookup rates, mount
// time and metadata memory. Default: 20,000 files; SOFS_LONG=1: 1,000,000.
func TestScale(t *testing.T) {
	total, devSize := 20000, int64(1<<30)
	if long() {
		total, devSize = 1000000, 8<<30
	}
	bigDir := total / 10
	path := newDevicePath(t, devSize, FormatOptions{})
	v := mountPath(t, path)
	for _, d := range []string{"big", "tree"} {
		f, _, err := v.Open(ctx, d, vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	const subdirs = 100
	for i := 0; i < subdirs; i++ {
		f, _, err := v.Open(ctx, fmt.Sprintf("tree/d%d", i), vfs.OpenRequest{Disposition: vfs.Create, Kind: vfs.DirectoryOnly})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	name := func(i int) string {
		if i < bigDir {
			return fmt.Sprintf("big/file-%d", i)
		}
		return fmt.Sprintf("tree/d%d/file-%d", i%subdirs, i)
	}
	const workers = 64
	run := func(what string, op func(i int) error) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < total; i += workers {
					if err := op(i); err != nil {
						errs <- fmt.Errorf("%s %d: %w", what, i, err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	created := run("create", func(i int) error {
		f, _, err := v.Open(ctx, name(i), vfs.OpenRequest{Disposition: vfs.Create})
		if err == nil {
			f.Close()
		}
		return err
	})
	looked := run("lookup", func(i int) error {
		f, _, err := v.Open(ctx, name(i), vfs.OpenRequest{Disposition: vfs.OpenExisting})
		if err == nil {
			_, err = f.Stat()
			f.Close()
		}
		return err
	})
	stats := v.c.Stats()
	// Crash-style stop: the next mount replays the journal since the last checkpoint.
	v.abandon()
	v = nil
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	v = mountPath(t, path)
	replayMount := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if got := len(v.c.st.inodes); got != total+subdirs+3 {
		t.Fatalf("after remount %d objects, want %d", got, total+subdirs+3)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v = nil // let the old state go before measuring the next mount
	runtime.GC()
	start = time.Now()
	v = mountPath(t, path)
	cleanMount := time.Since(start)
	d, _, err := v.Open(ctx, "big", vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	entries, err := d.ReadDir()
	if err != nil || len(entries) != bigDir {
		t.Fatalf("readdir big: %d entries, %v", len(entries), err)
	}
	listed := time.Since(start)
	v.Close()
	checkPath(t, path)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d files (%d in one directory): create %.0f/s (%d journal flushes, %d checkpoints, longest snapshot pause %v), lookup+stat %.0f/s, "+
		"mount with journal replay %v, mount from checkpoint %v, metadata heap %.1f MiB (%.0f B/file), readdir of %d in %v",
		total, bigDir, float64(total)/created.Seconds(), stats.Flushes, stats.Checkpoints, stats.MaxCheckpointPause, float64(total)/looked.Seconds(),
		replayMount.Round(time.Millisecond), cleanMount.Round(time.Millisecond), float64(heap)/(1<<20), float64(heap)/float64(total),
		bigDir, listed.Round(time.Millisecond))
}
