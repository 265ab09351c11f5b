package agents

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/sofs-dev/sofs/cluster"
	"github.com/sofs-dev/sofs/csv"
	"github.com/sofs-dev/sofs/smb/vfs"
	"github.com/sofs-dev/sofs/spaces"
)

// VolumeTypeName is the resource type of a cluster shared volume on a spaces virtual disk.
const VolumeTypeName = "vdisk/volume"

// Volume resource properties.
const (
	// PropDisks lists the pool's disk paths, comma separated (files or block devices that
	// every possible owner sees at the same paths).
	PropDisks = "disks"
	// PropVDisk names the virtual disk in the pool that holds the volume.
	PropVDisk = "vdisk"
)

// Each volume has its own pool: a pool has one owner (node and epoch) that writes its metadata
// and fences every other (spaces.OwnerToken), and a cluster group's epoch is the fencing token
// the cluster hands out. Two volumes that fail over independently therefore need two pools; a
// pool shared by two groups would be fenced by whichever group moved last.

// Volumes is the "vdisk/volume" resource type: Online opens the pool with the owner token
// (this node, the group's epoch) — taking ownership from any older owner — and mounts the csv
// volume with the same epoch; Offline unmounts (checkpoint) and closes the pool cleanly.
type Volumes struct {
	// Logf receives spaces' log lines (default: discarded).
	Logf func(format string, args ...any)

	mounted hosted[*mountedVolume]
}

type mountedVolume struct {
	epoch uint64
	pool  *spaces.Pool
	vdisk *spaces.VirtualDisk
	vol   *csv.Volume
}

// NewVolumes returns the type with nothing mounted.
func NewVolumes(logf func(string, ...any)) *Volumes {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Volumes{Logf: logf}
}

// Info is the registration: the thorough check flushes the pool, which reads the metadata
// headers (fence check) and syncs every disk, so it runs every 10 s rather than every 60 s.
func (v *Volumes) Info() cluster.ResourceTypeInfo {
	return cluster.ResourceTypeInfo{Name: VolumeTypeName, LooksAliveInterval: 2 * time.Second, IsAliveInterval: 10 * time.Second}
}

func volumeProps(r cluster.ResourceRef) (disks []string, vdisk string, err error) {
	for _, d := range strings.Split(r.Props[PropDisks], ",") {
		if d = strings.TrimSpace(d); d != "" {
			disks = append(disks, d)
		}
	}
	vdisk = r.Props[PropVDisk]
	if len(disks) == 0 || vdisk == "" {
		return nil, "", fmt.Errorf("volume %s: properties %q (comma-separated disk paths) and %q (virtual disk name) are required", r.Name, PropDisks, PropVDisk)
	}
	return disks, vdisk, nil
}

// openDevices opens the disks it can; a missing disk is what the pool's majority rule is for.
func openDevices(paths []string) ([]spaces.BlockDevice, []error) {
	var devs []spaces.BlockDevice
	var errs []error
	for _, p := range paths {
		d, err := spaces.OpenFileDevice(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		devs = append(devs, d)
	}
	return devs, errs
}

func closeDevices(devs []spaces.BlockDevice) {
	for _, d := range devs {
		d.Close()
	}
}

// Online implements cluster.ResourceType.
func (v *Volumes) Online(ctx context.Context, r cluster.ResourceRef) error {
	disks, vdName, err := volumeProps(r)
	if err != nil {
		return err
	}
	if old, ok := v.mounted.get(r.Name); ok {
		if old.epoch == r.Epoch {
			return nil
		}
		// Mounted under an older epoch (the group left and came back): start over with the new token.
		if err := v.Offline(ctx, r); err != nil {
			return err
		}
	}
	devs, devErrs := openDevices(disks)
	for _, e := range devErrs {
		v.Logf("volume %s: %v", r.Name, e)
	}
	if len(devs) == 0 {
		return fmt.Errorf("volume %s: no disk of %s could be opened: %w", r.Name, strings.Join(disks, ","), errors.Join(devErrs...))
	}
	pool, err := spaces.OpenPool(devs, spaces.OpenOptions{Owner: spaces.OwnerToken{NodeID: r.Node, Epoch: r.Epoch}, Logf: v.Logf})
	if err != nil {
		closeDevices(devs)
		return fmt.Errorf("volume %s: open pool on %s with epoch %d: %w", r.Name, strings.Join(disks, ","), r.Epoch, err)
	}
	vd, err := pool.VirtualDisk(vdName)
	if err != nil {
		pool.Close()
		return fmt.Errorf("volume %s: %w", r.Name, err)
	}
	vol, err := csv.Mount(vd, csv.MountOptions{Epoch: r.Epoch})
	if err != nil {
		pool.Close()
		return fmt.Errorf("volume %s: mount virtual disk %s with epoch %d: %w", r.Name, vdName, r.Epoch, err)
	}
	v.mounted.put(r.Name, &mountedVolume{epoch: r.Epoch, pool: pool, vdisk: vd, vol: vol})
	v.Logf("volume %s: mounted virtual disk %s (pool %s) with epoch %d", r.Name, vdName, pool.ID(), r.Epoch)
	return nil
}

// Offline implements cluster.ResourceType: the volume writes a checkpoint, then the pool flushes
// twice (nothing left to resync) and closes its disks. Offline of a volume not mounted succeeds.
func (v *Volumes) Offline(ctx context.Context, r cluster.ResourceRef) error {
	m, ok := v.mounted.take(r.Name)
	if !ok {
		return nil
	}
	verr := m.vol.Close()
	perr := m.pool.Close()
	if err := errors.Join(verr, perr); err != nil {
		// A fenced volume cannot write its checkpoint: the new owner replays the journal.
		return fmt.Errorf("volume %s: unmount: %w", r.Name, err)
	}
	v.Logf("volume %s: unmounted", r.Name)
	return nil
}

func (v *Volumes) get(name string) *mountedVolume {
	m, _ := v.mounted.get(name)
	return m
}

// FS returns the mounted volume of resource name, for the share type.
func (v *Volumes) FS(name string) (vfs.FS, bool) {
	if m := v.get(name); m != nil {
		return m.vol, true
	}
	return nil, false
}

// LooksAlive implements cluster.ResourceType: the volume is mounted here.
func (v *Volumes) LooksAlive(ctx context.Context, r cluster.ResourceRef) error {
	if v.get(r.Name) == nil {
		return fmt.Errorf("volume %s is not mounted on this node", r.Name)
	}
	return nil
}

// IsAlive implements cluster.ResourceType: the file system answers, the virtual disk has a live
// copy of every slab, and a pool flush succeeds (it fails with spaces.ErrFenced once a newer
// owner has taken the pool, and on disk errors).
func (v *Volumes) IsAlive(ctx context.Context, r cluster.ResourceRef) error {
	m := v.get(r.Name)
	if m == nil {
		return fmt.Errorf("volume %s is not mounted on this node", r.Name)
	}
	if _, err := m.vol.StatFS(ctx); err != nil {
		return fmt.Errorf("volume %s: statfs: %w", r.Name, err)
	}
	if h := m.vdisk.Health(); h.State == spaces.Unhealthy {
		return fmt.Errorf("volume %s: virtual disk %s unhealthy: %s", r.Name, m.vdisk.Name(), strings.Join(h.Problems, "; "))
	}
	if err := m.pool.Flush(); err != nil {
		return fmt.Errorf("volume %s: %w", r.Name, err)
	}
	return nil
}

// FormatOptions says how FormatVolume lays out a new pool, virtual disk and volume.
type FormatOptions struct {
	// SlabSize of the pool (default 16 MiB: small file-backed pools; spaces' own default is 256 MiB).
	SlabSize   int64
	Resiliency spaces.Resiliency // default mirror
	Label      string
	// DiskSize, when set, creates each disk path that does not exist as a sparse file of this size.
	DiskSize int64
	// Force formats disks that already hold a pool (destroying it); without it FormatVolume
	// refuses them with ErrPoolExists.
	Force bool
}

// ErrPoolExists is returned by FormatVolume for disks that already hold a pool.
var ErrPoolExists = errors.New("disks already hold a pool")

// FormatVolume creates a pool on disks (destroying their contents), a virtual disk vdisk of size
// bytes in it and an empty csv volume on that, all with owner epoch 0 so the first cluster owner
// (epoch 1 or more) takes over.
func FormatVolume(disks []string, vdisk string, size int64, opts FormatOptions) error {
	if opts.SlabSize == 0 {
		opts.SlabSize = 16 << 20
	}
	if opts.Resiliency == "" {
		opts.Resiliency = spaces.Mirror
	}
	if opts.DiskSize > 0 {
		for _, d := range disks {
			if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
				if err := spaces.CreateFileDisk(d, opts.DiskSize); err != nil {
					return fmt.Errorf("format volume %s: %w", vdisk, err)
				}
			}
		}
	}
	devs, errs := openDevices(disks)
	if len(errs) > 0 {
		closeDevices(devs)
		return fmt.Errorf("format volume %s: %w", vdisk, errors.Join(errs...))
	}
	if !opts.Force {
		existing, err := spaces.OpenPool(devs, spaces.OpenOptions{ReadOnly: true, Logf: func(string, ...any) {}})
		if err == nil {
			id := existing.ID()
			existing.Close() // closes devs too
			return fmt.Errorf("format volume %s: pool %s on %s: %w (force the format only to destroy it)", vdisk, id, strings.Join(disks, ","), ErrPoolExists)
		}
		if errors.Is(err, spaces.ErrNoMajority) {
			closeDevices(devs)
			return fmt.Errorf("format volume %s: %w: %w", vdisk, ErrPoolExists, err)
		}
	}
	pool, err := spaces.CreatePool(devs, spaces.CreateOptions{Owner: spaces.OwnerToken{NodeID: "format", Epoch: 0}, SlabSize: opts.SlabSize, Logf: func(string, ...any) {}})
	if err != nil {
		closeDevices(devs)
		return fmt.Errorf("format volume %s: %w", vdisk, err)
	}
	vd, err := pool.CreateVirtualDisk(vdisk, size, opts.Resiliency)
	if err == nil {
		err = csv.Format(vd, csv.FormatOptions{Label: opts.Label})
	}
	if err == nil {
		err = vd.Flush()
	}
	if cerr := pool.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("format volume %s: %w", vdisk, err)
	}
	return nil
}
