package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/cluster"
)

func init() {
	root := &cobra.Command{Use: "resource", Short: "list, create and configure resources"}
	addClusterConnFlags(root)
	list := &cobra.Command{
		Use:   "list",
		Short: "resources with group, state and failure reason",
		RunE: func(*cobra.Command, []string) error {
			s, err := fetchState()
			if err != nil {
				return err
			}
			var rs []*cluster.Resource
			for _, g := range s.SortedGroups() {
				for _, r := range s.GroupResources(g) {
					rs = append(rs, s.Resources[r])
				}
			}
			return output(rs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "RESOURCE\tTYPE\tGROUP\tSTATE\tNODE\tDEPENDS ON\tREASON")
				for _, r := range rs {
					state := string(r.State)
					if r.AdminOffline {
						state += " (held by administrator)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Type, r.Group, state, r.Node, strings.Join(r.DependsOn, ","), r.Reason)
				}
			})
		},
	}
	var group, typ string
	var deps, props []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "create a resource in a group (a dependency cycle is refused, naming the cycle)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			r := &cluster.Resource{Name: args[0], Group: group, Type: typ, DependsOn: deps, Props: map[string]string{}}
			for _, p := range props {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return fmt.Errorf("property %q: want key=value", p)
				}
				r.Props[k] = v
			}
			_, err := propose(cluster.Command{Op: cluster.OpPutResource, Resource: r})
			return err
		},
	}
	create.Flags().StringVar(&group, "group", "", "group")
	create.Flags().StringVar(&typ, "type", "", "resource type")
	create.Flags().StringSliceVar(&deps, "depends-on", nil, "resources (in the same group) this one needs")
	create.Flags().StringArrayVar(&props, "prop", nil, "property key=value (repeatable)")
	set := &cobra.Command{
		Use:   "set NAME key=value...",
		Short: "set resource properties",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			s, err := fetchState()
			if err != nil {
				return err
			}
			r, ok := s.Resources[args[0]]
			if !ok {
				return fmt.Errorf("no resource %q", args[0])
			}
			if r.Props == nil {
				r.Props = map[string]string{}
			}
			for _, p := range args[1:] {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return fmt.Errorf("property %q: want key=value", p)
				}
				r.Props[k] = v
			}
			_, err = propose(cluster.Command{Op: cluster.OpPutResource, Resource: r})
			return err
		},
	}
	for _, want := range []string{"online", "offline"} {
		root.AddCommand(&cobra.Command{
			Use:   want + " NAME",
			Short: "bring a resource " + want + " on its group's owner and wait for it (offline also holds its dependents offline)",
			Args:  cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, args []string) error {
				id, err := cluster.LoadClientDir(clusterCreds)
				if err != nil {
					return err
				}
				ctx, cancel := opCtx()
				defer cancel()
				return cluster.SetResourceAdmin(ctx, id, clusterNode, args[0], want)
			},
		})
	}
	root.AddCommand(list, create, set)
	addCommand(root)
}
