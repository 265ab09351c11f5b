package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/dnsreg"
)

// dnsFlags are the `sofsctl dns` options; each overrides the same field of --config.
// Until cluster state exists the node list comes from the config file or --node.
type dnsFlags struct {
	config, server, primary, zone, accessPoint, nodeZone, keyFile, keyName, owner string
	ttl                                                                           int
	nodes                                                                         []string
	timeout                                                                       time.Duration
	verbose                                                                       bool
}

func (f *dnsFlags) load() (dnsreg.ToolConfig, error) {
	var c dnsreg.ToolConfig
	if f.config != "" {
		var err error
		if c, err = dnsreg.LoadToolConfig(f.config); err != nil {
			return c, err
		}
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{{f.server, &c.Server}, {f.primary, &c.Primary}, {f.zone, &c.Zone}, {f.accessPoint, &c.AccessPoint},
		{f.nodeZone, &c.NodeZone}, {f.keyFile, &c.KeyFile}, {f.keyName, &c.KeyName}, {f.owner, &c.Owner}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	if f.ttl > 0 {
		c.TTL = f.ttl
	}
	if len(f.nodes) > 0 {
		c.Nodes = nil
		for _, s := range f.nodes {
			n, err := dnsreg.ParseNodeFlag(s)
			if err != nil {
				return c, err
			}
			c.Nodes = append(c.Nodes, n)
		}
	}
	if c.Server == "" && c.Primary == "" {
		return c, fmt.Errorf("no DNS server: give --server host:port (or server in --config)")
	}
	return c, nil
}

// prepare returns the desired records and an updater, with errors logged to stderr.
func (f *dnsFlags) prepare(cmd *cobra.Command) (dnsreg.RecordSet, *dnsreg.Updater, error) {
	c, err := f.load()
	if err != nil {
		return nil, nil, err
	}
	desired, err := c.Desired()
	if err != nil {
		return nil, nil, err
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	u, err := c.Updater(log)
	if err != nil {
		return nil, nil, err
	}
	return desired, u, nil
}

func (f *dnsFlags) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), f.timeout)
}

// report prints the comparison and returns the differences.
func report(ctx context.Context, cmd *cobra.Command, u *dnsreg.Updater, desired dnsreg.RecordSet) ([]dnsreg.Difference, error) {
	seen, err := u.Observe(ctx, desired.Names())
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	if err := dnsreg.WriteReport(cmd.OutOrStdout(), desired, seen); err != nil {
		return nil, err
	}
	return dnsreg.Compare(desired, seen), nil
}

func init() {
	f := &dnsFlags{}
	root := &cobra.Command{
		Use:   "dns",
		Short: "show, register and check the access point and node names in DNS",
		Long: `Compares the records the cluster wants (the access point resolving to every client
address of every up node, and each node's own name) with what the zone's primary
serves, and registers them with RFC 2136 updates signed with a TSIG key.

Only records we created are changed: each managed name has an ownership TXT record
at _sofs-owner.<name> listing the addresses we added there.

Nodes come from --config (JSON) or --node name=addr,addr (name:down=... for a down
node) until cluster state can be read.`,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&f.config, "config", "", "JSON file with server, zone, access_point, key_file, ttl, owner and nodes")
	pf.StringVar(&f.server, "server", "", "DNS server host:port used to find the zone and primary")
	pf.StringVar(&f.primary, "primary", "", "send updates here (host:port) instead of the SOA MNAME")
	pf.StringVar(&f.zone, "zone", "", "zone of the names (default: found with an SOA query)")
	pf.StringVar(&f.accessPoint, "access-point", "", "access point name clients use, e.g. fs1.corp.example")
	pf.StringVar(&f.nodeZone, "node-zone", "", "zone for per-node names (default: --zone, else the access point's parent)")
	pf.StringVar(&f.keyFile, "key-file", "", "BIND key file with the TSIG key for updates")
	pf.StringVar(&f.keyName, "key-name", "", "key in --key-file to use (default: the first)")
	pf.StringVar(&f.owner, "owner", "", "cluster identity written in ownership records (default sofs)")
	pf.IntVar(&f.ttl, "ttl", 0, "TTL in seconds of registered records (default 60)")
	pf.StringArrayVar(&f.nodes, "node", nil, "node and its client addresses: name=addr[,addr] or name:down=addr (repeatable)")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up after this long")
	pf.BoolVarP(&f.verbose, "verbose", "v", false, "log every DNS exchange")

	show := &cobra.Command{
		Use:   "show",
		Short: "print desired records, records seen in DNS (ours and others') and differences",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			desired, u, err := f.prepare(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := f.context()
			defer cancel()
			_, err = report(ctx, cmd, u, desired)
			return err
		},
	}
	register := &cobra.Command{
		Use:   "register",
		Short: "add missing records and remove stale ones of ours, then verify by query",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			desired, u, err := f.prepare(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := f.context()
			defer cancel()
			if err := u.Sync(ctx, desired); err != nil {
				return fmt.Errorf("register: %w", err)
			}
			diffs, err := report(ctx, cmd, u, desired)
			if err != nil {
				return err
			}
			if len(diffs) > 0 {
				return fmt.Errorf("register: %d names still differ after the update", len(diffs))
			}
			return nil
		},
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "compare DNS with the desired records; exit non-zero if they differ",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			desired, u, err := f.prepare(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := f.context()
			defer cancel()
			diffs, err := report(ctx, cmd, u, desired)
			if err != nil {
				return err
			}
			if len(diffs) > 0 {
				for _, d := range diffs {
					fmt.Fprintln(cmd.ErrOrStderr(), "differs:", d)
				}
				return fmt.Errorf("check: %d names differ", len(diffs))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "DNS matches")
			return nil
		},
	}
	root.AddCommand(show, register, check)
	addCommand(root)
}
