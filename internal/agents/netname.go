package agents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"

	"github.com/sofs-dev/sofs/cluster"
	"github.com/sofs-dev/sofs/dnsreg"
)

// NetnameTypeName is the resource type of the cluster's access point in the built-in DNS responder.
const NetnameTypeName = "netname"

// Netname resource properties.
const (
	PropZone   = "zone"   // the cluster zone, e.g. "sofs.test."
	PropName   = "name"   // the access point, e.g. "fs.sofs.test."
	PropListen = "listen" // where the responder answers, host:port (UDP and TCP)
)

// Netnames is the "netname" resource type: while online on the group's owner, a dnsreg
// Responder answers for the zone at the listen address, resolving the access point (and each
// node's name) to the client addresses of the nodes that are up. The address follows the group,
// so the name is answered from exactly one node at a time. (Registration in an external DNS
// server through RFC 2136 — dnsreg.NetworkName — is not wired yet.)
type Netnames struct {
	Nodes dnsreg.NodeSource

	running hosted[*dnsreg.ResponderServer]
}

// NewNetnames returns the type answering from nodes.
func NewNetnames(nodes dnsreg.NodeSource) *Netnames {
	return &Netnames{Nodes: nodes}
}

// Info is the registration.
func (n *Netnames) Info() cluster.ResourceTypeInfo {
	return cluster.ResourceTypeInfo{Name: NetnameTypeName, LooksAliveInterval: 2 * time.Second, IsAliveInterval: 10 * time.Second}
}

func netnameProps(r cluster.ResourceRef) (zone, name, listen string, err error) {
	zone, name, listen = r.Props[PropZone], r.Props[PropName], r.Props[PropListen]
	if zone == "" || name == "" || listen == "" {
		return "", "", "", fmt.Errorf("netname %s: properties %q, %q and %q are required", r.Name, PropZone, PropName, PropListen)
	}
	return dns.Fqdn(zone), dns.Fqdn(name), listen, nil
}

// Online implements cluster.ResourceType.
func (n *Netnames) Online(ctx context.Context, r cluster.ResourceRef) error {
	zone, name, listen, err := netnameProps(r)
	if err != nil {
		return err
	}
	if _, up := n.running.get(r.Name); up {
		return nil
	}
	resp, err := dnsreg.NewResponder(dnsreg.ResponderConfig{Zone: zone, AccessPoint: name, Nodes: n.Nodes})
	if err != nil {
		return fmt.Errorf("netname %s: %w", r.Name, err)
	}
	srv, err := resp.Listen(listen)
	if err != nil {
		return fmt.Errorf("netname %s: %w", r.Name, err)
	}
	n.running.put(r.Name, srv)
	return nil
}

// Offline implements cluster.ResourceType.
func (n *Netnames) Offline(ctx context.Context, r cluster.ResourceRef) error {
	srv, ok := n.running.take(r.Name)
	if !ok {
		return nil
	}
	if err := srv.Close(ctx); err != nil {
		return fmt.Errorf("netname %s: stop responder: %w", r.Name, err)
	}
	return nil
}

// LooksAlive implements cluster.ResourceType.
func (n *Netnames) LooksAlive(ctx context.Context, r cluster.ResourceRef) error {
	if _, ok := n.running.get(r.Name); !ok {
		return fmt.Errorf("netname %s is not answering on this node", r.Name)
	}
	return nil
}

// IsAlive implements cluster.ResourceType: the responder answers an SOA query for the zone.
func (n *Netnames) IsAlive(ctx context.Context, r cluster.ResourceRef) error {
	zone, _, _, err := netnameProps(r)
	if err != nil {
		return err
	}
	srv, ok := n.running.get(r.Name)
	if !ok {
		return fmt.Errorf("netname %s is not answering on this node", r.Name)
	}
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	c := &dns.Client{Timeout: 2 * time.Second}
	in, _, err := c.ExchangeContext(ctx, m, srv.UDPAddr.String())
	if err != nil {
		return fmt.Errorf("netname %s: query responder: %w", r.Name, err)
	}
	if in.Rcode != dns.RcodeSuccess || len(in.Answer) == 0 {
		return errors.New("netname " + r.Name + ": responder gave no SOA: " + dns.RcodeToString[in.Rcode])
	}
	return nil
}
