package crypto

import (
	"crypto/cipher"
	"encoding/binary"
)

// GHASH (NIST SP 800-38D, 6.4) for AES-GMAC signing, with a vector kernel where the CPU has
// one (ghash_amd64.s). Why our own: a signed 8 MiB WRITE is verified over all of its bytes, and
// that pass was ~17% of sofsd's CPU in a signed put; the standard library's GCM uses 128-bit
// carry-less multiplies, and CPUs with VPCLMULQDQ do four at once.
//
// Representation. A 16-byte block b is held as the 128-bit integer read big-endian from it
// (hi = b[0:8], lo = b[8:16]): the coefficient of x^0 is then the integer's top bit, of x^127
// its bottom bit ("reflected"). For reflected a and c, the carry-less product clmul(a, c), read
// as 256 bits, is the reflection of x*a*c. So the table holds every power of H already
// multiplied by x^-1 ("twisted"): clmul(block, twisted H^k) is then exactly the reflected
// 256-bit product block*H^k, and products of several blocks and powers can be XORed together
// before one reduction modulo P = x^128 + x^7 + x^2 + x + 1.
//
// Reduction of a reflected 256-bit R = q3:q2:q1:q0 (q0 holds the coefficients of x^255..x^192,
// q1 of x^191..x^128): since x^128 = g = x^7+x^2+x+1 (mod P), the q0 part (times x^192) is
// replaced by q0*g*x^64, that is q0 added at q2 and q0*(g-1) = clmul(q0, K) added at q2:q1,
// where K = 0xC2<<56 is x^6+x+1 = (g-1)/x reflected (the /x undoes clmul's extra x). Then the
// (updated) q1 part likewise lands at q3 and q3:q2. q3:q2 is the reduced result.

// ghashPoly is K above: the reflection of x^6 + x + 1 in the high bits of a 64-bit word.
const ghashPoly = 0xC200000000000000

// ghashTableLen is the number of twisted powers the vector kernel uses (16 blocks a step).
const ghashTableLen = 16

// ghashKey is the per-key state: tbl[i] is twisted H^(16-i), as {lo, hi} (the layout of a
// vector register loaded from memory), so a 4-lane load at tbl[4j] pairs block 4j.. of a
// 16-block step with the power that block needs.
type ghashKey struct {
	tbl [ghashTableLen][2]uint64
}

// clmul64 is the carry-less product of a and b (the software twin of PCLMULQDQ).
func clmul64(a, b uint64) (hi, lo uint64) {
	for i := 0; i < 64; i++ {
		if b&(1<<i) != 0 {
			lo ^= a << i
			if i > 0 {
				hi ^= a >> (64 - i)
			}
		}
	}
	return hi, lo
}

// ghashMul returns the reflected product x*a*c mod P (a and c reflected, {hi, lo}): with c a
// twisted power of H, that is a*H^k.
func ghashMul(a, c [2]uint64) [2]uint64 {
	hh, hl := clmul64(a[0], c[0])
	lh, ll := clmul64(a[1], c[1])
	m1h, m1l := clmul64(a[0], c[1])
	m2h, m2l := clmul64(a[1], c[0])
	mh, ml := m1h^m2h, m1l^m2l
	q3, q2, q1, q0 := hh, hl^mh, lh^ml, ll
	return ghashReduce(q3, q2, q1, q0)
}

// ghashReduce reduces the reflected 256-bit q3:q2:q1:q0 modulo P (see the file comment).
func ghashReduce(q3, q2, q1, q0 uint64) [2]uint64 {
	th, tl := clmul64(q0, ghashPoly)
	q1 ^= tl
	q2 ^= th ^ q0
	th, tl = clmul64(q1, ghashPoly)
	q2 ^= tl
	q3 ^= th ^ q1
	return [2]uint64{q3, q2}
}

// newGHASHKey derives the twisted powers of H = E_K(0^128).
func newGHASHKey(block cipher.Block) *ghashKey {
	var h [16]byte
	block.Encrypt(h[:], h[:])
	hi, lo := binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])
	// H*x^-1: in the reflected form a left shift (x^-1 lowers every degree by one); the x^0
	// coefficient shifted out becomes x^-1 = x^127 + x^6 + x + 1, reflected 0xC2..01.
	carry := hi >> 63
	hi, lo = hi<<1|lo>>63, lo<<1
	if carry != 0 {
		hi ^= ghashPoly
		lo ^= 1
	}
	k := &ghashKey{}
	pow := [2]uint64{hi, lo} // twisted H^1
	t1 := pow
	for p := 1; p <= ghashTableLen; p++ {
		k.tbl[ghashTableLen-p] = [2]uint64{pow[1], pow[0]}
		// x * (H^p x^-1) * (H x^-1) = H^(p+1) x^-1
		pow = ghashMul(pow, t1)
	}
	return k
}

// updateGeneric folds whole 16-byte blocks of p into y ({hi, lo}), one multiply by H each: the
// portable path and the model the vector kernel is tested against.
func (k *ghashKey) updateGeneric(y *[2]uint64, p []byte) {
	t1 := [2]uint64{k.tbl[ghashTableLen-1][1], k.tbl[ghashTableLen-1][0]}
	for ; len(p) >= 16; p = p[16:] {
		x := [2]uint64{y[0] ^ binary.BigEndian.Uint64(p[:8]), y[1] ^ binary.BigEndian.Uint64(p[8:16])}
		*y = ghashMul(x, t1)
	}
}

// ghash carries GHASH's running value over data fed in pieces; every piece but the last of
// a section (the additional data, then the ciphertext) must be a multiple of 16 bytes, and
// the last is zero-padded (SP 800-38D 6.4: A and C are each padded to whole blocks).
type ghash struct {
	k       *ghashKey
	y       [2]uint64 // {hi, lo}
	generic bool      // fold with updateGeneric even where the kernel runs (tests compare the two)
}

func (g *ghash) write(p []byte) {
	whole := len(p) &^ 15
	g.fold(p[:whole])
	if whole < len(p) {
		var last [16]byte
		copy(last[:], p[whole:])
		g.fold(last[:])
	}
}

func (g *ghash) fold(b []byte) {
	if g.generic {
		g.k.updateGeneric(&g.y, b)
		return
	}
	g.k.update(&g.y, b)
}

// sum finishes GHASH with the length block (aadLen and ctLen in bytes) and returns the tag
// GHASH xor E_K(J0), J0 = nonce || 0^31 || 1 (SP 800-38D 7.1, 96-bit IV).
func (g *ghash) sum(block cipher.Block, nonce []byte, aadLen, ctLen int, out []byte) {
	var lens [16]byte
	binary.BigEndian.PutUint64(lens[:8], uint64(aadLen)*8)
	binary.BigEndian.PutUint64(lens[8:], uint64(ctLen)*8)
	g.fold(lens[:])
	var j0 [16]byte
	copy(j0[:], nonce)
	j0[15] = 1
	block.Encrypt(j0[:], j0[:])
	binary.BigEndian.PutUint64(out[:8], g.y[0]^binary.BigEndian.Uint64(j0[:8]))
	binary.BigEndian.PutUint64(out[8:16], g.y[1]^binary.BigEndian.Uint64(j0[8:]))
}
