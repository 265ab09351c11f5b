package wire_test

import (
	"fmt"

	"github.com/sofs-dev/sofs/smb/wire"
)

// A server answers a READ by writing the response header and body header,
// then reading file data straight into the same buffer.
func ExampleReadResponse_AppendHeaderOnly() {
	req := make(wire.Header, wire.HeaderSize)
	req.Init(wire.CmdRead)
	req.SetMessageID(5)

	n := 11 // bytes the file read returned
	buf := make([]byte, wire.HeaderSize, wire.ReadResponseDataOffset+n)
	wire.Header(buf).InitResponse(req)
	buf = (&wire.ReadResponse{}).AppendHeaderOnly(buf, n)
	buf = append(buf, "hello world"...) // in the server: ReadAt into buf[len:len+n]

	var back wire.ReadResponse
	err := back.Decode(buf)
	fmt.Println(wire.Header(buf).Command(), wire.Header(buf).MessageID(), string(back.Data), err)
	// Output: READ 5 hello world <nil>
}

// A QUERY_DIRECTORY handler fills the client's OutputBufferLength and keeps
// the entry that did not fit for the next call.
func ExampleDirWriter() {
	w, _ := wire.NewDirWriter(nil, wire.FileNamesInformation, 48)
	for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
		if !w.Add(&wire.FileAttrs{Name: name}) {
			fmt.Println("next call starts at", name)
			break
		}
	}
	entries, _ := wire.DecodeDirEntries(wire.FileNamesInformation, w.Bytes())
	fmt.Println(len(entries), "entries,", w.Len(), "bytes")
	// Output:
	// next call starts at c.txt
	// 2 entries, 46 bytes
}

// Splitting a compounded frame into its messages.
func ExampleNextMessage() {
	var frame []byte
	for i := 0; i < 3; i++ {
		m := make([]byte, wire.HeaderSize)
		wire.Header(m).Init(wire.CmdEcho)
		m = wire.Pad8((&wire.EchoRequest{}).Append(m))
		if i < 2 {
			wire.Header(m).SetNextCommand(uint32(len(m)))
		}
		frame = append(frame, m...)
	}
	for rest := frame; len(rest) > 0; {
		msg, r, err := wire.NextMessage(rest)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(wire.Header(msg).Command(), len(msg))
		rest = r
	}
	// Output:
	// ECHO 72
	// ECHO 72
	// ECHO 72
}
