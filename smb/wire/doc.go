// Package wire is the SMB2/3 codec: the packet header, every command's
// request and response, negotiate/create/error contexts, FSCTL payloads,
// MS-FSCC information classes and NTSTATUS codes, as pure functions over
// bytes (no I/O, no goroutines, standard library only).
//
// Conventions:
//   - A message is one SMB2 message starting at its 64-byte header (for a
//     compound element: up to NextCommand, see NextMessage). Offsets inside
//     SMB2 bodies are relative to the header start, so decoders take the
//     whole message: (*XxxRequest).Decode(msg).
//   - Encoders append: (*XxxResponse).Append(msg) expects msg to hold exactly
//     the header and appends the body, computing offsets relative to msg[0].
//   - Variable data (read/write payloads, ioctl buffers, info buffers) decode
//     as sub-slices of msg, never copies; they alias the input buffer.
//   - Every decoding error wraps ErrMalformed and names the field. No input
//     panics a decoder, and no length field causes an allocation larger than
//     the input could fill.
package wire
