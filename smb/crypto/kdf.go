package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
)

// KDF is the NIST SP800-108 key derivation in counter mode with HMAC-SHA256 as PRF, a
// 32-bit counter (r = 32) placed before the fixed input, and L = bits, as MS-SMB2 3.1.4.2
// requires: K(i) = HMAC(key, [i]_32 || label || 0x00 || context || [L]_32).
// Callers pass SMB labels with their terminating NUL ("SMB2AESCMAC\x00"); the 0x00
// separator SP800-108 puts between label and context is added here.
func KDF(key, label, context []byte, bits int) []byte {
	n := (bits + 7) / 8
	out := make([]byte, 0, (n+sha256.Size-1)/sha256.Size*sha256.Size)
	var ctr, l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(bits))
	for i := uint32(1); len(out) < n; i++ {
		m := hmac.New(sha256.New, key)
		binary.BigEndian.PutUint32(ctr[:], i)
		m.Write(ctr[:])
		m.Write(label)
		m.Write([]byte{0})
		m.Write(context)
		m.Write(l[:])
		out = m.Sum(out)
	}
	return out[:n]
}

// SMB dialect revisions as they appear on the wire.
const (
	Dialect202 = 0x0202
	Dialect210 = 0x0210
	Dialect300 = 0x0300
	Dialect302 = 0x0302
	Dialect311 = 0x0311
)

// Cipher identifiers of the SMB2_ENCRYPTION_CAPABILITIES context (MS-SMB2 2.2.3.1.2).
const (
	CipherNone      = 0
	CipherAES128CCM = 1
	CipherAES128GCM = 2
	CipherAES256CCM = 3
	CipherAES256GCM = 4
)

// KeyParams describes one authenticated session for key derivation.
type KeyParams struct {
	Dialect     uint16 // negotiated dialect revision, e.g. 0x0311
	SessionKey  []byte // key exported by the authentication (GSS) mechanism
	PreauthHash []byte // 3.1.1: Session.PreauthIntegrityHashValue after the final SESSION_SETUP request
	Cipher      uint16 // negotiated cipher, CipherNone .. CipherAES256GCM
}

// SessionKeys are the per-session keys of the server side of a session.
type SessionKeys struct {
	Signing     []byte
	Application []byte
	ServerIn    []byte // decrypts client->server messages
	ServerOut   []byte // encrypts server->client messages
}

// DeriveKeys derives the session keys a server uses (MS-SMB2 3.3.5.5.3, 3.2.5.3.1).
// 2.0.2/2.1 sign with the session key itself and have no encryption. 3.0/3.0.2 use
// fixed labels and contexts; 3.1.1 uses new labels with the preauth hash as context.
// AES-256 ciphers derive 256-bit encryption keys from the full session key; every
// other key uses Session.SessionKey, the first 16 bytes of the exported key
// (right-padded with zeros when shorter, MS-SMB2 3.3.1.8).
func DeriveKeys(p KeyParams) SessionKeys {
	sk := make([]byte, 16)
	copy(sk, p.SessionKey)
	if p.Dialect < Dialect300 {
		return SessionKeys{Signing: sk, Application: append([]byte(nil), sk...)}
	}
	encKey, encBits := sk, 128
	if p.Cipher == CipherAES256CCM || p.Cipher == CipherAES256GCM {
		encBits = 256
		// Session.FullSessionKey; shorter keys are padded as for SessionKey.
		encKey = make([]byte, max(16, len(p.SessionKey)))
		copy(encKey, p.SessionKey)
	}
	var k SessionKeys
	if p.Dialect == Dialect311 {
		ctx := p.PreauthHash
		k.Signing = KDF(sk, []byte("SMBSigningKey\x00"), ctx, 128)
		k.Application = KDF(sk, []byte("SMBAppKey\x00"), ctx, 128)
		k.ServerIn = KDF(encKey, []byte("SMBC2SCipherKey\x00"), ctx, encBits)
		k.ServerOut = KDF(encKey, []byte("SMBS2CCipherKey\x00"), ctx, encBits)
		return k
	}
	k.Signing = KDF(sk, []byte("SMB2AESCMAC\x00"), []byte("SmbSign\x00"), 128)
	k.Application = KDF(sk, []byte("SMB2APP\x00"), []byte("SmbRpc\x00"), 128)
	k.ServerIn = KDF(encKey, []byte("SMB2AESCCM\x00"), []byte("ServerIn \x00"), encBits)
	k.ServerOut = KDF(encKey, []byte("SMB2AESCCM\x00"), []byte("ServerOut\x00"), encBits)
	return k
}

// PreauthHash chains one message into the 3.1.1 preauthentication integrity hash
// (MS-SMB2 3.3.5.4): SHA-512(prev || msg). A nil prev stands for the initial all-zero value.
func PreauthHash(prev []byte, msg []byte) []byte {
	h := sha512.New()
	if prev == nil {
		var zero [sha512.Size]byte
		h.Write(zero[:])
	} else {
		h.Write(prev)
	}
	h.Write(msg)
	return h.Sum(make([]byte, 0, sha512.Size))
}
