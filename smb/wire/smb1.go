package wire

// SMB1 command code of SMB_COM_NEGOTIATE (MS-CIFS 2.2.4.52).
const smb1ComNegotiate = 0x72

// SMB1 dialect strings relevant to the multi-protocol negotiate (MS-SMB2 3.3.5.3.1).
const (
	SMB1DialectSMB2002      = "SMB 2.002"
	SMB1DialectSMB2Wildcard = "SMB 2.???"
)

// maxSMB1Dialects bounds the dialect list; real clients send about a dozen.
const maxSMB1Dialects = 64

// ParseSMB1Negotiate returns the dialect strings of an SMB1 NEGOTIATE request
// (MS-CIFS 2.2.4.52.1): a 32-byte SMB1 header, WordCount 0, ByteCount, then
// entries of BufferFormat 0x02 followed by a NUL-terminated OEM string.
// A message that is not an SMB1 NEGOTIATE is malformed.
func ParseSMB1Negotiate(msg []byte) ([]string, error) {
	const hdr = 32
	if len(msg) < hdr+3 {
		return nil, malformed("smb1 negotiate: message of %d bytes", len(msg))
	}
	if string(msg[:4]) != ProtocolSMB1 {
		return nil, malformed("smb1 negotiate: protocol id % x", msg[:4])
	}
	if msg[4] != smb1ComNegotiate {
		return nil, malformed("smb1 negotiate: command %#02x", msg[4])
	}
	wc := int(msg[hdr])
	p := hdr + 1 + 2*wc
	if p+2 > len(msg) {
		return nil, malformed("smb1 negotiate: word count %d beyond message", wc)
	}
	bc := int(le.Uint16(msg[p:]))
	p += 2
	if p+bc > len(msg) {
		return nil, malformed("smb1 negotiate: byte count %d beyond message of %d bytes", bc, len(msg))
	}
	data := msg[p : p+bc]
	var out []string
	for len(data) > 0 {
		if data[0] != 0x02 {
			return nil, malformed("smb1 negotiate: dialect buffer format %#02x", data[0])
		}
		data = data[1:]
		end := -1
		for i, c := range data {
			if c == 0 {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, malformed("smb1 negotiate: unterminated dialect string")
		}
		if len(out) == maxSMB1Dialects {
			return nil, malformed("smb1 negotiate: more than %d dialects", maxSMB1Dialects)
		}
		out = append(out, string(data[:end]))
		data = data[end+1:]
	}
	return out, nil
}

// AppendSMB1Negotiate builds an SMB1 NEGOTIATE request offering dialects
// (for tests and the raw client).
func AppendSMB1Negotiate(b []byte, dialects []string) []byte {
	start := len(b)
	b = grow(b, 32)
	copy(b[start:], ProtocolSMB1)
	b[start+4] = smb1ComNegotiate
	b[start+9] = 0x18                  // Flags: case-insensitive, canonical paths
	le.PutUint16(b[start+10:], 0xC853) // Flags2: unicode, NT status, extended security, long names
	b = append(b, 0)                   // WordCount
	bcAt := len(b)
	b = grow(b, 2)
	for _, d := range dialects {
		b = append(b, 0x02)
		b = append(b, d...)
		b = append(b, 0)
	}
	le.PutUint16(b[bcAt:], uint16(len(b)-bcAt-2))
	return b
}
