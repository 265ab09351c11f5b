package server

import (
	"github.com/sofs-dev/sofs/smb/crypto"
	"github.com/sofs-dev/sofs/smb/wire"
)

// dialectInfo is everything that differs between SMB dialects, in one table so handlers never
// branch on dialect numbers.
type dialectInfo struct {
	dialect wire.Dialect
	// multiCredit: CreditCharge is honoured and I/O may exceed 64 KiB (2.1+, MS-SMB2 3.3.5.2.5).
	multiCredit bool
	// kdf: signing/encryption keys come from SP800-108 (3.x); 2.x signs with the session key.
	kdf bool
	// encryption: the dialect can encrypt (3.x).
	encryption bool
	// preauth: 3.1.1 preauthentication integrity (SHA-512 chain over negotiate and session setup).
	preauth bool
	// validateNegotiate: FSCTL_VALIDATE_NEGOTIATE_INFO is answered (3.0, 3.0.2, and 2.x as Windows
	// does); 3.1.1 relies on preauth integrity instead and the request terminates the connection
	// (MS-SMB2 3.3.5.15.12).
	validateNegotiate bool
	// capabilities the server advertises in NEGOTIATE for this dialect. Honest: no persistent
	// handles or directory leasing until they work (issue 3); leasing since leases work
	// (lease.go), multichannel for 3.x since session binding works (binding.go).
	capabilities uint32
	// signFinalSessionSetup: the final successful SESSION_SETUP response is always signed (3.1.1,
	// MS-SMB2 3.3.5.5.3); earlier dialects sign it only when signing is required.
	signFinalSessionSetup bool
}

var dialectTable = []dialectInfo{
	{dialect: wire.DialectSMB202, validateNegotiate: true},
	{dialect: wire.DialectSMB21, multiCredit: true, validateNegotiate: true,
		capabilities: wire.CapLargeMTU | wire.CapLeasing},
	{dialect: wire.DialectSMB30, multiCredit: true, kdf: true, encryption: true, validateNegotiate: true,
		capabilities: wire.CapLargeMTU | wire.CapLeasing | wire.CapEncryption | wire.CapMultiChannel},
	{dialect: wire.DialectSMB302, multiCredit: true, kdf: true, encryption: true, validateNegotiate: true,
		capabilities: wire.CapLargeMTU | wire.CapLeasing | wire.CapEncryption | wire.CapMultiChannel},
	// 3.1.1 negotiates encryption through a negotiate context, not the capability bit.
	{dialect: wire.DialectSMB311, multiCredit: true, kdf: true, encryption: true, preauth: true,
		signFinalSessionSetup: true, capabilities: wire.CapLargeMTU | wire.CapLeasing | wire.CapMultiChannel},
}

// lookupDialect returns the table entry for d.
func lookupDialect(d wire.Dialect) (dialectInfo, bool) {
	for _, di := range dialectTable {
		if di.dialect == d {
			return di, true
		}
	}
	return dialectInfo{}, false
}

// selectDialect picks the highest dialect both sides support.
func selectDialect(offered []wire.Dialect) (dialectInfo, bool) {
	for i := len(dialectTable) - 1; i >= 0; i-- {
		for _, d := range offered {
			if d == dialectTable[i].dialect {
				return dialectTable[i], true
			}
		}
	}
	return dialectInfo{}, false
}

// cipherPreference lists the ciphers we accept, preferred first (GCM is much faster than CCM
// with AES-NI; 128-bit first as Windows does unless the client insists on 256).
var cipherPreference = []uint16{wire.CipherAES128GCM, wire.CipherAES128CCM, wire.CipherAES256GCM, wire.CipherAES256CCM}

// signingPreference lists the 3.1.1 signing algorithms we accept, preferred first.
var signingPreference = []uint16{wire.SigningAESGMAC, wire.SigningAESCMAC, wire.SigningHMACSHA256}

// newSigner builds the signer a session uses for its dialect and negotiated algorithm.
func newSigner(di dialectInfo, algo uint16, key []byte) (crypto.Signer, error) {
	if !di.kdf {
		return crypto.NewHMACSigner(key), nil
	}
	switch {
	case di.preauth && algo == wire.SigningAESGMAC:
		return crypto.NewGMACSigner(key)
	case di.preauth && algo == wire.SigningHMACSHA256:
		return crypto.NewHMACSigner(key), nil
	default:
		return crypto.NewCMACSigner(key)
	}
}
