package auth

import (
	"bytes"
	"fmt"
)

// SPNEGO (RFC 4178) with the Microsoft extensions of MS-SPNG: NegTokenInit2 in the SMB
// NEGOTIATE response, NegTokenInit from the client, NegTokenResp both ways.

// negState values of NegTokenResp (RFC 4178 section 4.2.2).
const (
	negStateAbsent           = -1
	negStateAcceptCompleted  = 0
	negStateAcceptIncomplete = 1
	negStateReject           = 2
	negStateRequestMIC       = 3
)

// negHintName is the fixed hint Windows puts in NegTokenInit2 (MS-SPNG 2.2.1).
const negHintName = "not_defined_in_RFC4178@please_ignore"

// negTokenInit is the initiator's first token.
type negTokenInit struct {
	mechTypes    [][]byte // OID contents, most preferred first
	mechTypesRaw []byte   // the MechTypeList as received: the input of mechListMIC
	mechToken    []byte   // optimistic token of mechTypes[0], if any
	mechListMIC  []byte
}

// negTokenResp is a continuation or final token in either direction.
type negTokenResp struct {
	negState      int // negStateAbsent when the field is missing
	supportedMech []byte
	responseToken []byte
	mechListMIC   []byte
}

// parseNegTokenInit decodes an InitialContextToken carrying a NegTokenInit (or
// NegTokenInit2; negHints are skipped). A bare [0] NegTokenInit is accepted too.
func parseNegTokenInit(b []byte) (*negTokenInit, error) {
	inner := b
	if len(b) > 0 && b[0] == tagApp0 {
		app, err := expect(b, tagApp0)
		if err != nil {
			return nil, fmt.Errorf("spnego init: %w", err)
		}
		oid, rest, err := readElem(app.content)
		if err != nil {
			return nil, fmt.Errorf("spnego init: mech oid: %w", err)
		}
		if oid.tag != tagOID || !bytes.Equal(oid.content, oidSPNEGO) {
			return nil, fmt.Errorf("spnego init: %w: mechanism %x is not SPNEGO", errASN1, oid.content)
		}
		inner = rest
	}
	wrap, err := expect(inner, ctx(0))
	if err != nil {
		return nil, fmt.Errorf("spnego init: %w", err)
	}
	seq, err := expect(wrap.content, tagSequence)
	if err != nil {
		return nil, fmt.Errorf("spnego init: %w", err)
	}
	fields, err := readAll(seq.content)
	if err != nil {
		return nil, fmt.Errorf("spnego init: %w", err)
	}
	t := &negTokenInit{}
	for _, f := range fields {
		switch f.tag {
		case ctx(0): // mechTypes
			list, err := expect(f.content, tagSequence)
			if err != nil {
				return nil, fmt.Errorf("spnego init: mechTypes: %w", err)
			}
			oids, err := readAll(list.content)
			if err != nil {
				return nil, fmt.Errorf("spnego init: mechTypes: %w", err)
			}
			for _, o := range oids {
				if o.tag != tagOID {
					return nil, fmt.Errorf("spnego init: mechTypes: %w: element tag %#x", errASN1, o.tag)
				}
				t.mechTypes = append(t.mechTypes, o.content)
			}
			t.mechTypesRaw = list.raw
		case ctx(1): // reqFlags: ignored (RFC 4178 says acceptors SHOULD ignore it)
		case ctx(2):
			o, err := expect(f.content, tagOctetString)
			if err != nil {
				return nil, fmt.Errorf("spnego init: mechToken: %w", err)
			}
			t.mechToken = o.content
		case ctx(3): // mechListMIC in NegTokenInit, negHints in NegTokenInit2
			if o, err := expect(f.content, tagOctetString); err == nil {
				t.mechListMIC = o.content
			}
		case ctx(4): // mechListMIC of NegTokenInit2
			o, err := expect(f.content, tagOctetString)
			if err != nil {
				return nil, fmt.Errorf("spnego init: mechListMIC: %w", err)
			}
			t.mechListMIC = o.content
		default:
			return nil, fmt.Errorf("spnego init: %w: unexpected field %#x", errASN1, f.tag)
		}
	}
	if len(t.mechTypes) == 0 {
		return nil, fmt.Errorf("spnego init: %w: no mechTypes", errASN1)
	}
	return t, nil
}

// parseNegTokenResp decodes a [1] NegTokenResp.
func parseNegTokenResp(b []byte) (*negTokenResp, error) {
	wrap, err := expect(b, ctx(1))
	if err != nil {
		return nil, fmt.Errorf("spnego resp: %w", err)
	}
	seq, err := expect(wrap.content, tagSequence)
	if err != nil {
		return nil, fmt.Errorf("spnego resp: %w", err)
	}
	fields, err := readAll(seq.content)
	if err != nil {
		return nil, fmt.Errorf("spnego resp: %w", err)
	}
	t := &negTokenResp{negState: negStateAbsent}
	for _, f := range fields {
		switch f.tag {
		case ctx(0):
			e, err := expect(f.content, tagEnumerated)
			if err != nil || len(e.content) != 1 || e.content[0] > negStateRequestMIC {
				return nil, fmt.Errorf("spnego resp: %w: bad negState", errASN1)
			}
			t.negState = int(e.content[0])
		case ctx(1):
			e, err := expect(f.content, tagOID)
			if err != nil {
				return nil, fmt.Errorf("spnego resp: supportedMech: %w", err)
			}
			t.supportedMech = e.content
		case ctx(2):
			e, err := expect(f.content, tagOctetString)
			if err != nil {
				return nil, fmt.Errorf("spnego resp: responseToken: %w", err)
			}
			t.responseToken = e.content
		case ctx(3):
			e, err := expect(f.content, tagOctetString)
			if err != nil {
				return nil, fmt.Errorf("spnego resp: mechListMIC: %w", err)
			}
			t.mechListMIC = e.content
		default:
			return nil, fmt.Errorf("spnego resp: %w: unexpected field %#x", errASN1, f.tag)
		}
	}
	return t, nil
}

// encodeMechTypes returns the DER MechTypeList (SEQUENCE OF OID).
func encodeMechTypes(oids ...[]byte) []byte {
	var body []byte
	for _, o := range oids {
		body = appendTLV(body, tagOID, o)
	}
	return tlv(tagSequence, body)
}

// encodeNegTokenInit2 builds the server's NegTokenInit2 (MS-SPNG 2.2.1) wrapped in the
// GSS-API InitialContextToken, as sent in the SMB2 NEGOTIATE response.
func encodeNegTokenInit2(mechs ...[]byte) []byte {
	hints := tlv(tagSequence, tlv(ctx(0), tlv(tagGeneralStr, []byte(negHintName))))
	body := tlv(tagSequence,
		tlv(ctx(0), encodeMechTypes(mechs...)),
		tlv(ctx(3), hints))
	return tlv(tagApp0, tlv(tagOID, oidSPNEGO), tlv(ctx(0), body))
}

// encodeNegTokenInit builds an initiator NegTokenInit (used by tests' client).
func encodeNegTokenInit(mechTypes []byte, mechToken, mic []byte) []byte {
	parts := [][]byte{tlv(ctx(0), mechTypes)}
	if mechToken != nil {
		parts = append(parts, tlv(ctx(2), tlv(tagOctetString, mechToken)))
	}
	if mic != nil {
		parts = append(parts, tlv(ctx(3), tlv(tagOctetString, mic)))
	}
	return tlv(tagApp0, tlv(tagOID, oidSPNEGO), tlv(ctx(0), tlv(tagSequence, parts...)))
}

// encodeNegTokenResp builds a NegTokenResp; nil fields and negStateAbsent are omitted.
func encodeNegTokenResp(t negTokenResp) []byte {
	var parts [][]byte
	if t.negState != negStateAbsent {
		parts = append(parts, tlv(ctx(0), tlv(tagEnumerated, []byte{byte(t.negState)})))
	}
	if t.supportedMech != nil {
		parts = append(parts, tlv(ctx(1), tlv(tagOID, t.supportedMech)))
	}
	if t.responseToken != nil {
		parts = append(parts, tlv(ctx(2), tlv(tagOctetString, t.responseToken)))
	}
	if t.mechListMIC != nil {
		parts = append(parts, tlv(ctx(3), tlv(tagOctetString, t.mechListMIC)))
	}
	return tlv(ctx(1), tlv(tagSequence, parts...))
}
