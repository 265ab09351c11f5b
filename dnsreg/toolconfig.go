package dnsreg

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"
)

// ToolConfig is the small JSON file `sofsctl dns` reads while the node list cannot yet
// come from cluster state. Flags override it field by field.
type ToolConfig struct {
	// Server answers SOA/NS queries ("host:port"); Primary and Zone are optional
	// overrides of what it tells us.
	Server  string `json:"server"`
	Primary string `json:"primary,omitempty"`
	Zone    string `json:"zone,omitempty"`
	// AccessPoint is the clients' name.
	AccessPoint string `json:"access_point"`
	// NodeZone is where per-node names go (default Zone, else the access point's parent).
	NodeZone string `json:"node_zone,omitempty"`
	// KeyFile is a BIND key file; KeyName picks a key in it (default: the first).
	KeyFile string `json:"key_file,omitempty"`
	KeyName string `json:"key_name,omitempty"`
	// TTL in seconds (default 60).
	TTL   int        `json:"ttl,omitempty"`
	Owner string     `json:"owner,omitempty"`
	Nodes []ToolNode `json:"nodes"`
}

// ToolNode is one node in a ToolConfig.
type ToolNode struct {
	Name  string   `json:"name"`
	Down  bool     `json:"down,omitempty"`
	Addrs []string `json:"addrs"`
}

// LoadToolConfig reads a ToolConfig, refusing unknown fields so typos are not ignored.
func LoadToolConfig(path string) (ToolConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return ToolConfig{}, fmt.Errorf("dns config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var c ToolConfig
	if err := dec.Decode(&c); err != nil {
		return ToolConfig{}, fmt.Errorf("dns config %s: %w", path, err)
	}
	return c, nil
}

// ParseNodeFlag reads "name=addr,addr" (an up node) or "name:down=addr,..." (a down
// node), the form of `sofsctl dns --node`.
func ParseNodeFlag(s string) (ToolNode, error) {
	name, list, ok := strings.Cut(s, "=")
	if !ok {
		return ToolNode{}, fmt.Errorf("node %q: want name=addr[,addr...]", s)
	}
	n := ToolNode{Name: name}
	if base, state, ok := strings.Cut(name, ":"); ok {
		if state != "down" && state != "up" {
			return ToolNode{}, fmt.Errorf("node %q: state %q is not up or down", s, state)
		}
		n.Name, n.Down = base, state == "down"
	}
	if !plainDomainName(n.Name) {
		return ToolNode{}, fmt.Errorf("node %q: %q is not a host name", s, n.Name)
	}
	for _, a := range strings.Split(list, ",") {
		if a == "" {
			continue
		}
		if _, err := netip.ParseAddr(a); err != nil {
			return ToolNode{}, fmt.Errorf("node %q: %w", s, err)
		}
		n.Addrs = append(n.Addrs, a)
	}
	return n, nil
}

// ClusterNodes converts the configured nodes.
func (c ToolConfig) ClusterNodes() ([]Node, error) {
	var out []Node
	for _, tn := range c.Nodes {
		if !plainDomainName(tn.Name) {
			return nil, fmt.Errorf("node name %q is not a host name", tn.Name)
		}
		n := Node{Name: tn.Name, Up: !tn.Down}
		for _, s := range tn.Addrs {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", tn.Name, err)
			}
			n.Addrs = append(n.Addrs, a)
		}
		out = append(out, n)
	}
	return out, nil
}

// NodeZoneName is the zone per-node names go under.
func (c ToolConfig) NodeZoneName() string {
	switch {
	case c.NodeZone != "":
		return dns.CanonicalName(c.NodeZone)
	case c.Zone != "":
		return dns.CanonicalName(c.Zone)
	}
	ap := dns.CanonicalName(c.AccessPoint)
	if i := strings.IndexByte(ap, '.'); i >= 0 && i+1 < len(ap) {
		return ap[i+1:]
	}
	return ap
}

// Desired is the record set the configuration asks for.
func (c ToolConfig) Desired() (RecordSet, error) {
	if c.AccessPoint == "" {
		return nil, fmt.Errorf("dns config: access point not set")
	}
	nodes, err := c.ClusterNodes()
	if err != nil {
		return nil, err
	}
	return DesiredRecords(c.AccessPoint, c.NodeZoneName(), nodes), nil
}

// Updater builds the RFC 2136 updater the configuration describes.
func (c ToolConfig) Updater(log *slog.Logger) (*Updater, error) {
	cfg := UpdaterConfig{Server: c.Server, Primary: c.Primary, Zone: c.Zone, Owner: c.Owner,
		TTL: time.Duration(c.TTL) * time.Second, Logger: log}
	if c.KeyFile != "" {
		keys, err := LoadKeyFile(c.KeyFile)
		if err != nil {
			return nil, err
		}
		k := keys[0]
		if c.KeyName != "" {
			i := slices.IndexFunc(keys, func(k TSIGKey) bool { return k.Name == dns.CanonicalName(c.KeyName) })
			if i < 0 {
				return nil, fmt.Errorf("key %q not in %s", c.KeyName, c.KeyFile)
			}
			k = keys[i]
		}
		cfg.Key = &k
	}
	return NewUpdater(cfg)
}

// WriteReport prints, per name, the addresses wanted, the addresses in DNS (ours and
// others'), and what differs.
func WriteReport(w io.Writer, desired RecordSet, seen map[string]Observed) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDESIRED\tIN DNS (OURS)\tIN DNS (OTHERS)\tDIFFERENCE")
	for _, name := range desired.Names() {
		o := seen[name]
		p := PlanName(name, desired[name], o)
		var ours []netip.Addr
		for _, a := range o.Addrs {
			if !slices.Contains(p.Foreign, a) {
				ours = append(ours, a)
			}
		}
		diff := "-"
		if len(p.Add) > 0 || len(p.Delete) > 0 {
			diff = Difference{Name: name, Missing: p.Add, Stale: p.Delete}.String()
			diff = strings.TrimPrefix(diff, name+": ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, addrList(desired[name]), addrList(ours), addrList(p.Foreign), diff)
	}
	return tw.Flush()
}

func addrList(a []netip.Addr) string {
	if len(a) == 0 {
		return "-"
	}
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}
