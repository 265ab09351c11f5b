package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/cluster"
)

// Connection flags shared by the cluster, node, group and resource commands.
var (
	clusterCreds  string
	clusterNode   string
	clusterOutput string
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func addClusterConnFlags(c *cobra.Command) {
	c.PersistentFlags().StringVar(&clusterCreds, "creds", envOr("SOFS_CREDS", "/var/lib/sofs"), "directory with ca.crt and admin.crt/admin.key (or node.crt/node.key) [$SOFS_CREDS]")
	c.PersistentFlags().StringVar(&clusterNode, "node-addr", envOr("SOFS_NODE", fmt.Sprintf("127.0.0.1:%d", cluster.DefaultPort)), "cluster address of any node [$SOFS_NODE]")
	c.PersistentFlags().StringVarP(&clusterOutput, "output", "o", "table", "output format: table or json")
}

func clusterClient() (*cluster.Client, error) {
	id, err := cluster.LoadClientDir(clusterCreds)
	if err != nil {
		return nil, err
	}
	return cluster.NewClient(id, clusterNode), nil
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// output prints v as JSON with -o json, else calls table with a tabwriter.
func output(v any, table func(w *tabwriter.Writer)) error {
	if clusterOutput == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

func propose(cmd cluster.Command) (cluster.Result, error) {
	c, err := clusterClient()
	if err != nil {
		return cluster.Result{}, err
	}
	ctx, cancel := opCtx()
	defer cancel()
	return c.Propose(ctx, cmd)
}

func fetchState() (*cluster.State, error) {
	c, err := clusterClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := opCtx()
	defer cancel()
	return c.State(ctx)
}

func init() {
	root := &cobra.Command{Use: "cluster", Short: "create, join and inspect the failover cluster"}
	addClusterConnFlags(root)

	var data, name, id, addr string
	create := &cobra.Command{
		Use:   "create",
		Short: "create a cluster CA and the first node's identity in --data (start it with `sofsd node --data`)",
		RunE: func(*cobra.Command, []string) error {
			addr = cluster.WithDefaultPort(addr)
			if err := cluster.CreateCluster(data, name, id, addr); err != nil {
				return err
			}
			fmt.Printf("cluster %s created in %s (node %s at %s); admin credentials: %s/admin.crt\n", name, data, id, addr, data)
			return nil
		},
	}
	create.Flags().StringVar(&data, "data", "/var/lib/sofs", "data directory of the first node")
	create.Flags().StringVar(&name, "name", "sofs", "cluster name")
	create.Flags().StringVar(&id, "id", "", "first node ID")
	create.Flags().StringVar(&addr, "addr", "", "first node's cluster address (host[:port])")
	create.MarkFlagRequired("id")
	create.MarkFlagRequired("addr")

	var ttl time.Duration
	token := &cobra.Command{
		Use:   "token",
		Short: "make a one-time join token (use with `sofsd node --via ADDR --token T`)",
		RunE: func(*cobra.Command, []string) error {
			c, err := clusterClient()
			if err != nil {
				return err
			}
			ctx, cancel := opCtx()
			defer cancel()
			t, err := c.Token(ctx, ttl)
			if err != nil {
				return err
			}
			fmt.Println(t)
			return nil
		},
	}
	token.Flags().DurationVar(&ttl, "ttl", time.Hour, "token lifetime")

	status := &cobra.Command{
		Use:   "status",
		Short: "cluster name, leader, nodes and groups",
		RunE: func(*cobra.Command, []string) error {
			c, err := clusterClient()
			if err != nil {
				return err
			}
			ctx, cancel := opCtx()
			defer cancel()
			s, err := c.State(ctx)
			if err != nil {
				return err
			}
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			return output(map[string]any{"state": s, "status": st}, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "cluster\t%s\nleader (update coordinator)\t%s\nvoters\t%s\nfunctional level\t%d\nnodes\t%d\ngroups\t%d\nresources\t%d\n",
					s.Cluster.Name, st.Leader, strings.Join(st.Voters, ","), s.Cluster.FunctionalLevel, len(s.Nodes), len(s.Groups), len(s.Resources))
			})
		},
	}

	var stuckAfter time.Duration
	gum := &cobra.Command{
		Use:   "gum",
		Short: "global update manager: the leader, each node's last applied index, lagging and stuck nodes",
		RunE: func(*cobra.Command, []string) error {
			id, err := cluster.LoadClientDir(clusterCreds)
			if err != nil {
				return err
			}
			ctx, cancel := opCtx()
			defer cancel()
			c := cluster.NewClient(id, clusterNode)
			s, err := c.State(ctx)
			if err != nil {
				return err
			}
			type row struct {
				Node    string `json:"node"`
				State   string `json:"raft_state"`
				Applied uint64 `json:"applied"`
				Lag     uint64 `json:"lag"`
				Verdict string `json:"verdict"`
			}
			var rows []row
			var commit uint64
			statuses := map[string]*cluster.NodeStatus{}
			for _, n := range s.SortedNodes() {
				st, err := cluster.NewClient(id, s.Nodes[n].Addr).Status(ctx)
				if err != nil {
					rows = append(rows, row{Node: n, State: "unreachable", Verdict: err.Error()})
					continue
				}
				statuses[n] = st
				commit = max(commit, st.CommitIndex)
			}
			// Sample again after stuckAfter: a node that has not moved while it lags is stuck.
			time.Sleep(stuckAfter) // a deliberate observation window, not synchronisation
			for _, n := range s.SortedNodes() {
				first := statuses[n]
				if first == nil {
					continue
				}
				st, err := cluster.NewClient(id, s.Nodes[n].Addr).Status(ctx)
				if err != nil {
					rows = append(rows, row{Node: n, State: "unreachable", Verdict: err.Error()})
					continue
				}
				r := row{Node: n, State: st.RaftState, Applied: st.Applied}
				if commit > st.Applied {
					r.Lag = commit - st.Applied
				}
				switch {
				case r.Lag > 0 && st.Applied == first.Applied:
					r.Verdict = fmt.Sprintf("STUCK (no progress in %s)", stuckAfter)
				case r.Lag > 0:
					r.Verdict = "lagging"
				default:
					r.Verdict = "ok"
				}
				rows = append(rows, r)
			}
			slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.Node, b.Node) })
			return output(rows, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NODE\tRAFT\tAPPLIED\tLAG\tVERDICT")
				for _, r := range rows {
					lead := ""
					if r.State == "Leader" {
						lead = " (GUM coordinator)"
					}
					fmt.Fprintf(w, "%s\t%s%s\t%d\t%d\t%s\n", r.Node, r.State, lead, r.Applied, r.Lag, r.Verdict)
				}
			})
		},
	}
	gum.Flags().DurationVar(&stuckAfter, "stuck-after", 2*time.Second, "a lagging node that applies nothing for this long is stuck")

	var follow bool
	events := &cobra.Command{
		Use:   "events",
		Short: "stream node, group and resource state changes",
		RunE: func(*cobra.Command, []string) error {
			c, err := clusterClient()
			if err != nil {
				return err
			}
			ctx := context.Background()
			if !follow {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
			}
			enc := json.NewEncoder(os.Stdout)
			return c.Events(ctx, func(ev cluster.Event) {
				if clusterOutput == "json" {
					enc.Encode(ev)
					return
				}
				fmt.Printf("%s  #%d  %-18s %-12s %s\n", ev.Time.Format(time.RFC3339Nano), ev.Index, ev.Op, ev.Name, ev.Detail)
			})
		},
	}
	events.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming")

	var tie, profile, witness, accessPoint string
	set := &cobra.Command{
		Use:   "set",
		Short: "set cluster options (tie-breaker node, failure detection profile, witness)",
		RunE: func(*cobra.Command, []string) error {
			_, err := propose(cluster.Command{Op: cluster.OpSetClusterOptions, Cluster: &cluster.ClusterInfo{TieBreaker: tie, Profile: profile, Witness: witness, AccessPoint: accessPoint}})
			return err
		},
	}
	set.Flags().StringVar(&tie, "tie-breaker", "", "node that keeps its vote in a 50/50 split without a witness")
	set.Flags().StringVar(&profile, "profile", "", "failure detection profile recorded for nodes (default, fast)")
	set.Flags().StringVar(&witness, "witness", "", "witness node ID (a `sofsd witness` member), or - to clear")
	set.Flags().StringVar(&accessPoint, "access-point", "", "DNS name clients use for the cluster (checked by validate), or - to clear")

	var updCmd string
	var maxFailed int
	var rebootTimeout time.Duration
	update := &cobra.Command{
		Use:   "update",
		Short: "updating run: drain each node in turn, run --command on it, wait for it, resume with failback",
		RunE: func(*cobra.Command, []string) error {
			id, err := cluster.LoadClientDir(clusterCreds)
			if err != nil {
				return err
			}
			rep, err := cluster.RunUpdate(longCtx(), id, []string{clusterNode}, cluster.UpdateOptions{
				Command: updCmd, MaxFailedNodes: maxFailed, RebootTimeout: rebootTimeout,
				Progress: func(p string) { fmt.Fprintln(os.Stderr, p) },
			})
			if err != nil {
				return err
			}
			if err := output(rep, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NODE\tGROUPS\tRESTARTED\tDURATION\tRESULT")
				for _, r := range rep.Nodes {
					result := "ok"
					if r.Err != "" {
						result = r.Err
					}
					fmt.Fprintf(w, "%s\t%d\t%v\t%s\t%s\n", r.Node, r.Groups, r.Restart, r.Duration.Round(time.Millisecond), result)
				}
			}); err != nil {
				return err
			}
			if rep.Stopped {
				return fmt.Errorf("updating run stopped after %d failed nodes", rep.Failed)
			}
			return nil
		},
	}
	update.Flags().StringVar(&updCmd, "command", "", "command to run on each node (sh -c)")
	update.Flags().IntVar(&maxFailed, "max-failed-nodes", 0, "stop once more nodes than this have failed")
	update.Flags().DurationVar(&rebootTimeout, "reboot-timeout", 15*time.Minute, "how long to wait for a node to come back")
	update.MarkFlagRequired("command")

	var since time.Duration
	logCmd := &cobra.Command{
		Use:   "log",
		Short: "gather every node's log into one time-ordered listing (like Get-ClusterLog)",
		RunE: func(*cobra.Command, []string) error {
			id, err := cluster.LoadClientDir(clusterCreds)
			if err != nil {
				return err
			}
			ctx, cancel := opCtx()
			defer cancel()
			recs, missing, err := cluster.GatherLog(ctx, id, clusterNode, time.Now().Add(-since))
			if err != nil {
				return err
			}
			for _, m := range missing {
				fmt.Fprintln(os.Stderr, "unreachable:", m)
			}
			if clusterOutput == "json" {
				enc := json.NewEncoder(os.Stdout)
				for _, r := range recs {
					enc.Encode(r)
				}
				return nil
			}
			for _, r := range recs {
				fmt.Printf("%s %-4s [%s] %-5s %s %s\n", r.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), r.Node, r.Component, r.Level, r.Msg, r.Attrs)
			}
			return nil
		},
	}
	logCmd.Flags().DurationVar(&since, "since", 10*time.Minute, "how far back")

	var maxSkew time.Duration
	validate := &cobra.Command{
		Use:   "validate",
		Short: "check reachability between all nodes, versions, kernels, clock skew, name resolution and node probes (shared disks)",
		RunE: func(*cobra.Command, []string) error {
			id, err := cluster.LoadClientDir(clusterCreds)
			if err != nil {
				return err
			}
			ctx, cancel := opCtx()
			defer cancel()
			rep, err := cluster.Validate(ctx, id, clusterNode, maxSkew)
			if err != nil {
				return err
			}
			if err := output(rep, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "CHECK\tRESULT\tDETAIL")
				for _, c := range rep.Checks {
					res := "ok"
					switch {
					case c.Warning:
						res = "WARNING"
					case !c.OK:
						res = "FAILED"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", c.Check, res, c.Detail)
				}
			}); err != nil {
				return err
			}
			if rep.Failed > 0 {
				return fmt.Errorf("%d checks failed, %d warnings", rep.Failed, rep.Warnings)
			}
			return nil
		},
	}
	validate.Flags().DurationVar(&maxSkew, "max-skew", 2*time.Second, "largest acceptable clock skew")

	var jData, jID, jAddr, jVia, jToken string
	var jWitness bool
	join := &cobra.Command{
		Use:   "join",
		Short: "get this node's certificate with a one-time token into --data (start it with `sofsd node --data`, or `sofsd witness` with --witness)",
		RunE: func(*cobra.Command, []string) error {
			jAddr = cluster.WithDefaultPort(jAddr)
			ctx, cancel := opCtx()
			defer cancel()
			if err := cluster.JoinCluster(ctx, jData, jID, jAddr, jVia, jToken, jWitness); err != nil {
				return err
			}
			fmt.Printf("node %s joined through %s; identity in %s; start it with `sofsd node --data %s --peer %s`\n", jID, jVia, jData, jData, jVia)
			return nil
		},
	}
	join.Flags().StringVar(&jData, "data", "/var/lib/sofs", "data directory of the joining node")
	join.Flags().StringVar(&jID, "id", "", "joining node's ID")
	join.Flags().StringVar(&jAddr, "addr", "", "joining node's cluster address (host[:port])")
	join.Flags().StringVar(&jVia, "via", "", "address of a cluster node")
	join.Flags().StringVar(&jToken, "token", "", "one-time join token from `sofsctl cluster token`")
	join.Flags().BoolVar(&jWitness, "witness", false, "join as a vote-only witness")
	for _, f := range []string{"id", "addr", "via", "token"} {
		join.MarkFlagRequired(f)
	}

	leave := &cobra.Command{
		Use:   "leave NODE",
		Short: "drain NODE, remove it from the config DB and raft (then stop its sofsd)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := cluster.LoadClientDir(clusterCreds)
			if err != nil {
				return err
			}
			if err := cluster.Leave(longCtx(), id, clusterNode, args[0], func(p string) { fmt.Fprintln(os.Stderr, p) }); err != nil {
				return err
			}
			fmt.Printf("%s left the cluster; stop its sofsd and clear its data dir\n", args[0])
			return nil
		},
	}

	setWitness := &cobra.Command{
		Use:   "set-witness WITNESS|-",
		Short: "record the witness (a joined `sofsd witness` member) whose vote breaks ties, or - to clear",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			_, err := propose(cluster.Command{Op: cluster.OpSetClusterOptions, Cluster: &cluster.ClusterInfo{Witness: args[0]}})
			return err
		},
	}

	var yes bool
	destroy := &cobra.Command{
		Use:   "destroy",
		Short: "take every resource offline, then stop every node and remove its cluster identity and config DB",
		RunE: func(*cobra.Command, []string) error {
			if !yes {
				return fmt.Errorf("destroy ends the cluster for good: every resource goes offline and every node forgets it; repeat with --yes")
			}
			id, err := cluster.LoadClientDir(clusterCreds)
			if err != nil {
				return err
			}
			rep, err := cluster.Destroy(longCtx(), id, clusterNode, func(p string) { fmt.Fprintln(os.Stderr, p) })
			if err != nil {
				return err
			}
			if err := output(rep, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NODE\tRESULT")
				for _, n := range rep.Wiped {
					fmt.Fprintf(w, "%s\twiped and stopped\n", n)
				}
				for n, why := range rep.NotReached {
					fmt.Fprintf(w, "%s\tNOT REACHED (stop it and clear its data dir by hand): %s\n", n, why)
				}
			}); err != nil {
				return err
			}
			if len(rep.NotReached) > 0 {
				return fmt.Errorf("%d nodes not reached", len(rep.NotReached))
			}
			return nil
		},
	}
	destroy.Flags().BoolVar(&yes, "yes", false, "really destroy the cluster")

	root.AddCommand(create, join, leave, destroy, token, status, gum, events, set, setWitness, update, logCmd, validate)
	addCommand(root)
}
