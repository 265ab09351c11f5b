package wire

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestHeaderFieldOffsets(t *testing.T) {
	h := make(Header, HeaderSize)
	h.Init(CmdWrite)
	h.SetCreditCharge(0x0102)
	h.SetStatus(StatusPending)
	h.SetCredits(0x0304)
	h.SetFlags(FlagSigned | FlagRelatedOperations)
	h.SetNextCommand(0x05060708)
	h.SetMessageID(0x1122334455667788)
	h.SetTreeID(0xAABBCCDD)
	h.SetSessionID(0x0102030405060708)
	copy(h.Signature(), bytes.Repeat([]byte{0xEE}, 16))
	want := []byte{
		0xFE, 'S', 'M', 'B', 64, 0, 0x02, 0x01, // protocol, structure size, credit charge
		0x03, 0x01, 0, 0, 0x09, 0, 0x04, 0x03, // status, command, credits
		0x0C, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, // flags, next command
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // message id
		0, 0, 0, 0, 0xDD, 0xCC, 0xBB, 0xAA, // reserved, tree id
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // session id
	}
	want = append(want, bytes.Repeat([]byte{0xEE}, 16)...)
	if !bytes.Equal(h, want) {
		t.Fatalf("header bytes\n got % x\nwant % x", []byte(h), want)
	}
	if h.ProtocolID() != ProtocolIDSMB2 || h.Command() != CmdWrite || h.ChannelSequence() != 0x0103 {
		t.Fatalf("getters: proto %#x cmd %v chseq %#x", h.ProtocolID(), h.Command(), h.ChannelSequence())
	}
	h.SetAsyncID(0x0102030405060708)
	if h.TreeID() != 0x01020304 || h.AsyncID() != 0x0102030405060708 {
		t.Fatalf("async id overlays reserved+tree id: tree %#x async %#x", h.TreeID(), h.AsyncID())
	}
}

func TestInitResponse(t *testing.T) {
	req := make(Header, HeaderSize)
	req.Init(CmdCreate)
	req.SetMessageID(42)
	req.SetSessionID(9)
	req.SetTreeID(5)
	req.SetFlags(FlagSigned | FlagRelatedOperations)
	resp := make(Header, HeaderSize)
	for i := range resp {
		resp[i] = 0xAA // stale bytes must be cleared
	}
	resp.InitResponse(req)
	if resp.Command() != CmdCreate || resp.MessageID() != 42 || resp.SessionID() != 9 || resp.TreeID() != 5 ||
		resp.Flags() != FlagResponse || resp.Status() != StatusSuccess || resp.StructureSize() != 64 ||
		resp.ProtocolID() != ProtocolIDSMB2 || !bytes.Equal(resp.Signature(), make([]byte, 16)) {
		t.Fatalf("bad response header % x", []byte(resp))
	}
}

func TestCommandAndStatusNames(t *testing.T) {
	if CmdOplockBreak.String() != "OPLOCK_BREAK" || CmdNegotiate.String() != "NEGOTIATE" || Command(99).String() != "COMMAND_0x0063" {
		t.Fatal("command names")
	}
	for s, want := range map[Status]string{
		StatusObjectNameNotFound: "STATUS_OBJECT_NAME_NOT_FOUND", StatusSuccess: "STATUS_SUCCESS",
		StatusMoreProcessingRequired: "STATUS_MORE_PROCESSING_REQUIRED", Status(0xC0FFEE00): "STATUS_0xC0FFEE00",
	} {
		if s.String() != want {
			t.Errorf("%#x: %q want %q", uint32(s), s.String(), want)
		}
	}
	var err error = StatusAccessDenied
	var st Status
	if !errors.As(err, &st) || st != 0xC0000022 || !st.IsError() || StatusBufferOverflow.IsError() || !StatusBufferOverflow.IsWarning() {
		t.Fatal("status as error / severity")
	}
}

func TestNextMessage(t *testing.T) {
	echo := func(next uint32) []byte {
		m := (&EchoRequest{}).Append(testHeader(CmdEcho))
		Header(m).SetNextCommand(next)
		return Pad8(m)
	}
	frame := append(echo(72), echo(72)...)
	frame = append(frame, echo(0)[:68]...)
	var n int
	for rest := frame; len(rest) > 0; n++ {
		msg, r, err := NextMessage(rest)
		if err != nil {
			t.Fatalf("element %d: %v", n, err)
		}
		if err := (&EchoRequest{}).Decode(msg); err != nil {
			t.Fatalf("element %d: %v", n, err)
		}
		rest = r
	}
	if n != 3 {
		t.Fatalf("split into %d messages, want 3", n)
	}
	for _, tc := range []struct {
		name string
		buf  []byte
	}{
		{"short", frame[:63]},
		{"unaligned", echo(70)},
		{"too small", append(echo(64), echo(0)...)},
		{"beyond", echo(72)},
		{"bad protocol", append([]byte{0xFF}, frame[1:]...)},
	} {
		if _, _, err := NextMessage(tc.buf); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", tc.name, err)
		}
	}
}

func TestCheckRequestSize(t *testing.T) {
	m := (&EchoRequest{}).Append(testHeader(CmdEcho))
	if err := CheckRequestSize(CmdEcho, m); err != nil {
		t.Fatal(err)
	}
	if err := CheckRequestSize(CmdRead, m); !errors.Is(err, ErrMalformed) {
		t.Fatalf("echo body as read: %v", err)
	}
	m = (&TreeConnectRequest{Path: `\\srv\share`}).Append(testHeader(CmdTreeConnect))
	if err := CheckRequestSize(CmdTreeConnect, m); err != nil {
		t.Fatal(err)
	}
	if err := CheckRequestSize(CmdTreeConnect, m[:HeaderSize+6]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
	if err := CheckRequestSize(Command(40), m); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestPad8(t *testing.T) {
	for n := 0; n < 20; n++ {
		if got := len(Pad8(make([]byte, n))); got%8 != 0 || got < n || got-n > 7 {
			t.Fatalf("Pad8(%d) = %d", n, got)
		}
	}
}

func TestUTF16(t *testing.T) {
	for _, s := range []string{"", "abc", "ÄÖü", "日本語", "😀x", "a\u0000b"} {
		enc := AppendUTF16(nil, s)
		if len(enc) != UTF16Len(s) {
			t.Fatalf("%q: len %d vs UTF16Len %d", s, len(enc), UTF16Len(s))
		}
		got, err := DecodeUTF16(enc)
		if err != nil || got != s {
			t.Fatalf("%q: got %q %v", s, got, err)
		}
	}
	// "😀" is D83D DE00.
	if enc := AppendUTF16(nil, "😀"); !bytes.Equal(enc, []byte{0x3D, 0xD8, 0x00, 0xDE}) {
		t.Fatalf("surrogate pair % x", enc)
	}
	// Unpaired surrogates survive a round trip byte for byte.
	for _, raw := range [][]byte{{0x3D, 0xD8}, {0x00, 0xDE, 'a', 0}, {0x3D, 0xD8, 'a', 0}, {0x3D, 0xD8, 0x3D, 0xD8, 0x00, 0xDE}} {
		s, err := DecodeUTF16(raw)
		if err != nil {
			t.Fatal(err)
		}
		if back := AppendUTF16(nil, s); !bytes.Equal(back, raw) {
			t.Fatalf("lone surrogate % x -> %q -> % x", raw, s, back)
		}
	}
	if _, err := DecodeUTF16([]byte{1, 0, 2}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("odd length: %v", err)
	}
}

func TestFiletime(t *testing.T) {
	// MS-DTYP: 1970-01-01 is 116444736000000000.
	if got := FiletimeFromTime(time.Unix(0, 0)); got != 116444736000000000 {
		t.Fatalf("epoch: %d", got)
	}
	ts := time.Date(2026, 11, 22, 4, 5, 6, 123456700, time.UTC)
	if back := TimeFromFiletime(FiletimeFromTime(ts)); !back.Equal(ts) {
		t.Fatalf("round trip %v -> %v", ts, back)
	}
	old := time.Date(1900, 1, 1, 0, 0, 0, 100, time.UTC)
	if back := TimeFromFiletime(FiletimeFromTime(old)); !back.Equal(old) {
		t.Fatalf("pre-1970 round trip %v -> %v", old, back)
	}
	if FiletimeFromTime(time.Time{}) != 0 || !TimeFromFiletime(0).IsZero() {
		t.Fatal("zero time")
	}
}

func (h Header) commandOrZero() Command {
	if len(h) < HeaderSize {
		return 0
	}
	return h.Command()
}

// FuzzNextMessage: splitting never panics; a frame that splits fully is
// the concatenation of its messages, each 8-byte aligned except the last.
func FuzzNextMessage(f *testing.F) {
	m := Pad8((&EchoRequest{}).Append(testHeader(CmdEcho)))
	Header(m).SetNextCommand(uint32(len(m)))
	f.Add(append(m, (&EchoRequest{}).Append(testHeader(CmdEcho))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var total int
		for rest := data; len(rest) > 0; {
			msg, r, err := NextMessage(rest)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatal(err)
				}
				return
			}
			if len(r) > 0 && (len(msg)%8 != 0 || len(msg) < HeaderSize+4) {
				t.Fatalf("element of %d bytes before more data", len(msg))
			}
			if &msg[0] != &rest[0] || len(msg)+len(r) != len(rest) {
				t.Fatal("split does not partition the frame")
			}
			total += len(msg)
			rest = r
		}
		if total != len(data) {
			t.Fatalf("split %d of %d bytes", total, len(data))
		}
	})
}

// TestRealCompounds splits the compounded frames smbclient sent (related
// CREATE/QUERY_INFO/CLOSE chains) and checks each element.
func TestRealCompounds(t *testing.T) {
	frames := readSeeds(t, "FuzzNextMessage")
	if len(frames) == 0 {
		t.Fatal("no recorded compound frames")
	}
	for i, frame := range frames {
		var cmds []Command
		for rest := frame; len(rest) > 0; {
			msg, r, err := NextMessage(rest)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if err := CheckRequestSize(Header(msg).Command(), msg); err != nil && !Header(msg).IsResponse() {
				t.Fatalf("frame %d: %v", i, err)
			}
			if len(cmds) > 0 && !Header(msg).IsRelated() {
				t.Logf("frame %d: unrelated compound element %v", i, Header(msg).Command())
			}
			cmds = append(cmds, Header(msg).Command())
			rest = r
		}
		if len(cmds) < 2 {
			t.Fatalf("frame %d: %d elements", i, len(cmds))
		}
	}
}

// FuzzDecodeUTF16: any even-length UTF-16 (including unpaired surrogates)
// decodes and re-encodes to the identical bytes.
func FuzzDecodeUTF16(f *testing.F) {
	f.Add([]byte{'a', 0, 0x3D, 0xD8, 0x00, 0xDE, 0x3D, 0xD8})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeUTF16(data)
		if len(data)%2 != 0 {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("odd length accepted: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if back := AppendUTF16(nil, s); !bytes.Equal(back, data) || UTF16Len(s) != len(data) {
			t.Fatalf("% x -> %q -> % x", data, s, back)
		}
	})
}

func TestAsyncResponseAndCreditCharge(t *testing.T) {
	req := make(Header, HeaderSize)
	req.Init(CmdChangeNotify)
	req.SetMessageID(9)
	req.SetTreeID(3)
	resp := make(Header, HeaderSize)
	resp.InitAsyncResponse(req, 0xABCDEF)
	if !resp.IsAsync() || !resp.IsResponse() || resp.AsyncID() != 0xABCDEF || resp.MessageID() != 9 || resp.Command() != CmdChangeNotify {
		t.Fatalf("% x", []byte(resp))
	}
	for payload, want := range map[uint32]uint16{0: 1, 1: 1, 65536: 1, 65537: 2, 1 << 20: 16, 8 << 20: 128, 1<<32 - 1: 0xFFFF} {
		if got := CreditChargeFor(payload); got != want {
			t.Errorf("CreditChargeFor(%d) = %d, want %d", payload, got, want)
		}
	}
}
