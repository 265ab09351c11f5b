package spaces

import (
	"fmt"
	"sync"
)

// diskDRL is one disk's dirty-region log: one bit per (extent, region of the slab in it). A bit is
// made durable before the first write to its region and cleared lazily once every copy of the
// region is durable and quiet, so after a crash only regions that may differ between copies (or
// from their checksums) are resynchronised.
type diskDRL struct {
	mu             sync.Mutex // held across the log write and sync, so "bit set in memory" means "durable"
	bits           []byte
	regionsPerSlab int64
}

func (l *diskDRL) init(h *diskHeader) {
	l.bits = make([]byte, h.DRLBlocks*(BlockSize-drlHeaderSize))
	l.regionsPerSlab = h.SlabSize / h.RegionSize
}

func (l *diskDRL) bit(extent, region int64) int64 { return extent*l.regionsPerSlab + region }

func (l *diskDRL) isSet(b int64) bool { return l.bits[b/8]&(1<<(b%8)) != 0 }

// isSetLocked reports whether (extent, region) is durably dirty, taking the lock.
func (l *diskDRL) isSetLocked(extent, region int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.isSet(l.bit(extent, region))
}

// writeBlocks writes the log blocks holding the given bits (caller holds l.mu).
func (d *poolDisk) writeDRLBlocks(bits []int64) error {
	const perBlock = BlockSize - drlHeaderSize
	done := map[int64]bool{}
	buf := alignedBuffer(BlockSize)
	for _, b := range bits {
		blk := b / drlBitsPerBlock
		if done[blk] {
			continue
		}
		done[blk] = true
		copy(buf, encodeDRLBlock(uint32(blk), d.drl.bits[blk*perBlock:(blk+1)*perBlock]))
		if _, err := d.dev.WriteAt(buf, d.hdr.DRLOffset+blk*BlockSize); err != nil {
			return fmt.Errorf("write dirty-region log block %d on disk %s: %w", blk, d.id, err)
		}
	}
	return nil
}

// markDirty makes the bit for (extent, region) durable on d unless it already is.
func (d *poolDisk) markDirty(extent, region int64) error {
	l := &d.drl
	b := l.bit(extent, region)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isSet(b) {
		return nil
	}
	l.bits[b/8] |= 1 << (b % 8)
	if err := d.writeDRLBlocks([]int64{b}); err != nil {
		l.bits[b/8] &^= 1 << (b % 8)
		return err
	}
	if err := d.dev.Sync(); err != nil {
		l.bits[b/8] &^= 1 << (b % 8)
		return fmt.Errorf("sync dirty-region log on disk %s: %w", d.id, err)
	}
	return nil
}

// clearDirty clears bits; not synced, because a lost clear only costs a needless resync.
func (d *poolDisk) clearDirty(bits []int64) error {
	l := &d.drl
	l.mu.Lock()
	defer l.mu.Unlock()
	var changed []int64
	for _, b := range bits {
		if l.isSet(b) {
			l.bits[b/8] &^= 1 << (b % 8)
			changed = append(changed, b)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	d.needSync.Store(true)
	return d.writeDRLBlocks(changed)
}

// loadDRL reads d's log and returns the set bits. A block that fails validation (torn while
// being written) counts as all dirty.
func (d *poolDisk) loadDRL() ([]int64, error) {
	const perBlock = BlockSize - drlHeaderSize
	buf := alignedBuffer(BlockSize)
	var set []int64
	total := d.hdr.Extents * d.drl.regionsPerSlab
	for blk := int64(0); blk < d.hdr.DRLBlocks; blk++ {
		if _, err := d.dev.ReadAt(buf, d.hdr.DRLOffset+blk*BlockSize); err != nil {
			return nil, fmt.Errorf("read dirty-region log block %d on disk %s: %w", blk, d.id, err)
		}
		bits, err := decodeDRLBlock(buf, uint32(blk))
		if err != nil {
			for i := range bits {
				bits[i] = 0xff
			}
			if bits == nil {
				bits = make([]byte, perBlock)
				for i := range bits {
					bits[i] = 0xff
				}
			}
		}
		copy(d.drl.bits[blk*perBlock:], bits)
		for i := int64(0); i < drlBitsPerBlock; i++ {
			b := blk*drlBitsPerBlock + i
			if b >= total {
				break
			}
			if bits[i/8]&(1<<(i%8)) != 0 {
				set = append(set, b)
			}
		}
	}
	return set, nil
}
