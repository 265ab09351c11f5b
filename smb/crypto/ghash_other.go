//go:build !amd64 || purego

package crypto

// haveGHASHKernel is false: there is no vector kernel for this architecture.
const haveGHASHKernel = false

func (k *ghashKey) update(y *[2]uint64, p []byte) { k.updateGeneric(y, p) }

// haveGCMKernel is false: gcm.go's AEAD is never built here.
const haveGCMKernel = false

func ctrAVX512(rk *[15][16]byte, rounds int, ctrs *[16][16]byte, dst, src *byte, groups int) {
	panic("crypto: no AES-CTR kernel on this architecture")
}
