package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Member wires one node's resource side together: the resource controller, the leader's
// placer and the quorum lease driver, over a Store and a Proposer. The daemon and the
// in-process tests use the same wiring.
type Member struct {
	Store      *Store
	Controller *Controller
	Placer     *Placer
	Registry   *Registry
	Lease      time.Duration

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// MemberConfig configures StartMember.
type MemberConfig struct {
	Store     *Store
	Proposer  Proposer
	Registry  *Registry
	Placement PlacementOptions
	Lease     time.Duration // default 3 s
	Log       *slog.Logger
}

// StartMember starts the controller, placer and lease driver.
func StartMember(cfg MemberConfig) *Member {
	if cfg.Lease == 0 {
		cfg.Lease = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Member{Store: cfg.Store, Registry: cfg.Registry, Lease: cfg.Lease, cancel: cancel}
	m.Controller = NewController(cfg.Store.ID(), cfg.Store, cfg.Proposer, cfg.Registry, cfg.Log)
	m.Placer = NewPlacer(cfg.Store, cfg.Placement, cfg.Log)
	stop := make(chan struct{})
	// Regaining quorum contact is not enough to host resources: the local config DB may be
	// stale (a healed partition, a restart), and acting on it could start a group that moved
	// away meanwhile. So a regained lease takes effect only after a read through the log has
	// been applied locally; a loss in the meantime cancels it (generation counter).
	var leaseMu sync.Mutex
	var gen uint64
	d := &leaseDriver{
		lease:      cfg.Lease,
		lastQuorum: func() time.Time { return quorumContact(cfg.Store.Raft()) },
		onLost: func() {
			leaseMu.Lock()
			gen++
			m.Controller.SetLease(false)
			leaseMu.Unlock()
		},
		onRegained: func() {
			leaseMu.Lock()
			gen++
			g := gen
			leaseMu.Unlock()
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				for ctx.Err() == nil {
					bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					r, err := cfg.Proposer.Propose(bctx, Command{Op: OpReadProp, Key: "-"})
					if err == nil {
						err = cfg.Store.WaitApplied(bctx, r.Index)
					}
					cancel()
					leaseMu.Lock()
					if gen != g {
						leaseMu.Unlock()
						return
					}
					if err == nil {
						m.Controller.SetLease(true)
						leaseMu.Unlock()
						return
					}
					leaseMu.Unlock()
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond): // retry the barrier
					}
				}
			}()
		},
	}
	m.wg.Add(3)
	go func() { defer m.wg.Done(); m.Controller.Run(ctx) }()
	go func() { defer m.wg.Done(); m.Placer.Run(ctx) }()
	go func() { defer m.wg.Done(); d.run(stop) }()
	go func() { <-ctx.Done(); close(stop) }()
	return m
}

// quorumContact is the last time this node knew a quorum was with it: now for a leader (raft
// makes a leader without quorum contact step down within LeaderLeaseTimeout), the last
// message from the leader for a follower, never for a candidate.
func quorumContact(r *raft.Raft) time.Time {
	switch r.State() {
	case raft.Leader:
		return time.Now()
	case raft.Follower:
		return r.LastContact()
	}
	return time.Time{}
}

// Stop takes every local resource offline and stops.
func (m *Member) Stop() {
	m.cancel()
	m.wg.Wait()
}
