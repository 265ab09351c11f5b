package csv

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/sofs-dev/sofs/smb/vfs"
)

var _ vfs.Watcher = (*Volume)(nil)

// watchQueue is how many changes a watch buffers before it reports Overflow.
const watchQueue = 256

// watch is one Watch call: changes under dir (its subtree when tree) go to ch.
type watch struct {
	dirID    uint64
	tree     bool
	mu       sync.Mutex
	ch       chan vfs.Change
	closed   bool
	overflow bool // changes were dropped; Overflow is owed once there is room
}

// watchers is the volume's set of watches. Changes are reported by the coordinator's callers
// while they hold the state lock, so names are computed from a consistent tree.
type watchers struct {
	mu  sync.Mutex
	set map[*watch]struct{}
}

// Watch implements vfs.Watcher for changes made through this volume.
func (v *Volume) Watch(ctx context.Context, dir string, tree bool) (<-chan vfs.Change, error) {
	v.c.mu.RLock()
	_, _, ino, err := v.resolve(dir)
	v.c.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	if ino == nil {
		return nil, fmt.Errorf("watch %q: %w", dir, vfs.ErrNotFound)
	}
	if !ino.dir {
		return nil, fmt.Errorf("watch %q: %w", dir, vfs.ErrNotDir)
	}
	w := &watch{dirID: ino.id, tree: tree, ch: make(chan vfs.Change, watchQueue)}
	v.watches.mu.Lock()
	if v.watches.set == nil {
		v.watches.set = map[*watch]struct{}{}
	}
	v.watches.set[w] = struct{}{}
	v.watches.mu.Unlock()
	go func() {
		<-ctx.Done()
		v.watches.mu.Lock()
		delete(v.watches.set, w)
		v.watches.mu.Unlock()
		w.mu.Lock()
		w.closed = true
		close(w.ch)
		w.mu.Unlock()
	}()
	return w.ch, nil
}

// send queues c without blocking; a full queue turns into one Overflow report.
func (w *watch) send(c vfs.Change) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if w.overflow {
		select {
		case w.ch <- vfs.Change{Overflow: true, Time: c.Time}:
			w.overflow = false
		default:
			return
		}
	}
	select {
	case w.ch <- c:
	default:
		w.overflow = true
	}
}

// notify reports a change to the object named name under parent. The caller holds c.mu.
func (v *Volume) notify(parent uint64, name string, action vfs.ChangeAction, filter vfs.ChangeFilter) {
	v.watches.mu.Lock()
	if len(v.watches.set) == 0 {
		v.watches.mu.Unlock()
		return
	}
	ws := make([]*watch, 0, len(v.watches.set))
	for w := range v.watches.set {
		ws = append(ws, w)
	}
	v.watches.mu.Unlock()
	now := v.now()
	st := v.c.st
	for _, w := range ws {
		// Walk up from the parent to the watched directory, collecting the relative path.
		parts := []string{name}
		found := false
		for id, depth := parent, 0; id != 0 && depth <= len(st.inodes); depth++ {
			if id == w.dirID {
				found = true
				break
			}
			if !w.tree {
				break
			}
			p := st.inodes[id]
			if p == nil {
				break
			}
			parts = append(parts, p.name)
			id = p.parent
		}
		if !found {
			continue
		}
		for l, r := 0, len(parts)-1; l < r; l, r = l+1, r-1 {
			parts[l], parts[r] = parts[r], parts[l]
		}
		w.send(vfs.Change{Action: action, Filter: filter, Name: strings.Join(parts, "/"), Time: now})
	}
}

func nameFilter(ino *inode) vfs.ChangeFilter {
	if ino.dir {
		return vfs.FilterDirName
	}
	return vfs.FilterFileName
}
