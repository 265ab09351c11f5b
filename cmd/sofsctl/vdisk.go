package main

import (
	"fmt"

	"github.com/sofs-dev/sofs/spaces"
	"github.com/spf13/cobra"
)

func init() {
	vdiskCmd := &cobra.Command{Use: "vdisk", Short: "virtual disks in a pool (create, show, delete)"}

	var cf poolFlags
	var name, size, resiliency string
	var thin bool
	create := &cobra.Command{
		Use:   "create --disk PATH ... --name NAME --size SIZE [--resiliency mirror]",
		Short: "allocate a fixed-size virtual disk",
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := parseSize(size)
			if err != nil {
				return err
			}
			p, err := cf.open(false)
			if err != nil {
				return err
			}
			defer p.Close()
			create := p.CreateVirtualDisk
			if thin {
				create = p.CreateThinVirtualDisk
			}
			v, err := create(name, n, spaces.Resiliency(resiliency))
			if err != nil {
				return err
			}
			showVDisk(cmd, v)
			return nil
		},
	}
	cf.register(create)
	create.Flags().StringVar(&name, "name", "", "virtual disk name")
	create.Flags().StringVar(&size, "size", "", "size (K, M, G, T suffixes)")
	create.Flags().StringVar(&resiliency, "resiliency", "mirror", "simple, mirror or mirror3")
	create.Flags().BoolVar(&thin, "thin", false, "allocate slabs on first write (trim of a whole slab frees it)")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("size")

	var sf poolFlags
	var showName string
	show := &cobra.Command{
		Use:   "show --disk PATH ... [--name NAME]",
		Short: "print virtual disks with health and slab placement (read-only)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := sf.open(true)
			if err != nil {
				return err
			}
			defer p.Close()
			names := p.VirtualDisks()
			if showName != "" {
				names = []string{showName}
			}
			for _, n := range names {
				v, err := p.VirtualDisk(n)
				if err != nil {
					return err
				}
				showVDisk(cmd, v)
			}
			return nil
		},
	}
	sf.register(show)
	show.Flags().StringVar(&showName, "name", "", "only this virtual disk")

	var df poolFlags
	var delName string
	del := &cobra.Command{
		Use:   "delete --disk PATH ... --name NAME",
		Short: "delete a virtual disk and free its slabs",
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := df.open(false)
			if err != nil {
				return err
			}
			defer p.Close()
			if err := p.DeleteVirtualDisk(delName); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted virtual disk %s\n", delName)
			return nil
		},
	}
	df.register(del)
	del.Flags().StringVar(&delName, "name", "", "virtual disk name")
	del.MarkFlagRequired("name")

	vdiskCmd.AddCommand(create, show, del)
	addCommand(vdiskCmd)
}

func showVDisk(cmd *cobra.Command, v *spaces.VirtualDisk) {
	w := cmd.OutOrStdout()
	h := v.Health()
	fmt.Fprintf(w, "vdisk %s  %s  %s  health %s  slabs %d (degraded %d, unhealthy %d)\n",
		v.Name(), humanBytes(v.Size()), v.Resiliency(), h.State, h.Slabs, h.DegradedSlabs, h.UnhealthySlabs)
	if v.Thin() {
		fmt.Fprintf(w, "  thin: %d of %d slabs allocated\n", v.AllocatedSlabs(), h.Slabs)
	}
	for _, prob := range h.Problems {
		fmt.Fprintf(w, "  ! %s\n", prob)
	}
	for si, copies := range v.Placement() {
		fmt.Fprintf(w, "  slab %-4d", si)
		if len(copies) == 0 && v.Thin() {
			fmt.Fprintf(w, "  unallocated")
		}
		for _, c := range copies {
			state := "live"
			if !c.Live {
				state = "FAILED"
			} else if c.Rebuilding {
				state = "rebuilding"
			}
			fmt.Fprintf(w, "  disk %d (%.8s) extent %d %s", c.DiskIndex, c.DiskID, c.Extent, state)
		}
		fmt.Fprintln(w)
	}
}
