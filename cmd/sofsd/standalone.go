package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/csv"
	"github.com/sofs-dev/sofs/smb/auth"
	"github.com/sofs-dev/sofs/smb/server"
	"github.com/sofs-dev/sofs/smb/vfs/localfs"
)

// standaloneFlags are the settings of `sofsd standalone`, one SMB server with no cluster.
type standaloneFlags struct {
	listen            []string
	users             string
	shares            []string
	requireSigning    bool
	requireEncryption bool
	name              string
	logLevel          string
	csvEpoch          uint64
	durableTimeout    time.Duration
	maxIO             uint32
}

func init() {
	f := &standaloneFlags{}
	cmd := &cobra.Command{
		Use:   "standalone",
		Short: "serve SMB shares from this machine, without a cluster",
		Long: `Serve SMB 2.0.2–3.1.1 shares from local directories until SIGTERM or SIGINT.

  sofsd standalone --listen 127.0.0.1:4455 --users USERS --share data=/srv/data [--share more=/other] \
        [--share vol=csv:/path/to/disk-or-vdisk] [--require-signing] [--require-encryption]

A share is a local directory, or with the csv: prefix a cluster shared volume on a file or block
device formatted with "sofsctl csv format".

The user database is made with "sofsctl user add --file USERS NAME". Port 445 is the default when
running as root.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runStandalone(cmd.Context(), f) },
	}
	cmd.Flags().StringArrayVar(&f.listen, "listen", nil, "address to listen on (repeatable; default :445 as root)")
	cmd.Flags().StringVar(&f.users, "users", "", "user database file (required)")
	cmd.Flags().StringArrayVar(&f.shares, "share", nil, "NAME=DIR share (repeatable)")
	cmd.Flags().BoolVar(&f.requireSigning, "require-signing", false, "require every session to sign")
	cmd.Flags().BoolVar(&f.requireEncryption, "require-encryption", false, "require SMB 3 encryption on every session")
	cmd.Flags().StringVar(&f.name, "name", "", "server name reported to clients (default: host name)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().DurationVar(&f.durableTimeout, "durable-timeout", server.DefaultDurableTimeout, "longest a durable handle outlives its connection")
	cmd.Flags().Uint32Var(&f.maxIO, "max-io", 0, "largest READ/WRITE/transact payload offered to 2.1+ clients, 64 KiB..8 MiB (default 8 MiB)")
	cmd.Flags().Uint64Var(&f.csvEpoch, "csv-epoch", 1, "owner epoch for csv: shares (a volume fenced by a newer epoch is refused)")
	addCommand(cmd)
}

func runStandalone(ctx context.Context, f *standaloneFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if f.users == "" {
		return errors.New("--users is required (create it with: sofsctl user add --file USERS NAME)")
	}
	users, err := auth.LoadUserDB(f.users)
	if err != nil {
		return err
	}
	if len(f.shares) == 0 {
		return errors.New("at least one --share NAME=DIR is required")
	}
	cfg := server.Config{
		Users:             users,
		RequireSigning:    f.requireSigning,
		RequireEncryption: f.requireEncryption,
		Logger:            log,
		ServerName:        f.name,
		DurableTimeout:    f.durableTimeout,
		MaxIOSize:         f.maxIO,
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			if err := c.Close(); err != nil {
				log.Error("closing share", "err", err)
			}
		}
	}()
	for _, spec := range f.shares {
		sh, closer, err := openShare(spec, f.csvEpoch)
		if err != nil {
			return err
		}
		if closer != nil {
			closers = append(closers, closer)
		}
		cfg.Shares = append(cfg.Shares, sh)
	}
	if cfg.ServerName == "" {
		host, _ := os.Hostname()
		cfg.ServerName = strings.ToUpper(strings.SplitN(host, ".", 2)[0])
	}
	listen := f.listen
	if len(listen) == 0 {
		if os.Geteuid() != 0 {
			return errors.New("--listen is required when not root (port 445 needs root)")
		}
		listen = []string{":445"}
	}
	cfg.ServerGUID = stableGUID(listen)
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	var lns []net.Listener
	for _, addr := range listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		log.Info("serving SMB", "addr", ln.Addr().String(), "shares", len(cfg.Shares))
		go func(ln net.Listener) { errc <- srv.Serve(ln) }(ln)
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		log.Error("listener failed", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// openShare parses NAME=DIR or NAME=csv:PATH and opens the backend; the closer (if any) must be
// closed after the server stops.
func openShare(spec string, csvEpoch uint64) (server.Share, io.Closer, error) {
	name, path, ok := strings.Cut(spec, "=")
	if !ok || name == "" || path == "" {
		return server.Share{}, nil, fmt.Errorf("--share %q: want NAME=DIR or NAME=csv:PATH", spec)
	}
	if dev, ok := strings.CutPrefix(path, "csv:"); ok {
		vol, err := csv.OpenPath(dev, csv.MountOptions{Epoch: csvEpoch})
		if err != nil {
			return server.Share{}, nil, fmt.Errorf("--share %s: mount volume: %w", name, err)
		}
		return server.Share{Name: name, FS: vol}, vol, nil
	}
	fs, err := localfs.New(path, localfs.Options{Label: name})
	if err != nil {
		return server.Share{}, nil, fmt.Errorf("--share %s: %w", name, err)
	}
	return server.Share{Name: name, FS: fs}, nil, nil
}

// stableGUID derives the server GUID from the machine id and the listen addresses, so it stays
// the same across restarts of the same server (clients use it to recognise the server).
func stableGUID(listen []string) [16]byte {
	h := sha256.New()
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		h.Write(id)
	} else if host, err := os.Hostname(); err == nil {
		h.Write([]byte(host))
	}
	for _, l := range listen {
		h.Write([]byte(l))
	}
	var g [16]byte
	copy(g[:], h.Sum(nil))
	g[6] = g[6]&0x0f | 0x50 // a name-based GUID, version 5 style
	g[8] = g[8]&0x3f | 0x80
	return g
}
