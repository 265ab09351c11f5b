package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/internal/agents"
	"github.com/sofs-dev/sofs/spaces"
)

func init() {
	root := &cobra.Command{Use: "volume", Short: "make cluster shared volumes (a pool, a virtual disk and a csv volume on it)"}
	var disks []string
	var name, size, diskSize, resiliency, label string
	var force bool
	create := &cobra.Command{
		Use:   "create --disk PATH --disk PATH ... --name NAME --size SIZE [--disk-size SIZE]",
		Short: "format a new pool on the disks, a virtual disk in it and an empty volume on that",
		Long: `Format a new pool on the disks (destroying their contents), a virtual disk NAME of SIZE in it
and an empty cluster shared volume on the virtual disk, all with owner epoch 0, so the cluster
group that hosts it (epoch 1 and up) takes over at its first online. Each volume gets its own
pool: a pool has one owner, fenced by the epoch of the group that hosts it.

Disks that already hold a pool are refused unless --force is given. With --disk-size, disk paths that do not exist are created as sparse files of that size.

Then let the cluster host it (every node must see the disks at the same paths):

  sofsctl group create g-NAME
  sofsctl resource create NAME --group g-NAME --type vdisk/volume --prop disks=PATH,PATH --prop vdisk=NAME
  sofsctl resource create SHARE --group g-NAME --type share --depends-on NAME --prop volume=NAME`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(disks) == 0 || name == "" || size == "" {
				return fmt.Errorf("--disk (one or more), --name and --size are required")
			}
			sz, err := parseSize(size)
			if err != nil {
				return fmt.Errorf("--size: %w", err)
			}
			opts := agents.FormatOptions{Resiliency: spaces.Resiliency(resiliency), Label: label, Force: force}
			if diskSize != "" {
				if opts.DiskSize, err = parseSize(diskSize); err != nil {
					return fmt.Errorf("--disk-size: %w", err)
				}
			}
			if err := agents.FormatVolume(disks, name, sz, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "volume %s: %s %s on %d disks, formatted\n", name, humanBytes(sz), opts.Resiliency, len(disks))
			return nil
		},
	}
	create.Flags().StringArrayVar(&disks, "disk", nil, "disk path (file or block device); repeat for each disk")
	create.Flags().StringVar(&name, "name", "", "virtual disk (and volume) name")
	create.Flags().StringVar(&size, "size", "", "virtual disk size (K, M, G, T suffixes)")
	create.Flags().StringVar(&diskSize, "disk-size", "", "create missing disk files as sparse files of this size")
	create.Flags().StringVar(&resiliency, "resiliency", "mirror", "simple, mirror or mirror3")
	create.Flags().StringVar(&label, "label", "", "volume label (at most 32 bytes)")
	create.Flags().BoolVar(&force, "force", false, "format disks that already hold a pool, destroying it (refused otherwise)")
	root.AddCommand(create)
	addCommand(root)
}
