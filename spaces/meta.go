package spaces

import (
	"fmt"
)

// DiskState is a pool member's lifecycle state, recorded in the pool metadata.
type DiskState string

const (
	// DiskActive disks hold slab copies and receive new ones.
	DiskActive DiskState = "active"
	// DiskRetiring disks are being evacuated: they serve I/O but receive no new copies.
	DiskRetiring DiskState = "retiring"
	// DiskFailed disks returned an I/O error or disappeared; their copies are no longer trusted.
	DiskFailed DiskState = "failed"
	// DiskRemoved disks are no longer members; they keep their index so slab maps stay stable.
	DiskRemoved DiskState = "removed"
)

// OwnerToken names the one node allowed to write a pool's metadata. A higher Epoch takes over.
type OwnerToken struct {
	NodeID string `json:"node"`
	Epoch  uint64 `json:"epoch"`
}

// poolMeta is the pool metadata, JSON-encoded into a metadata slot on every member disk.
type poolMeta struct {
	PoolID     string       `json:"pool"`
	Generation uint64       `json:"gen"`
	Owner      OwnerToken   `json:"owner"`
	SlabSize   int64        `json:"slab"`
	RegionSize int64        `json:"region"`
	Disks      []diskRecord `json:"disks"`
	// PrevLive lists the live disks of the committed generation this one succeeded (none at
	// creation), so that OpenPool checks the same quorum the writer did (commitQuorum).
	PrevLive []string       `json:"prevLive,omitempty"`
	VDisks   []*vdiskRecord `json:"vdisks"`
	// Repair is the progress of the current or last repair (repairRecord).
	Repair *repairRecord `json:"repair,omitempty"`
}

type diskRecord struct {
	ID      string    `json:"id"`
	State   DiskState `json:"state"`
	Extents int64     `json:"extents"`
}

// vdiskRecord is a virtual disk's slab map: Slabs[i] lists slab i's copies as [disk index, extent].
type vdiskRecord struct {
	Name   string       `json:"name"`
	Size   int64        `json:"size"`
	Copies int          `json:"copies"`
	Slabs  [][][2]int64 `json:"slabs"`
	// Thin: slabs are allocated on first write (an empty copy list means unallocated, reading as
	// zeros) and released when a trim covers them.
	Thin bool `json:"thin,omitempty"`
}

func (m *poolMeta) diskIndex(id string) int {
	for i, d := range m.Disks {
		if d.ID == id {
			return i
		}
	}
	return -1
}

func (m *poolMeta) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("pool metadata gen %d: %s: %w", m.Generation, fmt.Sprintf(format, a...), ErrCorrupt)
	}
	if m.SlabSize < BlockSize || m.SlabSize%BlockSize != 0 || m.RegionSize < BlockSize || m.RegionSize > m.SlabSize || m.SlabSize%m.RegionSize != 0 {
		return bad("slab size %d / region size %d", m.SlabSize, m.RegionSize)
	}
	if len(m.Disks) == 0 || len(m.Disks) > 4096 {
		return bad("%d disks", len(m.Disks))
	}
	ids := map[string]bool{}
	for i, d := range m.Disks {
		switch d.State {
		case DiskActive, DiskRetiring, DiskFailed, DiskRemoved:
		default:
			return bad("disk %d state %q", i, d.State)
		}
		if ids[d.ID] {
			return bad("disk %s listed twice", d.ID)
		}
		ids[d.ID] = true
		if d.Extents < 0 || d.Extents > 1<<40 {
			return bad("disk %d extents %d", i, d.Extents)
		}
	}
	for _, id := range m.PrevLive {
		if !ids[id] {
			return bad("previous live disk %s not listed", id)
		}
	}
	names := map[string]bool{}
	used := map[[2]int64]bool{}
	for _, v := range m.VDisks {
		if v == nil || v.Name == "" || names[v.Name] {
			return bad("virtual disk name missing or repeated")
		}
		names[v.Name] = true
		if v.Copies < 1 || v.Copies > 3 || v.Size <= 0 || v.Size%BlockSize != 0 {
			return bad("virtual disk %q: copies %d size %d", v.Name, v.Copies, v.Size)
		}
		if want := (v.Size + m.SlabSize - 1) / m.SlabSize; int64(len(v.Slabs)) != want {
			return bad("virtual disk %q: %d slabs, want %d", v.Name, len(v.Slabs), want)
		}
		for si, copies := range v.Slabs {
			if len(copies) > 3 {
				return bad("virtual disk %q slab %d: %d copies", v.Name, si, len(copies))
			}
			onDisk := map[int64]bool{}
			for _, c := range copies {
				if c[0] < 0 || c[0] >= int64(len(m.Disks)) || c[1] < 0 || c[1] >= m.Disks[c[0]].Extents {
					return bad("virtual disk %q slab %d: copy %v out of range", v.Name, si, c)
				}
				if onDisk[c[0]] || used[c] {
					return bad("virtual disk %q slab %d: copy %v placed twice", v.Name, si, c)
				}
				onDisk[c[0]] = true
				used[c] = true
			}
		}
	}
	return nil
}
