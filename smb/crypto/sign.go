package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
)

// SMB2 header layout used by signing (MS-SMB2 2.2.1).
const (
	headerSize      = 64
	sigOffset       = 48
	sigSize         = 16
	flagsOffset     = 16
	commandOffset   = 12
	messageIDOffset = 24

	flagServerToRedir = 0x00000001
	commandCancel     = 0x000C
)

// Signer signs and verifies one SMB2 message in place: the 16-byte signature field at
// header bytes 48..63 is computed with that field zeroed (MS-SMB2 3.1.4.1, 3.1.5.1).
// Setting SMB2_FLAGS_SIGNED is the caller's job. In a compound, msg is one message
// including its trailing padding (up to NextCommand). Implementations are safe for
// concurrent use on different messages; the GMAC signer, on CPUs without our GHASH kernel,
// briefly zeroes the signature field of msg while computing, so one msg must not be read by
// others during Verify.
type Signer interface {
	// Sign writes the signature into msg. Messages shorter than an SMB2 header are left alone.
	Sign(msg []byte)
	// Verify reports whether msg carries a valid signature; msg is left unchanged.
	Verify(msg []byte) bool
}

// macSigner signs with a keyed hash.Hash from a pool, so concurrent calls do not share
// state and the hot path allocates nothing.
type macSigner struct {
	pool sync.Pool
}

func (s *macSigner) compute(msg []byte, out *[sigSize]byte) {
	h := s.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(msg[:sigOffset])
	var zero [sigSize]byte
	h.Write(zero[:])
	h.Write(msg[sigOffset+sigSize:])
	var sum [sha256.Size]byte
	copy(out[:], h.Sum(sum[:0]))
	s.pool.Put(h)
}

func (s *macSigner) Sign(msg []byte) {
	if len(msg) < headerSize {
		return
	}
	var sig [sigSize]byte
	s.compute(msg, &sig)
	copy(msg[sigOffset:], sig[:])
}

func (s *macSigner) Verify(msg []byte) bool {
	if len(msg) < headerSize {
		return false
	}
	var sig [sigSize]byte
	s.compute(msg, &sig)
	return subtle.ConstantTimeCompare(sig[:], msg[sigOffset:sigOffset+sigSize]) == 1
}

// NewHMACSigner signs with HMAC-SHA256 truncated to 16 bytes (SMB 2.0.2 and 2.1); key is
// Session.SessionKey.
func NewHMACSigner(key []byte) Signer {
	k := append([]byte(nil), key...)
	s := &macSigner{}
	s.pool.New = func() any { return hmac.New(sha256.New, k) }
	return s
}

// NewCMACSigner signs with AES-128-CMAC (SMB 3.x); key is the 16-byte signing key.
func NewCMACSigner(key []byte) (Signer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cmac signer: %w", err)
	}
	s := &macSigner{}
	s.pool.New = func() any { return newCMACFromBlock(block) }
	return s, nil
}

// gmacSigner signs with AES-128-GMAC (SMB 3.1.1 with SMB2_SIGNING_CAPABILITIES): GCM
// with an empty plaintext and the whole message as additional data; the tag is the
// signature. Where our GHASH kernel runs (ghash.go) it computes the tag, reading the
// message with its signature field taken as zeros; elsewhere crypto/cipher's GCM does, on the
// message with the field briefly zeroed. Both are stateless and safe for concurrent use.
type gmacSigner struct {
	block cipher.Block
	key   *ghashKey // nil: use aead
	aead  cipher.AEAD
}

// NewGMACSigner signs with AES-GMAC (MS-SMB2 3.1.4.1); key is the 16-byte signing key.
func NewGMACSigner(key []byte) (Signer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gmac signer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gmac signer: %w", err)
	}
	s := &gmacSigner{block: block, aead: aead}
	if haveGHASHKernel {
		s.key = newGHASHKey(block)
	}
	return s, nil
}

// gmacNonce builds the 12-byte nonce of MS-SMB2 3.1.4.1: MessageId, then a 32-bit
// little-endian word whose bit 0 says the sender is the server and bit 1 that the
// message is a CANCEL request. Both are read from the header itself (the
// SMB2_FLAGS_SERVER_TO_REDIR flag and the Command field), so one Signer serves both
// directions and verification of client requests needs no extra argument.
func gmacNonce(msg []byte) (n [12]byte) {
	copy(n[:8], msg[messageIDOffset:messageIDOffset+8])
	var w uint32
	if binary.LittleEndian.Uint32(msg[flagsOffset:])&flagServerToRedir != 0 {
		w |= 1
	}
	if binary.LittleEndian.Uint16(msg[commandOffset:]) == commandCancel {
		w |= 2
	}
	binary.LittleEndian.PutUint32(n[8:], w)
	return n
}

func (s *gmacSigner) compute(msg []byte, out *[sigSize]byte) {
	if s.key == nil {
		s.computeAEAD(msg, out)
		return
	}
	nonce := gmacNonce(msg)
	// The signature field is exactly the header's fourth 16-byte block.
	var zero [sigSize]byte
	g := ghash{k: s.key}
	g.write(msg[:sigOffset])
	g.write(zero[:])
	g.write(msg[sigOffset+sigSize:])
	g.sum(s.block, nonce[:], len(msg), 0, out[:])
}

// computeAEAD is compute through crypto/cipher's GCM. What it hands to the interface escapes
// to the heap, so it works on buffers of its own and the kernel path's stay on the stack.
func (s *gmacSigner) computeAEAD(msg []byte, out *[sigSize]byte) {
	nonce := gmacNonce(msg)
	var saved, tag [sigSize]byte
	copy(saved[:], msg[sigOffset:sigOffset+sigSize])
	clear(msg[sigOffset : sigOffset+sigSize])
	s.aead.Seal(tag[:0], nonce[:], nil, msg)
	copy(msg[sigOffset:], saved[:])
	*out = tag
}

func (s *gmacSigner) Sign(msg []byte) {
	if len(msg) < headerSize {
		return
	}
	var sig [sigSize]byte
	s.compute(msg, &sig)
	copy(msg[sigOffset:], sig[:])
}

func (s *gmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerSize {
		return false
	}
	var sig [sigSize]byte
	s.compute(msg, &sig)
	return subtle.ConstantTimeCompare(sig[:], msg[sigOffset:sigOffset+sigSize]) == 1
}
