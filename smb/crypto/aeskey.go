package crypto

import "fmt"

// AES key expansion (FIPS 197, 5.2) for the vector CTR kernel, which needs the round keys and
// crypto/aes does not expose them. The S-box is derived from its definition (FIPS 197, 5.1.1:
// the multiplicative inverse in GF(2^8) followed by the affine map) rather than typed in.

var aesSbox = func() (s [256]byte) {
	var inv [256]byte // inv[0] = 0 by definition
	for a := 1; a < 256; a++ {
		for b := 1; b < 256; b++ {
			if gf8Mul(byte(a), byte(b)) == 1 {
				inv[a] = byte(b)
				break
			}
		}
	}
	rotl := func(x byte, n int) byte { return x<<n | x>>(8-n) }
	for a := range s {
		b := inv[a]
		s[a] = b ^ rotl(b, 1) ^ rotl(b, 2) ^ rotl(b, 3) ^ rotl(b, 4) ^ 0x63
	}
	return s
}()

// gf8Mul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
func gf8Mul(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		a = gf8Xtime(a)
	}
	return p
}

// gf8Xtime multiplies by x.
func gf8Xtime(a byte) byte {
	if a&0x80 != 0 {
		return a<<1 ^ 0x1B
	}
	return a << 1
}

// aesRoundKeys expands a 16- or 32-byte key into rounds+1 round keys, each as the 16 bytes
// AESENC takes (words in order, each word's bytes in order).
func aesRoundKeys(key []byte) (rk [15][16]byte, rounds int, err error) {
	nk := len(key) / 4
	switch len(key) {
	case 16:
		rounds = 10
	case 32:
		rounds = 14
	default:
		return rk, 0, fmt.Errorf("aes key expansion: %d-byte key", len(key))
	}
	var w [60][4]byte
	for i := 0; i < nk; i++ {
		copy(w[i][:], key[4*i:])
	}
	rcon := byte(1)
	for i := nk; i < 4*(rounds+1); i++ {
		t := w[i-1]
		switch {
		case i%nk == 0:
			t = [4]byte{aesSbox[t[1]] ^ rcon, aesSbox[t[2]], aesSbox[t[3]], aesSbox[t[0]]}
			rcon = gf8Xtime(rcon)
		case nk > 6 && i%nk == 4:
			t = [4]byte{aesSbox[t[0]], aesSbox[t[1]], aesSbox[t[2]], aesSbox[t[3]]}
		}
		for j := range t {
			w[i][j] = w[i-nk][j] ^ t[j]
		}
	}
	for r := 0; r <= rounds; r++ {
		for j := 0; j < 4; j++ {
			copy(rk[r][4*j:], w[4*r+j][:])
		}
	}
	return rk, rounds, nil
}
