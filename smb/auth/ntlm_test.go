package auth

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// MS-NLMP 4.2.4 NTLMv2 authentication example: User "User", domain "Domain", password
// "Password", server challenge 0123456789abcdef, client challenge aa*8, time 0, random
// session key 55*16, target info NbDomainName "Domain", NbComputerName "Server".
var (
	nlmpServerChallenge = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	nlmpRandomKey       = bytes.Repeat([]byte{0x55}, 16)
	nlmpFlags           = uint32(0xe28a8233) // the NegotiateFlags of 4.2.4
)

// nlmpTemp is the 4.2.4.1.3 "temp" blob: RespType, HiRespType, zeros, time, client
// challenge, zeros, the server's AV pairs, zeros.
func nlmpTemp() []byte {
	var b []byte
	b = append(b, 1, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, make([]byte, 8)...)               // time 0
	b = append(b, bytes.Repeat([]byte{0xaa}, 8)...) // client challenge
	b = append(b, 0, 0, 0, 0)
	b = append(b, encodeAVPairs([]avPair{{avNbDomainName, toUTF16("Domain")}, {avNbComputerName, toUTF16("Server")}})...)
	return append(b, 0, 0, 0, 0)
}

func TestNLMPNTLMv2Vectors(t *testing.T) {
	nt := NTHash("Password")
	if got := hex.EncodeToString(nt[:]); got != "a4f49c406510bdcab6824ee7c30fd852" {
		t.Fatalf("NTOWFv1 = %s", got)
	}
	key := ntowfv2(nt, "User", "Domain")
	if got := hex.EncodeToString(key); got != "0c868a403bfd7a93a3001ef22ef02e3f" {
		t.Fatalf("NTOWFv2 = %s", got)
	}
	temp := nlmpTemp()
	proof := hmacMD5(key, nlmpServerChallenge[:], temp)
	if got := hex.EncodeToString(proof); got != "68cd0ab851e51c96aabc927bebef6a1c" {
		t.Fatalf("NTProofStr = %s", got)
	}
	ok, base := ntlmv2Verify(key, nlmpServerChallenge, append(proof, temp...))
	if !ok {
		t.Fatal("ntlmv2Verify rejected the spec's response")
	}
	if got := hex.EncodeToString(base); got != "8de40ccadbc14a82f15cb0ad0de95ca3" {
		t.Fatalf("SessionBaseKey = %s", got)
	}
	enc := rc4Once(base, nlmpRandomKey)
	if got := hex.EncodeToString(enc); got != "c5dad2544fc9799094ce1ce90bc9d03e" {
		t.Fatalf("EncryptedRandomSessionKey = %s", got)
	}
	if !bytes.Equal(rc4Once(base, enc), nlmpRandomKey) {
		t.Fatal("KEY_EXCH decryption does not recover the random session key")
	}
	// A wrong user name (NTOWFv2 upper-cases the user, not the domain) must fail.
	if ok, _ := ntlmv2Verify(ntowfv2(nt, "User", "DOMAIN"), nlmpServerChallenge, append(proof, temp...)); ok {
		t.Fatal("domain case must matter")
	}
	if ok, _ := ntlmv2Verify(ntowfv2(nt, "user", "Domain"), nlmpServerChallenge, append(proof, temp...)); !ok {
		t.Fatal("user name case must not matter")
	}
}

// MS-NLMP 4.2.4.4 GSS_WrapEx example: sealing "Plaintext" with the client keys derived
// from the random session key gives the spec's ciphertext and signature. This checks
// deriveNTLMKeys and ntlmMAC including the RC4 handle that continues across calls.
func TestNLMPSealingVector(t *testing.T) {
	keys := deriveNTLMKeys(nlmpRandomKey, nlmpFlags)
	plain := toUTF16("Plaintext")
	sealed := make([]byte, len(plain))
	keys.clientSeal.XORKeyStream(sealed, plain)
	if got := hex.EncodeToString(sealed); got != "54e50165bf1936dc996020c1811b0f06fb5f" {
		t.Fatalf("sealed = %s", got)
	}
	sig := ntlmMAC(keys.clientSign, keys.clientSeal, true, 0, plain)
	if got := hex.EncodeToString(sig); got != "010000007fb38ec5c55d497600000000" {
		t.Fatalf("signature = %s", got)
	}
}

func TestAVPairsRoundTrip(t *testing.T) {
	in := []avPair{{avNbDomainName, toUTF16("D")}, {avTimestamp, make([]byte, 8)}}
	got, err := parseAVPairs(encodeAVPairs(in))
	if err != nil || len(got) != 2 || got[0].id != avNbDomainName || !bytes.Equal(got[1].value, make([]byte, 8)) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if _, err := parseAVPairs([]byte{1, 0, 9, 0, 1}); err == nil {
		t.Fatal("overlong AV pair accepted")
	}
	if _, err := parseAVPairs([]byte{1, 0, 0, 0}); err == nil {
		t.Fatal("unterminated AV pair list accepted")
	}
}
