package spaces

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// MemDevice is an in-memory BlockDevice with power-loss semantics, the twin of FileDevice in tests:
// a write is visible at once but durable only after Sync; Crash reverts a random subset of the
// blocks written since the last Sync, each block atomically (as 4 KiB-sector devices do).
type MemDevice struct {
	mu     sync.Mutex
	size   int64
	blocks map[int64][]byte // block index -> contents; absent reads as zeros
	// undo holds, for each block written since the last Sync, its durable contents (nil = zeros).
	undo map[int64][]byte
}

// NewMemDevice returns a zero-filled device of size bytes (rounded down to BlockSize).
func NewMemDevice(size int64) *MemDevice {
	return &MemDevice{size: size - size%BlockSize, blocks: map[int64][]byte{}, undo: map[int64][]byte{}}
}

func (m *MemDevice) Size() int64  { return m.size }
func (m *MemDevice) Close() error { return nil }

func (m *MemDevice) bounds(n int, off int64) error {
	if err := checkAligned(n, off); err != nil {
		return err
	}
	if off < 0 || off+int64(n) > m.size {
		return fmt.Errorf("mem disk: I/O at %d+%d beyond size %d", off, n, m.size)
	}
	return nil
}

func (m *MemDevice) ReadAt(p []byte, off int64) (int, error) {
	if err := m.bounds(len(p), off); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(p); i += BlockSize {
		b := m.blocks[(off+int64(i))/BlockSize]
		if b == nil {
			clear(p[i : i+BlockSize])
		} else {
			copy(p[i:i+BlockSize], b)
		}
	}
	return len(p), nil
}

func (m *MemDevice) WriteAt(p []byte, off int64) (int, error) {
	if err := m.bounds(len(p), off); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(p); i += BlockSize {
		idx := (off + int64(i)) / BlockSize
		old := m.blocks[idx]
		if _, seen := m.undo[idx]; !seen {
			m.undo[idx] = old
		}
		nb := make([]byte, BlockSize)
		copy(nb, p[i:i+BlockSize])
		m.blocks[idx] = nb
	}
	return len(p), nil
}

func (m *MemDevice) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.undo)
	return nil
}

// Zero makes the range read as zeros (not durable until Sync, like any write).
func (m *MemDevice) Zero(off, n int64) error {
	if err := m.bounds(int(n), off); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for idx := off / BlockSize; idx < (off+n)/BlockSize; idx++ {
		old, ok := m.blocks[idx]
		if !ok {
			continue
		}
		if _, seen := m.undo[idx]; !seen {
			m.undo[idx] = old
		}
		delete(m.blocks, idx)
	}
	return nil
}

// Crash simulates power loss: each block written since the last Sync independently keeps its new
// contents or reverts to its durable contents. It returns how many blocks reverted.
func (m *MemDevice) Crash(rng *rand.Rand) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	reverted := 0
	for idx, old := range m.undo {
		if rng.IntN(2) == 0 {
			continue
		}
		reverted++
		if old == nil {
			delete(m.blocks, idx)
		} else {
			m.blocks[idx] = old
		}
	}
	clear(m.undo)
	return reverted
}

// CorruptBlock flips the bits of one byte in place, durably, as silent media corruption would.
func (m *MemDevice) CorruptBlock(off int64, byteInBlock int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := off / BlockSize
	b := m.blocks[idx]
	if b == nil {
		b = make([]byte, BlockSize)
		m.blocks[idx] = b
	}
	b[byteInBlock%BlockSize] ^= 0xff
}
