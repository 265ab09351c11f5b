package csv

import (
	"bytes"
	"errors"
	"fmt"
)

// FormatVersion is the on-disk format this package reads and writes (FORMAT.md).
const FormatVersion = 2 // 2: object times are NT time (stamp.go), not Unix nanoseconds

var superMagic = [8]byte{'S', 'O', 'F', 'S', 'C', 'S', 'V', '1'}

// superblockCopies are at blocks 0 and 1; both are rewritten on every change, one after the other
// with a flush between, so at least one is valid whatever instant a crash hits.
const superblockCopies = 2

// Superblock describes the volume's layout and its current owner.
type Superblock struct {
	FormatVersion    uint32
	BlockSize        uint32
	VolumeID         [16]byte
	TotalBlocks      uint64
	JournalStart     uint64 // first block of the circular journal
	JournalBlocks    uint64
	CheckpointStart  [2]uint64 // first block of checkpoint areas A and B
	CheckpointBlocks uint64    // size of each checkpoint area
	DataStart        uint64    // first data block; data extents live in [DataStart, TotalBlocks)
	// OwnerEpoch is the fencing epoch of the node that last mounted the volume for writing. A
	// mount with a lower epoch is refused, so a deposed coordinator cannot write.
	OwnerEpoch  uint64
	Generation  uint64 // incremented on each superblock write; the valid copy with the highest wins
	CreatedUnix int64  // nanoseconds
	Label       string
}

func (s *Superblock) encode() []byte {
	e := enc{b: make([]byte, 0, BlockSize)}
	e.b = append(e.b, superMagic[:]...)
	e.u32(s.FormatVersion)
	e.u32(s.BlockSize)
	e.b = append(e.b, s.VolumeID[:]...)
	e.u64(s.TotalBlocks)
	e.u64(s.JournalStart)
	e.u64(s.JournalBlocks)
	e.u64(s.CheckpointStart[0])
	e.u64(s.CheckpointStart[1])
	e.u64(s.CheckpointBlocks)
	e.u64(s.DataStart)
	e.u64(s.OwnerEpoch)
	e.u64(s.Generation)
	e.i64(s.CreatedUnix)
	e.str(s.Label)
	e.u32(crc32c(e.b))
	out := make([]byte, BlockSize)
	copy(out, e.b)
	return out
}

var errBadMagic = errors.New("bad magic")

// decodeSuperblock parses and validates one superblock copy.
func decodeSuperblock(b []byte) (*Superblock, error) {
	if len(b) < len(superMagic) || !bytes.Equal(b[:8], superMagic[:]) {
		return nil, fmt.Errorf("superblock: %w", errBadMagic)
	}
	d := dec{b: b[8:]}
	s := &Superblock{}
	s.FormatVersion = d.u32()
	s.BlockSize = d.u32()
	copy(s.VolumeID[:], d.take(16))
	s.TotalBlocks = d.u64()
	s.JournalStart = d.u64()
	s.JournalBlocks = d.u64()
	s.CheckpointStart[0] = d.u64()
	s.CheckpointStart[1] = d.u64()
	s.CheckpointBlocks = d.u64()
	s.DataStart = d.u64()
	s.OwnerEpoch = d.u64()
	s.Generation = d.u64()
	s.CreatedUnix = d.i64()
	s.Label = d.str()
	covered := len(b) - len(d.b)
	sum := d.u32()
	if d.err != nil {
		return nil, fmt.Errorf("superblock: %w", d.err)
	}
	if got := crc32c(b[:covered]); got != sum {
		return nil, fmt.Errorf("superblock: checksum %08x, want %08x", got, sum)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// validate checks that the layout is self-consistent, so later code can index with it safely.
func (s *Superblock) validate() error {
	switch {
	case s.FormatVersion != FormatVersion:
		return fmt.Errorf("superblock: format version %d, this build reads %d", s.FormatVersion, FormatVersion)
	case s.BlockSize != BlockSize:
		return fmt.Errorf("superblock: block size %d, want %d", s.BlockSize, BlockSize)
	case s.JournalStart != superblockCopies || s.JournalBlocks < minJournalBlocks:
		return fmt.Errorf("superblock: journal at %d+%d invalid", s.JournalStart, s.JournalBlocks)
	case s.CheckpointBlocks < minCheckpointBlocks ||
		s.CheckpointStart[0] != s.JournalStart+s.JournalBlocks ||
		s.CheckpointStart[1] != s.CheckpointStart[0]+s.CheckpointBlocks:
		return fmt.Errorf("superblock: checkpoint areas invalid")
	case s.DataStart != s.CheckpointStart[1]+s.CheckpointBlocks || s.DataStart >= s.TotalBlocks:
		return fmt.Errorf("superblock: data area %d..%d invalid", s.DataStart, s.TotalBlocks)
	case s.TotalBlocks > 1<<40:
		return fmt.Errorf("superblock: %d blocks is beyond 4 PiB", s.TotalBlocks)
	}
	return nil
}

// readSuperblock returns the newest valid copy and reports which copies were invalid.
func readSuperblock(dev BlockDevice) (*Superblock, []error, error) {
	var best *Superblock
	var bad []error
	buf := make([]byte, BlockSize)
	for i := 0; i < superblockCopies; i++ {
		if _, err := dev.ReadAt(buf, int64(i)*BlockSize); err != nil {
			bad = append(bad, fmt.Errorf("read superblock copy %d: %w", i, err))
			continue
		}
		s, err := decodeSuperblock(buf)
		if err != nil {
			bad = append(bad, fmt.Errorf("superblock copy %d: %w", i, err))
			continue
		}
		if best == nil || s.Generation > best.Generation {
			best = s
		}
	}
	if best == nil {
		return nil, bad, fmt.Errorf("no valid superblock: %w", errors.Join(bad...))
	}
	return best, bad, nil
}

// writeSuperblock writes both copies in turn with a flush after each.
func writeSuperblock(dev BlockDevice, s *Superblock) error {
	s.Generation++
	b := s.encode()
	for i := 0; i < superblockCopies; i++ {
		if _, err := dev.WriteAt(b, int64(i)*BlockSize); err != nil {
			return fmt.Errorf("write superblock copy %d: %w", i, err)
		}
		if err := dev.Flush(); err != nil {
			return fmt.Errorf("flush superblock copy %d: %w", i, err)
		}
	}
	return nil
}
