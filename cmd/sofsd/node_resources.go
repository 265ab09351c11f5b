package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/cluster"
	"github.com/sofs-dev/sofs/dnsreg"
	"github.com/sofs-dev/sofs/internal/agents"
	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/sofs-dev/sofs/smb/server"
	"github.com/sofs-dev/sofs/smb/vfs"
)

// hostFlags are the `sofsd node` settings of what the node hosts for the cluster: its SMB
// server (every node listens; a share is served only by the node that owns its group).
type hostFlags struct {
	smbListen []string
	users     string
	name      string
}

const hostHelp = `
Resources the node hosts (create them with sofsctl; every node must see the disks at the same paths):

  sofsctl volume create --disk /srv/d/v1-a.img --disk /srv/d/v1-b.img --disk-size 1G --name vol1 --size 512M
  sofsctl group create g-vol1 --preferred n1
  sofsctl resource create vol1 --group g-vol1 --type vdisk/volume \
        --prop disks=/srv/d/v1-a.img,/srv/d/v1-b.img --prop vdisk=vol1
  sofsctl resource create share1 --group g-vol1 --type share --depends-on vol1 \
        --prop name=share1 --prop volume=vol1

Types: vdisk/volume (opens the pool with the group's fencing epoch and mounts the cluster
shared volume on the virtual disk), share (this node's SMB server serves the volume while the
group is online here; a tree connect to a share not served on this node gets
STATUS_BAD_NETWORK_NAME), netname (the access point answered by the built-in DNS responder on the
owner: props zone, name, listen).`

func (f *hostFlags) register(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.smbListen, "smb-listen", nil, "SMB address to listen on (repeatable; none: host no shares)")
	c.Flags().StringVar(&f.users, "users", "", "user database file for SMB (sofsctl user add --file USERS NAME); required with --smb-listen")
	c.Flags().StringVar(&f.name, "smb-name", "", "server name reported to SMB clients (default: host name)")
	c.Long = c.Short + "\n" + hostHelp
}

// nodeHost is what a node hosts: its SMB server and the resource types that feed it.
type nodeHost struct {
	log      *slog.Logger
	srv      *server.Server
	registry *cluster.Registry
	store    atomic.Pointer[cluster.Store] // set by AttachStore once the node runs
}

// startHost starts the SMB listeners (with no shares) and builds the registry of resource types.
// A witness, or a node without --smb-listen, hosts nothing and gets a nil host.
func startHost(f *hostFlags, log *slog.Logger, witness bool) (*nodeHost, error) {
	if witness || len(f.smbListen) == 0 {
		return nil, nil
	}
	if f.users == "" {
		return nil, errors.New("--smb-listen needs --users (create it with: sofsctl user add --file USERS NAME)")
	}
	users, err := auth.LoadUserDB(f.users)
	if err != nil {
		return nil, err
	}
	name := f.name
	if name == "" {
		host, _ := os.Hostname()
		name = strings.ToUpper(strings.SplitN(host, ".", 2)[0])
	}
	srv, err := server.New(server.Config{Users: users, ServerName: name, ServerGUID: stableGUID(f.smbListen), Logger: log})
	if err != nil {
		return nil, err
	}
	h := &nodeHost{log: log, srv: srv, registry: cluster.NewRegistry()}
	var lns []net.Listener
	for _, addr := range f.smbListen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("smb listen %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		log.Info("serving SMB", "component", "SMB", "addr", ln.Addr().String())
		go func(ln net.Listener) {
			if err := srv.Serve(ln); !errors.Is(err, server.ErrServerClosed) {
				log.Error("SMB listener failed", "component", "SMB", "addr", ln.Addr().String(), "err", err)
			}
		}(ln)
	}
	vols := agents.NewVolumes(func(format string, args ...any) {
		log.Info(fmt.Sprintf(format, args...), "component", "VOLUME")
	})
	shares := &agents.Shares{Server: smbShares{srv}, Volumes: vols}
	names := agents.NewNetnames(h)
	h.registry.Register(vols.Info(), vols)
	h.registry.Register(shares.Info(), shares)
	h.registry.Register(names.Info(), names)
	return h, nil
}

// AttachStore gives the host the node's config DB (the DNS responder answers from it).
func (h *nodeHost) AttachStore(s *cluster.Store) {
	if h != nil {
		h.store.Store(s)
	}
}

// Nodes implements dnsreg.NodeSource from the config DB: each node's client address is the host
// of its cluster address (one address per node, as on the loopback cluster of make run). The
// change channel closes after a second: the responder reads the state per query anyway.
func (h *nodeHost) Nodes() ([]dnsreg.Node, <-chan struct{}) {
	changed := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(changed) })
	s := h.store.Load()
	if s == nil {
		return nil, changed
	}
	var out []dnsreg.Node
	s.Read(func(st *cluster.State) {
		for _, id := range st.SortedNodes() {
			n := st.Nodes[id]
			if n.Witness {
				continue
			}
			dn := dnsreg.Node{Name: id, Up: n.State == cluster.NodeUp}
			if ap, err := netip.ParseAddrPort(n.Addr); err == nil {
				dn.Addrs = []netip.Addr{ap.Addr()}
			}
			out = append(out, dn)
		}
	})
	return out, changed
}

// Registry is nil for a node that hosts nothing (the cluster then makes its own).
func (h *nodeHost) Registry() *cluster.Registry {
	if h == nil {
		return nil
	}
	return h.registry
}

// Close stops the SMB server; call it after the cluster node has taken its resources offline.
func (h *nodeHost) Close() error {
	if h == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.srv.Shutdown(ctx)
}

// smbShares adapts the SMB server to agents.ShareServer.
type smbShares struct{ srv *server.Server }

func (s smbShares) Serve(name string, fs vfs.FS) error {
	return s.srv.AddShare(server.Share{Name: name, FS: fs})
}
func (s smbShares) Stop(name string) error { return s.srv.RemoveShare(name) }
func (s smbShares) Serving(name string) bool {
	for _, n := range s.srv.ServedShares() {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}
