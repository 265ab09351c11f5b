package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"hash"
)

// cmacChunk bounds the scratch buffer that CBC-encrypts full blocks in one call; the
// chaining value lives inside the BlockMode, so chunking does not change the result.
const cmacChunk = 4096

// ivSetter is implemented by the standard library's CBC encrypter; it lets Reset restart
// the chain without allocating a new BlockMode.
type ivSetter interface{ SetIV([]byte) }

// cmac is AES-CMAC (RFC 4493) as a hash.Hash. Full blocks are pushed through a CBC
// encrypter with a zero IV (CBC-MAC); the last block is held back in buf because only
// Sum knows whether it is the final one (RFC 4493 section 2.4, step 4).
type cmac struct {
	block   cipher.Block
	k1, k2  [aes.BlockSize]byte
	cbc     cipher.BlockMode
	x       [aes.BlockSize]byte // chaining value, tracked for Sum (last ciphertext block)
	buf     [aes.BlockSize]byte // pending bytes, at most one block
	n       int                 // bytes pending in buf
	scratch []byte
}

// NewCMAC returns AES-CMAC (RFC 4493) keyed with key (16, 24 or 32 bytes); the 16-byte
// MAC is appended by Sum. SMB 3.x signs with AES-128-CMAC (MS-SMB2 3.1.4.1).
func NewCMAC(key []byte) (hash.Hash, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cmac: %w", err)
	}
	return newCMACFromBlock(block), nil
}

func newCMACFromBlock(block cipher.Block) *cmac {
	c := &cmac{block: block, scratch: make([]byte, cmacChunk)}
	// Subkeys, RFC 4493 section 2.3: L = AES(K, 0); K1 = L<<1 (^Rb), K2 = K1<<1 (^Rb).
	var l [aes.BlockSize]byte
	block.Encrypt(l[:], l[:])
	shiftLeftXorRb(c.k1[:], l[:])
	shiftLeftXorRb(c.k2[:], c.k1[:])
	var zero [aes.BlockSize]byte
	c.cbc = cipher.NewCBCEncrypter(block, zero[:])
	return c
}

// shiftLeftXorRb sets dst = src<<1, xor Rb (0x87) when the shifted-out bit was set.
func shiftLeftXorRb(dst, src []byte) {
	var carry byte
	for i := len(src) - 1; i >= 0; i-- {
		b := src[i]
		dst[i] = b<<1 | carry
		carry = b >> 7
	}
	if carry != 0 {
		dst[len(dst)-1] ^= 0x87
	}
}

func (c *cmac) Size() int      { return aes.BlockSize }
func (c *cmac) BlockSize() int { return aes.BlockSize }

func (c *cmac) Reset() {
	c.x = [aes.BlockSize]byte{}
	c.n = 0
	if s, ok := c.cbc.(ivSetter); ok {
		s.SetIV(c.x[:])
	} else {
		c.cbc = cipher.NewCBCEncrypter(c.block, c.x[:])
	}
}

// Write never fails.
func (c *cmac) Write(p []byte) (int, error) {
	total := len(p)
	// Fill the pending block first; flush it only when more input follows it.
	if c.n > 0 {
		k := copy(c.buf[c.n:], p)
		c.n += k
		p = p[k:]
		if len(p) == 0 {
			return total, nil
		}
		c.crypt(c.buf[:])
		c.n = 0
	}
	// Process all full blocks except the last one (which might be final).
	full := len(p) / aes.BlockSize * aes.BlockSize
	if full == len(p) && full > 0 {
		full -= aes.BlockSize
	}
	for full > 0 {
		k := min(full, len(c.scratch))
		c.crypt(p[:k])
		p = p[k:]
		full -= k
	}
	c.n = copy(c.buf[:], p)
	return total, nil
}

// crypt runs whole blocks through the CBC-MAC chain and records the chaining value.
func (c *cmac) crypt(p []byte) {
	out := c.scratch[:len(p)]
	c.cbc.CryptBlocks(out, p)
	copy(c.x[:], out[len(out)-aes.BlockSize:])
}

// Sum appends the MAC of the data written so far; it does not change the state.
func (c *cmac) Sum(in []byte) []byte {
	var last [aes.BlockSize]byte
	if c.n == aes.BlockSize {
		subtle.XORBytes(last[:], c.buf[:], c.k1[:])
	} else {
		copy(last[:], c.buf[:c.n])
		last[c.n] = 0x80
		subtle.XORBytes(last[:], last[:], c.k2[:])
	}
	subtle.XORBytes(last[:], last[:], c.x[:])
	c.block.Encrypt(last[:], last[:])
	return append(in, last[:]...)
}
