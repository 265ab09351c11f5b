package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// NotLeaderError is returned by Store.Apply on a node that is not the raft leader (the update
// coordinator). Leader is empty while an election is running.
type NotLeaderError struct {
	LeaderID, LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return "not the leader and no leader is known (election in progress or no quorum)"
	}
	return fmt.Sprintf("not the leader; leader is %s at %s", e.LeaderID, e.LeaderAddr)
}

// ErrRejected wraps a command the FSM refused (e.g. a dependency cycle).
var ErrRejected = errors.New("config db refused the change")

// StoreConfig configures a Store. Dir empty selects the in-memory twin (raft.InmemStore and an
// in-memory snapshot store): same FSM and raft, no disk, for fast deterministic tests.
type StoreConfig struct {
	NodeID    string
	Dir       string
	Transport raft.Transport
	// Timing is the raft timing; zero value means DefaultTiming.
	Timing Timing
	// Bootstrap, if non-empty and the store holds no state yet, bootstraps a new cluster with
	// these voters.
	Bootstrap []raft.Server
	LogOutput io.Writer // raft's own logs; nil discards
}

// Timing holds raft timeouts. Raft's defaults (1 s) suit a LAN; tests use shorter ones.
type Timing struct {
	Heartbeat, Election, LeaderLease, Commit time.Duration
}

// DefaultTiming is used in production: a follower starts an election after ~1 s without the
// leader, the leader steps down after 500 ms without a quorum.
var DefaultTiming = Timing{Heartbeat: time.Second, Election: time.Second, LeaderLease: 500 * time.Millisecond, Commit: 50 * time.Millisecond}

// FastTiming is for tests and the "fast" profile.
var FastTiming = Timing{Heartbeat: 300 * time.Millisecond, Election: 300 * time.Millisecond, LeaderLease: 150 * time.Millisecond, Commit: 10 * time.Millisecond}

func (t Timing) withDefaults() Timing {
	if t.Heartbeat == 0 {
		return DefaultTiming
	}
	return t
}

// Store is the replicated config DB: writes go through raft on the leader, reads are local.
type Store struct {
	id    string
	raft  *raft.Raft
	fsm   *fsm
	trans raft.Transport
	close []func() error
}

// OpenStore opens (or creates) the config DB of one node.
func OpenStore(cfg StoreConfig) (*Store, error) {
	if cfg.NodeID == "" || cfg.Transport == nil {
		return nil, errors.New("open config db: NodeID and Transport are required")
	}
	t := cfg.Timing.withDefaults()
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout, rc.CommitTimeout = t.Heartbeat, t.Election, t.LeaderLease, t.Commit
	rc.PreVoteDisabled = false // pre-vote (raft v1.7+): a rejoining partitioned node does not disrupt the leader
	rc.SnapshotThreshold = 1024
	rc.SnapshotInterval = 30 * time.Second
	out := cfg.LogOutput
	if out == nil {
		out = io.Discard
	}
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft[" + cfg.NodeID + "]", Output: out, Level: hclog.Info})

	s := &Store{id: cfg.NodeID, fsm: newFSM(), trans: cfg.Transport}
	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if cfg.Dir == "" {
		m := raft.NewInmemStore()
		logs, stable, snaps = m, m, raft.NewInmemSnapshotStore()
	} else {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("open config db: %w", err)
		}
		bs, err := raftboltdb.NewBoltStore(filepath.Join(cfg.Dir, "raft.db"))
		if err != nil {
			return nil, fmt.Errorf("open config db log %s: %w", cfg.Dir, err)
		}
		s.close = append(s.close, bs.Close)
		fss, err := raft.NewFileSnapshotStore(cfg.Dir, 3, out)
		if err != nil {
			bs.Close()
			return nil, fmt.Errorf("open config db snapshots %s: %w", cfg.Dir, err)
		}
		logs, stable, snaps = bs, bs, fss
	}
	if len(cfg.Bootstrap) > 0 {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			s.closeAll()
			return nil, fmt.Errorf("open config db: %w", err)
		}
		if !has {
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, cfg.Transport, raft.Configuration{Servers: cfg.Bootstrap}); err != nil {
				s.closeAll()
				return nil, fmt.Errorf("bootstrap config db: %w", err)
			}
		}
	}
	r, err := raft.NewRaft(rc, s.fsm, logs, stable, snaps, cfg.Transport)
	if err != nil {
		s.closeAll()
		return nil, fmt.Errorf("start raft for %s: %w", cfg.NodeID, err)
	}
	s.raft = r
	return s, nil
}

func (s *Store) closeAll() {
	for _, c := range s.close {
		c()
	}
}

// Close stops raft and closes the log store.
func (s *Store) Close() error {
	err := s.raft.Shutdown().Error()
	if c, ok := s.trans.(io.Closer); ok {
		c.Close()
	}
	s.closeAll()
	return err
}

// Raft exposes the raft instance (membership changes, stats).
func (s *Store) Raft() *raft.Raft { return s.raft }

// ID is this node's ID.
func (s *Store) ID() string { return s.id }

// IsLeader reports whether this node is the update coordinator.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the current leader's ID and address, empty if unknown.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// Apply proposes c and waits until it is committed and applied on this (leader) node. The
// returned error wraps ErrRejected when the FSM refused the change.
func (s *Store) Apply(ctx context.Context, c Command) (Result, error) {
	if s.raft.State() != raft.Leader {
		id, addr := s.Leader()
		return Result{}, &NotLeaderError{LeaderID: id, LeaderAddr: addr}
	}
	data, err := json.Marshal(c)
	if err != nil {
		return Result{}, fmt.Errorf("encode %s: %w", c.Op, err)
	}
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	f := s.raft.Apply(data, timeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			id, addr := s.Leader()
			return Result{}, fmt.Errorf("apply %s: %w (%w)", c.Op, &NotLeaderError{LeaderID: id, LeaderAddr: addr}, err)
		}
		return Result{}, fmt.Errorf("apply %s: %w", c.Op, err)
	}
	res := f.Response().(Result)
	if res.Err != "" {
		return res, fmt.Errorf("%w: %s", ErrRejected, res.Err)
	}
	return res, nil
}

// Read runs fn with the local state under a read lock. fn must not keep references.
func (s *Store) Read(fn func(*State)) {
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	fn(s.fsm.state)
}

// State returns a deep copy of the local state.
func (s *Store) State() *State {
	var c *State
	s.Read(func(st *State) { c = st.Clone() })
	return c
}

// AppliedIndex is the last log index applied to the local FSM. (raft.AppliedIndex can run
// ahead of the FSM: it counts entries handed to the FSM goroutine.)
func (s *Store) AppliedIndex() uint64 {
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	return s.fsm.state.Index
}

// Subscribe returns a channel of applied changes. If the subscriber falls more than buf events
// behind, the channel is closed; resubscribe and re-read State.
func (s *Store) Subscribe(buf int) (<-chan Event, func()) { return s.fsm.subscribe(buf) }

// WaitApplied blocks until the local FSM has applied index idx.
func (s *Store) WaitApplied(ctx context.Context, idx uint64) error {
	for {
		ch, cancel := s.Subscribe(64)
		if s.AppliedIndex() >= idx {
			cancel()
			return nil
		}
		for done := false; !done; {
			select {
			case <-ctx.Done():
				cancel()
				return fmt.Errorf("wait for index %d (applied %d): %w", idx, s.AppliedIndex(), ctx.Err())
			case ev, ok := <-ch:
				if !ok {
					done = true
					break
				}
				if ev.Index >= idx {
					cancel()
					return nil
				}
			}
		}
	}
}

// GroupOwner returns the node that owns group and that node's cluster address. It is the
// building block for the SMB server's Placement interface.
func (s *Store) GroupOwner(group string) (owner, addr string, epoch uint64, ok bool) {
	s.Read(func(st *State) {
		g, found := st.Groups[group]
		if !found {
			return
		}
		owner, epoch, ok = g.Owner, g.Epoch, true
		if n, has := st.Nodes[g.Owner]; has {
			addr = n.Addr
		}
	})
	return
}

// OwnerChange is delivered by WatchOwners.
type OwnerChange struct {
	Group string
	Owner string
	Epoch uint64
	State GroupState
}

// WatchOwners calls fn for every change of a group's owner or state until ctx ends. It first
// reports every group's current owner, so callers need no separate initial read; after a
// subscription overflow it re-reports everything. This is the base of the SMB Notifier.
func (s *Store) WatchOwners(ctx context.Context, fn func(OwnerChange)) {
	for ctx.Err() == nil {
		ch, cancel := s.Subscribe(256)
		var all []OwnerChange
		s.Read(func(st *State) {
			for _, name := range st.SortedGroups() {
				g := st.Groups[name]
				all = append(all, OwnerChange{Group: name, Owner: g.Owner, Epoch: g.Epoch, State: g.State})
			}
		})
		for _, c := range all {
			fn(c)
		}
		for open := true; open; {
			select {
			case <-ctx.Done():
				cancel()
				return
			case ev, ok := <-ch:
				if !ok {
					open = false
					break
				}
				if ev.Quiet {
					break
				}
				switch ev.Op {
				case OpMoveGroup, OpSetGroupState, OpGroupReleased:
					var c OwnerChange
					s.Read(func(st *State) {
						if g, ok := st.Groups[ev.Name]; ok {
							c = OwnerChange{Group: ev.Name, Owner: g.Owner, Epoch: g.Epoch, State: g.State}
						}
					})
					if c.Group != "" {
						fn(c)
					}
				case "restore":
					open = false
				}
			}
		}
		cancel()
	}
}
