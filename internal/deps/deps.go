//go:build tools

// Package deps pins the modules sofs depends on so that go.mod stays complete while
// packages are being built up in parallel. It is never compiled into a binary.
package deps

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/geoffgarside/ber"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/hashicorp/raft"
	_ "github.com/hashicorp/raft-boltdb/v2"
	_ "github.com/hirochachacha/go-smb2"
	_ "github.com/miekg/dns"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "github.com/vishvananda/netlink"
	_ "github.com/vishvananda/netns"
	_ "go.etcd.io/bbolt"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/md4"
	_ "golang.org/x/sys/unix"
	_ "pgregory.net/rapid"
)
