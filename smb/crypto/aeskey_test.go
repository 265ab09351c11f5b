package crypto

import (
	"encoding/hex"
	"testing"
)

// FIPS 197 Appendix A: the first and last round keys of the example key expansions, and
// S-box entries of its table (5.1.1, Figure 7).
func TestAESRoundKeys(t *testing.T) {
	for _, c := range []struct{ key, first, last string }{
		{"2b7e151628aed2a6abf7158809cf4f3c", "2b7e151628aed2a6abf7158809cf4f3c", "d014f9a8c9ee2589e13f0cc8b6630ca6"},
		{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "603deb1015ca71be2b73aef0857d7781", "fe4890d1e6188d0b046df344706c631e"},
	} {
		key, _ := hex.DecodeString(c.key)
		rk, rounds, err := aesRoundKeys(key)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(rk[0][:]); got != c.first {
			t.Errorf("key %s: round key 0 = %s, want %s", c.key, got, c.first)
		}
		if got := hex.EncodeToString(rk[rounds][:]); got != c.last {
			t.Errorf("key %s: round key %d = %s, want %s", c.key, rounds, got, c.last)
		}
	}
	for in, want := range map[byte]byte{0x00: 0x63, 0x01: 0x7c, 0x53: 0xed, 0xff: 0x16, 0x10: 0xca} {
		if aesSbox[in] != want {
			t.Errorf("S-box[%#02x] = %#02x, want %#02x", in, aesSbox[in], want)
		}
	}
	if _, _, err := aesRoundKeys(make([]byte, 24)); err == nil {
		t.Error("a 24-byte key was expanded; SMB uses only AES-128 and AES-256")
	}
}
