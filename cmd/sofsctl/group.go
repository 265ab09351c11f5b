package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/cluster"
)

// longCtx is for operations that wait (drains, moves): they end on Ctrl-C.
func longCtx() context.Context {
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt)
	return ctx
}

func init() {
	root := &cobra.Command{Use: "group", Short: "list, create and move resource groups"}
	addClusterConnFlags(root)
	list := &cobra.Command{
		Use:   "list",
		Short: "groups with owner, state and reason",
		RunE: func(*cobra.Command, []string) error {
			s, err := fetchState()
			if err != nil {
				return err
			}
			var gs []*cluster.Group
			for _, n := range s.SortedGroups() {
				gs = append(gs, s.Groups[n])
			}
			return output(gs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "GROUP\tOWNER\tSTATE\tEPOCH\tPREFERRED\tREASON")
				for _, g := range gs {
					reason := g.Reason
					if reason == "" {
						reason = g.MoveReason
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", g.Name, g.Owner, g.State, g.Epoch, strings.Join(g.Policy.PreferredOwners, ","), reason)
				}
			})
		},
	}
	var preferred, possible, anti []string
	var failback, priority string
	var enforced bool
	var window [2]int
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "create a group (or update its policy)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			p := cluster.DefaultPolicy()
			p.PreferredOwners, p.PossibleOwners, p.AntiAffinity, p.AntiAffinityEnforced = preferred, possible, anti, enforced
			p.Failback = cluster.FailbackMode(failback)
			p.FailbackWindowStart, p.FailbackWindowEnd = window[0], window[1]
			switch priority {
			case "high":
				p.Priority = cluster.PriorityHigh
			case "medium":
				p.Priority = cluster.PriorityMedium
			case "low":
				p.Priority = cluster.PriorityLow
			case "no-auto-start":
				p.Priority = cluster.PriorityNoAutoStart
			default:
				return fmt.Errorf("priority %q: want high, medium, low or no-auto-start", priority)
			}
			_, err := propose(cluster.Command{Op: cluster.OpPutGroup, Group: &cluster.Group{Name: args[0], Policy: p}})
			return err
		},
	}
	create.Flags().StringSliceVar(&preferred, "preferred", nil, "preferred owners, in order")
	create.Flags().StringSliceVar(&possible, "possible", nil, "possible owners (default: every node)")
	create.Flags().StringSliceVar(&anti, "anti-affinity", nil, "anti-affinity class names")
	create.Flags().BoolVar(&enforced, "anti-affinity-enforced", false, "never place two groups of a class on one node")
	create.Flags().StringVar(&failback, "failback", "none", "none, immediate or window")
	create.Flags().IntVar(&window[0], "failback-from", 0, "failback window start hour (UTC)")
	create.Flags().IntVar(&window[1], "failback-to", 0, "failback window end hour (UTC)")
	create.Flags().StringVar(&priority, "priority", "medium", "high, medium, low or no-auto-start")
	move := &cobra.Command{
		Use:   "move GROUP NODE",
		Short: "move a group to a node and wait until it is online there",
		Args:  cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := clusterClient()
			if err != nil {
				return err
			}
			return c.Move(longCtx(), args[0], args[1])
		},
	}
	root.AddCommand(list, create, move)
	addCommand(root)
}
