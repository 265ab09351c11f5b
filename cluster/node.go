package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
)

// Version is this build's sofs version; ProtocolLevel the cluster functional level it speaks.
// Nodes with another major version are refused at join; compatible nodes run at the lowest
// level among them (ClusterInfo.FunctionalLevel).
const (
	Version       = "0.1.0"
	ProtocolLevel = 1
)

// adminSubject is the common name of the administrator certificate.
const adminSubject = "admin"

// nodeMeta is the node's identity file (node.json in the data dir).
type nodeMeta struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	Cluster   string `json:"cluster"`
	Bootstrap bool   `json:"bootstrap,omitempty"`
	Witness   bool   `json:"witness,omitempty"`
}

func writeFile(dir, name string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func ipsOf(addr string) []net.IP {
	h, _ := hostPort(addr)
	if ip := net.ParseIP(h); ip != nil {
		return []net.IP{ip}
	}
	return nil
}

// CreateCluster prepares dataDir for the first node of a new cluster: a cluster CA, the node's
// certificate and an administrator certificate (admin.crt/admin.key, for sofsctl). The node
// bootstraps the config DB on its first start.
func CreateCluster(dataDir, name, nodeID, addr string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create cluster: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "node.json")); err == nil {
		return fmt.Errorf("create cluster: %s already holds a node", dataDir)
	}
	if nodeID == "" || nodeID == adminSubject {
		return fmt.Errorf("create cluster: invalid node id %q", nodeID)
	}
	ca, err := NewCA(name)
	if err != nil {
		return err
	}
	for _, who := range []string{"node", "admin"} {
		k, kpem, err := NewKey()
		if err != nil {
			return err
		}
		subject := nodeID
		if who == "admin" {
			subject = adminSubject
		}
		cert, err := ca.Issue(subject, PublicKeyPEM(k), ipsOf(addr))
		if err != nil {
			return err
		}
		if err := writeFile(dataDir, who+".crt", cert, 0o644); err != nil {
			return err
		}
		if err := writeFile(dataDir, who+".key", kpem, 0o600); err != nil {
			return err
		}
	}
	if err := writeFile(dataDir, "ca.crt", ca.CertPEM, 0o644); err != nil {
		return err
	}
	if err := writeFile(dataDir, "ca.key", ca.KeyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFile(dataDir, "gossip.key", gossipKey(ca.CertPEM, ca.KeyPEM), 0o600); err != nil {
		return err
	}
	meta, _ := json.MarshalIndent(nodeMeta{ID: nodeID, Addr: addr, Cluster: name, Bootstrap: true}, "", "  ")
	return writeFile(dataDir, "node.json", meta, 0o600)
}

// JoinCluster prepares dataDir for a node joining through the node at via with a one-time
// token: it gets the node a certificate signed by the cluster CA. The node then starts normally.
func JoinCluster(ctx context.Context, dataDir, nodeID, addr, via, token string, witness bool) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	k, kpem, err := NewKey()
	if err != nil {
		return err
	}
	resp, err := requestJoin(ctx, via, joinRequest{Token: token, ID: nodeID, Addr: addr, PubKey: PublicKeyPEM(k), Version: Version, Level: ProtocolLevel, Witness: witness})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"node.crt", resp.Cert, 0o644}, {"node.key", kpem, 0o600}, {"ca.crt", resp.CA, 0o644}, {"gossip.key", resp.GossipKey, 0o600}} {
		if err := writeFile(dataDir, f.name, f.data, f.mode); err != nil {
			return err
		}
	}
	meta, _ := json.MarshalIndent(nodeMeta{ID: nodeID, Addr: addr, Cluster: resp.Cluster, Witness: witness}, "", "  ")
	return writeFile(dataDir, "node.json", meta, 0o600)
}

// NodeConfig configures a running node.
type NodeConfig struct {
	DataDir string
	// Join lists peer addresses for the failure detector to contact at start (the config DB
	// supplies the rest once it has caught up).
	Join     []string
	Profile  string
	Timing   Timing
	Registry *Registry
	Log      *slog.Logger
	// MaxDrainMoves bounds concurrent drain moves (default 2).
	MaxDrainMoves int
	// Level is the functional level this node speaks (default ProtocolLevel); tests run
	// rolling upgrades with it.
	Level int
	// LookupHost resolves names for `cluster validate` (default net.DefaultResolver.LookupHost).
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// Probes are extra checks `cluster validate` runs on every node, supplied by other packages
	// (for example the shared disks this node sees). Each returns a detail line; validate also
	// reports whether the detail is the same on every node.
	Probes map[string]NodeProbe
}

// NodeProbe is one node-local validation check: a detail line, or why it failed.
type NodeProbe func(ctx context.Context) (detail string, err error)

// WithDefaultPort returns addr, with the cluster port (3343) added when it names no port.
func WithDefaultPort(addr string) string {
	if strings.Contains(addr, ":") {
		return addr
	}
	return fmt.Sprintf("%s:%d", addr, DefaultPort)
}

// Daemon is a running cluster node (or witness).
type Daemon struct {
	cfg     NodeConfig
	meta    nodeMeta
	id      *TLSIdentity
	log     *slog.Logger
	profile Profile
	mux     *Mux
	store   *Store
	ml      *memberlist.Memberlist
	member  *Member
	admin   *Admin
	servers []*http.Server

	clientsMu sync.Mutex
	clients   map[string]*Client

	started time.Time
	// wasMember is set once this node has seen itself in the config DB.
	wasMember atomic.Bool
	closeOnce sync.Once
	closeErr  error
	// wiped is closed once `cluster destroy` has wiped this node's identity and stopped it.
	wiped    chan struct{}
	wipeOnce sync.Once
	logs     *logRing
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// StartNode starts the node whose data dir was prepared by CreateCluster or JoinCluster.
func StartNode(cfg NodeConfig) (*Daemon, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	if cfg.LookupHost == nil {
		cfg.LookupHost = net.DefaultResolver.LookupHost
	}
	n := &Daemon{cfg: cfg, clients: map[string]*Client{}, started: time.Now(), logs: &logRing{}, wiped: make(chan struct{})}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, "node.json"))
	if err != nil {
		return nil, fmt.Errorf("start node: no cluster identity (run `sofsctl cluster create` or `sofsd node --join`): %w", err)
	}
	if err := json.Unmarshal(b, &n.meta); err != nil {
		return nil, fmt.Errorf("start node: node.json: %w", err)
	}
	// Every record also goes to an in-memory ring served at /v1/log for `sofsctl cluster log`.
	cfg.Log = slog.New(&ringHandler{next: cfg.Log.Handler(), ring: n.logs, node: n.meta.ID})
	n.cfg.Log = cfg.Log
	n.log = cfg.Log.With("node", n.meta.ID)
	if n.profile, err = ProfileByName(cfg.Profile); err != nil {
		return nil, err
	}
	read := func(name string) []byte {
		if err != nil {
			return nil
		}
		var d []byte
		d, err = os.ReadFile(filepath.Join(cfg.DataDir, name))
		return d
	}
	caPEM, certPEM, keyPEM, gkey := read("ca.crt"), read("node.crt"), read("node.key"), read("gossip.key")
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	if n.id, err = LoadIdentity(caPEM, certPEM, keyPEM); err != nil {
		return nil, err
	}
	if n.mux, err = NewMux(n.meta.Addr, n.id, n.log); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	stream := &raftStream{chanListener: n.mux.Listener(tagRaft).(*chanListener), id: n.id, advertise: n.mux.Addr()}
	trans := raft.NewNetworkTransport(stream, 3, 10*time.Second, nil)
	var boot []raft.Server
	if n.meta.Bootstrap {
		boot = []raft.Server{{ID: raft.ServerID(n.meta.ID), Address: raft.ServerAddress(n.meta.Addr)}}
	}
	timing := cfg.Timing
	if timing.Heartbeat == 0 && n.profile.Name == "fast" {
		timing = FastTiming
	}
	if n.store, err = OpenStore(StoreConfig{NodeID: n.meta.ID, Dir: filepath.Join(cfg.DataDir, "raft"), Transport: trans, Timing: timing, Bootstrap: boot, LogOutput: slogWriter{n.log.With("component", "GUM")}}); err != nil {
		return nil, err
	}
	n.admin = &Admin{Store: n.store, Prop: n, MaxDrainMoves: cfg.MaxDrainMoves}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.serveHTTP(n.mux.Listener(tagAdmin), n.adminHandler())
	n.serveHTTP(n.mux.Listener(tagJoin), n.joinHandler())
	// Membership events wake the health reconciler at once (it also runs on a tick).
	memberEvents := make(chan memberlist.NodeEvent, 64)
	if n.ml, err = startGossip(n.meta.ID, n.id, n.mux, gkey, n.profile, n.log, memberEvents); err != nil {
		return nil, err
	}
	if !n.meta.Witness {
		reg := cfg.Registry
		if _, has := reg.get(MarkerTypeName); !has {
			mk := NewMarker(n.meta.ID)
			reg.Register(mk.Info(), mk)
		}
		n.member = StartMember(MemberConfig{Store: n.store, Proposer: n, Registry: reg, Lease: n.profile.Lease, Log: n.log,
			Placement: PlacementOptions{MaxDrainMoves: cfg.MaxDrainMoves, FenceDelay: n.profile.FenceDelay}})
	}
	n.loop(ctx, "bootstrap", time.Second, n.bootstrapOnce)
	n.loop(ctx, "gossip-join", 2*time.Second, n.gossipJoin)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			n.reconcileHealth(ctx)
			select {
			case <-ctx.Done():
				return
			case <-memberEvents:
			case <-t.C:
			}
		}
	}()
	n.loop(ctx, "quorum", time.Second, n.reconcileVoters)
	ok = true
	n.log.Info("node started", "component", "NODE", "addr", n.mux.Addr().String(), "witness", n.meta.Witness, "profile", n.profile.Name)
	return n, nil
}

// ID is the node ID; Addr its cluster address; Store its config DB.
func (n *Daemon) ID() string             { return n.meta.ID }
func (n *Daemon) Addr() string           { return n.mux.Addr().String() }
func (n *Daemon) Store() *Store          { return n.store }
func (n *Daemon) Identity() *TLSIdentity { return n.id }

func (n *Daemon) loop(ctx context.Context, name string, every time.Duration, fn func(context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (n *Daemon) serveHTTP(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	n.servers = append(n.servers, srv)
	go srv.Serve(ln)
}

// Close stops the node: resources offline first, then the failure detector leaves, then raft.
func (n *Daemon) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

// Wiped is closed when `sofsctl cluster destroy` has stopped this node and removed its cluster
// identity and config DB; the process should exit.
func (n *Daemon) Wiped() <-chan struct{} { return n.wiped }

// clusterFiles are what CreateCluster and JoinCluster put in a data dir (plus raft/).
var clusterFiles = []string{"node.json", "node.crt", "node.key", "admin.crt", "admin.key", "ca.crt", "ca.key", "gossip.key", "raft"}

// wipe stops the node and removes its cluster files, for a destroyed cluster.
func (n *Daemon) wipe() {
	n.wipeOnce.Do(func() {
		go func() {
			defer close(n.wiped)
			if err := n.Close(); err != nil {
				n.log.Error("closing for destroy", "component", "NODE", "err", err)
			}
			for _, f := range clusterFiles {
				if err := os.RemoveAll(filepath.Join(n.cfg.DataDir, f)); err != nil {
					n.log.Error("wiping cluster files", "component", "NODE", "file", f, "err", err)
				}
			}
			n.log.Warn("cluster destroyed: identity and config DB removed", "component", "NODE", "data", n.cfg.DataDir)
		}()
	})
}

func (n *Daemon) close() error {
	if n.cancel != nil {
		n.cancel()
	}
	if n.member != nil {
		n.member.Stop()
	}
	n.wg.Wait()
	if n.ml != nil {
		n.ml.Leave(time.Second)
		n.ml.Shutdown()
	}
	for _, s := range n.servers {
		s.Close()
	}
	var err error
	if n.store != nil {
		err = n.store.Close()
	}
	if n.mux != nil {
		n.mux.Close()
	}
	return err
}

// client returns a cached admin client for a peer.
func (n *Daemon) client(addr string) *Client {
	n.clientsMu.Lock()
	defer n.clientsMu.Unlock()
	c, ok := n.clients[addr]
	if !ok {
		c = NewClient(n.id, addr)
		n.clients[addr] = c
	}
	return c
}

// Propose implements Proposer: apply locally when leader, else forward to the leader,
// retrying across elections until ctx ends.
func (n *Daemon) Propose(ctx context.Context, c Command) (Result, error) {
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	for {
		r, err := n.store.Apply(ctx, c)
		var nle *NotLeaderError
		if !errors.As(err, &nle) {
			return r, err
		}
		if nle.LeaderAddr != "" && nle.LeaderID != n.meta.ID {
			r, err = n.client(nle.LeaderAddr).propose1(ctx, c)
			var ae *APIError
			if err == nil || errors.Is(err, ErrRejected) || (errors.As(err, &ae) && ae.Status != http.StatusServiceUnavailable) {
				return r, err
			}
		}
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("propose %s: %w (last: %v)", c.Op, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond): // election in progress
		}
	}
}

// propose1 asks a node to apply c only if it is the leader (no second hop).
func (c *Client) propose1(ctx context.Context, cmd Command) (Result, error) {
	var r Result
	err := c.do(ctx, "POST", "/v1/propose?local=1", cmd, &r)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return r, fmt.Errorf("%w: %s", ErrRejected, ae.Msg)
	}
	return r, err
}

// bootstrapOnce initialises the config DB on the first node once it leads, keeps this node's
// recorded version and level current (after an upgrade), and on the leader raises the
// cluster's functional level once every node speaks a higher one.
func (n *Daemon) bootstrapOnce(ctx context.Context) {
	var named, registered, stale, evicted bool
	var level, raiseTo int
	n.store.Read(func(s *State) {
		named = s.Cluster.Name != ""
		nd, ok := s.Nodes[n.meta.ID]
		registered = ok
		stale = ok && (nd.Version != Version || nd.Level != n.level())
		if ok {
			n.wasMember.Store(true)
		}
		// Gone from the DB after being in it: evicted. Registering again would undo that.
		evicted = !ok && n.wasMember.Load()
		level, raiseTo = s.Cluster.FunctionalLevel, CommonFunctionalLevel(s)
	})
	if evicted {
		return
	}
	if stale {
		if _, err := n.Propose(ctx, Command{Op: OpSetNodeVersion, Node: &Node{ID: n.meta.ID, Version: Version, Level: n.level()}}); err == nil {
			n.log.Info("recorded this node's version", "component", "NODE", "version", Version, "level", n.level())
		}
	}
	if !n.store.IsLeader() {
		return
	}
	if named && raiseTo > level {
		if _, err := n.store.Apply(ctx, Command{Op: OpSetClusterOptions, Now: time.Now(), Cluster: &ClusterInfo{FunctionalLevel: raiseTo}}); err == nil {
			n.log.Info("every node speaks a higher level: functional level raised", "component", "NODE", "from", level, "to", raiseTo)
		}
	}
	if !named && n.meta.Bootstrap {
		caCert, err := os.ReadFile(filepath.Join(n.cfg.DataDir, "ca.crt"))
		if err != nil {
			n.log.Error("cannot bootstrap cluster", "err", err)
			return
		}
		// The CA key stays in this node's data dir: the config DB (and so every node's raft
		// log and snapshots) carries only the certificate.
		if _, err := n.store.Apply(ctx, Command{Op: OpInitCluster, Now: time.Now(), Cluster: &ClusterInfo{Name: n.meta.Cluster, CACert: caCert, FunctionalLevel: ProtocolLevel, Profile: n.profile.Name}}); err != nil {
			n.log.Error("cannot bootstrap cluster", "err", err)
			return
		}
		for _, t := range n.cfg.Registry.Infos() {
			n.store.Apply(ctx, Command{Op: OpPutResourceType, Type: &t})
		}
		if _, ok := n.cfg.Registry.get(MarkerTypeName); !ok {
			mk := NewMarker("")
			info := mk.Info()
			n.store.Apply(ctx, Command{Op: OpPutResourceType, Type: &info})
		}
	}
	if !registered {
		n.store.Apply(ctx, Command{Op: OpPutNode, Now: time.Now(), Node: &Node{ID: n.meta.ID, Addr: n.meta.Addr, State: NodeUp, Vote: true, Witness: n.meta.Witness, Version: Version, Level: n.level(), Signer: n.caKey() != nil}})
	}
}

// level is the functional level this node speaks.
func (n *Daemon) level() int {
	if n.cfg.Level != 0 {
		return n.cfg.Level
	}
	return ProtocolLevel
}

// CommonFunctionalLevel is the highest level every node in s speaks (0 without nodes): the
// cluster runs at it once the leader raises FunctionalLevel. A node that is down counts
// with the level it last reported, so the level rises only when every member has upgraded.
func CommonFunctionalLevel(s *State) int {
	lowest := 0
	for _, nd := range s.Nodes {
		if lowest == 0 || nd.Level < lowest {
			lowest = nd.Level
		}
	}
	return lowest
}

// gossipJoin (re)joins the failure detector to every node the config DB knows, so a node
// that was partitioned or restarted finds the others again.
func (n *Daemon) gossipJoin(ctx context.Context) {
	known := map[string]bool{}
	for _, m := range n.ml.Members() {
		known[m.Name] = true
	}
	var addrs []string
	n.store.Read(func(s *State) {
		for _, id := range s.SortedNodes() {
			if !known[id] {
				addrs = append(addrs, s.Nodes[id].Addr)
			}
		}
	})
	if len(n.ml.Members()) <= 1 {
		addrs = append(addrs, n.cfg.Join...)
	}
	if len(addrs) > 0 {
		n.ml.Join(addrs)
	}
}

// aliveMembers returns the node IDs the failure detector considers alive (suspects count as
// alive until declared dead).
func (n *Daemon) aliveMembers() []string {
	var out []string
	if n.ml == nil { // still starting
		return nil
	}
	for _, m := range n.ml.Members() {
		if m.State == memberlist.StateAlive || m.State == memberlist.StateSuspect {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// reconcileHealth (leader only) writes the failure detector's verdicts into the config DB.
func (n *Daemon) reconcileHealth(ctx context.Context) {
	if !n.store.IsLeader() {
		return
	}
	alive := n.aliveMembers()
	var cmds []Command
	n.store.Read(func(s *State) {
		for _, id := range s.SortedNodes() {
			nd := s.Nodes[id]
			up := slices.Contains(alive, id)
			switch {
			case up && (nd.State == NodeDown || nd.State == NodeJoining):
				cmds = append(cmds, Command{Op: OpSetNodeState, Name: id, NodeState: NodeUp})
			case !up && nd.State != NodeDown:
				cmds = append(cmds, Command{Op: OpSetNodeState, Name: id, NodeState: NodeDown})
			}
		}
	})
	for _, c := range cmds {
		c.Now = time.Now()
		if _, err := n.store.Apply(ctx, c); err != nil {
			return
		}
		n.log.Info("node state changed", "component", "MEMBER", "member", c.Name, "state", c.NodeState)
	}
}

// reconcileVoters (leader only) applies dynamic quorum: one raft membership change per run.
func (n *Daemon) reconcileVoters(ctx context.Context) {
	if !n.store.IsLeader() {
		return
	}
	f := n.store.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	voters := map[string]bool{}
	inConfig := map[string]bool{}
	for _, s := range f.Configuration().Servers {
		inConfig[string(s.ID)] = true
		if s.Suffrage == raft.Voter {
			voters[string(s.ID)] = true
		}
	}
	var members []VoteMember
	var tie string
	addr := map[string]string{}
	var votes []Command
	var named bool
	n.store.Read(func(s *State) {
		named = s.Cluster.Name != ""
		tie = s.Cluster.TieBreaker
		for _, id := range s.SortedNodes() {
			nd := s.Nodes[id]
			addr[id] = nd.Addr
			members = append(members, VoteMember{ID: id, Witness: nd.Witness, Up: nd.State == NodeUp || nd.State == NodePaused})
		}
	})
	if len(members) == 0 {
		return
	}
	// An evicted node (gone from the config DB) leaves raft entirely, voter or not. Nodes
	// enter the DB before raft (the join handler records them first), so a server raft
	// knows and the DB does not was evicted.
	for _, srv := range f.Configuration().Servers {
		if _, inDB := addr[string(srv.ID)]; inDB || !named {
			continue
		}
		if string(srv.ID) == n.meta.ID {
			n.log.Info("this node was evicted: handing leadership over so the next leader removes it", "component", "QUORUM")
			n.store.raft.LeadershipTransfer().Error()
			return
		}
		n.log.Info("evicted node leaves raft", "component", "QUORUM", "member", srv.ID)
		n.store.raft.RemoveServer(srv.ID, 0, 5*time.Second).Error()
		return
	}
	var current []string
	for id := range voters {
		current = append(current, id)
	}
	want := DesiredVoters(members, tie)
	switch ch := NextVoteChange(current, members, tie, n.meta.ID); ch.Kind {
	case VoteAdd:
		n.log.Info("dynamic quorum: giving vote", "component", "QUORUM", "member", ch.ID)
		n.store.raft.AddVoter(raft.ServerID(ch.ID), raft.ServerAddress(addr[ch.ID]), 0, 5*time.Second).Error()
		return
	case VoteTransferLeadership:
		n.log.Info("dynamic quorum: transferring leadership before giving up vote", "component", "QUORUM", "to", ch.ID)
		n.store.raft.LeadershipTransferToServer(raft.ServerID(ch.ID), raft.ServerAddress(addr[ch.ID])).Error()
		return
	case VoteRemove:
		n.log.Info("dynamic quorum: removing vote", "component", "QUORUM", "member", ch.ID)
		n.store.raft.DemoteVoter(raft.ServerID(ch.ID), 0, 5*time.Second).Error()
		return
	}
	for _, m := range members {
		if !inConfig[m.ID] && addr[m.ID] != "" {
			n.store.raft.AddNonvoter(raft.ServerID(m.ID), raft.ServerAddress(addr[m.ID]), 0, 5*time.Second).Error()
			return
		}
	}
	n.store.Read(func(s *State) {
		for _, m := range members {
			if v := slices.Contains(want, m.ID); s.Nodes[m.ID].Vote != v {
				votes = append(votes, Command{Op: OpSetVote, Name: m.ID, Vote: v})
			}
		}
	})
	for _, c := range votes {
		c.Now = time.Now()
		n.store.Apply(ctx, c)
	}
}

// Status reports this node's status.
func (n *Daemon) Status() NodeStatus {
	st := NodeStatus{ID: n.meta.ID, Addr: n.meta.Addr, RaftState: n.store.raft.State().String(), Applied: n.store.AppliedIndex(), Version: Version, Members: n.aliveMembers(), StartedAt: n.started}
	st.Leader, _ = n.store.Leader()
	st.CommitIndex = n.store.raft.CommitIndex()
	st.LastContact = n.store.raft.LastContact()
	if n.member != nil {
		st.LeaseHeld = n.member.Controller.leaseHeld()
		st.Refusals = n.member.Placer.Refusals()
	}
	if f := n.store.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Servers = append(st.Servers, string(s.ID))
			if s.Suffrage == raft.Voter {
				st.Voters = append(st.Voters, string(s.ID))
			}
		}
	}
	return st
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (n *Daemon) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/state", func(w http.ResponseWriter, r *http.Request) {
		s := n.store.State()
		s.Cluster.CAKey = nil
		s.Tokens = nil
		writeJSON(w, s)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, n.Status()) })
	mux.Handle("GET /metrics", n.metricsHandler())
	n.validateHandlers(mux)
	mux.HandleFunc("GET /v1/log", func(w http.ResponseWriter, r *http.Request) {
		since, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
		if err != nil {
			since = time.Now().Add(-10 * time.Minute)
		}
		writeJSON(w, n.logs.since(since))
	})
	mux.HandleFunc("POST /v1/propose", func(w http.ResponseWriter, r *http.Request) {
		var c Command
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var res Result
		var err error
		if r.URL.Query().Get("local") != "" {
			res, err = n.store.Apply(r.Context(), c)
		} else {
			res, err = n.Propose(r.Context(), c)
		}
		var nle *NotLeaderError
		switch {
		case errors.Is(err, ErrRejected):
			// The client re-wraps it in ErrRejected; send only the FSM's reason.
			msg := err.Error()
			if i := strings.LastIndex(msg, ErrRejected.Error()+": "); i >= 0 {
				msg = msg[i+len(ErrRejected.Error())+2:]
			}
			http.Error(w, msg, http.StatusConflict)
		case errors.As(err, &nle):
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			writeJSON(w, res)
		}
	})
	mux.HandleFunc("POST /v1/token", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ TTL string }
		json.NewDecoder(r.Body).Decode(&in)
		ttl, err := time.ParseDuration(in.TTL)
		if err != nil || ttl <= 0 {
			ttl = time.Hour
		}
		var caPEM []byte
		n.store.Read(func(s *State) { caPEM = s.Cluster.CACert })
		ca, err := ParseCA(caPEM, nil)
		if err != nil {
			http.Error(w, "cluster not initialised: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		tok, hash := NewJoinToken(ca)
		now := time.Now()
		if _, err := n.Propose(r.Context(), Command{Op: OpAddToken, Now: now, Key: hash, Expiry: now.Add(ttl)}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, map[string]string{"token": tok})
	})
	// exec runs an update command on this node for an updating run. Only holders of a cluster
	// certificate reach the admin API.
	mux.HandleFunc("POST /v1/exec", func(w http.ResponseWriter, r *http.Request) {
		// Only the administrator certificate may run commands; node certificates may not.
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != adminSubject {
			http.Error(w, "exec needs the administrator certificate", http.StatusForbidden)
			return
		}
		var in struct{ Command string }
		json.NewDecoder(r.Body).Decode(&in)
		n.log.Warn("running update command", "component", "UPDATE", "command", in.Command)
		writeJSON(w, n.runLocalCommand(r.Context(), in.Command))
	})
	// wipe is the last step of `cluster destroy`: refused unless this node has applied the
	// destroy, so a stray call cannot erase a live node.
	mux.HandleFunc("POST /v1/wipe", func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != adminSubject {
			http.Error(w, "wipe needs the administrator certificate", http.StatusForbidden)
			return
		}
		var destroyed bool
		n.store.Read(func(s *State) { destroyed = s.Cluster.Destroyed })
		if !destroyed {
			http.Error(w, "refusing to wipe: the cluster is not destroyed (sofsctl cluster destroy)", http.StatusConflict)
			return
		}
		n.wipe()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/move", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Group, Node string }
		json.NewDecoder(r.Body).Decode(&in)
		if err := n.admin.Move(r.Context(), in.Group, in.Node); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, map[string]string{"result": "ok"})
	})
	progressStream := func(w http.ResponseWriter, op func(progress func(string)) error) {
		fl, _ := w.(http.Flusher)
		w.Header().Set("Content-Type", "text/plain")
		line := func(s string) {
			fmt.Fprintln(w, s)
			if fl != nil {
				fl.Flush()
			}
		}
		if err := op(func(s string) { line("progress: " + s) }); err != nil {
			line("error: " + strings.ReplaceAll(err.Error(), "\n", " "))
			return
		}
		line("ok")
	}
	mux.HandleFunc("POST /v1/pause", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Node  string
			Drain bool
		}
		json.NewDecoder(r.Body).Decode(&in)
		progressStream(w, func(p func(string)) error { return n.admin.Pause(r.Context(), in.Node, in.Drain, p) })
	})
	mux.HandleFunc("POST /v1/resume", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Node, Failback string }
		json.NewDecoder(r.Body).Decode(&in)
		progressStream(w, func(p func(string)) error { return n.admin.Resume(r.Context(), in.Node, in.Failback) })
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		ch, cancel := n.store.Subscribe(4096)
		defer cancel()
		fl, _ := w.(http.Flusher)
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		if fl != nil {
			fl.Flush()
		}
		for {
			select {
			case <-r.Context().Done():
				return
			case ev, ok := <-ch:
				if !ok {
					enc.Encode(Event{Op: "overflow", Detail: "event stream fell behind; re-read state"})
					return
				}
				if ev.Quiet {
					continue
				}
				enc.Encode(ev)
				if fl != nil {
					fl.Flush()
				}
			}
		}
	})
	return mux
}

// joinHandler serves the join service (reachable without a cluster certificate).
func (n *Daemon) joinHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/join", func(w http.ResponseWriter, r *http.Request) {
		var req joinRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := n.admitJoin(r.Context(), req)
		if err != nil {
			n.log.Warn("join refused", "component", "NODE", "joiner", req.ID, "err", err)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		writeJSON(w, resp)
	})
	return mux
}

// admitJoin checks version and token and signs the joiner's certificate. The token is consumed
// through the log, so it is one-time cluster-wide even if two nodes see it at once.
func (n *Daemon) admitJoin(ctx context.Context, req joinRequest) (*joinResponse, error) {
	hash, _, err := parseJoinToken(req.Token)
	if err != nil {
		return nil, err
	}
	if req.ID == "" || req.Addr == "" {
		return nil, errors.New("join: id and addr are required")
	}
	if req.ID == adminSubject {
		return nil, fmt.Errorf("join: node id %q is reserved", adminSubject)
	}
	var st *State
	n.store.Read(func(s *State) { st = s.Clone() })
	if major(req.Version) != major(Version) {
		return nil, fmt.Errorf("join: incompatible version %s (this cluster runs %s; major versions must match)", req.Version, Version)
	}
	if req.Level < st.Cluster.FunctionalLevel {
		return nil, fmt.Errorf("join: node functional level %d is below the cluster's %d; upgrade it first", req.Level, st.Cluster.FunctionalLevel)
	}
	if old, ok := st.Nodes[req.ID]; ok && old.Addr != req.Addr {
		return nil, fmt.Errorf("join: node id %s is already a member at %s", req.ID, old.Addr)
	}
	caKey := st.Cluster.CAKey // clusters created before signers existed
	if caKey == nil {
		caKey = n.caKey()
	}
	if caKey == nil {
		// Not a signer: hand the whole request (token unspent) to one that is.
		var errs []error
		for _, id := range st.SortedNodes() {
			nd := st.Nodes[id]
			if !nd.Signer || id == n.meta.ID {
				continue
			}
			resp, err := requestJoin(ctx, nd.Addr, req)
			if err == nil {
				return resp, nil
			}
			var ae *APIError
			if errors.As(err, &ae) {
				return nil, err // the signer refused: its reason stands
			}
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
		return nil, fmt.Errorf("join: no node holding the cluster CA key (a signer) is reachable: %w", errors.Join(errs...))
	}
	if _, err := n.Propose(ctx, Command{Op: OpUseToken, Key: hash, Now: time.Now()}); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	ca, err := ParseCA(st.Cluster.CACert, caKey)
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue(req.ID, req.PubKey, ipsOf(req.Addr))
	if err != nil {
		return nil, err
	}
	if _, err := n.Propose(ctx, Command{Op: OpPutNode, Node: &Node{ID: req.ID, Addr: req.Addr, State: NodeJoining, Witness: req.Witness, Version: req.Version, Level: req.Level}}); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	return &joinResponse{Cert: cert, CA: st.Cluster.CACert, GossipKey: gossipKey(st.Cluster.CACert, caKey), Cluster: st.Cluster.Name}, nil
}

// caKey is the CA private key in this node's data dir, or nil on a node that is no signer.
func (n *Daemon) caKey() []byte {
	k, err := os.ReadFile(filepath.Join(n.cfg.DataDir, "ca.key"))
	if err != nil {
		return nil
	}
	return k
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}
