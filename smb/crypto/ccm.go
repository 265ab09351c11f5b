package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// ccm is AES-CCM (RFC 3610, NIST SP800-38C): CBC-MAC over the formatted header, AAD and
// payload, then CTR-mode encryption of the payload and of the MAC.
type ccm struct {
	block     cipher.Block
	nonceSize int
	tagSize   int
	macs      sync.Pool // *cbcMAC; keeps the hot path free of per-call buffers
}

// NewCCM returns AES-CCM over block (which must have a 16-byte block size) with the given
// nonce size (7..13 bytes; 15-nonceSize is the length-field size L) and tag size (4..16,
// even). SMB 3.x uses an 11-byte nonce and a 16-byte tag (MS-SMB2 2.2.41).
func NewCCM(block cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if block.BlockSize() != aes.BlockSize {
		return nil, errors.New("ccm: block size must be 16 bytes")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, fmt.Errorf("ccm: nonce size %d not in 7..13", nonceSize)
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, fmt.Errorf("ccm: tag size %d not an even number in 4..16", tagSize)
	}
	c := &ccm{block: block, nonceSize: nonceSize, tagSize: tagSize}
	c.macs.New = func() any { return newCBCMAC(block) }
	return c, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// maxPayload is the largest payload the L-byte length field can describe.
func (c *ccm) maxPayload() uint64 {
	l := 15 - c.nonceSize
	if l >= 8 {
		return 1<<63 - 1
	}
	return 1<<(8*uint(l)) - 1
}

// tag computes the unencrypted CBC-MAC T (RFC 3610 section 2.2) of plaintext and ad.
func (c *ccm) tag(out *[aes.BlockSize]byte, nonce, plaintext, ad []byte) {
	m := c.macs.Get().(*cbcMAC)
	defer c.macs.Put(m)
	m.reset()

	// B_0 = Flags | Nonce | l(m).
	var b0 [aes.BlockSize]byte
	l := 15 - c.nonceSize
	b0[0] = byte((c.tagSize-2)/2)<<3 | byte(l-1)
	if len(ad) > 0 {
		b0[0] |= 0x40
	}
	copy(b0[1:], nonce)
	n := uint64(len(plaintext))
	for i := 15; i > c.nonceSize; i-- {
		b0[i] = byte(n)
		n >>= 8
	}
	m.write(b0[:])

	// Length-prefixed associated data, zero padded to a block (RFC 3610 section 2.2).
	if len(ad) > 0 {
		var hdr [10]byte
		var h []byte
		switch a := uint64(len(ad)); {
		case a < 0xFF00:
			binary.BigEndian.PutUint16(hdr[:], uint16(a))
			h = hdr[:2]
		case a <= 0xFFFFFFFF:
			hdr[0], hdr[1] = 0xFF, 0xFE
			binary.BigEndian.PutUint32(hdr[2:], uint32(a))
			h = hdr[:6]
		default:
			hdr[0], hdr[1] = 0xFF, 0xFF
			binary.BigEndian.PutUint64(hdr[2:], a)
			h = hdr[:10]
		}
		m.write(h)
		m.write(ad)
		m.pad()
	}
	m.write(plaintext)
	m.pad()
	*out = m.x
}

// ctr returns the CTR stream positioned at counter block A_i (RFC 3610 section 2.3).
func (c *ccm) ctr(nonce []byte, i byte) cipher.Stream {
	var a [aes.BlockSize]byte
	a[0] = byte(15 - c.nonceSize - 1)
	copy(a[1:], nonce)
	a[15] = i
	return cipher.NewCTR(c.block, a[:])
}

func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("ccm: incorrect nonce length")
	}
	if uint64(len(plaintext)) > c.maxPayload() {
		panic("ccm: message too large for the nonce size")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	if inexactOverlap(out, plaintext) {
		panic("ccm: invalid buffer overlap")
	}
	var t [aes.BlockSize]byte
	c.tag(&t, nonce, plaintext, ad) // before encrypting: plaintext may alias out
	// A_0 encrypts the tag; A_1.. the payload. One stream starting at A_0 does both.
	s := c.ctr(nonce, 0)
	s.XORKeyStream(t[:], t[:])
	s.XORKeyStream(out[:len(plaintext)], plaintext)
	copy(out[len(plaintext):], t[:c.tagSize])
	return ret
}

var errOpen = errors.New("ccm: message authentication failed")

func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		panic("ccm: incorrect nonce length")
	}
	if len(ciphertext) < c.tagSize {
		return nil, errOpen
	}
	if uint64(len(ciphertext)-c.tagSize) > c.maxPayload() {
		return nil, errOpen
	}
	body, gotTag := ciphertext[:len(ciphertext)-c.tagSize], ciphertext[len(ciphertext)-c.tagSize:]
	ret, out := sliceForAppend(dst, len(body))
	if inexactOverlap(out, ciphertext) {
		panic("ccm: invalid buffer overlap")
	}
	var s0 [aes.BlockSize]byte
	s := c.ctr(nonce, 0)
	s.XORKeyStream(s0[:], s0[:])
	var wantTag [aes.BlockSize]byte
	// gotTag may alias out's tail when decrypting in place; keep a copy first.
	copy(wantTag[:], gotTag)
	s.XORKeyStream(out, body)
	var t [aes.BlockSize]byte
	c.tag(&t, nonce, out, ad)
	subtle.XORBytes(t[:], t[:], s0[:])
	if subtle.ConstantTimeCompare(t[:c.tagSize], wantTag[:c.tagSize]) != 1 {
		clear(out)
		return nil, errOpen
	}
	return ret, nil
}

// cbcMAC is a streaming CBC-MAC with a zero IV; x holds the last chaining value.
type cbcMAC struct {
	cbc     cipher.BlockMode
	block   cipher.Block
	x       [aes.BlockSize]byte
	buf     [aes.BlockSize]byte
	n       int
	scratch []byte
}

func newCBCMAC(block cipher.Block) *cbcMAC {
	m := &cbcMAC{block: block, scratch: make([]byte, cmacChunk)}
	m.cbc = cipher.NewCBCEncrypter(block, m.x[:])
	return m
}

func (m *cbcMAC) reset() {
	m.x = [aes.BlockSize]byte{}
	m.n = 0
	if s, ok := m.cbc.(ivSetter); ok {
		s.SetIV(m.x[:])
	} else {
		m.cbc = cipher.NewCBCEncrypter(m.block, m.x[:])
	}
}

func (m *cbcMAC) write(p []byte) {
	if m.n > 0 {
		k := copy(m.buf[m.n:], p)
		m.n += k
		p = p[k:]
		if m.n < aes.BlockSize {
			return
		}
		m.crypt(m.buf[:])
		m.n = 0
	}
	for len(p) >= aes.BlockSize {
		k := min(len(p)/aes.BlockSize*aes.BlockSize, len(m.scratch))
		m.crypt(p[:k])
		p = p[k:]
	}
	m.n = copy(m.buf[:], p)
}

// pad zero-fills a partial pending block and folds it into the chain.
func (m *cbcMAC) pad() {
	if m.n == 0 {
		return
	}
	clear(m.buf[m.n:])
	m.crypt(m.buf[:])
	m.n = 0
}

func (m *cbcMAC) crypt(p []byte) {
	out := m.scratch[:len(p)]
	m.cbc.CryptBlocks(out, p)
	copy(m.x[:], out[len(out)-aes.BlockSize:])
}

// sliceForAppend extends in by n bytes, reusing its capacity when possible, and returns
// the whole slice and the n-byte tail (the idiom of crypto/cipher).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}

// inexactOverlap reports whether x and y share memory at different offsets, which would
// corrupt streaming in-place processing; exact aliasing is allowed.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	return anyOverlap(x, y)
}

func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptrOf(x) <= uintptrOf(y)+uintptr(len(y)-1) &&
		uintptrOf(y) <= uintptrOf(x)+uintptr(len(x)-1)
}
