package main

import "github.com/spf13/cobra"

// `sofsd witness` runs a vote-only member: it holds a raft vote (used by dynamic quorum only
// when it makes the count odd) and stores the config log, but hosts no resources.
func init() {
	f := &nodeFlags{}
	c := &cobra.Command{
		Use:   "witness",
		Short: "run a quorum witness (votes and stores only the config log)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return runClusterNode(cmd.Context(), f, true) },
	}
	f.register(c)
	addCommand(c)
}
