package vfs

import (
	"math"
	"testing"
)

// lockOpDecoder turns fuzz bytes into lock-table operations. The first byte picks where the
// 64-byte window of offsets lies: at 0 (where {0, 0} is special) or against 2^64-1 (where ranges
// wrap). Each operation is a header byte (kind in the low 3 bits, owner in bits 3-4) followed by
// the bytes of its ranges; a range is two bytes: offset in the window and exclusive bit, then
// length (0-15, or "to the end of 64-bit space" plus 0-3, which may wrap).
type lockOpDecoder struct {
	data []byte
	base uint64
}

func (d *lockOpDecoder) next() (byte, bool) {
	if len(d.data) == 0 {
		return 0, false
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b, true
}

func (d *lockOpDecoder) lockRange() (LockRange, bool) {
	b0, ok0 := d.next()
	b1, ok1 := d.next()
	if !ok0 || !ok1 {
		return LockRange{}, false
	}
	r := LockRange{Offset: d.base + uint64(b0&63), Exclusive: b0&64 != 0}
	if b1&0x80 != 0 {
		r.Length = (math.MaxUint64 - r.Offset) + uint64(b1&3) // +1 reaches the end exactly; more wraps
	} else {
		r.Length = uint64(b1 & 15)
	}
	return r, true
}

func (d *lockOpDecoder) ranges(max int) ([]LockRange, bool) {
	n, ok := d.next()
	if !ok {
		return nil, false
	}
	var rs []LockRange
	for range 1 + int(n)%max {
		r, ok := d.lockRange()
		if !ok {
			return nil, false
		}
		rs = append(rs, r)
	}
	return rs, true
}

// FuzzLockTable runs decoded operation sequences, blocking locks and cancels included, against
// the table and the reference model of locks_test.go, failing on any difference in outcome or in
// the held locks, or on two conflicting grants.
func FuzzLockTable(f *testing.F) {
	f.Add([]byte{0, 0x00, 0, 0x40, 10, 0x09, 0, 0x40, 10})           // exclusive, then another owner's conflicting blocking lock
	f.Add([]byte{0, 0x00, 0, 0x4a, 0, 0x09, 0, 0x49, 2, 0x03, 0})    // zero-byte lock at 10 vs 9..10
	f.Add([]byte{1, 0x00, 0, 0x7f, 1, 0x08, 0, 0x00, 0x81, 0x06, 0}) // at the top of 64-bit space, wrapping
	f.Add([]byte{0, 0x00, 0, 0x40, 8, 0x09, 1, 0x41, 2, 0x48, 4,     // a holds 0..7; b waits for 1..2 and 8..11
		0x02, 0, 0x40, 8, 0x0b, 0x04, 0}) // a unlocks (b granted); b releases; cancel (none left)
	f.Add([]byte{0, 0x10, 0, 0x00, 20, 0x09, 0, 0x40, 4, 0x11, 0, 0x00, 4, 0x0b}) // c stacks shared; b's waiter abandoned by b's release
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &lockOpDecoder{data: data}
		if b, ok := d.next(); ok && b&1 != 0 {
			d.base = math.MaxUint64 - 63
		}
		h := newLockHarness(t, 4)
		defer h.finish()
		for range 64 {
			head, ok := d.next()
			if !ok {
				return
			}
			owner := int(head>>3) & 3
			switch head & 7 {
			case 0, 1: // lock, lock and wait
				rs, ok := d.ranges(3)
				if !ok {
					return
				}
				h.lock(owner, rs, head&7 == 1)
			case 2, 5: // unlock
				rs, ok := d.ranges(2)
				if !ok {
					return
				}
				h.unlock(owner, rs)
			case 3:
				h.releaseAll(owner)
			case 4:
				which, ok := d.next()
				if !ok {
					return
				}
				h.cancelWaiter(int(which))
			case 6, 7: // read, write
				r, ok := d.lockRange()
				if !ok {
					return
				}
				h.checkIO(owner, r.Offset, r.Length, head&7 == 7)
			}
		}
	})
}
