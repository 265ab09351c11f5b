package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// NTLMSSP (MS-NLMP 2.2) message codecs and the NTLMv2 computations of MS-NLMP 3.3.2.

var ntlmSignature = []byte("NTLMSSP\x00")

// NTLMSSP message types.
const (
	ntlmNegotiate    = 1
	ntlmChallenge    = 2
	ntlmAuthenticate = 3
)

// NegotiateFlags (MS-NLMP 2.2.2.5).
const (
	flagUnicode          = 0x00000001
	flagOEM              = 0x00000002
	flagRequestTarget    = 0x00000004
	flagSign             = 0x00000010
	flagSeal             = 0x00000020
	flagLMKey            = 0x00000080
	flagNTLM             = 0x00000200
	flagAnonymous        = 0x00000800
	flagAlwaysSign       = 0x00008000
	flagTargetTypeDomain = 0x00010000
	flagTargetTypeServer = 0x00020000
	flagExtendedSecurity = 0x00080000
	flagTargetInfo       = 0x00800000
	flagVersion          = 0x02000000
	flag128              = 0x20000000
	flagKeyExch          = 0x40000000
	flag56               = 0x80000000
)

// AV pair identifiers (MS-NLMP 2.2.2.1).
const (
	avEOL             = 0
	avNbComputerName  = 1
	avNbDomainName    = 2
	avDNSComputerName = 3
	avDNSDomainName   = 4
	avFlags           = 6
	avTimestamp       = 7
)

// avFlagMICPresent: MsvAvFlags bit saying the AUTHENTICATE message carries a MIC.
const avFlagMICPresent = 0x00000002

// ntlmVersion is the VERSION structure we send (MS-NLMP 2.2.2.10): 10.0 build 20348,
// NTLMSSP_REVISION_W2K3.
var ntlmVersion = []byte{10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f}

var errNTLM = errors.New("malformed NTLMSSP message")

// ntlmNegotiateMsg is the decoded NEGOTIATE_MESSAGE; only the flags matter to a server.
type ntlmNegotiateMsg struct {
	flags uint32
	raw   []byte
}

// ntlmAuthenticateMsg is the decoded AUTHENTICATE_MESSAGE.
type ntlmAuthenticateMsg struct {
	lmResponse    []byte
	ntResponse    []byte
	domain        string
	user          string
	workstation   string
	encSessionKey []byte
	flags         uint32
	micOffset     int // 72 when the payload leaves room for a MIC, else 0
	raw           []byte
}

// checkHeader validates signature and message type.
func checkHeader(b []byte, typ uint32, minLen int) error {
	if len(b) < minLen {
		return fmt.Errorf("%w: %d bytes, type %d needs at least %d", errNTLM, len(b), typ, minLen)
	}
	if !bytes.Equal(b[:8], ntlmSignature) {
		return fmt.Errorf("%w: bad signature %q", errNTLM, b[:8])
	}
	if got := binary.LittleEndian.Uint32(b[8:]); got != typ {
		return fmt.Errorf("%w: message type %d, want %d", errNTLM, got, typ)
	}
	return nil
}

// field returns the payload bytes described by the 8-byte (len, maxlen, offset) fields
// at off, checked against the message bounds.
func field(b []byte, off int) ([]byte, error) {
	l := int(binary.LittleEndian.Uint16(b[off:]))
	o := int(binary.LittleEndian.Uint32(b[off+4:]))
	if l == 0 {
		return nil, nil
	}
	if o > len(b) || l > len(b)-o {
		return nil, fmt.Errorf("%w: field at %d (offset %d, length %d) outside %d-byte message", errNTLM, off, o, l, len(b))
	}
	return b[o : o+l], nil
}

func parseNegotiate(b []byte) (*ntlmNegotiateMsg, error) {
	if err := checkHeader(b, ntlmNegotiate, 16); err != nil {
		return nil, fmt.Errorf("ntlm negotiate: %w", err)
	}
	return &ntlmNegotiateMsg{flags: binary.LittleEndian.Uint32(b[12:]), raw: b}, nil
}

func parseAuthenticate(b []byte) (*ntlmAuthenticateMsg, error) {
	if err := checkHeader(b, ntlmAuthenticate, 64); err != nil {
		return nil, fmt.Errorf("ntlm authenticate: %w", err)
	}
	m := &ntlmAuthenticateMsg{raw: b, flags: binary.LittleEndian.Uint32(b[60:])}
	var err error
	var dom, usr, ws []byte
	for _, f := range []struct {
		off int
		dst *[]byte
	}{{12, &m.lmResponse}, {20, &m.ntResponse}, {28, &dom}, {36, &usr}, {44, &ws}, {52, &m.encSessionKey}} {
		if *f.dst, err = field(b, f.off); err != nil {
			return nil, fmt.Errorf("ntlm authenticate: %w", err)
		}
	}
	if m.flags&flagUnicode == 0 {
		return nil, fmt.Errorf("ntlm authenticate: %w: OEM strings not supported", errNTLM)
	}
	for _, s := range []struct {
		b   []byte
		dst *string
	}{{dom, &m.domain}, {usr, &m.user}, {ws, &m.workstation}} {
		if *s.dst, err = fromUTF16(s.b); err != nil {
			return nil, fmt.Errorf("ntlm authenticate: %w", err)
		}
	}
	// The MIC sits at 72..87 only if the payload starts at or after 88 (MS-NLMP 2.2.1.3:
	// Version then MIC precede the payload).
	minOff := len(b)
	for _, off := range []int{12, 20, 28, 36, 44, 52} {
		if binary.LittleEndian.Uint16(b[off:]) != 0 {
			minOff = min(minOff, int(binary.LittleEndian.Uint32(b[off+4:])))
		}
	}
	if minOff >= 88 && len(b) >= 88 {
		m.micOffset = 72
	}
	return m, nil
}

func fromUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("%w: odd-length UTF-16 string", errNTLM)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

func toUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// avPair is one AV_PAIR.
type avPair struct {
	id    uint16
	value []byte
}

func encodeAVPairs(pairs []avPair) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint16(b, p.id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.value)))
		b = append(b, p.value...)
	}
	return append(b, 0, 0, 0, 0) // MsvAvEOL
}

// parseAVPairs reads AV pairs up to MsvAvEOL.
func parseAVPairs(b []byte) ([]avPair, error) {
	var out []avPair
	for {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: AV pair list not terminated by MsvAvEOL", errNTLM)
		}
		id, n := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL {
			return out, nil
		}
		if n > len(b)-4 {
			return nil, fmt.Errorf("%w: AV pair %d length %d exceeds %d remaining", errNTLM, id, n, len(b)-4)
		}
		out = append(out, avPair{id, b[4 : 4+n]})
		b = b[4+n:]
	}
}

// filetime converts t to a Windows FILETIME (100 ns ticks since 1601-01-01).
func filetime(t time.Time) uint64 {
	const epochDelta = 116444736000000000
	return uint64(t.UnixNano()/100) + epochDelta
}

// challengeParams are the server-side inputs of a CHALLENGE_MESSAGE.
type challengeParams struct {
	flags      uint32
	challenge  [8]byte
	targetName string
	targetInfo []avPair
}

// encodeChallenge builds the CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
func encodeChallenge(p challengeParams) []byte {
	const hdr = 56
	name := toUTF16(p.targetName)
	info := encodeAVPairs(p.targetInfo)
	b := make([]byte, hdr, hdr+len(name)+len(info))
	copy(b, ntlmSignature)
	binary.LittleEndian.PutUint32(b[8:], ntlmChallenge)
	putField(b[12:], len(name), hdr)
	binary.LittleEndian.PutUint32(b[20:], p.flags)
	copy(b[24:32], p.challenge[:])
	putField(b[40:], len(info), hdr+len(name))
	copy(b[48:56], ntlmVersion)
	b = append(b, name...)
	return append(b, info...)
}

func putField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

// NTHash is MD4 of the UTF-16LE password (MS-NLMP 3.3.1, NTOWFv1).
func NTHash(password string) [16]byte {
	h := md4.New()
	h.Write(toUTF16(password))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom)).
func ntowfv2(ntHash [16]byte, user, domain string) []byte {
	return hmacMD5(ntHash[:], toUTF16(strings.ToUpper(user)+domain))
}

// ntlmv2Verify checks an NTLMv2 response and returns NTProofStr and the session base key.
// ntResponse is NTProofStr (16 bytes) followed by the client blob ("temp").
func ntlmv2Verify(responseKeyNT []byte, serverChallenge [8]byte, ntResponse []byte) (ok bool, sessionBaseKey []byte) {
	proof, blob := ntResponse[:16], ntResponse[16:]
	want := hmacMD5(responseKeyNT, serverChallenge[:], blob)
	if !hmac.Equal(want, proof) {
		return false, nil
	}
	return true, hmacMD5(responseKeyNT, proof)
}

// rc4Once encrypts (or decrypts) data with a fresh RC4 key stream.
func rc4Once(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil { // only for empty or > 256-byte keys, never with our 16-byte keys
		panic(err)
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// ntlmKeys are the NTLMSSP session security keys of MS-NLMP 3.4.5.
type ntlmKeys struct {
	clientSign, serverSign []byte
	clientSeal, serverSeal *rc4.Cipher // key streams continue across messages
	keyExch                bool
}

// deriveNTLMKeys computes SIGNKEY and SEALKEY for both directions (extended session
// security, MS-NLMP 3.4.5.2 and 3.4.5.3).
func deriveNTLMKeys(exported []byte, flags uint32) *ntlmKeys {
	sign := func(magic string) []byte {
		h := md5.New()
		h.Write(exported)
		h.Write([]byte(magic))
		return h.Sum(nil)
	}
	sealBase := exported
	switch {
	case flags&flag128 != 0:
	case flags&flag56 != 0:
		sealBase = exported[:7]
	default:
		sealBase = exported[:5]
	}
	seal := func(magic string) *rc4.Cipher {
		h := md5.New()
		h.Write(sealBase)
		h.Write([]byte(magic))
		c, _ := rc4.NewCipher(h.Sum(nil))
		return c
	}
	return &ntlmKeys{
		clientSign: sign("session key to client-to-server signing key magic constant\x00"),
		serverSign: sign("session key to server-to-client signing key magic constant\x00"),
		clientSeal: seal("session key to client-to-server sealing key magic constant\x00"),
		serverSeal: seal("session key to server-to-client sealing key magic constant\x00"),
		keyExch:    flags&flagKeyExch != 0,
	}
}

// ntlmMAC computes the 16-byte NTLMSSP_MESSAGE_SIGNATURE with extended session security
// (MS-NLMP 3.4.4.2): version 1, first 8 bytes of HMAC_MD5(SigningKey, SeqNum || msg),
// RC4-encrypted with the sealing handle when KEY_EXCH was negotiated, then SeqNum.
func ntlmMAC(signKey []byte, seal *rc4.Cipher, keyExch bool, seq uint32, msg []byte) []byte {
	var s [4]byte
	binary.LittleEndian.PutUint32(s[:], seq)
	sum := hmacMD5(signKey, s[:], msg)[:8]
	if keyExch {
		seal.XORKeyStream(sum, sum)
	}
	out := make([]byte, 0, 16)
	out = append(out, 1, 0, 0, 0)
	out = append(out, sum...)
	return append(out, s[:]...)
}
