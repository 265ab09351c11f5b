package dnsreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ResponderConfig configures the built-in authoritative server for the cluster zone.
type ResponderConfig struct {
	// Zone is the cluster zone ("sofs.corp.example."), delegated to the nodes by the parent.
	Zone string
	// AccessPoint is the clients' name inside Zone.
	AccessPoint string
	Nodes       NodeSource
	// TTL of address records (default 60 s); SOA/NS use it too.
	TTL time.Duration
	// Hostmaster is the SOA RNAME (default hostmaster.<zone>).
	Hostmaster string
	// Serial, if set, gives the SOA serial; the cluster passes a number derived from its
	// replicated state (e.g. the commit index) so every node's responder serves the same
	// serial for the same content. Without it each responder counts its own changes
	// from its start time, which is right for one node but lets serials differ between
	// nodes.
	Serial func() uint32
	Logger *slog.Logger
}

// Responder answers authoritatively for the cluster zone from cluster state: the access
// point and every up node's name resolve to client addresses, the apex has SOA and one
// NS per up node (so a parent can delegate with glue to the node names), and AXFR works
// over TCP. Every node can run one; they give the same answers from the same state.
type Responder struct {
	cfg ResponderConfig

	mu         sync.Mutex
	serial     uint32
	lastRender string
}

// NewResponder validates cfg.
func NewResponder(cfg ResponderConfig) (*Responder, error) {
	if cfg.Zone == "" || cfg.AccessPoint == "" || cfg.Nodes == nil {
		return nil, errors.New("dns responder: zone, access point and node source are required")
	}
	cfg.Zone = dns.CanonicalName(cfg.Zone)
	cfg.AccessPoint = dns.CanonicalName(cfg.AccessPoint)
	if !dns.IsSubDomain(cfg.Zone, cfg.AccessPoint) {
		return nil, fmt.Errorf("dns responder: access point %s is not in zone %s", cfg.AccessPoint, cfg.Zone)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 60 * time.Second
	}
	if cfg.Hostmaster == "" {
		cfg.Hostmaster = "hostmaster." + cfg.Zone
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Responder{cfg: cfg}, nil
}

// Records renders the zone from the current cluster state: SOA first, then NS, then
// address records in name order. The SOA serial increases whenever the content changes,
// so secondaries that transfer the zone notice.
func (r *Responder) Records() []dns.RR {
	rrs, _ := r.zone()
	return rrs
}

// zone renders the records and returns every name that exists in the zone even without
// records: the access point and all known nodes, up or down.
func (r *Responder) zone() ([]dns.RR, RecordSet) {
	nodes, _ := r.cfg.Nodes.Nodes()
	ttl := uint32(r.cfg.TTL / time.Second)
	desired := DesiredRecords(r.cfg.AccessPoint, r.cfg.Zone, nodes)
	var body []dns.RR
	var nsTargets []string
	for _, n := range nodes {
		name := NodeFQDN(n.Name, r.cfg.Zone)
		if n.Up && len(desired[name]) > 0 && dns.IsSubDomain(r.cfg.Zone, name) {
			nsTargets = append(nsTargets, name)
		}
	}
	if len(nsTargets) == 0 {
		// With no node up the zone still needs a name server; point at the access
		// point's name, which then has no addresses either (the zone is just empty).
		nsTargets = []string{r.cfg.AccessPoint}
	}
	slices.Sort(nsTargets)
	for _, t := range nsTargets {
		body = append(body, &dns.NS{Hdr: dns.RR_Header{Name: r.cfg.Zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: ttl}, Ns: t})
	}
	for _, name := range desired.Names() {
		if !dns.IsSubDomain(r.cfg.Zone, name) {
			continue
		}
		for _, a := range desired[name] {
			body = append(body, addrRR(name, a, ttl))
		}
	}
	var render strings.Builder
	for _, rr := range body {
		render.WriteString(rr.String())
		render.WriteByte('\n')
	}
	r.mu.Lock()
	if r.serial == 0 || render.String() != r.lastRender {
		// Date-free serial: start at the clock, then count changes (RFC 1982 arithmetic
		// makes wrap-around harmless).
		if r.serial == 0 {
			r.serial = uint32(time.Now().Unix())
		} else {
			r.serial++
		}
		r.lastRender = render.String()
	}
	serial := r.serial
	r.mu.Unlock()
	if r.cfg.Serial != nil {
		serial = r.cfg.Serial()
	}
	soa := &dns.SOA{
		Hdr:     dns.RR_Header{Name: r.cfg.Zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:      nsTargets[0],
		Mbox:    dns.CanonicalName(r.cfg.Hostmaster),
		Serial:  serial,
		Refresh: 300, Retry: 60, Expire: 86400,
		Minttl: ttl,
	}
	return append([]dns.RR{soa}, body...), desired
}

// ServeDNS implements dns.Handler.
func (r *Responder) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := r.answer(req, isTCP(w))
	if resp == nil {
		r.transfer(w, req)
		return
	}
	if err := w.WriteMsg(resp); err != nil {
		r.cfg.Logger.Warn("dns responder write", "client", w.RemoteAddr().String(), "err", err)
	}
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

// answer builds the reply to req, or returns nil for an AXFR that transfer streams.
func (r *Responder) answer(req *dns.Msg, tcp bool) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = false
	if req.Opcode != dns.OpcodeQuery {
		resp.Rcode = dns.RcodeNotImplemented
		return resp
	}
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		return resp
	}
	q := req.Question[0]
	qname := dns.CanonicalName(q.Name)
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY || !dns.IsSubDomain(r.cfg.Zone, qname) {
		// Not our zone: an authoritative-only server refuses (RFC 8906 section 3).
		resp.Rcode = dns.RcodeRefused
		return resp
	}
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		if !tcp || qname != r.cfg.Zone {
			// Zone transfers only over TCP (RFC 5936 section 4.2) and only of the apex.
			resp.Rcode = dns.RcodeRefused
			return resp
		}
		return nil
	}
	resp.Authoritative = true
	records, known := r.zone()
	_, nameExists := known[qname]
	for _, rr := range records {
		h := rr.Header()
		if h.Name != qname {
			continue
		}
		nameExists = true
		if q.Qtype == dns.TypeANY || h.Rrtype == q.Qtype {
			resp.Answer = append(resp.Answer, rr)
		}
	}
	// The access point and known nodes' names exist even while down (NODATA rather than
	// NXDOMAIN), which tells resolvers the name is real but has no address right now.
	if !nameExists {
		// Empty non-terminals (e.g. the parent of a deeper access point) exist too.
		for _, rr := range records {
			if dns.IsSubDomain(qname, rr.Header().Name) {
				nameExists = true
				break
			}
		}
	}
	if len(resp.Answer) == 0 {
		if !nameExists {
			resp.Rcode = dns.RcodeNameError
		}
		resp.Ns = []dns.RR{records[0]} // SOA for negative caching (RFC 2308 section 3)
	}
	return resp
}

// transfer streams the zone for AXFR: SOA, every record, SOA (RFC 5936 section 2.2).
func (r *Responder) transfer(w dns.ResponseWriter, req *dns.Msg) {
	records := r.Records()
	records = append(records, records[0])
	ch := make(chan *dns.Envelope)
	tr := new(dns.Transfer)
	errc := make(chan error, 1)
	go func() { errc <- tr.Out(w, req, ch) }()
	const perMessage = 200
	for i := 0; i < len(records); i += perMessage {
		ch <- &dns.Envelope{RR: records[i:min(i+perMessage, len(records))]}
	}
	close(ch)
	if err := <-errc; err != nil {
		r.cfg.Logger.Warn("dns responder zone transfer", "client", w.RemoteAddr().String(), "err", err)
	}
	w.Hijack() // Transfer.Out owns the connection; let the server close it.
	w.Close()
}

// ResponderServer is a Responder listening on UDP and TCP.
type ResponderServer struct {
	UDPAddr net.Addr
	TCPAddr net.Addr
	udp     *dns.Server
	tcp     *dns.Server
	errc    chan error
}

// Listen binds addr ("127.0.0.1:53") on UDP and TCP and starts serving. With port 0 the
// TCP port is chosen first and UDP binds the same port.
func (r *Responder) Listen(addr string) (*ResponderServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dns responder listen tcp %s: %w", addr, err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("dns responder listen udp %s: %w", ln.Addr(), err)
	}
	s := &ResponderServer{UDPAddr: pc.LocalAddr(), TCPAddr: ln.Addr(), errc: make(chan error, 2)}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: r, NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: ln, Handler: r, NotifyStartedFunc: notify}
	go func() { s.errc <- s.udp.ActivateAndServe() }()
	go func() { s.errc <- s.tcp.ActivateAndServe() }()
	for range 2 {
		select {
		case <-started:
		case err := <-s.errc:
			s.Close(context.Background())
			return nil, fmt.Errorf("dns responder serve %s: %w", addr, err)
		}
	}
	return s, nil
}

// Close stops both listeners.
func (s *ResponderServer) Close(ctx context.Context) error {
	return errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
}
