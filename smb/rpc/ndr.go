package rpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// A small NDR 2.0 (C706 chapter 14) encoder and decoder: primitives with natural alignment, unique and full
// pointers as referent ids, conformant varying UTF-16 strings ([string] wchar_t*), and the conformance
// counts of arrays. Callers marshal deferred pointees themselves in the NDR order (C706 14.3.12.3: the
// referents of pointers embedded in a structure or array follow the whole structure or array). Alignment is
// relative to the start of the stub, which is how the RPC runtime lays stubs out (C706 14.2.2).

// ErrNDR reports stub data that does not decode; the dispatcher turns it into nca_s_fault_ndr.
var ErrNDR = errors.New("rpc: malformed NDR stub data")

// maxStringChars bounds decoded strings; names and paths in srvsvc are far shorter, and the bound keeps a
// forged conformance count from asking for a huge allocation.
const maxStringChars = 32 * 1024

// firstReferentID is where Windows starts numbering referents in a stub; each pointer adds 4.
const firstReferentID = 0x00020000

// ndrDecoder reads NDR 2.0 little-endian stub data. The first error sticks; later reads return zero values,
// so decoders read straight through and check Err once.
type ndrDecoder struct {
	b   []byte
	off int
	err error
}

func newNDRDecoder(b []byte) *ndrDecoder { return &ndrDecoder{b: b} }

func (d *ndrDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at stub offset %d", ErrNDR, fmt.Sprintf(format, args...), d.off)
	}
}

// Err is the first decoding error, or nil.
func (d *ndrDecoder) Err() error { return d.err }

func (d *ndrDecoder) align(n int) {
	if d.err != nil {
		return
	}
	pad := (n - d.off%n) % n
	if d.off+pad > len(d.b) {
		d.fail("alignment padding past end")
		return
	}
	d.off += pad
}

func (d *ndrDecoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail("need %d bytes, %d left", n, len(d.b)-d.off)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *ndrDecoder) Uint16() uint16 {
	d.align(2)
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *ndrDecoder) Uint32() uint32 {
	d.align(4)
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

// Pointer reads the referent id of a unique or full pointer; 0 is the null pointer.
func (d *ndrDecoder) Pointer() uint32 { return d.Uint32() }

// String reads a conformant varying string of 16-bit characters ([string] wchar_t*, C706 14.3.4.2): maximum
// count, offset, actual count, then the characters including the terminating NUL, which is stripped.
func (d *ndrDecoder) String() string {
	maxCount := d.Uint32()
	offset := d.Uint32()
	actual := d.Uint32()
	if d.err != nil {
		return ""
	}
	switch {
	case offset != 0:
		d.fail("string offset %d, want 0", offset)
	case actual > maxCount:
		d.fail("string actual count %d exceeds maximum count %d", actual, maxCount)
	case actual == 0:
		d.fail("[string] without terminating NUL")
	case actual > maxStringChars:
		d.fail("string of %d characters exceeds the %d limit", actual, maxStringChars)
	}
	if d.err != nil {
		return ""
	}
	raw := d.take(int(actual) * 2)
	if raw == nil {
		return ""
	}
	u := make([]uint16, actual)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(raw[2*i:])
	}
	if u[actual-1] != 0 {
		d.fail("[string] not NUL-terminated")
		return ""
	}
	return string(utf16.Decode(u[:actual-1]))
}

// UniqueString reads a unique pointer to a [string] wchar_t; ok is false for the null pointer.
func (d *ndrDecoder) UniqueString() (s string, ok bool) {
	if d.Pointer() == 0 {
		return "", false
	}
	return d.String(), d.err == nil
}

// Remaining is the number of undecoded bytes.
func (d *ndrDecoder) Remaining() int { return len(d.b) - d.off }

// ndrEncoder appends NDR 2.0 little-endian stub data.
type ndrEncoder struct {
	b        []byte
	referent uint32
}

func newNDREncoder() *ndrEncoder { return &ndrEncoder{referent: firstReferentID} }

func (e *ndrEncoder) Bytes() []byte { return e.b }

func (e *ndrEncoder) align(n int) {
	for len(e.b)%n != 0 {
		e.b = append(e.b, 0)
	}
}

func (e *ndrEncoder) Uint16(v uint16) {
	e.align(2)
	e.b = binary.LittleEndian.AppendUint16(e.b, v)
}

func (e *ndrEncoder) Uint32(v uint32) {
	e.align(4)
	e.b = binary.LittleEndian.AppendUint32(e.b, v)
}

// Pointer writes a fresh referent id for a non-null pointer, or 0 for null. The caller marshals the
// pointee later, in deferred order.
func (e *ndrEncoder) Pointer(nonNull bool) {
	if !nonNull {
		e.Uint32(0)
		return
	}
	e.Uint32(e.referent)
	e.referent += 4
}

// String writes a conformant varying [string] of 16-bit characters with its terminating NUL.
func (e *ndrEncoder) String(s string) {
	u := utf16.Encode([]rune(s))
	n := uint32(len(u) + 1)
	e.Uint32(n) // maximum count
	e.Uint32(0) // offset
	e.Uint32(n) // actual count
	for _, c := range u {
		e.b = binary.LittleEndian.AppendUint16(e.b, c)
	}
	e.b = append(e.b, 0, 0)
}
