package spaces

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk layout of every pool disk (all offsets are multiples of BlockSize):
//
//	[0, 4K)                         disk header (diskHeader)
//	[MetaOffset, +2*MetaSlotSize)   two pool-metadata slots; generation g goes to slot g%2, so a
//	                                torn metadata write always leaves the previous generation intact
//	[DRLOffset, +DRLBlocks*4K)      dirty-region log: one bit per (extent, region of the slab)
//	[DataOffset, +Extents*ExtentSize) extents; each holds one slab copy: SlabSize bytes of data
//	                                followed by its checksum blocks
//
// Every structure carries a CRC32C (Castagnoli) so that a torn or corrupt copy is recognised.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

const (
	diskMagic     = "SOFSPDSK"
	metaMagic     = "SOFSPMET"
	drlMagic      = "SDRL"
	formatVersion = 1

	// sumsPerBlock is how many 4 KiB data blocks one checksum block covers: 1023 CRCs plus the
	// block's own CRC fill 4096 bytes.
	sumsPerBlock = BlockSize/4 - 1
	// drlBitsPerBlock: a DRL block is a 16-byte header then a bitmap.
	drlHeaderSize   = 16
	drlBitsPerBlock = (BlockSize - drlHeaderSize) * 8
	metaHeaderSize  = 40
)

// ErrCorrupt marks an on-disk structure that failed validation.
var ErrCorrupt = errors.New("corrupt on-disk structure")

// diskHeader identifies a disk and fixes its layout; written once at format time.
type diskHeader struct {
	PoolID       [16]byte
	DiskID       [16]byte
	DeviceSize   int64
	SlabSize     int64
	RegionSize   int64
	MetaOffset   int64
	MetaSlotSize int64
	DRLOffset    int64
	DRLBlocks    int64
	DataOffset   int64
	ExtentSize   int64
	Extents      int64
}

const diskHeaderSize = 8 + 4 + 16 + 16 + 10*8 + 4

func (h *diskHeader) encode() []byte {
	b := make([]byte, BlockSize)
	copy(b, diskMagic)
	binary.LittleEndian.PutUint32(b[8:], formatVersion)
	copy(b[12:], h.PoolID[:])
	copy(b[28:], h.DiskID[:])
	o := 44
	for _, v := range []int64{h.DeviceSize, h.SlabSize, h.RegionSize, h.MetaOffset, h.MetaSlotSize,
		h.DRLOffset, h.DRLBlocks, h.DataOffset, h.ExtentSize, h.Extents} {
		binary.LittleEndian.PutUint64(b[o:], uint64(v))
		o += 8
	}
	binary.LittleEndian.PutUint32(b[o:], crc32c(b[:o]))
	return b
}

func decodeDiskHeader(b []byte) (*diskHeader, error) {
	if len(b) < diskHeaderSize {
		return nil, fmt.Errorf("disk header: %d bytes: %w", len(b), ErrCorrupt)
	}
	if string(b[:8]) != diskMagic {
		return nil, fmt.Errorf("disk header: bad magic %q: %w", b[:8], ErrCorrupt)
	}
	o := diskHeaderSize - 4
	if got, want := crc32c(b[:o]), binary.LittleEndian.Uint32(b[o:]); got != want {
		return nil, fmt.Errorf("disk header: crc %08x, want %08x: %w", got, want, ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != formatVersion {
		return nil, fmt.Errorf("disk header: version %d not supported: %w", v, ErrCorrupt)
	}
	h := &diskHeader{}
	copy(h.PoolID[:], b[12:28])
	copy(h.DiskID[:], b[28:44])
	vals := make([]int64, 10)
	for i := range vals {
		vals[i] = int64(binary.LittleEndian.Uint64(b[44+8*i:]))
	}
	h.DeviceSize, h.SlabSize, h.RegionSize, h.MetaOffset, h.MetaSlotSize = vals[0], vals[1], vals[2], vals[3], vals[4]
	h.DRLOffset, h.DRLBlocks, h.DataOffset, h.ExtentSize, h.Extents = vals[5], vals[6], vals[7], vals[8], vals[9]
	if err := h.validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// validate checks the layout is self-consistent, so that no later arithmetic on it can overflow or
// point outside the device.
func (h *diskHeader) validate() error {
	bad := func(what string) error { return fmt.Errorf("disk header: %s: %w", what, ErrCorrupt) }
	const maxSize = 1 << 56
	switch {
	case h.DeviceSize <= 0 || h.DeviceSize > maxSize:
		return bad("device size")
	case h.SlabSize < BlockSize || h.SlabSize%BlockSize != 0 || h.SlabSize > 1<<40:
		return bad("slab size")
	case h.RegionSize < BlockSize || h.RegionSize > h.SlabSize || h.SlabSize%h.RegionSize != 0:
		return bad("region size")
	case h.MetaOffset != BlockSize || h.MetaSlotSize < BlockSize || h.MetaSlotSize%BlockSize != 0 || h.MetaSlotSize > 1<<34:
		return bad("metadata area")
	case h.DRLOffset != h.MetaOffset+2*h.MetaSlotSize || h.DRLBlocks < 0 || h.DRLBlocks > 1<<30:
		return bad("dirty-region log area")
	case h.DataOffset < h.DRLOffset+h.DRLBlocks*BlockSize || h.DataOffset%BlockSize != 0:
		return bad("data offset")
	case h.ExtentSize != extentSizeFor(h.SlabSize):
		return bad("extent size")
	case h.Extents < 0 || h.Extents > (h.DeviceSize-h.DataOffset)/h.ExtentSize:
		return bad("extent count")
	case h.DRLBlocks*drlBitsPerBlock < h.Extents*(h.SlabSize/h.RegionSize):
		return bad("dirty-region log too small")
	}
	return nil
}

// checksumBlocksFor is how many checksum blocks a slab of slabSize bytes needs.
func checksumBlocksFor(slabSize int64) int64 {
	blocks := slabSize / BlockSize
	return (blocks + sumsPerBlock - 1) / sumsPerBlock
}

func extentSizeFor(slabSize int64) int64 {
	return slabSize + checksumBlocksFor(slabSize)*BlockSize
}

// layoutDisk computes a disk header's layout for a device of size bytes.
func layoutDisk(size, slabSize, regionSize, metaSlotSize int64) (diskHeader, error) {
	h := diskHeader{DeviceSize: size, SlabSize: slabSize, RegionSize: regionSize,
		MetaOffset: BlockSize, MetaSlotSize: metaSlotSize}
	h.DRLOffset = h.MetaOffset + 2*metaSlotSize
	h.ExtentSize = extentSizeFor(slabSize)
	regionsPerSlab := slabSize / regionSize
	// The DRL's size depends on the extent count and vice versa; start from an upper bound and
	// shrink until both fit.
	ext := (size - h.DRLOffset) / h.ExtentSize
	for ; ext > 0; ext-- {
		bits := ext * regionsPerSlab
		h.DRLBlocks = (bits + drlBitsPerBlock - 1) / drlBitsPerBlock
		h.DataOffset = h.DRLOffset + h.DRLBlocks*BlockSize
		if h.DataOffset+ext*h.ExtentSize <= size {
			break
		}
	}
	h.Extents = ext
	if ext <= 0 {
		return h, fmt.Errorf("device of %d bytes holds no %d-byte slab after metadata", size, slabSize)
	}
	return h, h.validate()
}

// metaSlotHeader precedes the JSON body of the pool metadata in a slot.
type metaSlotHeader struct {
	Generation uint64
	OwnerEpoch uint64
	Length     uint64
	CRC        uint32 // of the header fields above and the body
}

func encodeMetaSlot(gen, epoch uint64, body []byte) []byte {
	n := (metaHeaderSize + len(body) + BlockSize - 1) / BlockSize * BlockSize
	b := make([]byte, n)
	copy(b, metaMagic)
	binary.LittleEndian.PutUint64(b[8:], gen)
	binary.LittleEndian.PutUint64(b[16:], epoch)
	binary.LittleEndian.PutUint64(b[24:], uint64(len(body)))
	copy(b[metaHeaderSize:], body)
	crc := crc32.Update(crc32c(b[:32]), castagnoli, body)
	binary.LittleEndian.PutUint32(b[32:], crc)
	return b
}

// decodeMetaSlotHeader validates the fixed part; the body length is checked against slotSize.
func decodeMetaSlotHeader(b []byte, slotSize int64) (metaSlotHeader, error) {
	var h metaSlotHeader
	if len(b) < metaHeaderSize || string(b[:8]) != metaMagic {
		return h, fmt.Errorf("metadata slot: bad magic: %w", ErrCorrupt)
	}
	h.Generation = binary.LittleEndian.Uint64(b[8:])
	h.OwnerEpoch = binary.LittleEndian.Uint64(b[16:])
	h.Length = binary.LittleEndian.Uint64(b[24:])
	h.CRC = binary.LittleEndian.Uint32(b[32:])
	if h.Length > uint64(slotSize-metaHeaderSize) {
		return h, fmt.Errorf("metadata slot: body length %d exceeds slot: %w", h.Length, ErrCorrupt)
	}
	return h, nil
}

// decodeMetaSlot validates a whole slot (header and body) and decodes the pool metadata.
func decodeMetaSlot(b []byte) (metaSlotHeader, *poolMeta, error) {
	h, err := decodeMetaSlotHeader(b, int64(len(b)))
	if err != nil {
		return h, nil, err
	}
	body := b[metaHeaderSize : metaHeaderSize+int(h.Length)]
	if got := crc32.Update(crc32c(b[:32]), castagnoli, body); got != h.CRC {
		return h, nil, fmt.Errorf("metadata slot gen %d: crc %08x, want %08x: %w", h.Generation, got, h.CRC, ErrCorrupt)
	}
	m := &poolMeta{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return h, nil, fmt.Errorf("metadata slot gen %d: %v: %w", h.Generation, err, ErrCorrupt)
	}
	if m.Generation != h.Generation || m.Owner.Epoch != h.OwnerEpoch {
		return h, nil, fmt.Errorf("metadata slot gen %d: body says gen %d epoch %d: %w", h.Generation, m.Generation, m.Owner.Epoch, ErrCorrupt)
	}
	if err := m.validate(); err != nil {
		return h, nil, err
	}
	return h, m, nil
}

// drlBlock is one block of the dirty-region log.
func encodeDRLBlock(index uint32, bits []byte) []byte {
	b := make([]byte, BlockSize)
	copy(b, drlMagic)
	binary.LittleEndian.PutUint32(b[4:], index)
	copy(b[drlHeaderSize:], bits)
	binary.LittleEndian.PutUint32(b[8:], drlCRC(b))
	return b
}

func drlCRC(b []byte) uint32 {
	return crc32.Update(crc32c(b[:8]), castagnoli, b[drlHeaderSize:])
}

// decodeDRLBlock returns the bitmap of a DRL block. A never-written (all-zero) block is clean. A
// block that fails validation returns ErrCorrupt; the caller must then treat every region it
// covers as dirty, because a torn DRL write may have been setting bits.
func decodeDRLBlock(b []byte, index uint32) ([]byte, error) {
	if len(b) != BlockSize {
		return nil, fmt.Errorf("dirty-region log block %d: %d bytes: %w", index, len(b), ErrCorrupt)
	}
	if allZero(b) {
		return make([]byte, BlockSize-drlHeaderSize), nil
	}
	if string(b[:4]) != drlMagic {
		return nil, fmt.Errorf("dirty-region log block %d: bad magic: %w", index, ErrCorrupt)
	}
	if got := binary.LittleEndian.Uint32(b[4:]); got != index {
		return nil, fmt.Errorf("dirty-region log block %d: says index %d: %w", index, got, ErrCorrupt)
	}
	if got, want := drlCRC(b), binary.LittleEndian.Uint32(b[8:]); got != want {
		return nil, fmt.Errorf("dirty-region log block %d: crc %08x, want %08x: %w", index, got, want, ErrCorrupt)
	}
	return append([]byte(nil), b[drlHeaderSize:]...), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// encodeChecksumBlock packs up to sumsPerBlock CRCs and the block's own CRC.
func encodeChecksumBlock(sums []uint32, b []byte) {
	clear(b[:BlockSize])
	for i, s := range sums {
		binary.LittleEndian.PutUint32(b[4*i:], s)
	}
	binary.LittleEndian.PutUint32(b[BlockSize-4:], crc32c(b[:BlockSize-4]))
}

// decodeChecksumBlock validates a checksum block and copies its CRCs into sums.
func decodeChecksumBlock(b []byte, sums []uint32) error {
	if len(b) != BlockSize || len(sums) > sumsPerBlock {
		return fmt.Errorf("checksum block: bad size: %w", ErrCorrupt)
	}
	if got, want := crc32c(b[:BlockSize-4]), binary.LittleEndian.Uint32(b[BlockSize-4:]); got != want {
		return fmt.Errorf("checksum block: crc %08x, want %08x: %w", got, want, ErrCorrupt)
	}
	for i := range sums {
		sums[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return nil
}
