package dnsreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Registrar keeps records in DNS; the network-name resource drives it. Updater is the
// RFC 2136 implementation; GSS-TSIG for Active Directory DNS can be another.
type Registrar interface {
	// Sync brings every name in desired to its addresses, touching only our records.
	Sync(ctx context.Context, desired RecordSet) error
	// Observe reads what DNS holds at each name.
	Observe(ctx context.Context, names []string) (map[string]Observed, error)
}

// UpdaterConfig configures an Updater. Zero values take the defaults noted.
type UpdaterConfig struct {
	// Server is the DNS server ("host:port") asked to find zones and primaries.
	Server string
	// Zone is the zone holding the names; "" finds it with an SOA query per name.
	Zone string
	// Primary is where updates go ("host:port"); "" uses the zone's SOA MNAME,
	// resolved through Server, on Server's port.
	Primary string
	// Key signs updates with TSIG; nil sends them unsigned.
	Key *TSIGKey
	// TTL of the records we add (default 60 s).
	TTL time.Duration
	// Owner identifies this cluster in ownership records (default "sofs").
	Owner string
	// Timeout per attempt (default 2 s), Attempts per exchange (default 3), and the first
	// Backoff between attempts (default 200 ms, doubling).
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
	Logger   *slog.Logger
}

func (c *UpdaterConfig) setDefaults() error {
	if c.Server == "" && c.Primary == "" {
		return errors.New("dns updater: need a server or a primary")
	}
	if c.Server == "" {
		c.Server = c.Primary
	}
	for _, hp := range []string{c.Server, c.Primary} {
		if hp == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return fmt.Errorf("dns updater: server %q: %w", hp, err)
		}
	}
	if c.Zone != "" {
		c.Zone = dns.CanonicalName(c.Zone)
	}
	if c.TTL <= 0 {
		c.TTL = 60 * time.Second
	}
	if c.Owner == "" {
		c.Owner = "sofs"
	}
	if !validOwnerID(c.Owner) {
		return fmt.Errorf("dns updater: owner %q: use letters, digits and -_.:", c.Owner)
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Updater maintains A/AAAA records with RFC 2136 dynamic updates.
type Updater struct {
	cfg UpdaterConfig

	mu        sync.Mutex
	zones     map[string]string // name -> zone
	primaries map[string]string // zone -> host:port
}

// NewUpdater validates cfg and returns an Updater.
func NewUpdater(cfg UpdaterConfig) (*Updater, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Updater{cfg: cfg, zones: map[string]string{}, primaries: map[string]string{}}, nil
}

// Config returns the configuration with defaults applied.
func (u *Updater) Config() UpdaterConfig { return u.cfg }

// exchange sends m to server, retrying timeouts and SERVFAIL with backoff and moving to
// TCP when the answer is truncated. Any answer other than NOERROR (and NXDOMAIN for
// queries) comes back as a *ServerError.
func (u *Updater) exchange(ctx context.Context, server, op string, m *dns.Msg, signed bool) (*dns.Msg, error) {
	client := &dns.Client{Net: "udp", Timeout: u.cfg.Timeout}
	if signed && u.cfg.Key != nil {
		client.TsigSecret = map[string]string{u.cfg.Key.Name: u.cfg.Key.Secret}
	}
	backoff := u.cfg.Backoff
	var last *ServerError
	for attempt := 1; attempt <= u.cfg.Attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				last.Err = errors.Join(last.Err, ctx.Err())
				return nil, last
			case <-t.C:
			}
			backoff *= 2
		}
		if signed && u.cfg.Key != nil {
			// Re-sign each attempt so the time signed stays fresh (RFC 8945 section 5.2.3).
			if m.IsTsig() != nil {
				m.Extra = m.Extra[:len(m.Extra)-1]
			}
			m.SetTsig(u.cfg.Key.Name, u.cfg.Key.Algorithm, 300, time.Now().Unix())
		}
		r, _, err := client.ExchangeContext(ctx, m, server)
		if err == nil && r != nil && r.Truncated && client.Net == "udp" {
			// Without EDNS an answer is cut at 512 bytes (RFC 1035 section 4.2.1); ask again
			// over TCP and keep using it for this exchange.
			u.cfg.Logger.Debug("dns answer truncated; retrying over TCP", "op", op, "server", server)
			client.Net = "tcp"
			r, _, err = client.ExchangeContext(ctx, m, server)
		}
		last = &ServerError{Op: op, Server: server, Rcode: -1, Err: err}
		if r != nil {
			last.Rcode = r.Rcode
			last.Answer = summarize(r)
			if t := r.IsTsig(); t != nil {
				last.TSIGError = t.Error
			}
		}
		switch {
		case r == nil:
			// No answer at all: retry timeouts and transport errors.
			u.cfg.Logger.Warn("dns exchange failed", "op", op, "server", server, "attempt", attempt, "err", err)
			continue
		case last.TSIGError != 0 || r.Rcode == dns.RcodeNotAuth || r.Rcode == dns.RcodeRefused ||
			r.Rcode == dns.RcodeNotImplemented || r.Rcode == dns.RcodeFormatError:
			// The server refused us; asking again will not change its mind.
			u.cfg.Logger.Error("dns server refused", "op", op, "server", server, "code", last.Code(), "answer", last.Answer)
			return nil, last
		case err != nil:
			// An answer that failed TSIG verification (forged or wrong key on our side).
			u.cfg.Logger.Error("dns answer failed verification", "op", op, "server", server, "err", err, "answer", last.Answer)
			return nil, last
		case r.Rcode == dns.RcodeServerFailure:
			u.cfg.Logger.Warn("dns server failure", "op", op, "server", server, "attempt", attempt, "answer", last.Answer)
			continue
		case r.Rcode == dns.RcodeSuccess || (r.Rcode == dns.RcodeNameError && r.Opcode == dns.OpcodeQuery):
			return r, nil
		default:
			u.cfg.Logger.Error("dns server error", "op", op, "server", server, "code", last.Code(), "answer", last.Answer)
			return nil, last
		}
	}
	u.cfg.Logger.Error("dns exchange gave up", "op", op, "server", server, "attempts", u.cfg.Attempts, "err", last)
	return nil, last
}

func (u *Updater) query(ctx context.Context, server, name string, qtype uint16, recursive bool) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.CanonicalName(name), qtype)
	m.RecursionDesired = recursive
	return u.exchange(ctx, server, fmt.Sprintf("query %s %s", dns.TypeToString[qtype], m.Question[0].Name), m, false)
}

// ZoneOf returns the zone holding name: the configured zone or, by RFC 2136 section 4.3,
// the owner of the SOA record an SOA query for name returns in its answer or authority
// section.
func (u *Updater) ZoneOf(ctx context.Context, name string) (string, error) {
	name = dns.CanonicalName(name)
	if u.cfg.Zone != "" {
		if !dns.IsSubDomain(u.cfg.Zone, name) {
			return "", fmt.Errorf("name %s is not in zone %s", name, u.cfg.Zone)
		}
		return u.cfg.Zone, nil
	}
	u.mu.Lock()
	z, ok := u.zones[name]
	u.mu.Unlock()
	if ok {
		return z, nil
	}
	r, err := u.query(ctx, u.cfg.Server, name, dns.TypeSOA, true)
	if err != nil {
		return "", fmt.Errorf("find zone of %s: %w", name, err)
	}
	for _, rr := range append(append([]dns.RR{}, r.Answer...), r.Ns...) {
		if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, name) {
			z = dns.CanonicalName(soa.Hdr.Name)
			u.mu.Lock()
			u.zones[name] = z
			u.mu.Unlock()
			return z, nil
		}
	}
	return "", fmt.Errorf("find zone of %s: no SOA in answer from %s: %s", name, u.cfg.Server, summarize(r))
}

// PrimaryOf returns the address updates for zone go to.
func (u *Updater) PrimaryOf(ctx context.Context, zone string) (string, error) {
	if u.cfg.Primary != "" {
		return u.cfg.Primary, nil
	}
	u.mu.Lock()
	p, ok := u.primaries[zone]
	u.mu.Unlock()
	if ok {
		return p, nil
	}
	r, err := u.query(ctx, u.cfg.Server, zone, dns.TypeSOA, true)
	if err != nil {
		return "", fmt.Errorf("find primary of %s: %w", zone, err)
	}
	// The SOA MNAME names the primary (RFC 2136 section 4.3); when it has no address (a
	// hidden or unresolvable master name), try the zone's NS targets in order.
	var candidates []string
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			candidates = append(candidates, soa.Ns)
		}
	}
	if len(candidates) == 0 {
		return "", fmt.Errorf("find primary of %s: no SOA from %s: %s", zone, u.cfg.Server, summarize(r))
	}
	if nsResp, err := u.query(ctx, u.cfg.Server, zone, dns.TypeNS, true); err == nil {
		for _, rr := range nsResp.Answer {
			if ns, ok := rr.(*dns.NS); ok && !slices.Contains(candidates, ns.Ns) {
				candidates = append(candidates, ns.Ns)
			}
		}
	}
	_, port, _ := net.SplitHostPort(u.cfg.Server)
	var errs []error
	for _, host := range candidates {
		ip, err := u.firstAddress(ctx, host)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p = net.JoinHostPort(ip.String(), port)
		u.mu.Lock()
		u.primaries[zone] = p
		u.mu.Unlock()
		return p, nil
	}
	return "", fmt.Errorf("find primary of %s: no address for %v at %s: %w", zone, candidates, u.cfg.Server, errors.Join(errs...))
}

func (u *Updater) firstAddress(ctx context.Context, host string) (netip.Addr, error) {
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		r, err := u.query(ctx, u.cfg.Server, host, qt, true)
		if err != nil {
			return netip.Addr{}, err
		}
		for _, rr := range r.Answer {
			switch a := rr.(type) {
			case *dns.A:
				ip, _ := netip.AddrFromSlice(a.A.To4())
				return ip, nil
			case *dns.AAAA:
				ip, _ := netip.AddrFromSlice(a.AAAA)
				return ip, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no address", host)
}

// Observe reads the A, AAAA and ownership records of each name from the zone's primary,
// so caches do not hide our own changes.
func (u *Updater) Observe(ctx context.Context, names []string) (map[string]Observed, error) {
	out := map[string]Observed{}
	var errs []error
	for _, name := range names {
		o, err := u.observe(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[dns.CanonicalName(name)] = o
	}
	return out, errors.Join(errs...)
}

func (u *Updater) observe(ctx context.Context, name string) (Observed, error) {
	name = dns.CanonicalName(name)
	zone, err := u.ZoneOf(ctx, name)
	if err != nil {
		return Observed{}, err
	}
	primary, err := u.PrimaryOf(ctx, zone)
	if err != nil {
		return Observed{}, err
	}
	var o Observed
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		r, err := u.query(ctx, primary, name, qt, false)
		if err != nil {
			return Observed{}, err
		}
		for _, rr := range r.Answer {
			if !strings.EqualFold(rr.Header().Name, name) {
				continue // e.g. a CNAME chain; not a record we manage
			}
			switch a := rr.(type) {
			case *dns.A:
				ip, _ := netip.AddrFromSlice(a.A.To4())
				o.Addrs = append(o.Addrs, ip)
			case *dns.AAAA:
				ip, _ := netip.AddrFromSlice(a.AAAA)
				o.Addrs = append(o.Addrs, ip)
			}
		}
	}
	o.Addrs = sortedAddrs(o.Addrs)
	r, err := u.query(ctx, primary, OwnerName(name), dns.TypeTXT, false)
	if err != nil {
		return Observed{}, err
	}
	for _, rr := range r.Answer {
		txt, ok := rr.(*dns.TXT)
		if !ok {
			continue
		}
		owner, owned, err := ParseOwnership(txt.Txt)
		if err != nil {
			return Observed{}, fmt.Errorf("ownership record %s at %s: %w", OwnerName(name), primary, err)
		}
		o.Owner, o.Owned = owner, owned
	}
	return o, nil
}

// Sync implements Registrar: one atomic UPDATE per name that needs a change.
func (u *Updater) Sync(ctx context.Context, desired RecordSet) error {
	var errs []error
	for _, name := range desired.Names() {
		if err := u.syncName(ctx, name, desired[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (u *Updater) syncName(ctx context.Context, name string, want []netip.Addr) error {
	seen, err := u.observe(ctx, name)
	if err != nil {
		return err
	}
	if seen.Owner != "" && seen.Owner != u.cfg.Owner {
		return fmt.Errorf("name %s is managed by %q (ownership record %s), not by us (%q)", name, seen.Owner, OwnerName(name), u.cfg.Owner)
	}
	plan := PlanName(name, want, seen)
	if plan.Empty() {
		return nil
	}
	zone, err := u.ZoneOf(ctx, name)
	if err != nil {
		return err
	}
	primary, err := u.PrimaryOf(ctx, zone)
	if err != nil {
		return err
	}
	m := BuildUpdate(zone, plan, u.cfg.Owner, u.cfg.TTL)
	if _, err := u.exchange(ctx, primary, "update "+plan.Name, m, true); err != nil {
		return err
	}
	u.cfg.Logger.Info("dns records updated", "name", plan.Name, "zone", zone, "server", primary,
		"added", plan.Add, "deleted", plan.Delete, "foreign", plan.Foreign)
	return nil
}

// BuildUpdate renders a plan as one prerequisite-free UPDATE message (RFC 2136 section 2.5).
func BuildUpdate(zone string, plan NamePlan, owner string, ttl time.Duration) *dns.Msg {
	m := new(dns.Msg)
	m.SetUpdate(dns.CanonicalName(zone))
	secs := uint32(ttl / time.Second)
	var del, add []dns.RR
	for _, a := range plan.Delete {
		del = append(del, addrRR(plan.Name, a, 0))
	}
	for _, a := range plan.Add {
		add = append(add, addrRR(plan.Name, a, secs))
	}
	if len(del) > 0 {
		m.Remove(del) // class NONE: just these RRs (section 2.5.4)
	}
	if len(add) > 0 {
		m.Insert(add)
	}
	if plan.OwnerChanged {
		ownerName := OwnerName(plan.Name)
		// The ownership name is ours alone, so replacing its whole TXT RRset is safe.
		m.RemoveRRset([]dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: ownerName, Rrtype: dns.TypeTXT}}})
		if len(plan.Owned) > 0 {
			m.Insert([]dns.RR{&dns.TXT{
				Hdr: dns.RR_Header{Name: ownerName, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: secs},
				Txt: FormatOwnership(owner, plan.Owned),
			}})
		}
	}
	return m
}

func addrRR(name string, a netip.Addr, ttl uint32) dns.RR {
	if a.Is4() {
		return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: a.AsSlice()}
	}
	return &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: a.AsSlice()}
}

// Check compares DNS with desired and returns the differences (missing records, and
// stale records of ours).
func Check(ctx context.Context, r Registrar, desired RecordSet) ([]Difference, error) {
	seen, err := r.Observe(ctx, desired.Names())
	if err != nil {
		return nil, err
	}
	return Compare(desired, seen), nil
}
