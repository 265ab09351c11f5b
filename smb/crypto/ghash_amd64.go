//go:build amd64 && !purego

package crypto

import "golang.org/x/sys/cpu"

// haveGHASHKernel reports whether ghashAVX512 can run here: 512-bit carry-less multiplies
// (VPCLMULQDQ), byte shuffles on 512-bit registers (AVX512BW), and an OS that saves them.
var haveGHASHKernel = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasPCLMULQDQ && cpu.X86.HasAVX

// ghashAVX512 folds n 16-byte blocks at p into y, which is held as a register image ({lo, hi}).
//
//go:noescape
func ghashAVX512(y *[2]uint64, tbl *[ghashTableLen][2]uint64, p *byte, n int)

func (k *ghashKey) update(y *[2]uint64, p []byte) {
	if !haveGHASHKernel || len(p) < 16 {
		k.updateGeneric(y, p)
		return
	}
	v := [2]uint64{y[1], y[0]}
	ghashAVX512(&v, &k.tbl, &p[0], len(p)/16)
	y[0], y[1] = v[1], v[0]
}

// haveGCMKernel reports whether ctrAVX512 can run here too (512-bit AES rounds, VAES).
var haveGCMKernel = haveGHASHKernel && cpu.X86.HasAES && cpu.X86.HasAVX512VAES

// ctrAVX512 XORs groups*256 bytes of src with the AES-CTR keystream of ctrs (sixteen counter
// blocks, each nonce || little-endian 32-bit counter, advanced by 16 a group) into dst.
//
//go:noescape
func ctrAVX512(rk *[15][16]byte, rounds int, ctrs *[16][16]byte, dst, src *byte, groups int)
