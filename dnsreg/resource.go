package dnsreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ResourceAgent is the shape of a cluster resource type's agent (in the manner of
// Windows failover cluster resource DLLs): bring online, take offline, and two health
// checks, a cheap one (LooksAlive) and a thorough one (IsAlive). The cluster package
// registers NetworkName under its resource-type registry through this interface.
type ResourceAgent interface {
	Online(ctx context.Context) error
	Offline(ctx context.Context) error
	LooksAlive(ctx context.Context) error
	IsAlive(ctx context.Context) error
}

// NetworkNameConfig configures the "network name" resource.
type NetworkNameConfig struct {
	// AccessPoint is the name clients use ("fs1.corp.example.").
	AccessPoint string
	// Zone is where per-node names go ("corp.example."): node1.corp.example.
	Zone string
	// Nodes is the cluster view: who is up and their client addresses.
	Nodes NodeSource
	// DNS applies and reads records.
	DNS Registrar
	// Resync re-applies records this often even without changes, repairing records an
	// administrator or scavenging removed (default 5 min).
	Resync time.Duration
	// RetryMin and RetryMax bound the backoff after a failed sync (defaults 500 ms, 30 s).
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
}

// NetworkNameState is what the resource reports for `sofsctl` and the cluster's view.
type NetworkNameState struct {
	Online   bool
	Desired  RecordSet
	LastSync time.Time // last successful sync
	// LastError is the last sync failure, nil after a success. It keeps the server's
	// address and answer (see ServerError).
	LastError error
	Failures  int // consecutive failed syncs
}

// NetworkName keeps the access point and per-node names in DNS true to the cluster view
// while it is online. Only the group owner runs it, so there is one writer per name.
type NetworkName struct {
	cfg NetworkNameConfig

	mu      sync.Mutex
	state   NetworkNameState
	managed map[string]bool // every name we have managed this run, so removed nodes are cleaned
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewNetworkName validates cfg.
func NewNetworkName(cfg NetworkNameConfig) (*NetworkName, error) {
	if cfg.AccessPoint == "" || cfg.Zone == "" {
		return nil, errors.New("network name: access point and zone are required")
	}
	if _, ok := dns.IsDomainName(cfg.AccessPoint); !ok {
		return nil, fmt.Errorf("network name: access point %q is not a domain name", cfg.AccessPoint)
	}
	if cfg.Nodes == nil || cfg.DNS == nil {
		return nil, errors.New("network name: node source and registrar are required")
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(30*time.Second, cfg.RetryMin)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &NetworkName{cfg: cfg, managed: map[string]bool{}}, nil
}

// desired computes the wanted records, keeping every name managed before (as empty) so
// a node that left the cluster view entirely still loses its records.
func (n *NetworkName) desired(nodes []Node) RecordSet {
	rs := DesiredRecords(n.cfg.AccessPoint, n.cfg.Zone, nodes)
	n.mu.Lock()
	defer n.mu.Unlock()
	for name := range n.managed {
		if _, ok := rs[name]; !ok {
			rs[name] = nil
		}
	}
	for name := range rs {
		n.managed[name] = true
	}
	return rs
}

// syncOnce applies the current view and returns the channel that signals the next change
// after that view, so no change between two syncs is missed.
func (n *NetworkName) syncOnce(ctx context.Context) (<-chan struct{}, error) {
	nodes, changed := n.cfg.Nodes.Nodes()
	rs := n.desired(nodes)
	err := n.cfg.DNS.Sync(ctx, rs)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state.Desired = rs
	if err != nil {
		n.state.LastError = err
		n.state.Failures++
		return changed, err
	}
	n.state.LastError = nil
	n.state.Failures = 0
	n.state.LastSync = time.Now()
	return changed, nil
}

// Online registers the records, verifies them by query and starts following changes.
// It fails, leaving the resource offline, if the first registration or verification
// fails; the error carries the server's answer.
func (n *NetworkName) Online(ctx context.Context) error {
	n.mu.Lock()
	if n.cancel != nil {
		n.mu.Unlock()
		return nil
	}
	n.mu.Unlock()
	changed, err := n.syncOnce(ctx)
	if err != nil {
		return fmt.Errorf("network name %s online: %w", n.cfg.AccessPoint, err)
	}
	if err := n.IsAlive(ctx); err != nil {
		return fmt.Errorf("network name %s online: %w", n.cfg.AccessPoint, err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.mu.Lock()
	n.cancel, n.done = cancel, done
	n.state.Online = true
	n.mu.Unlock()
	go n.run(loopCtx, changed, done)
	return nil
}

func (n *NetworkName) run(ctx context.Context, changed <-chan struct{}, done chan struct{}) {
	defer close(done)
	retry := n.cfg.RetryMin
	var retryTimer <-chan time.Time
	resync := time.NewTicker(n.cfg.Resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-resync.C:
		case <-retryTimer:
		}
		next, err := n.syncOnce(ctx)
		changed = next
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.cfg.Logger.Error("network name sync failed", "name", n.cfg.AccessPoint, "retry_in", retry, "err", err)
			retryTimer = time.After(retry)
			retry = min(retry*2, n.cfg.RetryMax)
			continue
		}
		retryTimer = nil
		retry = n.cfg.RetryMin
	}
}

// Offline stops following changes. The records stay: the group is usually moving to
// another node, which takes them over through the ownership records, and withdrawing
// them in between would make clients fail for the length of the move.
func (n *NetworkName) Offline(ctx context.Context) error {
	n.mu.Lock()
	cancel, done := n.cancel, n.done
	n.cancel, n.done = nil, nil
	n.state.Online = false
	n.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("network name %s offline: %w", n.cfg.AccessPoint, ctx.Err())
	}
}

// LooksAlive reports the last sync result without asking DNS.
func (n *NetworkName) LooksAlive(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.state.Online {
		return fmt.Errorf("network name %s is offline", n.cfg.AccessPoint)
	}
	if n.state.LastError != nil {
		return fmt.Errorf("network name %s: last registration failed (%d in a row): %w", n.cfg.AccessPoint, n.state.Failures, n.state.LastError)
	}
	return nil
}

// IsAlive queries DNS and fails if any desired record is missing or a stale record of
// ours remains.
func (n *NetworkName) IsAlive(ctx context.Context) error {
	nodes, _ := n.cfg.Nodes.Nodes()
	rs := n.desired(nodes)
	diffs, err := Check(ctx, n.cfg.DNS, rs)
	if err != nil {
		return fmt.Errorf("network name %s check: %w", n.cfg.AccessPoint, err)
	}
	if len(diffs) > 0 {
		msgs := make([]string, len(diffs))
		for i, d := range diffs {
			msgs[i] = d.String()
		}
		return fmt.Errorf("network name %s: DNS differs: %v", n.cfg.AccessPoint, msgs)
	}
	return nil
}

// State returns a copy of the resource state.
func (n *NetworkName) State() NetworkNameState {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.state
	s.Desired = RecordSet{}
	for k, v := range n.state.Desired {
		s.Desired[k] = slices.Clone(v)
	}
	return s
}
