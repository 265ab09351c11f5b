package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Proposer sends a command to the leader (forwarding if this node is not the leader).
type Proposer interface {
	Propose(ctx context.Context, c Command) (Result, error)
}

// ProposerFunc adapts a function to Proposer.
type ProposerFunc func(ctx context.Context, c Command) (Result, error)

// Propose implements Proposer.
func (f ProposerFunc) Propose(ctx context.Context, c Command) (Result, error) { return f(ctx, c) }

// Controller is the per-node resource control manager (RCM): it makes the resources of the
// groups this node owns run here, in dependency order, monitors them, restarts them per policy
// and reports state through the config DB; it takes down what this node no longer owns and
// everything when the node loses its quorum lease.
type Controller struct {
	node  string
	store *Store
	prop  Proposer
	reg   *Registry
	log   *slog.Logger
	// retry is how often a worker re-checks when nothing happens (failed proposals, monitors).
	retry time.Duration

	mu      sync.Mutex
	lease   bool
	workers map[string]*groupWorker
	wg      sync.WaitGroup
	stop    chan struct{}
}

// NewController makes a controller for node. It starts without the quorum lease: call SetLease.
func NewController(node string, store *Store, prop Proposer, reg *Registry, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	return &Controller{node: node, store: store, prop: prop, reg: reg, log: log.With("component", "RCM", "node", node),
		retry: 250 * time.Millisecond, workers: map[string]*groupWorker{}, stop: make(chan struct{})}
}

// SetLease tells the controller whether the node holds its quorum lease. Losing it takes every
// local resource offline at once.
func (c *Controller) SetLease(held bool) {
	c.mu.Lock()
	changed := c.lease != held
	c.lease = held
	ws := make([]*groupWorker, 0, len(c.workers))
	for _, w := range c.workers {
		ws = append(ws, w)
	}
	c.mu.Unlock()
	if changed && !held {
		c.log.Warn("quorum lease lost: taking all local resources offline")
	} else if changed {
		c.log.Info("quorum lease held")
	}
	for _, w := range ws {
		w.poke()
	}
}

func (c *Controller) leaseHeld() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lease
}

// Run drives the controller until ctx ends; on return every local resource is offline.
func (c *Controller) Run(ctx context.Context) {
	for ctx.Err() == nil {
		ch, cancel := c.store.Subscribe(1024)
		c.syncWorkers(ctx)
		for open := true; open; {
			select {
			case <-ctx.Done():
				open = false
			case _, ok := <-ch:
				if !ok {
					open = false
					break
				}
				c.syncWorkers(ctx)
			}
		}
		cancel()
	}
	close(c.stop)
	c.wg.Wait()
}

// syncWorkers starts a worker per known group and pokes all of them.
func (c *Controller) syncWorkers(ctx context.Context) {
	var names []string
	c.store.Read(func(s *State) { names = s.SortedGroups() })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		w, ok := c.workers[n]
		if !ok {
			w = &groupWorker{c: c, name: n, kick: make(chan struct{}, 1), online: map[string]uint64{}, nextCheck: map[string]time.Time{}, nextDeep: map[string]time.Time{}}
			c.workers[n] = w
			c.wg.Add(1)
			go func() { defer c.wg.Done(); w.run() }()
		}
		w.poke()
	}
}

// groupWorker owns the local life of one group on this node. Only its goroutine touches its
// fields, so agent calls for different groups never block each other.
type groupWorker struct {
	c    *Controller
	name string
	kick chan struct{}

	online    map[string]uint64 // resource -> epoch it was brought online at
	restarts  []time.Time
	retryAt   time.Time
	nextCheck map[string]time.Time
	nextDeep  map[string]time.Time
}

func (w *groupWorker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *groupWorker) run() {
	t := time.NewTicker(w.c.retry)
	defer t.Stop()
	for {
		select {
		case <-w.c.stop:
			w.offlineAll(0, "node stopping")
			return
		case <-w.kick:
		case <-t.C:
		}
		w.step()
	}
}

// view is the slice of state a worker needs, copied under the store lock.
type groupView struct {
	g     Group
	res   map[string]Resource
	order []string // dependency order: dependencies first
	exist bool
	// destroyed: the cluster is being destroyed, nothing may run.
	destroyed bool
}

func (w *groupWorker) view() groupView {
	var v groupView
	w.c.store.Read(func(s *State) {
		g, ok := s.Groups[w.name]
		if !ok {
			return
		}
		v.exist, v.g, v.res, v.destroyed = true, *g, map[string]Resource{}, s.Cluster.Destroyed
		for _, r := range s.GroupResources(w.name) {
			v.res[r] = *s.Resources[r]
		}
	})
	v.order = dependencyOrder(v.res)
	return v
}

// dependencyOrder sorts resources so each comes after the ones it depends on (the FSM refuses
// cycles, so the order always exists).
func dependencyOrder(res map[string]Resource) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, d := range res[n].DependsOn {
			if _, ok := res[d]; ok {
				visit(d)
			}
		}
		out = append(out, n)
	}
	for _, n := range sortedKeys(res) {
		visit(n)
	}
	return out
}

func (w *groupWorker) propose(c Command) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Now = time.Now()
	_, err := w.c.prop.Propose(ctx, c)
	if err != nil && !errors.Is(err, ErrRejected) {
		w.c.log.Debug("proposal failed; will retry", "group", w.name, "op", c.Op, "err", err)
	}
	return err
}

func (w *groupWorker) step() {
	v := w.view()
	me := w.c.node
	if !v.exist {
		w.offlineAll(0, "group removed")
		return
	}
	g := v.g
	lease := w.c.leaseHeld()
	want := lease && !v.destroyed && g.Owner == me && g.PrevOwner == "" && (g.State == GroupPending || g.State == GroupOnline)
	if !want {
		why := "owner is " + g.Owner
		switch {
		case v.destroyed:
			why = "cluster destroyed"
		case !lease:
			why = "quorum lease lost"
		case g.Owner == me && g.State == GroupFailed:
			why = "group failed: " + g.Reason
		case g.Owner == me && g.PrevOwner != "":
			why = "waiting for " + g.PrevOwner + " to release it"
		}
		failed := w.offlineAll(g.Epoch, why)
		if lease && g.PrevOwner == me {
			w.propose(Command{Op: OpGroupReleased, Name: w.name, Target: me, Reason: failed})
		}
		return
	}
	now := time.Now()
	if now.Before(w.retryAt) {
		return
	}
	// Resources the administrator took offline, and what depends on them, stay offline.
	held := adminHeld(v.res)
	for i := len(v.order) - 1; i >= 0; i-- {
		name := v.order[i]
		if !held[name] {
			continue
		}
		r := v.res[name]
		if err := w.offlineOne(r, g.Epoch); err != nil {
			w.propose(Command{Op: OpSetResourceState, Name: name, Target: me, Epoch: g.Epoch, ResSt: ResourceOnline, Reason: "refused to go offline: " + err.Error()})
			continue
		}
		if r.State != ResourceOffline {
			why := "taken offline by administrator"
			if !r.AdminOffline {
				why = "depends on a resource taken offline by administrator"
			}
			w.propose(Command{Op: OpSetResourceState, Name: name, Target: me, Epoch: g.Epoch, ResSt: ResourceOffline, Reason: why})
		}
	}
	// Bring resources online in dependency order.
	for _, name := range v.order {
		r := v.res[name]
		if held[name] {
			continue
		}
		if ep, ok := w.online[name]; ok {
			if ep != g.Epoch {
				w.online[name] = g.Epoch // same continuous run, now under the new epoch
			}
			if r.State != ResourceOnline {
				w.propose(Command{Op: OpSetResourceState, Name: name, Target: me, Epoch: g.Epoch, ResSt: ResourceOnline})
			}
			continue
		}
		if r.State == ResourceFailed && g.State == GroupOnline {
			continue
		}
		t, ok := w.c.reg.get(r.Type)
		if !ok {
			w.fail(g, name, fmt.Sprintf("resource type %q is not available on %s", r.Type, me))
			return
		}
		ref := ResourceRef{Name: name, Group: w.name, Node: me, Epoch: g.Epoch, Props: r.Props}
		err := callAgent(t, "Online("+name+")", func(ctx context.Context) error { return t.impl.Online(ctx, ref) })
		if err != nil {
			w.c.log.Error("resource failed to come online", "group", w.name, "resource", name, "err", err)
			w.restartOrFail(g, v, name, err)
			return
		}
		w.c.log.Info("resource online", "group", w.name, "resource", name, "epoch", g.Epoch)
		w.online[name] = g.Epoch
		w.nextCheck[name] = now.Add(t.info.LooksAliveInterval)
		w.nextDeep[name] = now.Add(t.info.IsAliveInterval)
		w.propose(Command{Op: OpSetResourceState, Name: name, Target: me, Epoch: g.Epoch, ResSt: ResourceOnline})
	}
	if g.State != GroupOnline {
		w.propose(Command{Op: OpSetGroupState, Name: w.name, Target: me, Epoch: g.Epoch, GroupSt: GroupOnline})
	}
	// Health checks that are due.
	for _, name := range v.order {
		r := v.res[name]
		if held[name] {
			continue
		}
		t, ok := w.c.reg.get(r.Type)
		if !ok {
			continue
		}
		ref := ResourceRef{Name: name, Group: w.name, Node: me, Epoch: g.Epoch, Props: r.Props}
		var err error
		switch {
		case !now.Before(w.nextDeep[name]):
			w.nextDeep[name] = now.Add(t.info.IsAliveInterval)
			w.nextCheck[name] = now.Add(t.info.LooksAliveInterval)
			err = callAgent(t, "IsAlive("+name+")", func(ctx context.Context) error { return t.impl.IsAlive(ctx, ref) })
		case !now.Before(w.nextCheck[name]):
			w.nextCheck[name] = now.Add(t.info.LooksAliveInterval)
			err = callAgent(t, "LooksAlive("+name+")", func(ctx context.Context) error { return t.impl.LooksAlive(ctx, ref) })
		}
		if err != nil {
			w.c.log.Error("resource health check failed", "group", w.name, "resource", name, "err", err)
			w.restartOrFail(g, v, name, err)
			return
		}
	}
}

// restartOrFail handles a failed resource: offline it and what depends on it, then either
// retry in place (up to RestartThreshold in RestartPeriod) or mark the group Failed so the
// leader fails it over.
func (w *groupWorker) restartOrFail(g Group, v groupView, name string, cause error) {
	now := time.Now()
	w.offlineDependents(g.Epoch, v, name)
	period := g.Policy.RestartPeriod
	if period == 0 {
		period = 15 * time.Minute
	}
	w.restarts = slices.DeleteFunc(w.restarts, func(t time.Time) bool { return now.Sub(t) > period })
	reason := fmt.Sprintf("resource %s: %v", name, cause)
	if !errors.Is(cause, ErrDeadlock) && len(w.restarts) < g.Policy.RestartThreshold {
		w.restarts = append(w.restarts, now)
		w.retryAt = now.Add(w.c.retry)
		w.c.log.Warn("restarting resource in place", "group", w.name, "resource", name, "attempt", len(w.restarts), "of", g.Policy.RestartThreshold)
		w.propose(Command{Op: OpSetResourceState, Name: name, Target: w.c.node, Epoch: g.Epoch, ResSt: ResourcePending, Reason: "restarting: " + cause.Error()})
		return
	}
	w.restarts = nil
	w.fail(g, name, reason)
}

func (w *groupWorker) fail(g Group, name, reason string) {
	w.c.log.Error("group failed; asking for failover", "group", w.name, "reason", reason)
	w.propose(Command{Op: OpSetResourceState, Name: name, Target: w.c.node, Epoch: g.Epoch, ResSt: ResourceFailed, Reason: reason})
	w.propose(Command{Op: OpSetGroupState, Name: w.name, Target: w.c.node, Epoch: g.Epoch, GroupSt: GroupFailed, Reason: reason})
	w.offlineAll(g.Epoch, "failed")
}

// adminHeld is the set of resources that must stay offline: those the administrator took
// offline and, transitively, every resource depending on one of them.
func adminHeld(res map[string]Resource) map[string]bool {
	held := map[string]bool{}
	for n, r := range res {
		if r.AdminOffline {
			held[n] = true
		}
	}
	return withDependents(res, held)
}

// withDependents adds to set every resource that depends, transitively, on one in it.
func withDependents(res map[string]Resource, set map[string]bool) map[string]bool {
	for changed := len(set) > 0; changed; {
		changed = false
		for n, r := range res {
			if !set[n] && slices.ContainsFunc(r.DependsOn, func(d string) bool { return set[d] }) {
				set[n], changed = true, true
			}
		}
	}
	return set
}

// offlineDependents takes name and every resource depending on it (transitively) offline.
func (w *groupWorker) offlineDependents(epoch uint64, v groupView, name string) {
	down := withDependents(v.res, map[string]bool{name: true})
	for i := len(v.order) - 1; i >= 0; i-- {
		if n := v.order[i]; down[n] {
			w.offlineOne(v.res[n], epoch)
		}
	}
}

// offlineAll takes every locally online resource of the group down in reverse dependency
// order. It returns "" or the reason a resource refused.
func (w *groupWorker) offlineAll(epoch uint64, why string) string {
	if len(w.online) == 0 {
		return ""
	}
	v := w.view()
	order := v.order
	// Resources deleted from the DB but still online here go last.
	for n := range w.online {
		if !slices.Contains(order, n) {
			order = append([]string{n}, order...)
		}
	}
	w.c.log.Info("taking group offline locally", "group", w.name, "why", why)
	var refused string
	for i := len(order) - 1; i >= 0; i-- {
		r, ok := v.res[order[i]]
		if !ok {
			r = Resource{Name: order[i]}
		}
		if _, on := w.online[r.Name]; !on {
			continue
		}
		if err := w.offlineOne(r, epoch); err != nil && refused == "" {
			refused = fmt.Sprintf("resource %s refused to go offline: %v", r.Name, err)
		}
	}
	return refused
}

func (w *groupWorker) offlineOne(r Resource, epoch uint64) error {
	ep, on := w.online[r.Name]
	if !on {
		return nil
	}
	t, ok := w.c.reg.get(r.Type)
	if !ok {
		delete(w.online, r.Name)
		return nil
	}
	ref := ResourceRef{Name: r.Name, Group: w.name, Node: w.c.node, Epoch: ep, Props: r.Props}
	err := callAgent(t, "Offline("+r.Name+")", func(ctx context.Context) error { return t.impl.Offline(ctx, ref) })
	if err != nil && !errors.Is(err, ErrDeadlock) {
		w.c.log.Error("resource refused to go offline", "group", w.name, "resource", r.Name, "err", err)
		return err
	}
	if err != nil {
		w.c.log.Error("resource offline deadlocked; treating it as failed and offline", "group", w.name, "resource", r.Name, "err", err)
	}
	w.c.log.Info("resource offline", "group", w.name, "resource", r.Name)
	delete(w.online, r.Name)
	return nil
}
