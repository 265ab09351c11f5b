package cluster

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Failure detection profiles, modelled on Windows' SameSubnetDelay/Threshold. Detection time
// is roughly ProbeInterval (until some node probes the dead one) + ProbeTimeout + suspicion
// timeout (SuspicionMult probe intervals for small clusters, shrinking as other nodes confirm).
// Memberlist's health awareness stretches timeouts on a loaded node, so a node starved of CPU
// is not declared dead.
type Profile struct {
	Name          string
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
	// Lease is how long a node keeps resources online without quorum contact.
	Lease time.Duration
	// FenceDelay is how long after a node is declared Down its groups may start elsewhere.
	FenceDelay time.Duration
	// AwarenessMax caps how far memberlist stretches probe timeouts when this node itself
	// seems slow (memberlist's default is 8); lower keeps detection bounded, higher avoids
	// false deaths on a starved machine.
	AwarenessMax int
}

// Profiles: "default" detects a dead node in <= 5 s, "fast" in <= 3 s (measured by
// BenchmarkFailover). With two survivors probing round-robin, a dead node is probed within two
// probe intervals, so detection is at most about 5 ProbeInterval + ProbeTimeout plus the
// leader's reaction (and an election if the leader died). Suspicion always lasts exactly SuspicionMult probe intervals
// (SuspicionMaxTimeoutMult 1): memberlist's default lets an unconfirmed suspicion last up to
// six times longer, which in a three-node cluster made detection take over 6 s.
var (
	ProfileDefault = withFence(Profile{Name: "default", ProbeInterval: 700 * time.Millisecond, ProbeTimeout: 350 * time.Millisecond, SuspicionMult: 3, Lease: 3 * time.Second, AwarenessMax: 8})
	ProfileFast    = withFence(Profile{Name: "fast", ProbeInterval: 350 * time.Millisecond, ProbeTimeout: 200 * time.Millisecond, SuspicionMult: 3, Lease: 1500 * time.Millisecond, AwarenessMax: 3})
)

// withFence sets FenceDelay so a failed node's groups never start elsewhere before its lease
// has run out: the node drops its resources at most Lease + Lease/10 (lease driver polling)
// after its last quorum contact, while the earliest it can be declared dead is ProbeTimeout +
// the suspicion timeout after it stopped answering; 300 ms covers raft heartbeat spacing and
// scheduling.
func withFence(p Profile) Profile {
	earliestDead := p.ProbeTimeout + time.Duration(p.SuspicionMult)*p.ProbeInterval
	p.FenceDelay = max(0, p.Lease+p.Lease/10+300*time.Millisecond-earliestDead)
	return p
}

// ProfileByName returns a profile.
func ProfileByName(name string) (Profile, error) {
	switch name {
	case "", "default":
		return ProfileDefault, nil
	case "fast":
		return ProfileFast, nil
	}
	return Profile{}, fmt.Errorf("unknown failure detection profile %q (default, fast)", name)
}

// gossipTransport implements memberlist.Transport: packets over UDP on the same port number
// as the cluster listener (encrypted and authenticated by memberlist with a key derived from
// the cluster CA key, since UDP cannot carry our TLS), streams (state sync) over the mTLS mux.
type gossipTransport struct {
	id      *TLSIdentity
	udp     *net.UDPConn
	streams net.Listener
	packets chan *memberlist.Packet
	conns   chan net.Conn
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func newGossipTransport(id *TLSIdentity, addr *net.TCPAddr, streams net.Listener) (*gossipTransport, error) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: addr.IP, Port: addr.Port})
	if err != nil {
		return nil, fmt.Errorf("gossip UDP %s: %w", addr, err)
	}
	t := &gossipTransport{id: id, udp: udp, streams: streams, packets: make(chan *memberlist.Packet, 256), conns: make(chan net.Conn, 16), done: make(chan struct{})}
	t.wg.Add(2)
	go t.readPackets()
	go t.acceptStreams()
	return t, nil
}

func (t *gossipTransport) readPackets() {
	defer t.wg.Done()
	for {
		buf := make([]byte, 65536)
		n, from, err := t.udp.ReadFrom(buf)
		ts := time.Now()
		if err != nil {
			return
		}
		select {
		case t.packets <- &memberlist.Packet{Buf: buf[:n], From: from, Timestamp: ts}:
		case <-t.done:
			return
		}
	}
}

func (t *gossipTransport) acceptStreams() {
	defer t.wg.Done()
	for {
		c, err := t.streams.Accept()
		if err != nil {
			return
		}
		select {
		case t.conns <- c:
		case <-t.done:
			c.Close()
			return
		}
	}
}

func (t *gossipTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	a := t.udp.LocalAddr().(*net.UDPAddr)
	return a.IP, a.Port, nil
}

func (t *gossipTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return time.Time{}, err
	}
	_, err = t.udp.WriteTo(b, ua)
	return time.Now(), err
}

func (t *gossipTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *gossipTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialTag(ctx, t.id, addr, tagMemberlist)
}

func (t *gossipTransport) StreamCh() <-chan net.Conn { return t.conns }

func (t *gossipTransport) Shutdown() error {
	t.once.Do(func() {
		close(t.done)
		t.udp.Close()
		t.streams.Close()
	})
	t.wg.Wait()
	return nil
}

// gossipKey derives memberlist's AES-256 key from the cluster CA certificate and key material
// every member holds (the CA certificate is public, so the CA key is mixed in).
func gossipKey(caCert, caKey []byte) []byte {
	h := sha256.New()
	h.Write([]byte("sofs-gossip-v1"))
	h.Write(caCert)
	h.Write(caKey)
	return h.Sum(nil)
}

// startGossip starts memberlist for node id on the mux.
func startGossip(nodeID string, id *TLSIdentity, mux *Mux, key []byte, p Profile, log *slog.Logger, events chan memberlist.NodeEvent) (*memberlist.Memberlist, error) {
	addr := mux.Addr().(*net.TCPAddr)
	tr, err := newGossipTransport(id, addr, mux.Listener(tagMemberlist))
	if err != nil {
		return nil, err
	}
	c := memberlist.DefaultLANConfig()
	c.Name = nodeID
	c.Transport = tr
	c.BindAddr, c.BindPort = addr.IP.String(), addr.Port
	c.AdvertiseAddr, c.AdvertisePort = addr.IP.String(), addr.Port
	c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult = p.ProbeInterval, p.ProbeTimeout, p.SuspicionMult
	c.SuspicionMaxTimeoutMult = 1
	if p.AwarenessMax > 0 {
		c.AwarenessMaxMultiplier = p.AwarenessMax
	}
	c.GossipInterval = 100 * time.Millisecond
	c.SecretKey = key
	c.GossipVerifyIncoming, c.GossipVerifyOutgoing = true, true
	c.Logger = log2std(log.With("component", "MEMBER"))
	c.DeadNodeReclaimTime = time.Second // a restarted node may rejoin under its name at once
	if events != nil {
		c.Events = pokeDelegate(events)
	}
	ml, err := memberlist.Create(c)
	if err != nil {
		tr.Shutdown()
		return nil, fmt.Errorf("start failure detector: %w", err)
	}
	return ml, nil
}

func log2std(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l}, "", 0)
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(string(p))
	return len(p), nil
}

var _ io.Writer = slogWriter{}

func hostPort(addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, DefaultPort
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// pokeDelegate forwards membership events without ever blocking memberlist (a full channel
// already holds a wake-up for the reconciler).
type pokeDelegate chan memberlist.NodeEvent

func (p pokeDelegate) send(t memberlist.NodeEventType, n *memberlist.Node) {
	select {
	case p <- memberlist.NodeEvent{Event: t, Node: n}:
	default:
	}
}

func (p pokeDelegate) NotifyJoin(n *memberlist.Node)   { p.send(memberlist.NodeJoin, n) }
func (p pokeDelegate) NotifyLeave(n *memberlist.Node)  { p.send(memberlist.NodeLeave, n) }
func (p pokeDelegate) NotifyUpdate(n *memberlist.Node) { p.send(memberlist.NodeUpdate, n) }
