package cluster

import (
	"maps"
	"slices"
	"time"
)

// SchemaVersion is the version of the config DB layout written into every snapshot. A node
// restoring a snapshot with a newer schema refuses it rather than silently dropping fields.
const SchemaVersion = 1

// NodeState is the membership state of a node as the cluster sees it.
type NodeState string

const (
	NodeJoining NodeState = "Joining"
	NodeUp      NodeState = "Up"
	NodeDown    NodeState = "Down"
	NodePaused  NodeState = "Paused"
)

// GroupState is the aggregate state of a resource group.
type GroupState string

const (
	GroupOffline GroupState = "Offline"
	GroupPending GroupState = "Pending" // owner changed; the new owner has not reported Online yet
	GroupOnline  GroupState = "Online"
	GroupFailed  GroupState = "Failed"
)

// ResourceState is the state of one resource on its group's owner.
type ResourceState string

const (
	ResourceOffline ResourceState = "Offline"
	ResourceOnline  ResourceState = "Online"
	ResourceFailed  ResourceState = "Failed"
	ResourcePending ResourceState = "Pending"
)

// FailbackMode says whether a group returns to its most preferred owner when that node comes back.
type FailbackMode string

const (
	FailbackNone      FailbackMode = "none"
	FailbackImmediate FailbackMode = "immediate"
	FailbackWindow    FailbackMode = "window" // only between FailbackWindowStart and FailbackWindowEnd (hours, UTC)
)

// Priority orders which groups start first after a failure. NoAutoStart groups are never placed
// automatically.
type Priority int

const (
	PriorityNoAutoStart Priority = 0
	PriorityLow         Priority = 1000
	PriorityMedium      Priority = 2000
	PriorityHigh        Priority = 3000
)

// ClusterInfo holds cluster-wide settings.
type ClusterInfo struct {
	Name string `json:"name"`
	// Witness is the node ID of a witness (a raft voter that hosts no resources), or "".
	Witness string `json:"witness,omitempty"`
	// TieBreaker is the node that keeps its vote when dynamic quorum has to drop one vote to make
	// the count odd and there is no witness.
	TieBreaker string `json:"tie_breaker,omitempty"`
	// Profile is the failure detection profile: "default" or "fast".
	Profile string `json:"profile,omitempty"`
	// CACert is the cluster CA certificate (PEM). CAKey is its key only in clusters created
	// before signers existed (replicated so any node could sign joins); new clusters keep the
	// key in the signer's data dir alone and leave CAKey empty.
	CACert []byte `json:"ca_cert,omitempty"`
	CAKey  []byte `json:"ca_key,omitempty"`
	// FunctionalLevel is the lowest protocol level every node supports; raised when all nodes upgrade.
	FunctionalLevel int `json:"functional_level"`
	// Destroyed is set by `sofsctl cluster destroy`: every node takes its resources offline and
	// waits to be told to wipe its cluster identity.
	Destroyed bool `json:"destroyed,omitempty"`
	// AccessPoint is the DNS name clients use for the cluster's file service, if one is
	// configured; `cluster validate` checks that every node resolves it.
	AccessPoint string `json:"access_point,omitempty"`
}

// Node is one cluster member.
type Node struct {
	ID      string    `json:"id"`
	Addr    string    `json:"addr"` // host:port of the node's cluster listener
	State   NodeState `json:"state"`
	Witness bool      `json:"witness,omitempty"`
	// Vote is false when dynamic quorum has removed the node's vote.
	Vote    bool   `json:"vote"`
	Version string `json:"version,omitempty"`
	Level   int    `json:"level"`
	// Signer marks a node holding the cluster CA's private key in its data dir (the node that
	// created the cluster): join requests any other node receives are forwarded to a signer.
	Signer bool `json:"signer,omitempty"`
	// Draining is set while a drain is moving groups off a paused node.
	Draining bool `json:"draining,omitempty"`
	// DownSince is when the node was declared Down (the leader's clock, carried in the command).
	DownSince time.Time `json:"down_since,omitzero"`
}

// Network is a cluster network (a subnet the nodes talk over).
type Network struct {
	Name   string `json:"name"`
	Subnet string `json:"subnet"`
	Role   string `json:"role"` // "cluster", "client", "cluster-and-client"
}

// Policy holds a group's failover policy with Windows-like defaults (see DefaultPolicy).
type Policy struct {
	PreferredOwners      []string      `json:"preferred_owners,omitempty"`
	PossibleOwners       []string      `json:"possible_owners,omitempty"` // empty: every node
	Failback             FailbackMode  `json:"failback"`
	FailbackWindowStart  int           `json:"failback_window_start,omitempty"`
	FailbackWindowEnd    int           `json:"failback_window_end,omitempty"`
	AntiAffinity         []string      `json:"anti_affinity,omitempty"`
	AntiAffinityEnforced bool          `json:"anti_affinity_enforced,omitempty"`
	Priority             Priority      `json:"priority"`
	RestartThreshold     int           `json:"restart_threshold"`
	RestartPeriod        time.Duration `json:"restart_period"`
	FailoverThreshold    int           `json:"failover_threshold"` // 0: nodes-1
	FailoverPeriod       time.Duration `json:"failover_period"`
	PendingTimeout       time.Duration `json:"pending_timeout"`
}

// DefaultPolicy is the Windows failover clustering default: restart 3 times in 15 minutes, then
// fail over; at most nodes-1 failovers in 6 hours; no failback; medium priority; 3 minute
// pending timeout.
func DefaultPolicy() Policy {
	return Policy{
		Failback:          FailbackNone,
		Priority:          PriorityMedium,
		RestartThreshold:  3,
		RestartPeriod:     15 * time.Minute,
		FailoverPeriod:    6 * time.Hour,
		PendingTimeout:    3 * time.Minute,
		FailoverThreshold: 0,
	}
}

// Group is a resource group: the unit of placement and failover.
type Group struct {
	Name   string     `json:"name"`
	Owner  string     `json:"owner"`
	State  GroupState `json:"state"`
	Policy Policy     `json:"policy"`
	// Epoch increases on every owner change; resources use it as a fencing token.
	Epoch uint64 `json:"epoch"`
	// PrevOwner is the node that must report the group offline before Owner may bring it online.
	PrevOwner string `json:"prev_owner,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// PendingSince is when the group last entered Pending (the leader's clock).
	PendingSince time.Time `json:"pending_since,omitzero"`
	// MoveReason says why the group last changed owner.
	MoveReason string `json:"move_reason,omitempty"`
	// Stuck is set when the previous owner could not release the group (a resource refused to
	// go offline); the move was undone and Reason says why. Drains report it instead of retrying.
	Stuck bool `json:"stuck,omitempty"`
	// Failovers holds the times of recent automatic failovers (for the failover threshold).
	Failovers []time.Time `json:"failovers,omitempty"`
}

// Resource is one resource inside a group.
type Resource struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Group     string            `json:"group"`
	DependsOn []string          `json:"depends_on,omitempty"`
	Props     map[string]string `json:"props,omitempty"`
	State     ResourceState     `json:"state"`
	Reason    string            `json:"reason,omitempty"`
	Node      string            `json:"node,omitempty"` // node that reported State
	// AdminOffline is set by `sofsctl resource offline`: the resource, and every resource
	// depending on it, stays offline wherever its group runs until `resource online`.
	AdminOffline bool `json:"admin_offline,omitempty"`
}

// ResourceTypeInfo is the registered metadata of a resource type.
type ResourceTypeInfo struct {
	Name               string        `json:"name"`
	LooksAliveInterval time.Duration `json:"looks_alive_interval"`
	IsAliveInterval    time.Duration `json:"is_alive_interval"`
	CallTimeout        time.Duration `json:"call_timeout"`
	DeadlockTimeout    time.Duration `json:"deadlock_timeout"`
}

// State is the whole config DB. It is only mutated by the FSM; readers get deep copies or
// read under the store's lock.
type State struct {
	Schema        int                          `json:"schema"`
	Index         uint64                       `json:"index"` // last applied raft index
	Cluster       ClusterInfo                  `json:"cluster"`
	Nodes         map[string]*Node             `json:"nodes"`
	Networks      map[string]*Network          `json:"networks"`
	Groups        map[string]*Group            `json:"groups"`
	Resources     map[string]*Resource         `json:"resources"`
	ResourceTypes map[string]*ResourceTypeInfo `json:"resource_types"`
	Props         map[string]string            `json:"props"`
	// Tokens are unused one-time join tokens (hash of the secret -> expiry).
	Tokens map[string]time.Time `json:"tokens"`
}

func newState() *State {
	return &State{
		Schema:        SchemaVersion,
		Nodes:         map[string]*Node{},
		Networks:      map[string]*Network{},
		Groups:        map[string]*Group{},
		Resources:     map[string]*Resource{},
		ResourceTypes: map[string]*ResourceTypeInfo{},
		Props:         map[string]string{},
		Tokens:        map[string]time.Time{},
	}
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	c := newState()
	c.Schema, c.Index, c.Cluster = s.Schema, s.Index, s.Cluster
	c.Cluster.CACert = slices.Clone(s.Cluster.CACert)
	c.Cluster.CAKey = slices.Clone(s.Cluster.CAKey)
	for k, v := range s.Nodes {
		n := *v
		c.Nodes[k] = &n
	}
	for k, v := range s.Networks {
		n := *v
		c.Networks[k] = &n
	}
	for k, v := range s.Groups {
		g := *v
		g.Policy.PreferredOwners = slices.Clone(v.Policy.PreferredOwners)
		g.Policy.PossibleOwners = slices.Clone(v.Policy.PossibleOwners)
		g.Policy.AntiAffinity = slices.Clone(v.Policy.AntiAffinity)
		g.Failovers = slices.Clone(v.Failovers)
		c.Groups[k] = &g
	}
	for k, v := range s.Resources {
		r := *v
		r.DependsOn = slices.Clone(v.DependsOn)
		r.Props = maps.Clone(v.Props)
		c.Resources[k] = &r
	}
	for k, v := range s.ResourceTypes {
		t := *v
		c.ResourceTypes[k] = &t
	}
	c.Props = maps.Clone(s.Props)
	c.Tokens = maps.Clone(s.Tokens)
	return c
}

// GroupResources returns the names of the resources in group, sorted.
func (s *State) GroupResources(group string) []string {
	var out []string
	for name, r := range s.Resources {
		if r.Group == group {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// SortedNodes returns node IDs sorted.
func (s *State) SortedNodes() []string {
	return slices.Sorted(maps.Keys(s.Nodes))
}

// SortedGroups returns group names sorted.
func (s *State) SortedGroups() []string {
	return slices.Sorted(maps.Keys(s.Groups))
}
