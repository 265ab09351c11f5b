package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// gcmAEAD is AES-GCM (NIST SP 800-38D) with a 96-bit nonce and a 16-byte tag, for SMB 3.x
// encryption where the CPU runs our vector kernels (haveGCMKernel): AES-CTR through
// ctrAVX512 and GHASH through ghashAVX512. The two passes go chunk by chunk, so the second
// reads what the first just wrote from the cache. Elsewhere crypto/cipher's GCM serves.
// Why: a 1 GiB encrypted put or get is 1 GiB of AES-GCM on the server, and the standard
// library's (4-5 GB/s here) was one of sofsd's largest costs in them.
type gcmAEAD struct {
	block  cipher.Block // E_K(J0) for the tag
	rk     [15][16]byte
	rounds int
	key    *ghashKey
}

// gcmChunk is how much each pass covers before the other runs: a multiple of 256 (the CTR
// kernel's step) well inside a core's L2.
const gcmChunk = 64 << 10

// gcmMaxPlaintext is SP 800-38D's limit for a 96-bit nonce: 2^32 - 2 blocks.
const gcmMaxPlaintext = (1<<32 - 2) * 16

var errGCMOpen = errors.New("gcm: message authentication failed")

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if !haveGCMKernel {
		return cipher.NewGCM(block)
	}
	g := &gcmAEAD{block: block, key: newGHASHKey(block)}
	if g.rk, g.rounds, err = aesRoundKeys(key); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *gcmAEAD) NonceSize() int { return 12 }
func (g *gcmAEAD) Overhead() int  { return 16 }

// ctr XORs src into dst (same length) with the keystream from counter value c on (the
// 32-bit counter of nonce || c, incremented modulo 2^32).
func (g *gcmAEAD) ctr(dst, src, nonce []byte, c uint32) {
	var ctrs [16][16]byte
	fill := func(c uint32) {
		for j := range ctrs {
			copy(ctrs[j][:12], nonce)
			binary.LittleEndian.PutUint32(ctrs[j][12:], c+uint32(j))
		}
	}
	groups := len(src) / 256
	if groups > 0 {
		fill(c)
		ctrAVX512(&g.rk, g.rounds, &ctrs, &dst[0], &src[0], groups)
		c += uint32(groups * 16)
	}
	if done := groups * 256; done < len(src) {
		var ks [256]byte
		fill(c)
		ctrAVX512(&g.rk, g.rounds, &ctrs, &ks[0], &ks[0], 1)
		subtle.XORBytes(dst[done:], src[done:], ks[:len(src)-done])
	}
}

func (g *gcmAEAD) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != 12 {
		panic("gcm: incorrect nonce length")
	}
	if uint64(len(plaintext)) > gcmMaxPlaintext {
		panic("gcm: message too large")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+16)
	if inexactOverlap(out, plaintext) || anyOverlap(out, aad) {
		panic("gcm: invalid buffer overlap")
	}
	h := ghash{k: g.key}
	h.write(aad)
	c := uint32(2) // counter 1 (J0) masks the tag
	for off := 0; off < len(plaintext); off += gcmChunk {
		end := min(off+gcmChunk, len(plaintext))
		g.ctr(out[off:end], plaintext[off:end], nonce, c)
		h.write(out[off:end])
		c += gcmChunk / 16
	}
	h.sum(g.block, nonce, len(aad), len(plaintext), out[len(plaintext):])
	return ret
}

func (g *gcmAEAD) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != 12 {
		panic("gcm: incorrect nonce length")
	}
	if len(ciphertext) < 16 || uint64(len(ciphertext)-16) > gcmMaxPlaintext {
		return nil, errGCMOpen
	}
	body := ciphertext[:len(ciphertext)-16]
	var want [16]byte
	copy(want[:], ciphertext[len(body):])
	ret, out := sliceForAppend(dst, len(body))
	if inexactOverlap(out, ciphertext) || anyOverlap(out, aad) {
		panic("gcm: invalid buffer overlap")
	}
	// Hashing and decryption go together, chunk by chunk (in place, each chunk is hashed
	// before it is decrypted); a forged message's output is cleared before the error.
	h := ghash{k: g.key}
	h.write(aad)
	c := uint32(2)
	for off := 0; off < len(body); off += gcmChunk {
		end := min(off+gcmChunk, len(body))
		h.write(body[off:end])
		g.ctr(out[off:end], body[off:end], nonce, c)
		c += gcmChunk / 16
	}
	var tag [16]byte
	h.sum(g.block, nonce, len(aad), len(body), tag[:])
	if subtle.ConstantTimeCompare(tag[:], want[:]) != 1 {
		clear(out)
		return nil, errGCMOpen
	}
	return ret, nil
}
