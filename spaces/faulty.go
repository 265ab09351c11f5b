package spaces

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrInjected is the error a FaultyDevice returns for a failed I/O.
var ErrInjected = errors.New("injected I/O error")

// ErrPulled is the error every I/O on a pulled FaultyDevice returns.
var ErrPulled = errors.New("disk pulled")

// FaultOp selects which operations a Fault applies to.
type FaultOp int

const (
	OpRead FaultOp = 1 << iota
	OpWrite
	OpSync
	OpAny = OpRead | OpWrite | OpSync
)

// FaultKind is what happens to a matching I/O.
type FaultKind int

const (
	// FaultFail returns ErrInjected without doing the I/O.
	FaultFail FaultKind = iota
	// FaultDelay sleeps for Delay, then does the I/O (latency injection, not synchronisation).
	FaultDelay
	// FaultTear writes only the first half of the blocks (at least one byte short of the whole)
	// and returns ErrInjected, as a write cut by power loss or a dying disk would.
	FaultTear
	// FaultCorrupt does the I/O and then silently flips a byte: in the data written (write) or in
	// the buffer returned (read). No error is reported.
	FaultCorrupt
)

// Fault is one injection rule. It matches I/Os of Op overlapping [Off, Off+Len) (Len 0: any
// offset) and fires Count times (negative: forever).
type Fault struct {
	Op    FaultOp
	Kind  FaultKind
	Off   int64
	Len   int64
	Count int
	Delay time.Duration
}

// FaultyDevice wraps a BlockDevice and injects faults into chosen I/Os; Pull makes the disk vanish.
type FaultyDevice struct {
	BlockDevice
	mu     sync.Mutex
	faults []*Fault
	pulled bool
	fired  int
}

// NewFaultyDevice wraps d.
func NewFaultyDevice(d BlockDevice) *FaultyDevice { return &FaultyDevice{BlockDevice: d} }

// Inject adds a rule.
func (f *FaultyDevice) Inject(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := fault
	f.faults = append(f.faults, &fc)
}

// ClearFaults removes every rule (a pulled disk stays pulled).
func (f *FaultyDevice) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Pull makes every subsequent I/O fail with ErrPulled; Return undoes it.
func (f *FaultyDevice) Pull() { f.mu.Lock(); f.pulled = true; f.mu.Unlock() }

// Return plugs a pulled disk back in.
func (f *FaultyDevice) Return() { f.mu.Lock(); f.pulled = false; f.mu.Unlock() }

// Fired reports how many faults have fired.
func (f *FaultyDevice) Fired() int { f.mu.Lock(); defer f.mu.Unlock(); return f.fired }

func (f *FaultyDevice) match(op FaultOp, off int64, n int) (*Fault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pulled {
		return nil, ErrPulled
	}
	for _, ft := range f.faults {
		if ft.Op&op == 0 || ft.Count == 0 {
			continue
		}
		if ft.Len > 0 && (off >= ft.Off+ft.Len || off+int64(n) <= ft.Off) {
			continue
		}
		if ft.Count > 0 {
			ft.Count--
		}
		f.fired++
		c := *ft
		return &c, nil
	}
	return nil, nil
}

func (f *FaultyDevice) ReadAt(p []byte, off int64) (int, error) {
	ft, err := f.match(OpRead, off, len(p))
	if err != nil {
		return 0, fmt.Errorf("read at %d: %w", off, err)
	}
	if ft != nil {
		switch ft.Kind {
		case FaultFail, FaultTear:
			return 0, fmt.Errorf("read at %d: %w", off, ErrInjected)
		case FaultDelay:
			time.Sleep(ft.Delay)
		}
	}
	n, err := f.BlockDevice.ReadAt(p, off)
	if ft != nil && ft.Kind == FaultCorrupt && n > 0 {
		p[n/2] ^= 0x5a
	}
	return n, err
}

func (f *FaultyDevice) WriteAt(p []byte, off int64) (int, error) {
	ft, err := f.match(OpWrite, off, len(p))
	if err != nil {
		return 0, fmt.Errorf("write at %d: %w", off, err)
	}
	if ft == nil {
		return f.BlockDevice.WriteAt(p, off)
	}
	switch ft.Kind {
	case FaultFail:
		return 0, fmt.Errorf("write at %d: %w", off, ErrInjected)
	case FaultDelay:
		time.Sleep(ft.Delay)
	case FaultTear:
		half := (len(p) / BlockSize / 2) * BlockSize
		if half > 0 {
			if n, err := f.BlockDevice.WriteAt(p[:half], off); err != nil {
				return n, err
			}
		}
		return half, fmt.Errorf("torn write at %d: %w", off, ErrInjected)
	case FaultCorrupt:
		bad := append([]byte(nil), p...)
		bad[len(bad)/2] ^= 0x5a
		return f.BlockDevice.WriteAt(bad, off)
	}
	return f.BlockDevice.WriteAt(p, off)
}

func (f *FaultyDevice) Sync() error {
	ft, err := f.match(OpSync, 0, 0)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if ft != nil {
		switch ft.Kind {
		case FaultDelay:
			time.Sleep(ft.Delay)
		default:
			return fmt.Errorf("sync: %w", ErrInjected)
		}
	}
	return f.BlockDevice.Sync()
}

// Zero passes through to the wrapped device (as a write for fault purposes).
func (f *FaultyDevice) Zero(off, n int64) error {
	ft, err := f.match(OpWrite, off, int(n))
	if err != nil {
		return fmt.Errorf("zero at %d: %w", off, err)
	}
	if ft != nil && ft.Kind != FaultDelay {
		return fmt.Errorf("zero at %d: %w", off, ErrInjected)
	}
	return zeroRange(f.BlockDevice, off, n)
}
