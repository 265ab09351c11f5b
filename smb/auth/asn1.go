package auth

import (
	"errors"
	"fmt"
)

// A minimal ASN.1 reader and writer, enough for SPNEGO. Input is read leniently as BER
// (long-form and non-minimal lengths are accepted; indefinite lengths are refused because
// no SMB client sends them); output is always DER.

// ASN.1 identifier octets used by SPNEGO.
const (
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagOID         = 0x06
	tagEnumerated  = 0x0a
	tagGeneralStr  = 0x1b
	tagSequence    = 0x30
	tagApp0        = 0x60 // [APPLICATION 0] constructed: GSS-API InitialContextToken
)

// ctx returns the identifier of the constructed context-specific tag [n].
func ctx(n int) byte { return 0xa0 | byte(n) }

var errASN1 = errors.New("malformed ASN.1")

// asn1Elem is one decoded TLV: tag byte, its content, and the whole encoding.
type asn1Elem struct {
	tag     byte
	content []byte
	raw     []byte
}

// maxASN1Depth bounds nesting so hostile input cannot recurse without limit.
const maxASN1Depth = 16

// readElem decodes one TLV from the front of b and returns it and the rest of b.
// Only single-byte tags are supported (SPNEGO uses no high tag numbers).
func readElem(b []byte) (asn1Elem, []byte, error) {
	if len(b) < 2 {
		return asn1Elem{}, nil, fmt.Errorf("%w: %d bytes, need a tag and a length", errASN1, len(b))
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return asn1Elem{}, nil, fmt.Errorf("%w: high tag number form", errASN1)
	}
	n := int(b[1])
	hdr := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 {
			return asn1Elem{}, nil, fmt.Errorf("%w: indefinite length", errASN1)
		}
		if k > 4 || len(b) < 2+k {
			return asn1Elem{}, nil, fmt.Errorf("%w: length of length %d", errASN1, k)
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n < 0 || n > len(b)-hdr {
		return asn1Elem{}, nil, fmt.Errorf("%w: tag %#x claims %d bytes, %d remain", errASN1, tag, n, len(b)-hdr)
	}
	return asn1Elem{tag: tag, content: b[hdr : hdr+n], raw: b[:hdr+n]}, b[hdr+n:], nil
}

// readAll splits b into consecutive elements.
func readAll(b []byte) ([]asn1Elem, error) {
	var out []asn1Elem
	for len(b) > 0 {
		e, rest, err := readElem(b)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		b = rest
	}
	return out, nil
}

// expect reads exactly one element with the given tag filling b.
func expect(b []byte, tag byte) (asn1Elem, error) {
	e, rest, err := readElem(b)
	if err != nil {
		return e, err
	}
	if e.tag != tag {
		return e, fmt.Errorf("%w: tag %#x, want %#x", errASN1, e.tag, tag)
	}
	if len(rest) != 0 {
		return e, fmt.Errorf("%w: %d trailing bytes after tag %#x", errASN1, len(rest), tag)
	}
	return e, nil
}

// OIDs are compared in their encoded (content octets) form.
var (
	oidSPNEGO  = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}                         // 1.3.6.1.5.5.2
	oidNTLMSSP = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a} // 1.3.6.1.4.1.311.2.2.10
)

// appendTLV appends a DER TLV with a minimal length.
func appendTLV(dst []byte, tag byte, content []byte) []byte {
	dst = append(dst, tag)
	n := len(content)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xff:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, content...)
}

// tlv is appendTLV into a fresh slice.
func tlv(tag byte, parts ...[]byte) []byte {
	var content []byte
	for _, p := range parts {
		content = append(content, p...)
	}
	return appendTLV(nil, tag, content)
}
