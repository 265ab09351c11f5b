package server

import (
	"sync"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// Last-write-time updates as Windows makes them, which is not per write: the file system
// updates LastWriteTime a while after the first write through a handle, not again for later
// writes through it, and once more when the handle closes if it wrote since; FLUSH and
// SET_INFO of the end of file, allocation or basic information make a pending update at once;
// and a write time a client set explicitly through a handle stays, whatever that handle writes
// later (MS-FSA 2.1.4.17 and 2.1.5.14.2, UserSetModificationTime; smbtorture
// smb2.timestamps.delayed-*). Linux updates mtime on every write(2), so the handle remembers
// what clients must see and writes mtime itself when an update is due. This is all of the
// write-time policy; everything else reads mtime as the backend reports it.
//
// Only queries through the handle that wrote see the held-back time; another handle or a path
// query sees the backend's mtime, which is newer while an update is pending.

// writeTimeDelay is how long after a handle's first write its write time is updated (Samba's
// default; Windows' is of the same order).
const writeTimeDelay = 2 * time.Second

type writePhase uint8

const (
	writeClean   writePhase = iota // nothing written through the handle since the last update
	writePending                   // written; the update is due at firstWrite+writeTimeDelay
	writeUpdated                   // the delayed update happened; later writes wait for close
)

// writeTimeState is one handle's write-time bookkeeping. Its mutex is never held across I/O:
// decisions are taken under it and the mtime updates they call for are made after.
type writeTimeState struct {
	mu         sync.Mutex
	phase      writePhase
	sticky     bool      // the client set the write time through this handle
	shown      time.Time // pending: mtime before the first write; updated: the update; sticky: the set time
	firstWrite time.Time
	wroteSince bool // written after the update (or after the sticky set)
}

// beforeWrite records that the handle is about to write. The first write after an update
// reads the current mtime, which clients keep seeing until the delayed update.
func (o *open) beforeWrite() {
	w := &o.writeTime
	w.mu.Lock()
	switch {
	case w.sticky, w.phase == writeUpdated:
		w.wroteSince = true
		w.mu.Unlock()
		return
	case w.phase == writePending:
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	fi, err := o.file.Stat()
	if err != nil {
		return // the write itself will report the trouble
	}
	w.mu.Lock()
	if w.phase == writeClean && !w.sticky {
		w.phase, w.shown, w.firstWrite = writePending, fi.LastWriteTime, time.Now()
	}
	w.mu.Unlock()
}

// reportWriteTime adjusts fi, just read through the handle, to the write time clients see,
// making the delayed update if it is due.
func (o *open) reportWriteTime(fi *vfs.FileInfo) {
	w := &o.writeTime
	w.mu.Lock()
	var due time.Time
	if w.phase == writePending && !time.Now().Before(w.firstWrite.Add(writeTimeDelay)) {
		due = w.firstWrite.Add(writeTimeDelay)
		w.phase, w.shown, w.wroteSince = writeUpdated, due, false
	}
	held := w.phase == writePending || (w.phase == writeUpdated || w.sticky) && w.wroteSince
	shown := w.shown
	w.mu.Unlock()
	if !due.IsZero() {
		o.setWriteTime(due)
	}
	if held || !due.IsZero() {
		fi.LastWriteTime = shown
	}
}

// flushWriteTime makes a pending update now (FLUSH, SET_INFO of size or basic information).
func (o *open) flushWriteTime() {
	w := &o.writeTime
	w.mu.Lock()
	if w.sticky || !(w.phase == writePending || w.phase == writeUpdated && w.wroteSince) {
		w.mu.Unlock()
		return
	}
	now := time.Now()
	w.phase, w.shown, w.wroteSince = writeUpdated, now, false
	w.mu.Unlock()
	o.setWriteTime(now)
}

// setExplicitWriteTime records a write time the client set through the handle: it stays.
func (o *open) setExplicitWriteTime(t time.Time) {
	w := &o.writeTime
	w.mu.Lock()
	w.phase, w.sticky, w.shown, w.wroteSince = writeClean, true, t, false
	w.mu.Unlock()
}

// thawWriteTime resumes automatic updates after an explicit or frozen write time.
func (o *open) thawWriteTime() {
	w := &o.writeTime
	w.mu.Lock()
	w.sticky, w.wroteSince = false, false
	w.mu.Unlock()
}

// closeWriteTime makes the update due at close: the close time if the handle wrote since the
// last update, or the explicitly set time again if it wrote after setting one.
func (o *open) closeWriteTime() {
	if o.file == nil || o.isDir {
		return
	}
	w := &o.writeTime
	w.mu.Lock()
	var t time.Time
	switch {
	case w.sticky && w.wroteSince:
		t = w.shown
	case !w.sticky && (w.phase == writePending || w.phase == writeUpdated && w.wroteSince):
		t = time.Now()
	}
	w.phase, w.wroteSince = writeClean, false
	w.mu.Unlock()
	if !t.IsZero() {
		o.setWriteTime(t)
	}
}

// setWriteTime stores t as the file's mtime. It is best effort: a file removed or made
// read-only on the host meanwhile keeps the time the kernel gave it, which is what a client
// would see of it anyway.
func (o *open) setWriteTime(t time.Time) {
	_ = o.file.SetInfo(vfs.SetInfo{LastWriteTime: &t})
}
