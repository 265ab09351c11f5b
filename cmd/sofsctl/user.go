package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/spf13/cobra"
)

// userFile is the --file flag shared by the user subcommands.
var userFile string

var userCmd = &cobra.Command{
	Use:   "user",
	Short: "manage the SMB user database (NT hashes, never passwords)",
}

var userAddCmd = &cobra.Command{
	Use:   "add NAME",
	Short: "add a user or change its password; the password is the first line of stdin",
	Args:  cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		pw, err := readPassword(cmd.InOrStdin())
		if err != nil {
			return err
		}
		if err := auth.AddUser(userFile, args[0], pw); err != nil {
			return err
		}
		db, err := auth.LoadUserDB(userFile)
		if err != nil {
			return err
		}
		u, _ := db.Lookup(args[0])
		fmt.Fprintf(cmd.OutOrStdout(), "user %s (RID %d, %s) stored in %s\n", u.Name, u.RID, u.SID, userFile)
		return nil
	},
}

var userListCmd = &cobra.Command{
	Use:   "list",
	Short: "list users with RID and SID",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		db, err := auth.LoadUserDB(userFile)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		for _, u := range db.Users() {
			fmt.Fprintf(w, "%s\t%d\t%s\n", u.Name, u.RID, u.SID)
		}
		return nil
	},
}

var userDelCmd = &cobra.Command{
	Use:   "del NAME",
	Short: "delete a user",
	Args:  cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		return auth.DelUser(userFile, args[0])
	},
}

// readPassword reads one line from r, without its line terminator. An empty password is
// refused: it would make the account trivially guessable.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", errors.New("read password from stdin: empty password")
	}
	return line, nil
}

func init() {
	userCmd.PersistentFlags().StringVar(&userFile, "file", "", "user database file (required)")
	userCmd.MarkPersistentFlagRequired("file")
	userCmd.AddCommand(userAddCmd, userListCmd, userDelCmd)
	addCommand(userCmd)
}
