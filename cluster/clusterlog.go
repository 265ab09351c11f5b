package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// LogRecord is one structured log line kept for `sofsctl cluster log`.
type LogRecord struct {
	Time      time.Time `json:"time"`
	Node      string    `json:"node"`
	Level     string    `json:"level"`
	Component string    `json:"component,omitempty"`
	Msg       string    `json:"msg"`
	Attrs     string    `json:"attrs,omitempty"`
}

// logRing keeps the most recent records of this node in memory.
type logRing struct {
	mu   sync.Mutex
	recs []LogRecord
	next int
	full bool
}

const logRingSize = 20000

func (r *logRing) add(rec LogRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recs == nil {
		r.recs = make([]LogRecord, logRingSize)
	}
	r.recs[r.next] = rec
	r.next = (r.next + 1) % logRingSize
	if r.next == 0 {
		r.full = true
	}
}

func (r *logRing) since(t time.Time) []LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LogRecord
	n := r.next
	if r.full {
		n = logRingSize
	}
	for i := range n {
		idx := i
		if r.full {
			idx = (r.next + i) % logRingSize
		}
		if !r.recs[idx].Time.Before(t) {
			out = append(out, r.recs[idx])
		}
	}
	return out
}

// ringHandler tees records into the ring and on to the next handler.
type ringHandler struct {
	next  slog.Handler
	ring  *logRing
	node  string
	attrs []slog.Attr
}

// Enabled keeps Info and above for the cluster log even when the output handler is quieter.
func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *ringHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := LogRecord{Time: r.Time, Node: h.node, Level: r.Level.String(), Msg: r.Message}
	var b strings.Builder
	add := func(a slog.Attr) {
		switch a.Key {
		case "component":
			rec.Component = a.Value.String()
		case "node":
		default:
			fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value)
		}
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	rec.Attrs = strings.TrimSpace(b.String())
	if r.Level >= slog.LevelInfo {
		h.ring.add(rec)
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &ringHandler{next: h.next.WithAttrs(as), ring: h.ring, node: h.node, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	return &ringHandler{next: h.next.WithGroup(name), ring: h.ring, node: h.node, attrs: h.attrs}
}

// GatherLog fetches every reachable node's log since t and merges it in time order, like
// Get-ClusterLog. Unreachable nodes are listed in the returned error list.
func GatherLog(ctx context.Context, id *TLSIdentity, seed string, since time.Time) ([]LogRecord, []string, error) {
	s, err := NewClient(id, seed).State(ctx)
	if err != nil {
		return nil, nil, err
	}
	var all []LogRecord
	var missing []string
	for _, nid := range s.SortedNodes() {
		var recs []LogRecord
		err := NewClient(id, s.Nodes[nid].Addr).do(ctx, "GET", "/v1/log?since="+since.UTC().Format(time.RFC3339Nano), nil, &recs)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: %v", nid, err))
			continue
		}
		all = append(all, recs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all, missing, nil
}
