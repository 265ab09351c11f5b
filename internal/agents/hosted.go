package agents

import "sync"

// hosted is what a resource type holds for the resources online on this node, by resource
// name. Its mutex is never held across I/O: callers open or close outside and then record.
type hosted[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

func (h *hosted[T]) get(name string) (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.m[name]
	return v, ok
}

func (h *hosted[T]) put(name string, v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]T{}
	}
	h.m[name] = v
}

// take removes and returns the entry, so exactly one caller tears a resource down.
func (h *hosted[T]) take(name string) (T, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.m[name]
	delete(h.m, name)
	return v, ok
}
