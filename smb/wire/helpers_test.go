package wire

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"runtime/metrics"
	"testing"
	"unicode"

	"pgregory.net/rapid"
)

// codec is what every request/response type implements.
type codec interface {
	Decode(msg []byte) error
	Append(msg []byte) []byte
}

// testHeader returns a fresh 64-byte request header for cmd.
func testHeader(cmd Command) []byte {
	h := make(Header, HeaderSize)
	h.Init(cmd)
	h.SetMessageID(7)
	return h
}

// sameValue is reflect.DeepEqual except that nil and empty slices are equal
// (decoders return nil for absent buffers and empty sub-slices for present
// empty ones; both encode identically).
func sameValue(a, b any) bool {
	return deepSame(reflect.ValueOf(a), reflect.ValueOf(b))
}

func deepSame(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !deepSame(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return deepSame(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !deepSame(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			if !deepSame(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		return reflect.DeepEqual(a.Interface(), b.Interface())
	default:
		return a.Equal(b)
	}
}

// roundTrip checks Decode(Append(x)) == x for values drawn from gen, and
// that the encoding ends up 8-byte-alignable and decodes without error.
func roundTrip[T any, P interface {
	*T
	codec
}](t *testing.T, cmd Command, gen *rapid.Generator[*T]) {
	t.Helper()
	rapid.Check(t, func(rt *rapid.T) {
		x := gen.Draw(rt, "x")
		msg := P(x).Append(testHeader(cmd))
		y := P(new(T))
		if err := y.Decode(msg); err != nil {
			rt.Fatalf("decode of encoded %+v: %v\n% x", x, err, msg)
		}
		if !sameValue(x, (*T)(y)) {
			rt.Fatalf("round trip mismatch:\n in  %+v\n out %+v", x, y)
		}
	})
}

// fuzzDecode is the body of every FuzzDecodeXxx: decoding arbitrary input
// never panics; a decodable input re-encodes to a message that decodes to the
// same value and re-encodes to the same bytes.
func fuzzDecode[T any, P interface {
	*T
	codec
}](f *testing.F, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x := P(new(T))
		checkAlloc(t, data, func() { _ = P(new(T)).Decode(data) })
		err := x.Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		h := append([]byte(nil), data[:HeaderSize]...)
		enc := x.Append(h)
		y := P(new(T))
		if err := y.Decode(enc); err != nil {
			t.Fatalf("re-encoded message does not decode: %v\nvalue %+v\n% x", err, x, enc)
		}
		if !sameValue((*T)(x), (*T)(y)) {
			t.Fatalf("re-decoded value differs:\n first  %+v\n second %+v", x, y)
		}
		enc2 := y.Append(append([]byte(nil), data[:HeaderSize]...))
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding not stable:\n% x\n% x", enc, enc2)
		}
	})
}

// allocBound is the most a decoder may allocate for an input of n bytes:
// proportional to the input (decoded structs are bigger than their wire
// form, and append may double a slice), never driven by a length field.
// The constant part absorbs allocations of the fuzzing engine's own
// goroutines, which the process-wide counters also see.
func allocBound(n int) uint64 { return 64*uint64(n) + 64<<10 }

// checkAlloc fails if fn (a decode of data) allocates more than allocBound.
func checkAlloc(t *testing.T, data []byte, fn func()) {
	t.Helper()
	if got := allocBytes(fn, allocBound(len(data))); got > allocBound(len(data)) {
		t.Fatalf("decoding %d bytes allocated %d bytes (bound %d)", len(data), got, allocBound(len(data)))
	}
}

// allocBytes is the number of heap bytes fn allocates, if that is above
// limit; otherwise some value <= limit. It first reads the cheap
// runtime/metrics counter, which does not stop the world but accounts small
// allocations a span at a time (so it over-reports), and only when that
// exceeds limit re-runs fn under the exact runtime.ReadMemStats.
func allocBytes(fn func(), limit uint64) uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	before := sample[0].Value.Uint64()
	fn()
	metrics.Read(sample)
	if sample[0].Value.Uint64()-before <= limit {
		return 0
	}
	// Exact counts, minimum of three runs: other goroutines (the fuzzing
	// engine's) may allocate during one of them, fn allocates every time.
	best := ^uint64(0)
	for i := 0; i < 3; i++ {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		fn()
		runtime.ReadMemStats(&ms1)
		best = min(best, ms1.TotalAlloc-ms0.TotalAlloc)
	}
	return best
}

// Generators shared by the property tests.

func genBytes(max int) *rapid.Generator[[]byte] {
	return rapid.Custom(func(t *rapid.T) []byte {
		b := rapid.SliceOfN(rapid.Byte(), 0, max).Draw(t, "bytes")
		if len(b) == 0 {
			return nil
		}
		return b
	})
}

func genName() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.StringMatching(`[a-zA-Z0-9 ._\\-]{0,20}`),
		rapid.StringOfN(rapid.RuneFrom(nil, unicodeRanges...), 0, 12, -1),
	)
}

var unicodeRanges = []*unicode.RangeTable{unicode.Latin, unicode.Greek, unicode.Han, unicode.Cyrillic}

func genGUID() *rapid.Generator[GUID] {
	return rapid.Custom(func(t *rapid.T) GUID {
		var g GUID
		copy(g[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "guid"))
		return g
	})
}

func genFileID() *rapid.Generator[FileID] {
	return rapid.Custom(func(t *rapid.T) FileID {
		return FileID{rapid.Uint64().Draw(t, "p"), rapid.Uint64().Draw(t, "v")}
	})
}

func genU16s(min, max int) *rapid.Generator[[]uint16] {
	return rapid.Custom(func(t *rapid.T) []uint16 {
		s := rapid.SliceOfN(rapid.Uint16(), min, max).Draw(t, "u16s")
		if len(s) == 0 {
			return nil
		}
		return s
	})
}
