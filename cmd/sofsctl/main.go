// Command sofsctl administers sofs: users, pools and virtual disks, volumes, the cluster and DNS.
//
// Each area registers its own subcommands from its own file (user.go, pool.go, cluster.go, ...)
// with addCommand in an init function, so areas are built independently.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "sofsctl",
	Short:         "administer a sofs cluster",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// addCommand registers a top-level subcommand; called from init functions.
func addCommand(c *cobra.Command) { rootCmd.AddCommand(c) }

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sofsctl:", err)
		os.Exit(1)
	}
}
