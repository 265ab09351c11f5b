package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func bothGCMs(t testing.TB, key []byte) (ours, std cipher.AEAD) {
	ours, err := newGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	std, _ = cipher.NewGCM(block)
	return ours, std
}

// TestGCMMatchesStandardLibrary seals and opens random messages with our GCM and the
// standard library's, for both key sizes, lengths around and across the kernels' steps and
// chunks, with and without additional data, into fresh buffers and in place; a flipped bit
// anywhere must make Open fail and leave no plaintext behind.
func TestGCMMatchesStandardLibrary(t *testing.T) {
	if _, ok := mustGCM(t, make([]byte, 16)).(*gcmAEAD); !ok {
		t.Logf("no GCM kernel on this CPU: newGCM is crypto/cipher's, compared with itself")
	}
	r := rand.New(rand.NewPCG(1, 9))
	for i := 0; i < 600; i++ {
		key := randBytes(r, []int{16, 32}[i%2])
		ours, std := bothGCMs(t, key)
		nonce := randBytes(r, 12)
		n := r.IntN(700)
		if i%5 == 0 {
			n = r.IntN(3 * gcmChunk)
		}
		plain := randBytes(r, n)
		aad := randBytes(r, []int{0, 5, 16, 32, 33}[r.IntN(5)])
		want := std.Seal(nil, nonce, plain, aad)
		got := ours.Seal(nil, nonce, plain, aad)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (key %d, len %d, aad %d): sealed output differs from the standard library's", i, len(key), n, len(aad))
		}
		// In place, as the transformer does: plaintext at the start of a buffer with room.
		buf := make([]byte, n, n+16)
		copy(buf, plain)
		if inPlace := ours.Seal(buf[:0], nonce, buf, aad); !bytes.Equal(inPlace, want) {
			t.Fatalf("case %d: in-place seal differs", i)
		}
		opened, err := ours.Open(nil, nonce, want, aad)
		if err != nil || !bytes.Equal(opened, plain) {
			t.Fatalf("case %d: open = %v", i, err)
		}
		work := bytes.Clone(want)
		if opened, err := ours.Open(work[:0], nonce, work, aad); err != nil || !bytes.Equal(opened, plain) {
			t.Fatalf("case %d: in-place open = %v", i, err)
		}
		bad := bytes.Clone(want)
		bit := r.IntN(len(bad) * 8)
		bad[bit/8] ^= 1 << (bit % 8)
		if _, err := ours.Open(bad[:0], nonce, bad, aad); err == nil {
			t.Fatalf("case %d: a flipped bit %d was accepted", i, bit)
		}
		if !bytes.Equal(bad[:n], make([]byte, n)) {
			t.Fatalf("case %d: a failed in-place open left output behind", i)
		}
		if len(aad) > 0 {
			aad[0] ^= 1
			if _, err := ours.Open(nil, nonce, want, aad); err == nil {
				t.Fatalf("case %d: changed additional data was accepted", i)
			}
		}
	}
}

func mustGCM(t testing.TB, key []byte) cipher.AEAD {
	a, err := newGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestGCMCounterWraps checks the keystream against one built block by block with
// crypto/aes, starting just below 2^32 so the 32-bit counter wraps inside a kernel step
// (SP 800-38D's inc32 leaves the nonce alone).
func TestGCMCounterWraps(t *testing.T) {
	if !haveGCMKernel {
		t.Logf("no GCM kernel on this CPU; the keystream below is the reference's alone")
	}
	r := rand.New(rand.NewPCG(4, 4))
	for _, klen := range []int{16, 32} {
		key := randBytes(r, klen)
		nonce := randBytes(r, 12)
		block, _ := aes.NewCipher(key)
		const start = 0xFFFFFFF7
		n := 40*16 + 9
		want := make([]byte, n)
		for j := 0; j*16 < n; j++ {
			var cb [16]byte
			copy(cb[:], nonce)
			binary.BigEndian.PutUint32(cb[12:], uint32(start+j))
			block.Encrypt(cb[:], cb[:])
			copy(want[j*16:], cb[:min(16, n-j*16)])
		}
		if !haveGCMKernel {
			continue
		}
		g := mustGCM(t, key).(*gcmAEAD)
		got := make([]byte, n)
		g.ctr(got, make([]byte, n), nonce, start)
		if !bytes.Equal(got, want) {
			t.Fatalf("AES-%d keystream across the counter wrap differs from the block-by-block one", klen*8)
		}
	}
}

// FuzzGCM compares our GCM with the standard library's on any key, nonce, plaintext and
// additional data.
func FuzzGCM(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 12), []byte("hello"), []byte("aad"))
	f.Add(bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{1}, 12), bytes.Repeat([]byte{0x5a}, 1000), []byte{})
	f.Fuzz(func(t *testing.T, key, nonce, plain, aad []byte) {
		if (len(key) != 16 && len(key) != 32) || len(nonce) != 12 {
			return
		}
		ours, std := bothGCMs(t, key)
		want := std.Seal(nil, nonce, plain, aad)
		if got := ours.Seal(nil, nonce, plain, aad); !bytes.Equal(got, want) {
			t.Fatalf("len %d aad %d: sealed output differs", len(plain), len(aad))
		}
		if got, err := ours.Open(nil, nonce, want, aad); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("open of the standard library's output: %v", err)
		}
	})
}

func BenchmarkGCMSeal8MiB(b *testing.B) { benchGCM(b, true) }
func BenchmarkGCMOpen8MiB(b *testing.B) { benchGCM(b, false) }

func benchGCM(b *testing.B, seal bool) {
	a := mustGCM(b, make([]byte, 16))
	p := make([]byte, 8<<20, 8<<20+16)
	nonce := make([]byte, 12)
	ct := a.Seal(nil, nonce, p, nil)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if seal {
			a.Seal(p[:0], nonce, p, nil)
		} else if _, err := a.Open(p[:0], nonce, ct, nil); err != nil {
			b.Fatal(err)
		}
	}
}
