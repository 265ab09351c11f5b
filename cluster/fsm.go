package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Op names one kind of config DB change. Every change is exactly one raft log entry (the
// "global update"), so every node applies the same changes in the same order.
type Op string

const (
	OpInitCluster       Op = "init-cluster"
	OpSetClusterOptions Op = "set-cluster-options"
	OpDestroyCluster    Op = "destroy-cluster"
	OpPutNode           Op = "put-node"
	OpSetNodeState      Op = "set-node-state"
	OpSetNodeVersion    Op = "set-node-version" // Node.ID, Node.Version, Node.Level: what the node runs after an upgrade
	OpSetVote           Op = "set-vote"
	OpRemoveNode        Op = "remove-node"
	OpPutNetwork        Op = "put-network"
	OpPutGroup          Op = "put-group"
	OpRemoveGroup       Op = "remove-group"
	OpMoveGroup         Op = "move-group"
	OpGroupReleased     Op = "group-released"
	OpSetGroupState     Op = "set-group-state"
	OpPutResource       Op = "put-resource"
	OpSetResourceAdmin  Op = "set-resource-admin" // Name, Value "offline" or "online": the administrator's wish
	OpRemoveResource    Op = "remove-resource"
	OpSetResourceState  Op = "set-resource-state"
	OpPutResourceType   Op = "put-resource-type"
	OpSetProp           Op = "set-prop"
	OpReadProp          Op = "read-prop" // a read through the log: linearizable by construction
	OpAddToken          Op = "add-token"
	OpUseToken          Op = "use-token"
)

// Command is one config DB change. Only the fields relevant to Op are set. Commands carry the
// proposer's wall clock in Now because the FSM must not read clocks (every replica must compute
// the same result).
type Command struct {
	Op       Op                `json:"op"`
	Now      time.Time         `json:"now,omitzero"`
	Cluster  *ClusterInfo      `json:"cluster,omitempty"`
	Node     *Node             `json:"node,omitempty"`
	Network  *Network          `json:"network,omitempty"`
	Group    *Group            `json:"group,omitempty"`
	Resource *Resource         `json:"resource,omitempty"`
	Type     *ResourceTypeInfo `json:"type,omitempty"`

	Name      string        `json:"name,omitempty"` // node, group or resource name the op targets
	Target    string        `json:"target,omitempty"`
	NodeState NodeState     `json:"node_state,omitempty"`
	Draining  bool          `json:"draining,omitempty"`
	Vote      bool          `json:"vote,omitempty"`
	GroupSt   GroupState    `json:"group_state,omitempty"`
	ResSt     ResourceState `json:"resource_state,omitempty"`
	Epoch     uint64        `json:"epoch,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Failover  bool          `json:"failover,omitempty"`
	Key       string        `json:"key,omitempty"`
	Value     string        `json:"value,omitempty"`
	Expiry    time.Time     `json:"expiry,omitzero"`
}

// Result is what applying a command returned.
type Result struct {
	Index uint64 `json:"index"`
	Value string `json:"value,omitempty"`
	Err   string `json:"err,omitempty"`
}

// Event describes one applied change, for watchers (events stream, placement notifier).
type Event struct {
	Index  uint64    `json:"index"`
	Time   time.Time `json:"time"`
	Op     Op        `json:"op"`
	Name   string    `json:"name,omitempty"`
	Detail string    `json:"detail,omitempty"`
	// Quiet marks entries that changed nothing (reads, refused changes).
	Quiet bool `json:"quiet,omitempty"`
	// Owner changes carry the new owner and epoch.
	Owner string `json:"owner,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
}

// fsm is the config DB state machine driven by raft.
type fsm struct {
	mu    sync.RWMutex
	state *State

	subMu sync.Mutex
	subs  map[int]chan Event
	next  int
}

func newFSM() *fsm { return &fsm{state: newState(), subs: map[int]chan Event{}} }

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	var c Command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		f.mu.Lock()
		f.state.Index = l.Index
		f.mu.Unlock()
		f.publish(Event{Index: l.Index, Quiet: true})
		return Result{Index: l.Index, Err: fmt.Sprintf("decode command at index %d: %v", l.Index, err)}
	}
	f.mu.Lock()
	res, ev := apply(f.state, &c)
	f.state.Index = l.Index
	f.mu.Unlock()
	res.Index = l.Index
	// Every applied entry is published (refused ones and reads too, marked), so waiters on an
	// index always wake.
	if ev == nil || res.Err != "" {
		ev = &Event{Quiet: true, Detail: res.Err}
	}
	ev.Index, ev.Op = l.Index, c.Op
	ev.Time = c.Now
	f.publish(*ev)
	return res
}

func (f *fsm) subscribe(buf int) (<-chan Event, func()) {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	id := f.next
	f.next++
	ch := make(chan Event, buf)
	f.subs[id] = ch
	return ch, func() {
		f.subMu.Lock()
		defer f.subMu.Unlock()
		if c, ok := f.subs[id]; ok {
			delete(f.subs, id)
			close(c)
		}
	}
}

// publish never blocks the FSM: a subscriber that does not keep up loses its subscription (its
// channel is closed) and must resubscribe and re-read the state.
func (f *fsm) publish(ev Event) {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	for id, ch := range f.subs {
		select {
		case ch <- ev:
		default:
			delete(f.subs, id)
			close(ch)
		}
	}
}

// apply mutates s according to c. It is deterministic: no clocks, no randomness, no map order.
func apply(s *State, c *Command) (Result, *Event) {
	fail := func(format string, a ...any) (Result, *Event) {
		return Result{Err: fmt.Sprintf(string(c.Op)+": "+format, a...)}, nil
	}
	switch c.Op {
	case OpInitCluster:
		if c.Cluster == nil {
			return fail("missing cluster")
		}
		if s.Cluster.Name != "" {
			return fail("cluster %q already initialised", s.Cluster.Name)
		}
		s.Cluster = *c.Cluster
		return Result{}, &Event{Name: c.Cluster.Name, Detail: "cluster created"}
	case OpDestroyCluster:
		s.Cluster.Destroyed = true
		return Result{}, &Event{Name: s.Cluster.Name, Detail: "cluster destroyed: every resource goes offline"}
	case OpSetClusterOptions:
		if c.Cluster == nil {
			return fail("missing cluster")
		}
		if c.Cluster.Witness != "" {
			n, ok := s.Nodes[c.Cluster.Witness]
			if !ok && c.Cluster.Witness != "-" {
				return fail("witness %q is not a member", c.Cluster.Witness)
			}
			if ok && !n.Witness {
				return fail("node %q is not a witness: run a witness with `sofsd witness` and join it first", c.Cluster.Witness)
			}
		}
		setOrClear(&s.Cluster.Witness, c.Cluster.Witness)
		if c.Cluster.TieBreaker != "" {
			s.Cluster.TieBreaker = c.Cluster.TieBreaker
		}
		if c.Cluster.Profile != "" {
			s.Cluster.Profile = c.Cluster.Profile
		}
		setOrClear(&s.Cluster.AccessPoint, c.Cluster.AccessPoint)
		if c.Cluster.FunctionalLevel > s.Cluster.FunctionalLevel {
			s.Cluster.FunctionalLevel = c.Cluster.FunctionalLevel
		}
		return Result{}, &Event{Detail: "cluster options changed"}
	case OpPutNode:
		if c.Node == nil || c.Node.ID == "" {
			return fail("missing node id")
		}
		n := *c.Node
		if n.State == "" {
			n.State = NodeJoining
		}
		s.Nodes[n.ID] = &n
		return Result{}, &Event{Name: n.ID, Detail: "node " + string(n.State)}
	case OpSetNodeVersion:
		if c.Node == nil {
			return fail("missing node")
		}
		n, ok := s.Nodes[c.Node.ID]
		if !ok {
			return fail("no node %q", c.Node.ID)
		}
		n.Version, n.Level = c.Node.Version, c.Node.Level
		return Result{}, &Event{Name: n.ID, Detail: fmt.Sprintf("node runs version %s (level %d)", n.Version, n.Level)}
	case OpSetNodeState:
		n, ok := s.Nodes[c.Name]
		if !ok {
			return fail("no node %q", c.Name)
		}
		if c.NodeState == NodeDown && n.State != NodeDown {
			n.DownSince = c.Now
		}
		if c.NodeState != n.State || c.Draining != n.Draining {
			for _, g := range s.Groups {
				if g.Owner == c.Name {
					g.Stuck = false
				}
			}
		}
		n.State, n.Draining = c.NodeState, c.Draining
		return Result{}, &Event{Name: c.Name, Detail: "node " + string(n.State)}
	case OpSetVote:
		n, ok := s.Nodes[c.Name]
		if !ok {
			return fail("no node %q", c.Name)
		}
		n.Vote = c.Vote
		return Result{}, &Event{Name: c.Name, Detail: fmt.Sprintf("vote %v", c.Vote)}
	case OpRemoveNode:
		if _, ok := s.Nodes[c.Name]; !ok {
			return fail("no node %q", c.Name)
		}
		for _, g := range s.SortedGroups() {
			if s.Groups[g].Owner == c.Name {
				return fail("node %q still owns group %q", c.Name, g)
			}
		}
		delete(s.Nodes, c.Name)
		return Result{}, &Event{Name: c.Name, Detail: "node evicted"}
	case OpPutNetwork:
		if c.Network == nil || c.Network.Name == "" {
			return fail("missing network name")
		}
		n := *c.Network
		s.Networks[n.Name] = &n
		return Result{}, &Event{Name: n.Name, Detail: "network " + n.Subnet}
	case OpPutGroup:
		if c.Group == nil || c.Group.Name == "" {
			return fail("missing group name")
		}
		if old, ok := s.Groups[c.Group.Name]; ok {
			old.Policy = c.Group.Policy
			return Result{}, &Event{Name: old.Name, Detail: "group policy changed"}
		}
		g := &Group{Name: c.Group.Name, Policy: c.Group.Policy, State: GroupOffline}
		s.Groups[g.Name] = g
		return Result{}, &Event{Name: g.Name, Detail: "group created"}
	case OpRemoveGroup:
		g, ok := s.Groups[c.Name]
		if !ok {
			return fail("no group %q", c.Name)
		}
		if rs := s.GroupResources(c.Name); len(rs) > 0 {
			return fail("group %q still has resources %s", c.Name, strings.Join(rs, ", "))
		}
		if g.Owner != "" && g.State != GroupOffline {
			return fail("group %q is %s on %s", c.Name, g.State, g.Owner)
		}
		delete(s.Groups, c.Name)
		return Result{}, &Event{Name: c.Name, Detail: "group removed"}
	case OpMoveGroup:
		g, ok := s.Groups[c.Name]
		if !ok {
			return fail("no group %q", c.Name)
		}
		if c.Epoch != 0 && c.Epoch != g.Epoch {
			return fail("group %q moved meanwhile (epoch %d, proposal made at %d)", c.Name, g.Epoch, c.Epoch)
		}
		if c.Target != "" {
			if _, ok := s.Nodes[c.Target]; !ok {
				return fail("no node %q", c.Target)
			}
		}
		// The previous owner must confirm it released the group before the new owner starts it,
		// unless that owner is already known to be down (it took its resources offline when it
		// lost quorum, within its lease).
		prev := g.Owner
		if g.PrevOwner != "" {
			prev = g.PrevOwner // an earlier move is still unconfirmed: keep waiting for that node
		}
		if pn, ok := s.Nodes[prev]; !ok || pn.State == NodeDown || prev == c.Target {
			prev = ""
		}
		g.PrevOwner = prev
		g.Stuck = false
		g.Owner = c.Target
		g.Epoch++
		g.Reason, g.MoveReason = "", c.Reason
		if c.Target == "" {
			g.State = GroupOffline
		} else {
			g.State, g.PendingSince = GroupPending, c.Now
		}
		if c.Failover {
			g.Failovers = append(g.Failovers, c.Now)
			// Keep only failovers inside the policy period.
			period := g.Policy.FailoverPeriod
			if period == 0 {
				period = 6 * time.Hour
			}
			g.Failovers = slices.DeleteFunc(g.Failovers, func(t time.Time) bool { return c.Now.Sub(t) > period })
		}
		for _, r := range s.GroupResources(g.Name) {
			if s.Resources[r].State != ResourceFailed || c.Target != "" {
				s.Resources[r].State, s.Resources[r].Reason = ResourcePending, ""
			}
			if c.Target == "" {
				s.Resources[r].State = ResourceOffline
			}
		}
		return Result{Value: fmt.Sprint(g.Epoch)}, &Event{Name: g.Name, Owner: g.Owner, Epoch: g.Epoch, Detail: "group owner -> " + g.Owner + " (" + c.Reason + ")"}
	case OpGroupReleased:
		g, ok := s.Groups[c.Name]
		if !ok {
			return fail("no group %q", c.Name)
		}
		if g.PrevOwner != c.Target {
			return Result{}, nil // already released (or never held): idempotent
		}
		g.PrevOwner = ""
		if c.Reason != "" {
			// The previous owner could not take the group offline: it is still running there, so
			// the move is undone rather than leaving the group nowhere.
			g.Owner, g.Epoch, g.State, g.Stuck, g.PendingSince = c.Target, g.Epoch+1, GroupPending, true, c.Now
			g.Reason = fmt.Sprintf("cannot move off %s: %s", c.Target, c.Reason)
			return Result{}, &Event{Name: g.Name, Owner: g.Owner, Epoch: g.Epoch, Detail: g.Reason}
		}
		return Result{}, &Event{Name: g.Name, Owner: g.Owner, Epoch: g.Epoch, Detail: "released by " + c.Target}
	case OpSetGroupState:
		g, ok := s.Groups[c.Name]
		if !ok {
			return fail("no group %q", c.Name)
		}
		// Fencing: a report from an owner that has since lost the group is refused.
		if c.Epoch != g.Epoch || c.Target != g.Owner {
			return fail("stale report for group %q from %s (epoch %d, current %d on %s)", c.Name, c.Target, c.Epoch, g.Epoch, g.Owner)
		}
		g.State = c.GroupSt
		// A stuck group keeps the reason it could not move until it moves or its node changes
		// state; drains report that reason.
		if !g.Stuck || c.GroupSt == GroupFailed {
			g.Reason = c.Reason
		}
		return Result{}, &Event{Name: g.Name, Owner: g.Owner, Epoch: g.Epoch, Detail: "group " + string(g.State) + reasonSuffix(c.Reason)}
	case OpPutResource:
		if c.Resource == nil || c.Resource.Name == "" {
			return fail("missing resource name")
		}
		r := *c.Resource
		if _, ok := s.Groups[r.Group]; !ok {
			return fail("resource %q: no group %q", r.Name, r.Group)
		}
		if _, ok := s.ResourceTypes[r.Type]; !ok {
			return fail("resource %q: unknown resource type %q", r.Name, r.Type)
		}
		for _, d := range r.DependsOn {
			dr, ok := s.Resources[d]
			if !ok && d != r.Name {
				return fail("resource %q depends on unknown resource %q", r.Name, d)
			}
			if ok && dr.Group != r.Group {
				return fail("resource %q depends on %q in another group (%s)", r.Name, d, dr.Group)
			}
		}
		if cyc := findCycle(s, &r); cyc != nil {
			return fail("dependency cycle: %s", strings.Join(cyc, " -> "))
		}
		if old, ok := s.Resources[r.Name]; ok {
			r.State, r.Reason, r.Node, r.AdminOffline = old.State, old.Reason, old.Node, old.AdminOffline
		} else {
			r.State = ResourceOffline
		}
		s.Resources[r.Name] = &r
		return Result{}, &Event{Name: r.Name, Detail: "resource defined in " + r.Group}
	case OpRemoveResource:
		if _, ok := s.Resources[c.Name]; !ok {
			return fail("no resource %q", c.Name)
		}
		for _, n := range sortedKeys(s.Resources) {
			if slices.Contains(s.Resources[n].DependsOn, c.Name) {
				return fail("resource %q is needed by %q", c.Name, n)
			}
		}
		delete(s.Resources, c.Name)
		return Result{}, &Event{Name: c.Name, Detail: "resource removed"}
	case OpSetResourceState:
		r, ok := s.Resources[c.Name]
		if !ok {
			return fail("no resource %q", c.Name)
		}
		g := s.Groups[r.Group]
		if c.Epoch != g.Epoch || c.Target != g.Owner {
			return fail("stale report for resource %q from %s (epoch %d, current %d)", c.Name, c.Target, c.Epoch, g.Epoch)
		}
		r.State, r.Reason, r.Node = c.ResSt, c.Reason, c.Target
		return Result{}, &Event{Name: r.Name, Owner: c.Target, Epoch: g.Epoch, Detail: "resource " + string(r.State) + reasonSuffix(c.Reason)}
	case OpSetResourceAdmin:
		r, ok := s.Resources[c.Name]
		if !ok {
			return fail("no resource %q", c.Name)
		}
		switch c.Value {
		case "offline":
			r.AdminOffline = true
		case "online":
			r.AdminOffline = false
		default:
			return fail("resource %q: want online or offline, not %q", c.Name, c.Value)
		}
		return Result{}, &Event{Name: r.Name, Detail: "administrator wants resource " + c.Value}
	case OpPutResourceType:
		if c.Type == nil || c.Type.Name == "" {
			return fail("missing type name")
		}
		t := *c.Type
		s.ResourceTypes[t.Name] = &t
		return Result{}, &Event{Name: t.Name, Detail: "resource type registered"}
	case OpSetProp:
		if c.Key == "" {
			return fail("missing key")
		}
		s.Props[c.Key] = c.Value
		return Result{}, &Event{Name: c.Key, Detail: "property set"}
	case OpReadProp:
		return Result{Value: s.Props[c.Key]}, nil
	case OpAddToken:
		s.Tokens[c.Key] = c.Expiry
		// Forget expired tokens so the map does not grow.
		for k, exp := range s.Tokens {
			if c.Now.After(exp) {
				delete(s.Tokens, k)
			}
		}
		return Result{}, nil
	case OpUseToken:
		exp, ok := s.Tokens[c.Key]
		if !ok {
			return fail("join token unknown or already used")
		}
		delete(s.Tokens, c.Key)
		if c.Now.After(exp) {
			return fail("join token expired at %s", exp.UTC().Format(time.RFC3339))
		}
		return Result{}, nil
	}
	return fail("unknown op")
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// setOrClear applies an option value: "" keeps the old one, "-" clears it.
func setOrClear(dst *string, v string) {
	switch v {
	case "":
	case "-":
		*dst = ""
	default:
		*dst = v
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// findCycle returns the dependency cycle that adding r would create (starting and ending at the
// same resource), or nil.
func findCycle(s *State, r *Resource) []string {
	deps := func(name string) []string {
		if name == r.Name {
			return r.DependsOn
		}
		if x, ok := s.Resources[name]; ok {
			return x.DependsOn
		}
		return nil
	}
	var path []string
	onPath := map[string]bool{}
	done := map[string]bool{}
	var visit func(n string) []string
	visit = func(n string) []string {
		if onPath[n] {
			i := slices.Index(path, n)
			return append(slices.Clone(path[i:]), n)
		}
		if done[n] {
			return nil
		}
		onPath[n] = true
		path = append(path, n)
		for _, d := range deps(n) {
			if c := visit(d); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		onPath[n] = false
		done[n] = true
		return nil
	}
	return visit(r.Name)
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	data, err := json.Marshal(f.state)
	if err != nil {
		return nil, fmt.Errorf("encode config db snapshot: %w", err)
	}
	return snapshot(data), nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	s := newState()
	if err := json.NewDecoder(rc).Decode(s); err != nil {
		return fmt.Errorf("decode config db snapshot: %w", err)
	}
	if s.Schema > SchemaVersion {
		return fmt.Errorf("config db snapshot has schema %d, this build understands up to %d", s.Schema, SchemaVersion)
	}
	s.Schema = SchemaVersion
	fill := newState()
	if s.Nodes == nil {
		s.Nodes = fill.Nodes
	}
	if s.Networks == nil {
		s.Networks = fill.Networks
	}
	if s.Groups == nil {
		s.Groups = fill.Groups
	}
	if s.Resources == nil {
		s.Resources = fill.Resources
	}
	if s.ResourceTypes == nil {
		s.ResourceTypes = fill.ResourceTypes
	}
	if s.Props == nil {
		s.Props = fill.Props
	}
	if s.Tokens == nil {
		s.Tokens = fill.Tokens
	}
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
	f.publish(Event{Index: s.Index, Op: "restore", Detail: "state restored from snapshot"})
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return fmt.Errorf("write config db snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
