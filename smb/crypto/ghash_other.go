//go:build !amd64 || purego

package crypto

// haveGHASHKernel is false: there is no vector kernel for this architecture.
const haveGHASHKernel = false

func (k *ghashKey) update(y *[2]uint64, p []byte) { k.updateGeneric(y, p) }
