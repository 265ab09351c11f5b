package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sofs-dev/sofs/csv"
)

func init() {
	root := &cobra.Command{
		Use:   "csv",
		Short: "format, check and show cluster shared volumes",
	}

	var label string
	var size int64
	var journalBlocks, checkpointBlocks, epoch uint64
	format := &cobra.Command{
		Use:   "format PATH",
		Short: "write an empty volume onto a file, block device or virtual disk",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			var dev *csv.FileDevice
			var err error
			if size > 0 {
				if _, statErr := os.Stat(path); statErr == nil {
					return fmt.Errorf("format %s: --size given but the file exists; remove it first", path)
				}
				dev, err = csv.CreateFileDevice(path, size)
			} else {
				dev, err = csv.OpenFileDevice(path)
			}
			if err != nil {
				return err
			}
			defer dev.Close()
			opts := csv.FormatOptions{Label: label, JournalBlocks: journalBlocks, CheckpointBlocks: checkpointBlocks, Epoch: epoch}
			if err := csv.Format(dev, opts); err != nil {
				return fmt.Errorf("format %s: %w", path, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "formatted %s: %d MiB\n", path, dev.Size()>>20)
			return nil
		},
	}
	format.Flags().StringVar(&label, "label", "", "volume label (at most 32 bytes)")
	format.Flags().Int64Var(&size, "size", 0, "create PATH as a sparse file of this many bytes")
	format.Flags().Uint64Var(&journalBlocks, "journal-blocks", 0, "journal size in 4 KiB blocks (default: from the device size)")
	format.Flags().Uint64Var(&checkpointBlocks, "checkpoint-blocks", 0, "size of each checkpoint area in 4 KiB blocks (default: from the device size)")
	format.Flags().Uint64Var(&epoch, "epoch", 0, "initial owner epoch")

	check := &cobra.Command{
		Use:   "check PATH",
		Short: "verify every invariant of a volume without changing it; exits non-zero on any problem",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := checkPath(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, n := range r.Notes {
				fmt.Fprintln(out, "note:", n)
			}
			for _, p := range r.Problems {
				fmt.Fprintln(out, "problem:", p)
			}
			if !r.OK() {
				return fmt.Errorf("check %s: %d problems", args[0], len(r.Problems))
			}
			fmt.Fprintf(out, "%s: clean: %d files, %d directories, %d of %d data blocks used\n",
				args[0], r.Files, r.Dirs, r.UsedBlocks, r.DataBlocks)
			return nil
		},
	}

	show := &cobra.Command{
		Use:   "show PATH",
		Short: "print a volume's superblock, layout and usage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := checkPath(args[0])
			if err != nil {
				return err
			}
			sb := r.Superblock
			out := cmd.OutOrStdout()
			if sb == nil {
				return fmt.Errorf("show %s: unreadable: %v", args[0], r.Problems)
			}
			fmt.Fprintf(out, "volume id:        %s\n", hex.EncodeToString(sb.VolumeID[:]))
			fmt.Fprintf(out, "label:            %q\n", sb.Label)
			fmt.Fprintf(out, "format version:   %d\n", sb.FormatVersion)
			fmt.Fprintf(out, "created:          %s\n", time.Unix(0, sb.CreatedUnix).UTC().Format(time.RFC3339))
			fmt.Fprintf(out, "owner epoch:      %d\n", sb.OwnerEpoch)
			fmt.Fprintf(out, "blocks:           %d x %d bytes\n", sb.TotalBlocks, sb.BlockSize)
			fmt.Fprintf(out, "journal:          blocks %d..%d (%d used since checkpoint)\n", sb.JournalStart, sb.JournalStart+sb.JournalBlocks, r.JournalUsedBlock)
			fmt.Fprintf(out, "checkpoints:      A at %d, B at %d, %d blocks each; newest generation %d\n", sb.CheckpointStart[0], sb.CheckpointStart[1], sb.CheckpointBlocks, r.CheckpointGen)
			fmt.Fprintf(out, "data:             blocks %d..%d; %d used, %d shared\n", sb.DataStart, sb.TotalBlocks, r.UsedBlocks, r.SharedBlocks)
			fmt.Fprintf(out, "objects:          %d files, %d directories, %d distinct security descriptors\n", r.Files, r.Dirs, r.SecurityDescriptors)
			fmt.Fprintf(out, "journal replayed: %d records\n", r.ReplayedRecords)
			fmt.Fprintf(out, "problems:         %d\n", len(r.Problems))
			return nil
		},
	}
	root.AddCommand(format, check, show)
	addCommand(root)
}

func checkPath(path string) (*csv.Report, error) {
	dev, err := csv.OpenFileDeviceReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	return csv.Check(dev), nil
}
