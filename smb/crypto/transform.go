package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
)

// SMB2 TRANSFORM_HEADER layout (MS-SMB2 2.2.41).
const (
	TransformHeaderSize = 52
	transformProtocolID = 0x424D53FD // 0xFD 'S' 'M' 'B' on the wire
	trSigOffset         = 4
	trNonceOffset       = 20
	trSizeOffset        = 36
	trFlagsOffset       = 42
	trSessionOffset     = 44
	trAADOffset         = 20 // AAD is the header from Nonce to the end (32 bytes)
	transformEncrypted  = 0x0001
)

// Errors returned by Transformer.Decrypt; callers may test them with errors.Is.
var (
	ErrShortFrame    = errors.New("smb2 transform: frame shorter than the transform header")
	ErrNotTransform  = errors.New("smb2 transform: protocol id is not 0xFD 'SMB'")
	ErrBadLength     = errors.New("smb2 transform: OriginalMessageSize does not match the frame")
	ErrBadFlags      = errors.New("smb2 transform: Flags/EncryptionAlgorithm is not 1 (encrypted)")
	ErrAuthFailed    = errors.New("smb2 transform: message authentication failed (bad signature/tag)")
	ErrUnknownCipher = errors.New("smb2 transform: unknown cipher")
)

// Transformer encrypts outgoing and decrypts incoming SMB2 messages of one session
// (MS-SMB2 3.1.4.3, 3.3.5.2.1.1). It is safe for concurrent use.
type Transformer struct {
	enc, dec  cipher.AEAD
	nonceSize int
	// Nonces are a random per-Transformer prefix followed by a 64-bit counter, so a
	// nonce is never reused under the encryption key while fewer than 2^64 messages
	// are sent (MS-SMB2 2.2.41: Nonce MUST NOT be reused within a session).
	prefix  [4]byte
	counter atomic.Uint64
}

// NewTransformer builds a Transformer for cipherID (CipherAES128CCM .. CipherAES256GCM)
// with encKey (server->client, SessionKeys.ServerOut) and decKey (client->server,
// SessionKeys.ServerIn). Keys must be 16 bytes for AES-128 and 32 bytes for AES-256.
func NewTransformer(cipherID uint16, encKey, decKey []byte) (*Transformer, error) {
	keyLen := 16
	switch cipherID {
	case CipherAES128CCM, CipherAES128GCM:
	case CipherAES256CCM, CipherAES256GCM:
		keyLen = 32
	default:
		return nil, fmt.Errorf("new transformer: cipher %d: %w", cipherID, ErrUnknownCipher)
	}
	if len(encKey) != keyLen || len(decKey) != keyLen {
		return nil, fmt.Errorf("new transformer: cipher %d needs %d-byte keys, got %d and %d",
			cipherID, keyLen, len(encKey), len(decKey))
	}
	t := &Transformer{}
	var err error
	if t.enc, err = newSMBAEAD(cipherID, encKey); err != nil {
		return nil, fmt.Errorf("new transformer: encryption key: %w", err)
	}
	if t.dec, err = newSMBAEAD(cipherID, decKey); err != nil {
		return nil, fmt.Errorf("new transformer: decryption key: %w", err)
	}
	t.nonceSize = t.enc.NonceSize()
	if _, err := rand.Read(t.prefix[:]); err != nil {
		return nil, fmt.Errorf("new transformer: nonce prefix: %w", err)
	}
	return t, nil
}

func newSMBAEAD(cipherID uint16, key []byte) (cipher.AEAD, error) {
	if cipherID == CipherAES128GCM || cipherID == CipherAES256GCM {
		return newGCM(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return NewCCM(block, 11, 16)
}

// Overhead is the number of bytes Encrypt adds to a message.
func (t *Transformer) Overhead() int { return TransformHeaderSize }

// nextNonce fills the nonce field: prefix || counter, truncated to 11 bytes for CCM
// (prefix keeps 3 bytes) and 12 for GCM; the remaining bytes of the 16-byte field are zero.
func (t *Transformer) nextNonce(field []byte) {
	n := t.counter.Add(1)
	clear(field[:16])
	p := t.nonceSize - 8
	copy(field[:p], t.prefix[:p])
	binary.LittleEndian.PutUint64(field[p:], n)
}

// Encrypt appends to dst the transform header and the encrypted msg for the session
// sessionID and returns the extended slice. Sealing happens directly into dst; if dst
// has capacity for len(msg)+TransformHeaderSize+16 nothing is allocated. msg may be
// exactly dst[len(dst)+TransformHeaderSize:][:len(msg)] (encryption in place).
func (t *Transformer) Encrypt(dst []byte, msg []byte, sessionID uint64) []byte {
	start := len(dst)
	// 16 spare bytes: AEAD.Seal appends the tag after the ciphertext before we move it.
	ret, _ := sliceForAppend(dst, TransformHeaderSize+len(msg)+16)
	hdr := ret[start : start+TransformHeaderSize]
	binary.LittleEndian.PutUint32(hdr[0:], transformProtocolID)
	clear(hdr[trSigOffset : trSigOffset+16])
	t.nextNonce(hdr[trNonceOffset:])
	binary.LittleEndian.PutUint32(hdr[trSizeOffset:], uint32(len(msg)))
	binary.LittleEndian.PutUint16(hdr[trSizeOffset+4:], 0)
	// Flags (3.1.1) and EncryptionAlgorithm (3.0/3.0.2) share the field and the value 1.
	binary.LittleEndian.PutUint16(hdr[trFlagsOffset:], transformEncrypted)
	binary.LittleEndian.PutUint64(hdr[trSessionOffset:], sessionID)

	body := ret[start+TransformHeaderSize : start+TransformHeaderSize]
	sealed := t.enc.Seal(body, hdr[trNonceOffset:trNonceOffset+t.nonceSize], msg, hdr[trAADOffset:])
	copy(hdr[trSigOffset:], sealed[len(msg):])
	return ret[:start+TransformHeaderSize+len(msg)]
}

// Decrypt checks and decrypts one transform frame, appends the plaintext message(s) to
// dst and returns them with the SessionId of the header. dst must not overlap frame; use
// DecryptInPlace to reuse the frame's memory. The caller must look the session up by the
// returned id (SessionID reads it before decryption) and must have built this
// Transformer for that session.
func (t *Transformer) Decrypt(dst []byte, frame []byte) (msg []byte, sessionID uint64, err error) {
	if err := checkFrame(frame); err != nil {
		return nil, 0, err
	}
	sessionID = binary.LittleEndian.Uint64(frame[trSessionOffset:])
	msg, err = t.open(dst, frame, frame[TransformHeaderSize:], sessionID)
	return msg, sessionID, err
}

// DecryptInPlace is Decrypt reusing frame's memory: the returned message aliases
// frame[36:], and frame's contents are destroyed (also on authentication failure).
// It needs no spare capacity and copies the body once (a 16-byte memmove).
func (t *Transformer) DecryptInPlace(frame []byte) (msg []byte, sessionID uint64, err error) {
	if err := checkFrame(frame); err != nil {
		return nil, 0, err
	}
	sessionID = binary.LittleEndian.Uint64(frame[trSessionOffset:])
	if cap(frame)-len(frame) >= 16 {
		// Fast path: the AEAD wants ciphertext||tag, and SMB keeps the tag in the header. With
		// 16 bytes of spare capacity the tag goes right after the body and the plaintext is
		// opened exactly in place at frame[52:], with no copy of the (up to 8 MiB) body.
		var nonce [16]byte
		var aad [TransformHeaderSize - trAADOffset]byte
		copy(nonce[:], frame[trNonceOffset:trNonceOffset+t.nonceSize])
		copy(aad[:], frame[trAADOffset:TransformHeaderSize])
		body := frame[TransformHeaderSize:]
		work := append(body, frame[trSigOffset:trSigOffset+16]...)
		plain, err := t.dec.Open(work[:0], nonce[:t.nonceSize], work, aad[:])
		if err != nil {
			clear(work)
			return nil, 0, fmt.Errorf("decrypt session %#x: %w", sessionID, ErrAuthFailed)
		}
		return plain, sessionID, nil
	}
	// open copies the header fields it needs before the body moves over them.
	msg, err = t.open(frame[trSizeOffset:trSizeOffset], frame, frame[TransformHeaderSize:], sessionID)
	return msg, sessionID, err
}

// SessionID returns the SessionId of a transform frame without decrypting it, so the
// caller can find the session (and its Transformer) first.
func SessionID(frame []byte) (uint64, error) {
	if err := checkFrame(frame); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(frame[trSessionOffset:]), nil
}

func checkFrame(frame []byte) error {
	if len(frame) < TransformHeaderSize {
		return fmt.Errorf("decrypt %d-byte frame: %w", len(frame), ErrShortFrame)
	}
	if id := binary.LittleEndian.Uint32(frame); id != transformProtocolID {
		return fmt.Errorf("decrypt: protocol id %#08x: %w", id, ErrNotTransform)
	}
	size := binary.LittleEndian.Uint32(frame[trSizeOffset:])
	if n := len(frame) - TransformHeaderSize; uint64(size) != uint64(n) || size == 0 {
		return fmt.Errorf("decrypt: OriginalMessageSize %d, %d bytes follow: %w", size, n, ErrBadLength)
	}
	if f := binary.LittleEndian.Uint16(frame[trFlagsOffset:]); f != transformEncrypted {
		return fmt.Errorf("decrypt: flags %#04x: %w", f, ErrBadFlags)
	}
	return nil
}

// open authenticates and decrypts body into dst. AEAD.Open wants ciphertext||tag but
// the tag travels in the header's Signature field, so the body is placed into dst
// followed by the tag and opened in place there. Nonce, AAD and tag are copied first
// because dst may overwrite the header (DecryptInPlace).
func (t *Transformer) open(dst, frame, body []byte, sessionID uint64) ([]byte, error) {
	var tag, nonce [16]byte
	var aad [TransformHeaderSize - trAADOffset]byte
	copy(tag[:], frame[trSigOffset:trSigOffset+16])
	copy(nonce[:], frame[trNonceOffset:trNonceOffset+t.nonceSize])
	copy(aad[:], frame[trAADOffset:TransformHeaderSize])
	start := len(dst)
	work := append(dst, body...)
	work = append(work, tag[:]...)
	plain, err := t.dec.Open(work[start:start], nonce[:t.nonceSize], work[start:], aad[:])
	if err != nil {
		clear(work[start:])
		return nil, fmt.Errorf("decrypt session %#x: %w", sessionID, ErrAuthFailed)
	}
	return work[:start+len(plain)], nil
}
