// Package acl implements Windows security descriptors for sofs: the self-relative binary form
// (MS-DTYP 2.4.6), the access check a server runs on open (MS-DTYP 2.5.3.2), inheritance of a
// parent's ACEs into a new file or directory (MS-DTYP 2.5.3.4) and a small SDDL subset (MS-DTYP
// 2.5.1) for tests and diagnostics.
//
// The package is pure: no SMB wire types and no I/O. The server decides where descriptors are
// stored and builds a Token from the session's user. How the pieces map onto SMB2:
//
//   - CREATE of an existing object: OpenAccessCheck(stored, parentStored, tok, desired), and
//     AccessCheck(sharePermissions, tok, desired) for the share (no parent rights there); grant
//     the intersection. With an MxAc context, the same calls with MAXIMUM_ALLOWED give the
//     maximal access to return.
//   - CREATE of a new object: the parent must grant FILE_ADD_FILE (FILE_ADD_SUBDIRECTORY for a
//     directory); the new open is granted what it asked for (MS-FSA 2.1.5.1.1). Store
//     CreateDescriptor(parent, secdContext, tok, isDir), which is Inherit without a SecD context.
//     A share root without a stored descriptor uses DefaultRoot(owner).
//   - QUERY_INFO security: the open needs QueryAccess(info); answer sd.Select(info).Encode().
//   - SET_INFO security: the open needs SetAccess(info); Decode the buffer, check
//     Token.MaySetOwner for a new owner, store Merge(stored, upd, info).
//
// Encode lays the parts out as Windows does; EncodeLayout(LayoutSamba) reproduces Samba's bytes.
package acl

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SID is a security identifier (MS-DTYP 2.4.2). Authority is big-endian on the wire, sub-authorities
// little-endian.
type SID struct {
	Revision  uint8
	Authority [6]byte
	Sub       []uint32
}

// maxSubAuthorities is the limit of MS-DTYP 2.4.2.2 ("SubAuthorityCount ... MUST be less than or
// equal to 15").
const maxSubAuthorities = 15

// ErrMalformed reports bytes or text that are not a valid descriptor, ACL, ACE or SID.
var ErrMalformed = errors.New("acl: malformed security data")

func authoritySID(auth uint64, sub ...uint32) SID {
	s := SID{Revision: 1, Sub: sub}
	s.setAuthority(auth)
	return s
}

func (s *SID) setAuthority(v uint64) {
	for i := 5; i >= 0; i-- {
		s.Authority[i] = byte(v)
		v >>= 8
	}
}

// AuthorityValue is the 48-bit identifier authority as a number.
func (s SID) AuthorityValue() uint64 {
	var v uint64
	for _, b := range s.Authority {
		v = v<<8 | uint64(b)
	}
	return v
}

// Well-known SIDs (MS-DTYP 2.4.2.4).
var (
	WorldSID              = authoritySID(1, 0)       // S-1-1-0 Everyone
	CreatorOwnerSID       = authoritySID(3, 0)       // S-1-3-0, replaced by the creator on inheritance
	CreatorGroupSID       = authoritySID(3, 1)       // S-1-3-1, replaced by the creator's primary group
	OwnerRightsSID        = authoritySID(3, 4)       // S-1-3-4, when present replaces the owner's implicit rights
	SystemSID             = authoritySID(5, 18)      // S-1-5-18 LocalSystem
	AuthenticatedUsersSID = authoritySID(5, 11)      // S-1-5-11
	AnonymousSID          = authoritySID(5, 7)       // S-1-5-7
	NetworkSID            = authoritySID(5, 2)       // S-1-5-2
	AdministratorsSID     = authoritySID(5, 32, 544) // S-1-5-32-544 BUILTIN\Administrators
	UsersSID              = authoritySID(5, 32, 545) // S-1-5-32-545 BUILTIN\Users
	GuestsSID             = authoritySID(5, 32, 546) // S-1-5-32-546 BUILTIN\Guests
)

// Equal reports whether two SIDs are the same identifier.
func (s SID) Equal(o SID) bool {
	if s.Revision != o.Revision || s.Authority != o.Authority || len(s.Sub) != len(o.Sub) {
		return false
	}
	for i := range s.Sub {
		if s.Sub[i] != o.Sub[i] {
			return false
		}
	}
	return true
}

// IsZero reports whether s is the zero value (no SID at all).
func (s SID) IsZero() bool { return s.Revision == 0 && s.Authority == [6]byte{} && len(s.Sub) == 0 }

// String renders the SID in the S-R-I-S... form of MS-DTYP 2.4.2.1: the authority in decimal
// below 2^32 and as 0x plus 12 hex digits above.
func (s SID) String() string {
	var b strings.Builder
	b.WriteString("S-")
	b.WriteString(strconv.Itoa(int(s.Revision)))
	b.WriteByte('-')
	if v := s.AuthorityValue(); v >= 1<<32 {
		fmt.Fprintf(&b, "0x%012X", v)
	} else {
		b.WriteString(strconv.FormatUint(v, 10))
	}
	for _, x := range s.Sub {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	}
	return b.String()
}

// ParseSID parses the S-1-... string form. Revision must be 1 (the only one MS-DTYP defines).
func ParseSID(str string) (SID, error) {
	parts := strings.Split(str, "-")
	if len(parts) < 3 || (parts[0] != "S" && parts[0] != "s") {
		return SID{}, fmt.Errorf("parse SID %q: %w", str, ErrMalformed)
	}
	if parts[1] != "1" {
		return SID{}, fmt.Errorf("parse SID %q: revision must be 1: %w", str, ErrMalformed)
	}
	var auth uint64
	var err error
	if a := parts[2]; len(a) > 2 && (a[:2] == "0x" || a[:2] == "0X") {
		auth, err = strconv.ParseUint(a[2:], 16, 48)
	} else {
		auth, err = strconv.ParseUint(a, 10, 48)
	}
	if err != nil {
		return SID{}, fmt.Errorf("parse SID %q authority: %w", str, ErrMalformed)
	}
	subs := parts[3:]
	if len(subs) > maxSubAuthorities {
		return SID{}, fmt.Errorf("parse SID %q: %d sub-authorities, at most %d: %w", str, len(subs), maxSubAuthorities, ErrMalformed)
	}
	s := SID{Revision: 1}
	s.setAuthority(auth)
	for _, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, fmt.Errorf("parse SID %q sub-authority %q: %w", str, p, ErrMalformed)
		}
		s.Sub = append(s.Sub, uint32(v))
	}
	return s, nil
}

// MustParseSID is ParseSID for constants in code and tests; it panics on a bad literal.
func MustParseSID(str string) SID {
	s, err := ParseSID(str)
	if err != nil {
		panic(err)
	}
	return s
}

// binaryLen is the encoded size: 8 bytes of header and authority plus 4 per sub-authority.
func (s SID) binaryLen() int { return 8 + 4*len(s.Sub) }

func (s SID) appendBinary(b []byte) []byte {
	b = append(b, s.Revision, byte(len(s.Sub)))
	b = append(b, s.Authority[:]...)
	for _, x := range s.Sub {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

// decodeSID reads one SID at the start of b and returns it with its length.
func decodeSID(b []byte) (SID, int, error) {
	if len(b) < 8 {
		return SID{}, 0, fmt.Errorf("SID header needs 8 bytes, have %d: %w", len(b), ErrMalformed)
	}
	if b[0] != 1 {
		return SID{}, 0, fmt.Errorf("SID revision %d: %w", b[0], ErrMalformed)
	}
	n := int(b[1])
	if n > maxSubAuthorities {
		return SID{}, 0, fmt.Errorf("SID with %d sub-authorities: %w", n, ErrMalformed)
	}
	size := 8 + 4*n
	if len(b) < size {
		return SID{}, 0, fmt.Errorf("SID needs %d bytes, have %d: %w", size, len(b), ErrMalformed)
	}
	s := SID{Revision: b[0]}
	copy(s.Authority[:], b[2:8])
	if n > 0 {
		s.Sub = make([]uint32, n)
		for i := range s.Sub {
			s.Sub[i] = binary.LittleEndian.Uint32(b[8+4*i:])
		}
	}
	return s, size, nil
}

// DecodeSID parses a binary SID that fills b exactly.
func DecodeSID(b []byte) (SID, error) {
	s, n, err := decodeSID(b)
	if err != nil {
		return SID{}, fmt.Errorf("decode SID: %w", err)
	}
	if n != len(b) {
		return SID{}, fmt.Errorf("decode SID: %d trailing bytes: %w", len(b)-n, ErrMalformed)
	}
	return s, nil
}

// Bytes is the binary form of the SID (MS-DTYP 2.4.2.2).
func (s SID) Bytes() []byte { return s.appendBinary(nil) }

// WithRID returns s with one more sub-authority, the relative identifier of an account in the
// domain s names.
func (s SID) WithRID(rid uint32) SID {
	sub := make([]uint32, len(s.Sub), len(s.Sub)+1)
	copy(sub, s.Sub)
	return SID{Revision: s.Revision, Authority: s.Authority, Sub: append(sub, rid)}
}

// MachineDomainSID derives a stable local domain SID S-1-5-21-a-b-c from seed (for example the
// cluster name), so that every node of a cluster gives the same user the same SID without
// storing a random one. The three sub-authorities come from SHA-256 of the seed.
func MachineDomainSID(seed string) SID {
	h := sha256.Sum256([]byte("sofs machine domain SID\x00" + seed))
	return authoritySID(5, 21,
		binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:]), binary.LittleEndian.Uint32(h[8:]))
}

// UnixUserSID and UnixGroupSID are Samba's S-1-22-1-uid / S-1-22-2-gid identities for Unix
// accounts that have no domain mapping; using the same ones keeps descriptors interchangeable
// with a Samba server on the same file system.
func UnixUserSID(uid uint32) SID  { return authoritySID(22, 1, uid) }
func UnixGroupSID(gid uint32) SID { return authoritySID(22, 2, gid) }
