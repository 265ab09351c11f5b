package csv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A journal batch is what one group commit writes: a header and a run of records, padded to whole
// blocks, never straddling the end of the journal area (a batch that would is written at the
// start instead). Records are numbered consecutively across batches; a batch is valid when its
// magic, volume tag and CRC32C match and its first sequence number is the one replay expects.
const (
	batchMagic      = 0x4E524A53 // "SJRN"
	batchHeaderSize = 4 + 4 + 8 + 8 + 8 + 4 + 4
)

// batch is a decoded journal batch.
type batch struct {
	epoch    uint64 // owner epoch of the writer (fencing audit)
	firstSeq uint64
	records  []record
}

// volumeTag distinguishes this volume's journal from stale bytes of an earlier format.
func volumeTag(id [16]byte) uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
}

// encodeBatch returns the batch padded to whole blocks.
func encodeBatch(tag, epoch, firstSeq uint64, recs []record) []byte {
	e := enc{b: make([]byte, batchHeaderSize, BlockSize)}
	for i := range recs {
		recs[i].encode(&e)
	}
	payload := len(e.b) - batchHeaderSize
	h := e.b[:batchHeaderSize]
	binary.LittleEndian.PutUint32(h[0:], batchMagic)
	binary.LittleEndian.PutUint64(h[8:], tag)
	binary.LittleEndian.PutUint64(h[16:], epoch)
	binary.LittleEndian.PutUint64(h[24:], firstSeq)
	binary.LittleEndian.PutUint32(h[32:], uint32(len(recs)))
	binary.LittleEndian.PutUint32(h[36:], uint32(payload))
	binary.LittleEndian.PutUint32(h[4:], crc32c(e.b[8:]))
	n := (len(e.b) + BlockSize - 1) / BlockSize * BlockSize
	out := make([]byte, n)
	copy(out, e.b)
	return out
}

var errNoBatch = errors.New("no valid batch")

// batchLength reads a header and returns the batch's length in bytes (header plus payload), or
// errNoBatch when the header is not a batch of this volume.
func batchLength(h []byte, tag uint64) (int, error) {
	if len(h) < batchHeaderSize || binary.LittleEndian.Uint32(h[0:]) != batchMagic ||
		binary.LittleEndian.Uint64(h[8:]) != tag {
		return 0, errNoBatch
	}
	return batchHeaderSize + int(binary.LittleEndian.Uint32(h[36:])), nil
}

// decodeBatch parses a complete batch (as returned by encodeBatch, padding allowed).
func decodeBatch(b []byte, tag uint64) (*batch, error) {
	n, err := batchLength(b, tag)
	if err != nil {
		return nil, err
	}
	if n > len(b) {
		return nil, fmt.Errorf("batch of %d bytes in %d: %w", n, len(b), errNoBatch)
	}
	if got, want := crc32c(b[8:n]), binary.LittleEndian.Uint32(b[4:]); got != want {
		return nil, fmt.Errorf("batch checksum %08x, want %08x: %w", got, want, errNoBatch)
	}
	bt := &batch{
		epoch:    binary.LittleEndian.Uint64(b[16:]),
		firstSeq: binary.LittleEndian.Uint64(b[24:]),
	}
	count := binary.LittleEndian.Uint32(b[32:])
	d := dec{b: b[batchHeaderSize:n]}
	for i := uint32(0); i < count; i++ {
		r, err := decodeRecord(&d)
		if err != nil {
			return nil, fmt.Errorf("batch %d record %d: %w", bt.firstSeq, i, err)
		}
		bt.records = append(bt.records, r)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("batch %d: %d bytes after %d records", bt.firstSeq, len(d.b), count)
	}
	return bt, nil
}

// journal positions are logical block counts that only grow; the physical block is
// JournalStart + pos % JournalBlocks.
type journalGeom struct {
	start, blocks uint64
}

func (g journalGeom) phys(pos uint64) uint64 { return g.start + pos%g.blocks }

// place returns where a batch of n blocks written at pos goes (skipping to the next lap when it
// would straddle the end) and the position after it.
func (g journalGeom) place(pos, n uint64) (at, next uint64) {
	if off := pos % g.blocks; off+n > g.blocks {
		pos += g.blocks - off
	}
	return pos, pos + n
}

// readBatch reads the batch at pos if it is valid and starts at seq, trying the start of the next
// lap when pos holds none (the writer skips to the next lap when a batch would not fit).
func readBatch(dev BlockDevice, g journalGeom, tag, pos, seq uint64) (*batch, uint64, error) {
	try := func(at uint64) (*batch, uint64, error) {
		hdr := make([]byte, BlockSize)
		if _, err := dev.ReadAt(hdr, int64(g.phys(at))*BlockSize); err != nil {
			return nil, 0, fmt.Errorf("read journal block %d: %w", at, err)
		}
		n, err := batchLength(hdr, tag)
		if err != nil {
			return nil, 0, err
		}
		blocks := uint64(n+BlockSize-1) / BlockSize
		if at%g.blocks+blocks > g.blocks {
			return nil, 0, errNoBatch
		}
		buf := hdr
		if blocks > 1 {
			buf = make([]byte, blocks*BlockSize)
			if _, err := dev.ReadAt(buf, int64(g.phys(at))*BlockSize); err != nil {
				return nil, 0, fmt.Errorf("read journal blocks %d+%d: %w", at, blocks, err)
			}
		}
		b, err := decodeBatch(buf, tag)
		if err != nil {
			return nil, 0, err
		}
		if b.firstSeq != seq {
			return nil, 0, errNoBatch
		}
		return b, at + blocks, nil
	}
	b, next, err := try(pos)
	if err == nil || !errors.Is(err, errNoBatch) {
		return b, next, err
	}
	if off := pos % g.blocks; off != 0 {
		return try(pos + g.blocks - off)
	}
	return nil, 0, errNoBatch
}
