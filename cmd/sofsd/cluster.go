package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/cluster"
)

// nodeFlags are shared by `sofsd node` and `sofsd witness`.
type nodeFlags struct {
	data, listen, id, via, token, profile string
	join                                  []string
	drainOnStop                           bool
	debug                                 bool
	host                                  hostFlags // node_resources.go
}

func (f *nodeFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.data, "data", "/var/lib/sofs", "data directory (certificates, config DB)")
	c.Flags().StringVar(&f.listen, "listen", "", "cluster address host:port for a joining node (default port 3343)")
	c.Flags().StringVar(&f.id, "id", "", "node ID when joining (default: host name)")
	c.Flags().StringVar(&f.via, "via", "", "address of an existing node to join through")
	c.Flags().StringVar(&f.token, "token", "", "one-time join token from `sofsctl cluster token`")
	c.Flags().StringVar(&f.profile, "profile", "default", "failure detection profile: default (<=5s) or fast (<=3s)")
	c.Flags().StringSliceVar(&f.join, "peer", nil, "peer addresses to contact at start (others come from the config DB)")
	c.Flags().BoolVar(&f.drainOnStop, "drain-on-stop", false, "drain this node's groups before stopping on SIGTERM")
	c.Flags().BoolVar(&f.debug, "debug", false, "debug logging")
}

func init() {
	f := &nodeFlags{}
	c := &cobra.Command{
		Use:   "node",
		Short: "run a cluster node (joins first with --via and --token when the data dir is empty)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return runClusterNode(cmd.Context(), f, false) },
	}
	f.register(c)
	f.host.register(c)
	addCommand(c)
}

func runClusterNode(ctx context.Context, f *nodeFlags, witness bool) error {
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := os.Stat(filepath.Join(f.data, "node.json")); os.IsNotExist(err) {
		if f.via == "" || f.token == "" || f.listen == "" {
			return fmt.Errorf("%s holds no node: create a cluster with `sofsctl cluster create --data %s ...` or join with --via, --token and --listen", f.data, f.data)
		}
		id := f.id
		if id == "" {
			id, _ = os.Hostname()
		}
		listen := cluster.WithDefaultPort(f.listen)
		jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cluster.JoinCluster(jctx, f.data, id, listen, f.via, f.token, witness)
		cancel()
		if err != nil {
			return err
		}
		f.join = append(f.join, f.via)
	}
	host, err := startHost(&f.host, log, witness)
	if err != nil {
		return err
	}
	defer host.Close()
	d, err := cluster.StartNode(cluster.NodeConfig{DataDir: f.data, Join: f.join, Profile: f.profile, Log: log, Registry: host.Registry()})
	if err != nil {
		return err
	}
	host.AttachStore(d.Store())
	daemon.SdNotify(false, daemon.SdNotifyReady)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	wd, _ := daemon.SdWatchdogEnabled(false)
	var wdTick <-chan time.Time
	if wd > 0 {
		t := time.NewTicker(wd / 2)
		defer t.Stop()
		wdTick = t.C
	}
	status := time.NewTicker(5 * time.Second)
	defer status.Stop()
	for {
		select {
		case <-stop:
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			if f.drainOnStop && !witness {
				dctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				if err := (&cluster.Admin{Store: d.Store(), Prop: d}).Pause(dctx, d.ID(), true, func(p string) { log.Info(p, "component", "NODE") }); err != nil {
					log.Error("drain before stop failed; stopping anyway", "component", "NODE", "err", err)
				}
				cancel()
			}
			return d.Close()
		case <-d.Wiped():
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			log.Warn("cluster destroyed: this node's cluster identity is gone; exiting", "component", "NODE")
			return nil
		case <-wdTick:
			// Only pet the watchdog when our own loops answer: the status call takes the config
			// DB lock and reads raft state.
			done := make(chan cluster.NodeStatus, 1)
			go func() { done <- d.Status() }()
			select {
			case <-done:
				daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			case <-time.After(wd / 4):
				log.Error("node loops not answering; withholding watchdog", "component", "NODE")
			}
		case <-status.C:
			st := d.Status()
			daemon.SdNotify(false, fmt.Sprintf("STATUS=%s, leader %s, %d members alive, applied %d", st.RaftState, st.Leader, len(st.Members), st.Applied))
		}
	}
}
