package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/cluster"
)

func init() {
	root := &cobra.Command{Use: "node", Short: "list, pause (drain), resume and evict cluster nodes"}
	addClusterConnFlags(root)
	list := &cobra.Command{
		Use:   "list",
		Short: "nodes with state, vote and groups owned",
		RunE: func(*cobra.Command, []string) error {
			s, err := fetchState()
			if err != nil {
				return err
			}
			var nodes []*cluster.Node
			for _, id := range s.SortedNodes() {
				nodes = append(nodes, s.Nodes[id])
			}
			return output(nodes, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NODE\tSTATE\tVOTE\tADDRESS\tGROUPS\tVERSION")
				for _, n := range nodes {
					owned := 0
					for _, g := range s.Groups {
						if g.Owner == n.ID {
							owned++
						}
					}
					state := string(n.State)
					if n.Witness {
						state += " (witness)"
					}
					if n.Draining {
						state += " (draining)"
					}
					fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%d\t%s\n", n.ID, state, n.Vote, n.Addr, owned, n.Version)
				}
			})
		},
	}
	var drain bool
	pause := &cobra.Command{
		Use:   "pause NODE",
		Short: "pause a node; with --drain move its groups elsewhere (at most K at a time)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := clusterClient()
			if err != nil {
				return err
			}
			return c.Pause(longCtx(), args[0], drain, func(p string) { fmt.Fprintln(os.Stderr, p) })
		},
	}
	pause.Flags().BoolVar(&drain, "drain", false, "move every group off the node")
	var failback string
	resume := &cobra.Command{
		Use:   "resume NODE",
		Short: "resume a paused node",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := clusterClient()
			if err != nil {
				return err
			}
			return c.Resume(longCtx(), args[0], failback)
		},
	}
	resume.Flags().StringVar(&failback, "failback", "policy", "immediate (move drained groups back), policy (each group's failback policy) or none")
	evict := &cobra.Command{
		Use:   "evict NODE",
		Short: "remove a node that owns no groups from the cluster database and raft (`cluster leave` drains first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			_, err := propose(cluster.Command{Op: cluster.OpRemoveNode, Name: args[0]})
			return err
		},
	}
	root.AddCommand(list, pause, resume, evict)
	addCommand(root)
}
