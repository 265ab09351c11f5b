// Command sofsd is the sofs daemon: one per node.
//
// Modes register themselves from their own files (standalone.go, witness.go, ...) with addCommand.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

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
	// SOFS_CPUPROFILE=FILE profiles the daemon until it exits cleanly (SIGTERM/SIGINT), for
	// engineers chasing a benchmark figure: `go tool pprof bin/sofsd FILE`.
	if path := os.Getenv("SOFS_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sofsd: SOFS_CPUPROFILE:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "sofsd: SOFS_CPUPROFILE:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sofsd:", err)
		os.Exit(1)
	}
}
