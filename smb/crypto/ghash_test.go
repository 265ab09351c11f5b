package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"math/rand/v2"
	"testing"
)

// stdGMAC is the reference: crypto/cipher's GCM with the message as additional data only.
func stdGMAC(t testing.TB, key, nonce, msg []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead.Seal(nil, nonce, nil, msg)
}

// ourGMAC computes the tag with our GHASH, fed in pieces at the given (16-byte aligned) cuts,
// through update (the kernel where there is one) or updateGeneric.
func ourGMAC(t testing.TB, key, nonce, msg []byte, cuts []int, generic bool) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	k := newGHASHKey(block)
	g := ghash{k: k, generic: generic}
	prev := 0
	for _, c := range cuts {
		g.write(msg[prev:c])
		prev = c
	}
	g.write(msg[prev:])
	out := make([]byte, 16)
	g.sum(block, nonce, len(msg), 0, out)
	return out
}

func randomGMACCase(r *rand.Rand, maxLen int) (key, nonce, msg []byte, cuts []int) {
	key, nonce = make([]byte, 16), make([]byte, 12)
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	for i := range nonce {
		nonce[i] = byte(r.Uint32())
	}
	msg = make([]byte, r.IntN(maxLen+1))
	for i := range msg {
		msg[i] = byte(r.Uint32())
	}
	for c := 16 * (1 + r.IntN(20)); c < len(msg) && len(cuts) < 3; c += 16 * (1 + r.IntN(300)) {
		cuts = append(cuts, c)
	}
	return key, nonce, msg, cuts
}

// TestGHASHMatchesStandardGCM checks both of our paths against the standard library on random
// keys, nonces and lengths (around the 16-block step of the kernel and well past it), fed
// whole and in pieces.
func TestGHASHMatchesStandardGCM(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 3000; i++ {
		maxLen := 600
		if i%10 == 0 {
			maxLen = 20000
		}
		key, nonce, msg, cuts := randomGMACCase(r, maxLen)
		want := stdGMAC(t, key, nonce, msg)
		for _, generic := range []bool{true, false} {
			if generic && len(msg) > 5000 && i%50 != 0 {
				continue // the software multiply is slow; a few long ones suffice
			}
			if got := ourGMAC(t, key, nonce, msg, cuts, generic); !bytes.Equal(got, want) {
				t.Fatalf("case %d (len %d, cuts %v, generic %v): tag %x, standard library %x", i, len(msg), cuts, generic, got, want)
			}
		}
	}
}

// FuzzGHASH checks our GMAC against the standard library's on any key, nonce, message and
// cut into pieces (the cut is rounded down to a 16-byte boundary, as the signer feeds pieces).
func FuzzGHASH(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 12), []byte("abc"), 0)
	f.Add([]byte("0123456789abcdef"), []byte("nonce-nonce!"), bytes.Repeat([]byte{0xa5}, 16*37+5), 64)
	f.Fuzz(func(t *testing.T, key, nonce, msg []byte, cut int) {
		if len(key) != 16 || len(nonce) != 12 {
			return
		}
		var cuts []int
		if c := cut &^ 15; c > 0 && c < len(msg) {
			cuts = []int{c}
		}
		want := stdGMAC(t, key, nonce, msg)
		if got := ourGMAC(t, key, nonce, msg, cuts, false); !bytes.Equal(got, want) {
			t.Fatalf("len %d cut %v: tag %x, standard library %x", len(msg), cuts, got, want)
		}
		if len(msg) < 4096 {
			if got := ourGMAC(t, key, nonce, msg, cuts, true); !bytes.Equal(got, want) {
				t.Fatalf("generic, len %d cut %v: tag %x, standard library %x", len(msg), cuts, got, want)
			}
		}
	})
}

// TestGMACSignerPaths signs random messages with the signer (kernel where the CPU has it) and
// checks the standard library's GCM, computed over the message with its signature field
// zeroed, gives the same signature; Verify accepts it, leaves the message as it was, and
// refuses any flipped bit.
func TestGMACSignerPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	s, err := NewGMACSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		msg := make([]byte, headerSize+r.IntN(9000))
		for j := range msg {
			msg[j] = byte(r.Uint32())
		}
		s.Sign(msg)
		plain := bytes.Clone(msg)
		clear(plain[sigOffset : sigOffset+sigSize])
		nonce := gmacNonce(msg)
		if want := stdGMAC(t, key, nonce[:], plain); !bytes.Equal(msg[sigOffset:sigOffset+sigSize], want) {
			t.Fatalf("message %d (len %d): signature %x, standard library %x", i, len(msg), msg[sigOffset:sigOffset+sigSize], want)
		}
		before := bytes.Clone(msg)
		if !s.Verify(msg) || !bytes.Equal(msg, before) {
			t.Fatalf("message %d: Verify refused its own signature or changed the message", i)
		}
		bit := r.IntN(len(msg) * 8)
		msg[bit/8] ^= 1 << (bit % 8)
		if s.Verify(msg) {
			t.Fatalf("message %d: Verify accepted a flipped bit %d", i, bit)
		}
	}
}

func BenchmarkGHASH8MiB(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 16))
	k := newGHASHKey(block)
	p := make([]byte, 8<<20)
	b.SetBytes(int64(len(p)))
	b.ReportMetric(map[bool]float64{false: 0, true: 1}[haveGHASHKernel], "kernel")
	for b.Loop() {
		var y [2]uint64
		k.update(&y, p)
	}
}

func BenchmarkStdGMAC8MiB(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 16))
	aead, _ := cipher.NewGCM(block)
	p := make([]byte, 8<<20)
	nonce := make([]byte, 12)
	var out [16]byte
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		aead.Seal(out[:0], nonce, nil, p)
	}
}

func BenchmarkGHASH256KiB(b *testing.B) {
	block, _ := aes.NewCipher(make([]byte, 16))
	k := newGHASHKey(block)
	p := make([]byte, 256<<10)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		var y [2]uint64
		k.update(&y, p)
	}
}
