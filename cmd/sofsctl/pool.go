package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/sofs-dev/sofs/spaces"
	"github.com/spf13/cobra"
)

// poolFlags are shared by every pool and vdisk command: they work straight on disk paths, before
// the cluster exists, with the caller supplying the owner epoch.
type poolFlags struct {
	disks []string
	node  string
	epoch uint64
}

// yieldHelp describes --foreground-yield. The meter sees the virtual disk I/O of this process
// only: a repair run by sofsctl beside a serving sofsd does not see that server's load.
const yieldHelp = "longest each region copy waits for this process's virtual disk I/O to go quiet, copying one region at a time meanwhile (0: 100ms; negative: never yield, --rate only)"

func (f *poolFlags) register(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.disks, "disk", nil, "disk path (file or block device); repeat for each disk")
	c.Flags().StringVar(&f.node, "node", hostnameOr("sofsctl"), "owner node id recorded in the pool metadata")
	c.Flags().Uint64Var(&f.epoch, "epoch", 1, "owner epoch: must be higher than the recorded owner's (or equal, same node)")
}

func hostnameOr(def string) string {
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return def
}

func (f *poolFlags) open(readOnly bool) (*spaces.Pool, error) {
	if len(f.disks) == 0 {
		return nil, fmt.Errorf("no --disk given")
	}
	var devs []spaces.BlockDevice
	for _, path := range f.disks {
		d, err := spaces.OpenFileDevice(path)
		if err != nil {
			// A missing disk is what the majority rule is for: open with the rest.
			fmt.Fprintf(os.Stderr, "warning: %v\n", err)
			continue
		}
		devs = append(devs, d)
	}
	return spaces.OpenPool(devs, spaces.OpenOptions{Owner: spaces.OwnerToken{NodeID: f.node, Epoch: f.epoch}, ReadOnly: readOnly,
		Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, "[SPACES] "+format+"\n", args...) }})
}

// parseSize accepts plain bytes or a K/M/G/T suffix (powers of 1024, optional "iB"/"B").
func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimSuffix(strings.TrimSuffix(u, "B"), "I")
	mult := int64(1)
	if n := len(u); n > 0 {
		switch u[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			u = u[:n-1]
		}
	}
	v, err := strconv.ParseInt(u, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional K, M, G or T suffix", s)
	}
	return v * mult, nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// showPool prints health, capacity, slab placement per disk and repair progress.
func showPool(w io.Writer, p *spaces.Pool) {
	fmt.Fprintf(w, "pool %s  generation %d  owner %s epoch %d  slab %s\n", p.ID(), p.Generation(), p.Owner().NodeID, p.Owner().Epoch, humanBytes(p.SlabSize()))
	disks := p.Disks()
	perDisk := map[int][]string{}
	worst := spaces.Healthy
	for _, name := range p.VirtualDisks() {
		v, err := p.VirtualDisk(name)
		if err != nil {
			continue
		}
		h := v.Health()
		if h.State == spaces.Unhealthy || (h.State == spaces.Degraded && worst == spaces.Healthy) {
			worst = h.State
		}
		for si, copies := range v.Placement() {
			for _, c := range copies {
				perDisk[c.DiskIndex] = append(perDisk[c.DiskIndex], fmt.Sprintf("%s/%d", name, si))
			}
		}
	}
	var capTotal, capUsed int64
	for _, d := range disks {
		if d.State == spaces.DiskActive || d.State == spaces.DiskRetiring {
			capTotal += d.Capacity
			capUsed += d.UsedExtents * p.SlabSize()
		}
		if d.State == spaces.DiskFailed && worst == spaces.Healthy {
			worst = spaces.Degraded
		}
	}
	fmt.Fprintf(w, "health %s  capacity %s  used %s\n", worst, humanBytes(capTotal), humanBytes(capUsed))
	fmt.Fprintf(w, "%-3s %-32s %-9s %-7s %-8s %s\n", "#", "disk", "state", "present", "slabs", "placement (vdisk/slab)")
	for _, d := range disks {
		if d.State == spaces.DiskRemoved {
			continue
		}
		pl := perDisk[d.Index]
		shown := strings.Join(pl, " ")
		if len(pl) > 16 {
			shown = strings.Join(pl[:16], " ") + fmt.Sprintf(" … (+%d)", len(pl)-16)
		}
		fmt.Fprintf(w, "%-3d %-32s %-9s %-7v %3d/%-4d %s\n", d.Index, d.ID, d.State, d.Present, d.UsedExtents, d.Extents, shown)
	}
	if pr := p.RepairProgress(); !pr.Started.IsZero() {
		fmt.Fprintln(w, progressLine(pr))
	}
}

func progressLine(pr spaces.RepairProgress) string {
	frac := 1.0
	if pr.BytesTotal > 0 {
		frac = float64(pr.BytesDone) / float64(pr.BytesTotal)
	}
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	state := "done"
	if pr.Running {
		state = "eta " + pr.ETA.Round(time.Second).String()
	}
	if pr.Recorded {
		// Read from the pool metadata: the repair runs (or ran) in another process.
		state += fmt.Sprintf(" (recorded %s ago)", time.Since(pr.Updated).Round(time.Second))
	}
	if pr.Err != "" {
		state = "error: " + pr.Err
	}
	return fmt.Sprintf("repair [%s] %5.1f%%  %s / %s  %s/s  slabs %d/%d  %s", bar, frac*100,
		humanBytes(pr.BytesDone), humanBytes(pr.BytesTotal), humanBytes(int64(pr.Rate)), pr.SlabsDone, pr.SlabsTotal, state)
}

// runRepairWithProgress runs fn (a repair or retire) while printing a progress bar.
func runRepairWithProgress(w io.Writer, p *spaces.Pool, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			fmt.Fprintf(w, "\r%s\n", progressLine(p.RepairProgress()))
			return err
		case <-tick.C:
			fmt.Fprintf(w, "\r%s", progressLine(p.RepairProgress()))
		}
	}
}

func init() {
	poolCmd := &cobra.Command{Use: "pool", Short: "storage pools on shared disks (create, show, add-disk, retire-disk, repair, scrub)"}

	var cf poolFlags
	var slabSize, regionSize, createSize string
	create := &cobra.Command{
		Use:   "create --disk PATH --disk PATH ...",
		Short: "format disks as a new pool (destroys their contents)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			slab, err := parseSize(slabSize)
			if err != nil {
				return err
			}
			region, err := parseSize(regionSize)
			if err != nil {
				return err
			}
			var devs []spaces.BlockDevice
			for _, path := range cf.disks {
				if createSize != "" {
					if _, err := os.Stat(path); os.IsNotExist(err) {
						n, err := parseSize(createSize)
						if err != nil {
							return err
						}
						if err := spaces.CreateFileDisk(path, n); err != nil {
							return err
						}
					}
				}
				d, err := spaces.OpenFileDevice(path)
				if err != nil {
					return err
				}
				devs = append(devs, d)
			}
			if len(devs) == 0 {
				return fmt.Errorf("no --disk given")
			}
			p, err := spaces.CreatePool(devs, spaces.CreateOptions{Owner: spaces.OwnerToken{NodeID: cf.node, Epoch: cf.epoch},
				SlabSize: slab, RegionSize: region})
			if err != nil {
				return err
			}
			defer p.Close()
			showPool(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cf.register(create)
	create.Flags().StringVar(&slabSize, "slab-size", "256M", "slab size")
	create.Flags().StringVar(&regionSize, "region-size", "1M", "dirty-region log granularity")
	create.Flags().StringVar(&createSize, "create-size", "", "create missing disk paths as sparse files of this size")

	var sf poolFlags
	show := &cobra.Command{
		Use:   "show --disk PATH ...",
		Short: "print health, capacity, slab placement per disk and repair progress (read-only)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := sf.open(true)
			if err != nil {
				return err
			}
			defer p.Close()
			showPool(cmd.OutOrStdout(), p)
			return nil
		},
	}
	sf.register(show)

	var af poolFlags
	var newDisk, newSize string
	addDisk := &cobra.Command{
		Use:   "add-disk --disk PATH ... --new PATH",
		Short: "format a disk and add it to the pool",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if newSize != "" {
				if _, err := os.Stat(newDisk); os.IsNotExist(err) {
					n, err := parseSize(newSize)
					if err != nil {
						return err
					}
					if err := spaces.CreateFileDisk(newDisk, n); err != nil {
						return err
					}
				}
			}
			p, err := af.open(false)
			if err != nil {
				return err
			}
			defer p.Close()
			d, err := spaces.OpenFileDevice(newDisk)
			if err != nil {
				return err
			}
			id, err := p.AddDisk(d)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added disk %s (%s)\n", id, newDisk)
			return nil
		},
	}
	af.register(addDisk)
	addDisk.Flags().StringVar(&newDisk, "new", "", "path of the disk to add")
	addDisk.Flags().StringVar(&newSize, "create-size", "", "create the new disk as a sparse file of this size if missing")
	addDisk.MarkFlagRequired("new")

	var rf poolFlags
	var retireID string
	var retireRate string
	var retireYield time.Duration
	retire := &cobra.Command{
		Use:   "retire-disk --disk PATH ... --id DISKID",
		Short: "evacuate a disk's slab copies to the others, then remove it",
		RunE: func(cmd *cobra.Command, _ []string) error {
			rate, err := parseSize(retireRate)
			if err != nil {
				return err
			}
			p, err := rf.open(false)
			if err != nil {
				return err
			}
			defer p.Close()
			ctx, cancel := signalContext()
			defer cancel()
			return runRepairWithProgress(cmd.OutOrStdout(), p, func() error {
				return p.RetireDisk(ctx, retireID, spaces.RepairOptions{RateLimit: rate, ForegroundYield: retireYield})
			})
		},
	}
	rf.register(retire)
	retire.Flags().StringVar(&retireID, "id", "", "disk id (or a unique prefix of at least 6 characters)")
	retire.Flags().StringVar(&retireRate, "rate", "0", "bandwidth cap per second (0: unlimited)")
	retire.Flags().DurationVar(&retireYield, "foreground-yield", 0, yieldHelp)
	retire.MarkFlagRequired("id")

	var pf poolFlags
	var repairRate string
	var parallel int
	var repairYield time.Duration
	var removeFailed bool
	repair := &cobra.Command{
		Use:   "repair --disk PATH ...",
		Short: "re-create missing slab copies on the remaining disks, in parallel, with progress",
		RunE: func(cmd *cobra.Command, _ []string) error {
			rate, err := parseSize(repairRate)
			if err != nil {
				return err
			}
			p, err := pf.open(false)
			if err != nil {
				return err
			}
			defer p.Close()
			ctx, cancel := signalContext()
			defer cancel()
			if err := runRepairWithProgress(cmd.OutOrStdout(), p, func() error {
				return p.Repair(ctx, spaces.RepairOptions{RateLimit: rate, Parallel: parallel, ForegroundYield: repairYield})
			}); err != nil {
				return err
			}
			if removeFailed {
				for _, d := range p.Disks() {
					if d.State == spaces.DiskFailed {
						if err := p.RemoveFailedDisk(d.ID); err != nil {
							return err
						}
						fmt.Fprintf(cmd.OutOrStdout(), "removed failed disk %s\n", d.ID)
					}
				}
			}
			showPool(cmd.OutOrStdout(), p)
			return nil
		},
	}
	pf.register(repair)
	repair.Flags().StringVar(&repairRate, "rate", "0", "bandwidth cap per second (0: unlimited)")
	repair.Flags().IntVar(&parallel, "parallel", 0, "slabs rebuilt at once (0: two per live disk)")
	repair.Flags().DurationVar(&repairYield, "foreground-yield", 0, yieldHelp)
	repair.Flags().BoolVar(&removeFailed, "remove-failed", false, "remove failed disks that no longer hold copies")

	var scf poolFlags
	scrub := &cobra.Command{
		Use:   "scrub --disk PATH ...",
		Short: "read and verify every copy of every block, healing bad copies",
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := scf.open(false)
			if err != nil {
				return err
			}
			defer p.Close()
			ctx, cancel := signalContext()
			defer cancel()
			res, err := p.Scrub(ctx)
			fmt.Fprintf(cmd.OutOrStdout(), "scrub: read %s, %d bad blocks, %d healed, %d checksum blocks rewritten\n",
				humanBytes(res.BytesRead), res.BadBlocks, res.HealedBlocks, res.BadSumBlocks)
			return err
		},
	}
	scf.register(scrub)

	poolCmd.AddCommand(create, show, addDisk, retire, repair, scrub)
	addCommand(poolCmd)
}
