// Command sofsd is the sofs daemon: one per node.
//
// Modes register themselves from their own files (standalone.go, witness.go, ...) with addCommand.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "sofsd",
	Short:         "sofs clustered SMB 3 file server daemon",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// addCommand registers a mode; called from init functions.
func addCommand(c *cobra.Command) { rootCmd.AddCommand(c) }

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sofsd:", err)
		os.Exit(1)
	}
}
