package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ResourceType is what a package implements to host resources of one kind (a share, a volume,
// an IP address). Calls get a context with the type's call timeout; the controller runs them on
// their own goroutine so one that hangs past the deadlock timeout cannot wedge the node.
type ResourceType interface {
	// Online brings the resource up on this node. It must honour r.Epoch as a fencing token
	// (refuse work stamped with an older epoch).
	Online(ctx context.Context, r ResourceRef) error
	// Offline takes it down; it must succeed if the resource is already down.
	Offline(ctx context.Context, r ResourceRef) error
	// LooksAlive is a cheap check, run every LooksAliveInterval.
	LooksAlive(ctx context.Context, r ResourceRef) error
	// IsAlive is a thorough check, run every IsAliveInterval.
	IsAlive(ctx context.Context, r ResourceRef) error
}

// ResourceRef identifies the resource instance a call is about.
type ResourceRef struct {
	Name  string
	Group string
	Node  string
	Epoch uint64
	Props map[string]string
}

// Registry holds the resource types this process can host.
type Registry struct {
	mu    sync.RWMutex
	types map[string]registered
}

type registered struct {
	info ResourceTypeInfo
	impl ResourceType
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]registered{}} }

// Register adds a type, filling unset intervals and timeouts with defaults (LooksAlive 5 s,
// IsAlive 60 s, call timeout 60 s, deadlock timeout 5 min, like Windows).
func (g *Registry) Register(info ResourceTypeInfo, impl ResourceType) {
	if info.LooksAliveInterval == 0 {
		info.LooksAliveInterval = 5 * time.Second
	}
	if info.IsAliveInterval == 0 {
		info.IsAliveInterval = 60 * time.Second
	}
	if info.CallTimeout == 0 {
		info.CallTimeout = 60 * time.Second
	}
	if info.DeadlockTimeout == 0 {
		info.DeadlockTimeout = 5 * time.Minute
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.types[info.Name] = registered{info, impl}
}

func (g *Registry) get(name string) (registered, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	t, ok := g.types[name]
	return t, ok
}

// Infos lists registered types (to publish into the config DB).
func (g *Registry) Infos() []ResourceTypeInfo {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []ResourceTypeInfo
	for _, t := range g.types {
		out = append(out, t.info)
	}
	return out
}

// ErrDeadlock is returned when an agent call did not return within the deadlock timeout.
var ErrDeadlock = errors.New("resource call deadlocked")

// callAgent runs one agent call with the call timeout as its context deadline, and gives up
// waiting after the deadlock timeout even if the call ignores its context.
func callAgent(t registered, what string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), t.info.CallTimeout)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("%s panicked: %v", what, p)
			}
		}()
		done <- fn(ctx)
	}()
	timer := time.NewTimer(t.info.DeadlockTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("%w: %s did not return within %s", ErrDeadlock, what, t.info.DeadlockTimeout)
	}
}
