// Package crypto holds the SMB2/3 message cryptography: AES-CMAC (RFC 4493) and AES-CCM
// (RFC 3610, NIST SP800-38C) written here, the SP800-108 key derivation of MS-SMB2 3.1.4.2,
// per-dialect session key derivation (MS-SMB2 3.3.5.5.3), message signing (MS-SMB2 3.1.4.1,
// 3.1.5.1), the SMB2 TRANSFORM_HEADER encryption (MS-SMB2 2.2.41, 3.1.4.3) and the 3.1.1
// preauthentication integrity hash (MS-SMB2 3.3.5.4).
//
// Everything here is safe for concurrent use; the signing and encryption hot paths (1 MiB
// WRITE, 8 MiB READ) avoid per-call allocations beyond what the standard library forces.
package crypto
