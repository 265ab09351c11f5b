package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Placer runs on every node and acts only while the node is the raft leader (the update
// coordinator): it applies Place's decisions through the config DB.
type Placer struct {
	store *Store
	opts  PlacementOptions
	log   *slog.Logger
	tick  time.Duration

	mu        sync.Mutex
	refusals  map[string]string
	moves     uint64
	failovers uint64
}

// counts returns the moves (and of those, failovers) this node applied as leader.
func (p *Placer) counts() (moves, failovers uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.moves, p.failovers
}

// NewPlacer returns a placer for store.
func NewPlacer(store *Store, opts PlacementOptions, log *slog.Logger) *Placer {
	if log == nil {
		log = slog.Default()
	}
	return &Placer{store: store, opts: opts, log: log.With("component", "PLACE", "node", store.ID()), tick: 200 * time.Millisecond, refusals: map[string]string{}}
}

// Refusals returns the groups the leader could not place and why.
func (p *Placer) Refusals() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for k, v := range p.refusals {
		out[k] = v
	}
	return out
}

// Run places groups until ctx ends. It wakes on every config change and on a tick (fence
// delays and failback windows are time based).
func (p *Placer) Run(ctx context.Context) {
	t := time.NewTicker(p.tick)
	defer t.Stop()
	ch, cancel := p.store.Subscribe(1024)
	defer func() { cancel() }()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				cancel()
				ch, cancel = p.store.Subscribe(1024)
			}
		case <-t.C:
		}
		if p.store.IsLeader() {
			p.once(ctx)
		}
	}
}

func (p *Placer) once(ctx context.Context) {
	now := time.Now()
	var moves []Move
	var refusals []Refusal
	p.store.Read(func(s *State) { moves, refusals = Place(s, now, p.opts) })
	seen := map[string]bool{}
	p.mu.Lock()
	for _, r := range refusals {
		seen[r.Group] = true
		if p.refusals[r.Group] != r.Reason {
			p.log.Warn("cannot place group", "group", r.Group, "reason", r.Reason)
			p.refusals[r.Group] = r.Reason
		}
	}
	for g := range p.refusals {
		if !seen[g] {
			delete(p.refusals, g)
		}
	}
	p.mu.Unlock()
	// Pending timeout: a group whose new owner has not brought it online in time is marked
	// Failed with that reason, so placement fails it over instead of waiting forever.
	var timeouts []Command
	p.store.Read(func(s *State) {
		for _, name := range s.SortedGroups() {
			g := s.Groups[name]
			limit := g.Policy.PendingTimeout
			if limit == 0 {
				limit = 3 * time.Minute
			}
			if g.State == GroupPending && !g.PendingSince.IsZero() && now.Sub(g.PendingSince) > limit {
				why := fmt.Sprintf("pending timeout: not online on %s within %s", g.Owner, limit)
				if g.PrevOwner != "" {
					why = fmt.Sprintf("pending timeout: %s did not release it within %s", g.PrevOwner, limit)
				}
				timeouts = append(timeouts, Command{Op: OpSetGroupState, Now: now, Name: name, Target: g.Owner, Epoch: g.Epoch, GroupSt: GroupFailed, Reason: why})
			}
		}
	})
	for _, c := range timeouts {
		if _, err := p.store.Apply(ctx, c); err == nil {
			p.log.Error("group failed", "group", c.Name, "reason", c.Reason)
		}
	}
	for _, m := range moves {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := p.store.Apply(actx, Command{Op: OpMoveGroup, Now: now, Name: m.Group, Target: m.To, Epoch: m.Epoch, Reason: m.Reason, Failover: m.CountFailure})
		cancel()
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				p.log.Debug("move not applied", "group", m.Group, "err", err)
			}
			return
		}
		p.log.Info("group moved", "group", m.Group, "from", m.From, "to", m.To, "reason", m.Reason)
		p.mu.Lock()
		p.moves++
		if m.Failover {
			p.failovers++
		}
		p.mu.Unlock()
	}
}
