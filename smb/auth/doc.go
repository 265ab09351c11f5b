// Package auth authenticates SMB sessions: a user database of NT hashes (userdb.go),
// NTLMSSP message codecs and NTLMv2 verification (ntlm.go, MS-NLMP), SPNEGO token codecs
// over a small ASN.1 BER/DER reader and writer (spnego.go, asn1.go; RFC 4178, MS-SPNG),
// and the Acceptor the SMB server drives one SESSION_SETUP exchange at a time
// (acceptor.go).
//
// Deviation from ARCHITECTURE.md: the NTLMSSP and SPNEGO codecs live here rather than in
// smb/wire so that this package has no dependency on a package written concurrently;
// they can move to smb/wire later without changing the Acceptor API.
package auth
