package dnsreg

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Node is one cluster node as the registration sees it.
type Node struct {
	// Name is the node's host label ("node1") or a full name ending in a dot.
	Name string
	// Up is false while the node is down; its records are then withdrawn.
	Up bool
	// Addrs are its client-facing addresses (see AddrWatcher).
	Addrs []netip.Addr
}

// NodeSource is the slice of cluster state the registration and the responder need.
// The cluster package adapts its membership and per-node address reports to it.
type NodeSource interface {
	// Nodes returns every known node (sorted by name) and a channel that is closed at
	// the next change.
	Nodes() ([]Node, <-chan struct{})
}

// NodeTable is an in-memory NodeSource: the adapter point for cluster state and the
// state of `sofsctl dns` and tests.
type NodeTable struct {
	mu      sync.Mutex
	nodes   map[string]Node
	changed chan struct{}
}

// NewNodeTable returns a table holding nodes.
func NewNodeTable(nodes ...Node) *NodeTable {
	t := &NodeTable{nodes: map[string]Node{}, changed: make(chan struct{})}
	for _, n := range nodes {
		t.nodes[n.Name] = cloneNode(n)
	}
	return t
}

func cloneNode(n Node) Node {
	n.Addrs = slices.Clone(n.Addrs)
	slices.SortFunc(n.Addrs, netip.Addr.Compare)
	n.Addrs = slices.Compact(n.Addrs)
	return n
}

// Nodes implements NodeSource.
func (t *NodeTable) Nodes() ([]Node, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Node, 0, len(t.nodes))
	for _, n := range t.nodes {
		out = append(out, cloneNode(n))
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return out, t.changed
}

func (t *NodeTable) update(name string, f func(*Node)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, ok := t.nodes[name]
	if !ok {
		n = Node{Name: name}
	}
	before := cloneNode(n)
	f(&n)
	n = cloneNode(n)
	if ok && before.Up == n.Up && slices.Equal(before.Addrs, n.Addrs) {
		return
	}
	t.nodes[name] = n
	close(t.changed)
	t.changed = make(chan struct{})
}

// SetAddrs records a node's client-facing addresses (adding the node, down, if new).
func (t *NodeTable) SetAddrs(name string, addrs []netip.Addr) {
	t.update(name, func(n *Node) { n.Addrs = addrs })
}

// SetUp marks a node up or down.
func (t *NodeTable) SetUp(name string, up bool) {
	t.update(name, func(n *Node) { n.Up = up })
}
