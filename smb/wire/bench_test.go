package wire

import (
	"testing"
)

// Benchmarks of the hot path: run with
//   go test -run XXX -bench . -benchmem ./smb/wire/

func BenchmarkHeaderAccess(b *testing.B) {
	h := Header(testHeader(CmdRead))
	b.ReportAllocs()
	var sink uint64
	for i := 0; i < b.N; i++ {
		sink += uint64(h.Command()) + h.MessageID() + h.SessionID() + uint64(h.TreeID()) + uint64(h.Flags()) + uint64(h.Credits())
		h.SetCredits(uint16(i))
	}
	_ = sink
}

func BenchmarkNextMessageCompound(b *testing.B) {
	var frame []byte
	for i := 0; i < 4; i++ {
		m := (&ReadRequest{Length: 65536}).Append(testHeader(CmdRead))
		m = Pad8(m)
		if i < 3 {
			Header(m).SetNextCommand(uint32(len(m)))
		}
		frame = append(frame, m...)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for rest := frame; len(rest) > 0; {
			_, r, err := NextMessage(rest)
			if err != nil {
				b.Fatal(err)
			}
			rest = r
		}
	}
}

func BenchmarkReadRequestDecode(b *testing.B) {
	msg := (&ReadRequest{Length: 1 << 20, Offset: 1 << 30}).Append(testHeader(CmdRead))
	var r ReadRequest
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := r.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteRequestDecode1MiB(b *testing.B) {
	msg := (&WriteRequest{Offset: 1 << 30, Data: make([]byte, 1<<20)}).Append(testHeader(CmdWrite))
	var w WriteRequest
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := w.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadResponseAppendHeaderOnly(b *testing.B) {
	buf := make([]byte, HeaderSize, HeaderSize+16+1<<20)
	r := ReadResponse{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = r.AppendHeaderOnly(buf[:HeaderSize], 1<<20)
	}
}

func BenchmarkCreateRequestDecode(b *testing.B) {
	msg := (&CreateRequest{Name: `some\deeper\directory\file name.txt`, DesiredAccess: GenericRead,
		Contexts: []CreateContext{{Name: CtxNameQueryMaximalAccess}, {Name: CtxNameQueryOnDiskID}}}).Append(testHeader(CmdCreate))
	var r CreateRequest
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := r.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDirWriter100Entries(b *testing.B) {
	buf := make([]byte, 0, 64<<10)
	a := sampleAttrs()
	a.Name = "a-typical-file-name-0001.dat"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w, _ := NewDirWriter(buf[:0], FileIDBothDirectoryInformation, 64<<10)
		for j := 0; j < 100; j++ {
			if !w.Add(a) {
				b.Fatal("full")
			}
		}
	}
}
