package server

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/smb/wire"
)

// maxPendingChanges bounds the changes buffered for a directory handle between CHANGE_NOTIFY
// requests; past it the next request learns only that it must re-enumerate.
const maxPendingChanges = 4096

// notifyState is a directory handle's change watch (MS-SMB2 3.3.5.19): started by the first
// CHANGE_NOTIFY on the handle, kept until the handle closes, buffering changes between requests
// so a client that re-arms its request loses nothing. One mutex guards it; the backend's watch
// goroutine feeds it.
type notifyState struct {
	mu       sync.Mutex
	stop     context.CancelFunc
	pending  []vfs.Change
	overflow bool
	waiters  []*notifyWaiter
	closed   bool
	// bufferSize is the first request's OutputBufferLength, fixed for the handle's life.
	bufferSize uint32
	// mark, when the backend can (vfs.SyncWatcher), asks for a marker behind every change
	// made so far; marksSeen counts the markers fed, and markSignal is closed (and replaced)
	// at each. marksAsked counts the marks asked for.
	mark       func() error
	marksAsked uint64
	marksSeen  uint64
	markSignal chan struct{}
}

// maxMarkWait bounds how long a request waits for the backend to deliver the changes made
// before it (syncChanges). The marker normally arrives within microseconds; the bound only
// keeps a watch that ended or lost it from stalling the request.
const maxMarkWait = 200 * time.Millisecond

// syncChanges waits until every change made before the call has been fed, so a request that
// follows a client's own operation sees it, as on Windows where notification is part of the
// operation (smbtorture smb2.notify.valid-req counts changes across requests).
func (n *notifyState) syncChanges(ctx context.Context) {
	if n.mark == nil {
		return
	}
	n.mu.Lock()
	n.marksAsked++
	target := n.marksAsked
	n.mu.Unlock()
	if n.mark() != nil {
		return
	}
	timer := time.NewTimer(maxMarkWait)
	defer timer.Stop()
	for {
		n.mu.Lock()
		if n.marksSeen >= target || n.closed {
			n.mu.Unlock()
			return
		}
		signal := n.markSignal
		n.mu.Unlock()
		select {
		case <-signal:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

type notifyWaiter struct {
	filter uint32
	done   chan notifyResult // buffered, written once
}

type notifyResult struct {
	changes  []vfs.Change
	overflow bool
	cleanup  bool
}

// feed adds a change and completes the oldest waiter.
func (n *notifyState) feed(ch vfs.Change) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ch.Marker {
		n.marksSeen++
		close(n.markSignal)
		n.markSignal = make(chan struct{})
		return
	}
	switch last := len(n.pending) - 1; {
	case ch.Overflow || len(n.pending) >= maxPendingChanges:
		n.overflow = true
		n.pending = nil
	case ch.Action == vfs.ChangeModified && last >= 0 &&
		n.pending[last].Action == vfs.ChangeModified && n.pending[last].Name == ch.Name:
		// One open-write-set-close of a file is one FILE_ACTION_MODIFIED to Windows clients
		// (smbtorture smb2.notify.valid-req counts them), whatever inotify events it made:
		// successive modifications of one name merge, keeping every filter bit they touched.
		n.pending[last].Filter |= ch.Filter
	default:
		n.pending = append(n.pending, ch)
	}
	n.deliverLocked()
}

// deliverLocked completes the oldest waiter if anything it cares about is pending. Changes it
// does not filter for are dropped, as Windows does for a handle's notify requests.
func (n *notifyState) deliverLocked() {
	for len(n.waiters) > 0 {
		w := n.waiters[0]
		if n.overflow {
			n.overflow = false
			n.waiters = n.waiters[1:]
			w.done <- notifyResult{overflow: true}
			continue
		}
		var match []vfs.Change
		for _, c := range n.pending {
			if uint32(c.Filter)&w.filter != 0 {
				match = append(match, c)
			}
		}
		if len(match) == 0 {
			n.pending = n.pending[:0]
			return
		}
		n.pending = nil
		n.waiters = n.waiters[1:]
		w.done <- notifyResult{changes: match}
	}
}

// close ends the watch: pending requests complete with STATUS_NOTIFY_CLEANUP.
func (n *notifyState) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	n.stop()
	for _, w := range n.waiters {
		w.done <- notifyResult{cleanup: true}
	}
	n.waiters = nil
}

func (n *notifyState) remove(w *notifyWaiter) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, x := range n.waiters {
		if x == w {
			n.waiters = append(n.waiters[:i], n.waiters[i+1:]...)
			return
		}
	}
}

// withdraw takes w off the queue because its request ends with status (cancelled, directory
// doomed); a result that completed it meanwhile is delivered instead.
func (n *notifyState) withdraw(w *notifyWaiter, status error) (notifyResult, error) {
	n.remove(w)
	select {
	case res := <-w.done:
		return res, nil
	default:
		return notifyResult{}, status
	}
}

// handleChangeNotify implements MS-SMB2 3.3.5.19. The request goes async until a change the
// client filters for happens, the handle closes or the client cancels.
func handleChangeNotify(r *request) error {
	var req wire.ChangeNotifyRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	maxTransact := r.c.neg.Load().maxTransact
	if req.OutputBufferLength > maxTransact {
		return errInvalidParameter
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe != nil || !o.isDir {
		return errInvalidParameter
	}
	if !o.has(wire.FileReadData) {
		return wire.StatusAccessDenied
	}
	watcher, ok := o.tree.share.FS.(vfs.Watcher)
	if !ok {
		return wire.StatusNotSupported
	}
	n, err := o.notifier(watcher, req.Flags&wire.WatchTree != 0, req.OutputBufferLength)
	if err != nil {
		return err
	}
	n.syncChanges(r.cancellable())
	w := &notifyWaiter{filter: req.CompletionFilter, done: make(chan notifyResult, 1)}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return wire.StatusNotifyCleanup
	}
	n.waiters = append(n.waiters, w)
	n.deliverLocked()
	n.mu.Unlock()
	// Queued in order: the connection's next request may start (conn.go serve).
	r.chain.releaseOrder()

	// A directory whose delete is pending completes its notifies with STATUS_DELETE_PENDING
	// (as Windows and Samba; smbtorture smb2.notify.rmdir1-4).
	var doomed <-chan struct{}
	if o.entry != nil {
		doomed = o.entry.DeletePendingWait()
	}
	var res notifyResult
	select {
	case res = <-w.done:
	case <-doomed:
		if res, err = n.withdraw(w, wire.StatusDeletePending); err != nil {
			return err
		}
	default:
		if !r.goAsync() {
			// Windows fails a notify that would block in the middle of a compound, and the
			// related requests after it still run.
			n.remove(w)
			r.asyncRefused = true
			return wire.StatusInternalError
		}
		select {
		case res = <-w.done:
		case <-doomed:
			if res, err = n.withdraw(w, wire.StatusDeletePending); err != nil {
				return err
			}
		case <-r.cancellable().Done():
			if res, err = n.withdraw(w, wire.StatusCancelled); err != nil {
				return err
			}
		}
	}
	switch {
	case res.cleanup:
		return wire.StatusNotifyCleanup
	case res.overflow:
		return wire.StatusNotifyEnumDir
	}
	infos := make([]wire.FileNotifyInformation, len(res.changes))
	for i, c := range res.changes {
		infos[i] = wire.FileNotifyInformation{Action: uint32(c.Action), FileName: smbRelative(c.Name)}
	}
	// The handle's change buffer has the size its first request asked for (Windows; smbtorture
	// smb2.notify.valid-req: "if the first notify returns NOTIFY_ENUM_DIR, all do").
	out, written := wire.AppendFileNotifyInformation(nil, infos, int(min(req.OutputBufferLength, n.bufferSize)))
	if written < len(infos) {
		return wire.StatusNotifyEnumDir // the changes do not fit: the client re-enumerates
	}
	r.resp = (&wire.ChangeNotifyResponse{Output: out}).Append(r.resp)
	return nil
}

// notifier starts the handle's watch on first use. The watch is set up outside the handle's
// lock (it does I/O) and installed with a re-check, so racing first requests share one watch.
func (o *open) notifier(w vfs.Watcher, tree bool, bufferSize uint32) (*notifyState, error) {
	o.mu.Lock()
	n := o.notify
	o.mu.Unlock()
	if n != nil {
		return n, nil
	}
	ctx, stop := context.WithCancel(context.Background())
	var ch <-chan vfs.Change
	var mark func() error
	var err error
	if sw, ok := w.(vfs.SyncWatcher); ok {
		ch, mark, err = sw.WatchSync(ctx, o.file.Name(), tree)
	} else {
		ch, err = w.Watch(ctx, o.file.Name(), tree)
	}
	if err != nil {
		stop()
		return nil, err
	}
	n = &notifyState{stop: stop, bufferSize: bufferSize, mark: mark, markSignal: make(chan struct{})}
	o.mu.Lock()
	switch {
	case o.closed:
		o.mu.Unlock()
		stop()
		return nil, wire.StatusFileClosed
	case o.notify != nil:
		existing := o.notify
		o.mu.Unlock()
		stop()
		return existing, nil
	}
	o.notify = n
	o.mu.Unlock()
	go func() {
		for c := range ch {
			n.feed(c)
		}
	}()
	return n, nil
}

// smbRelative renders a '/'-separated relative name with backslashes.
func smbRelative(name string) string { return strings.ReplaceAll(name, "/", `\`) }
