package wire

import (
	"errors"
	"net/netip"
	"testing"

	"pgregory.net/rapid"
)

func TestInfoIoctlRoundTrip(t *testing.T) {
	t.Run("query info request", func(t *testing.T) {
		roundTrip(t, CmdQueryInfo, rapid.Custom(func(t *rapid.T) *QueryInfoRequest {
			return &QueryInfoRequest{InfoType: rapid.Uint8().Draw(t, "it"), FileInfoClass: rapid.Uint8().Draw(t, "c"),
				OutputBufferLength: rapid.Uint32().Draw(t, "ol"), AdditionalInformation: rapid.Uint32().Draw(t, "ai"),
				Flags: rapid.Uint32().Draw(t, "f"), FileID: genFileID().Draw(t, "fid"), InputBuffer: genBytes(50).Draw(t, "in")}
		}))
	})
	t.Run("query info response", func(t *testing.T) {
		roundTrip(t, CmdQueryInfo, rapid.Custom(func(t *rapid.T) *QueryInfoResponse {
			return &QueryInfoResponse{Output: genBytes(200).Draw(t, "out")}
		}))
	})
	t.Run("set info request", func(t *testing.T) {
		roundTrip(t, CmdSetInfo, rapid.Custom(func(t *rapid.T) *SetInfoRequest {
			return &SetInfoRequest{InfoType: rapid.Uint8().Draw(t, "it"), FileInfoClass: rapid.Uint8().Draw(t, "c"),
				AdditionalInformation: rapid.Uint32().Draw(t, "ai"), FileID: genFileID().Draw(t, "fid"), Buffer: genBytes(100).Draw(t, "b")}
		}))
	})
	t.Run("query directory request", func(t *testing.T) {
		roundTrip(t, CmdQueryDirectory, rapid.Custom(func(t *rapid.T) *QueryDirectoryRequest {
			return &QueryDirectoryRequest{FileInfoClass: rapid.Uint8().Draw(t, "c"), Flags: rapid.Uint8().Draw(t, "f"),
				FileIndex: rapid.Uint32().Draw(t, "i"), FileID: genFileID().Draw(t, "fid"), FileName: genName().Draw(t, "n"),
				OutputBufferLength: rapid.Uint32().Draw(t, "ol")}
		}))
	})
	t.Run("query directory response", func(t *testing.T) {
		roundTrip(t, CmdQueryDirectory, rapid.Custom(func(t *rapid.T) *QueryDirectoryResponse {
			return &QueryDirectoryResponse{Output: genBytes(200).Draw(t, "out")}
		}))
	})
	t.Run("ioctl request", func(t *testing.T) {
		roundTrip(t, CmdIoctl, rapid.Custom(func(t *rapid.T) *IoctlRequest {
			return &IoctlRequest{CtlCode: rapid.Uint32().Draw(t, "cc"), FileID: genFileID().Draw(t, "fid"), Input: genBytes(100).Draw(t, "in"),
				MaxInputResponse: rapid.Uint32().Draw(t, "mi"), Output: genBytes(50).Draw(t, "out"),
				MaxOutputResponse: rapid.Uint32().Draw(t, "mo"), Flags: rapid.Uint32().Draw(t, "f")}
		}))
	})
	t.Run("ioctl response", func(t *testing.T) {
		roundTrip(t, CmdIoctl, rapid.Custom(func(t *rapid.T) *IoctlResponse {
			return &IoctlResponse{CtlCode: rapid.Uint32().Draw(t, "cc"), FileID: genFileID().Draw(t, "fid"), Input: genBytes(50).Draw(t, "in"),
				Output: genBytes(100).Draw(t, "out"), Flags: rapid.Uint32().Draw(t, "f")}
		}))
	})
}

func TestSetInfoResponse(t *testing.T) {
	m := (&SetInfoResponse{}).Append(testHeader(CmdSetInfo))
	if len(m) != HeaderSize+2 || (&SetInfoResponse{}).Decode(m) != nil {
		t.Fatalf("% x", m[HeaderSize:])
	}
}

func TestFSCTLPayloadsRoundTrip(t *testing.T) {
	type typed interface {
		Append([]byte) []byte
		Decode([]byte) error
	}
	rapid.Check(t, func(t *rapid.T) {
		var key [24]byte
		copy(key[:], rapid.SliceOfN(rapid.Byte(), 24, 24).Draw(t, "key"))
		var chunks []CopyChunk
		for i := rapid.IntRange(0, 4).Draw(t, "n"); i > 0; i-- {
			chunks = append(chunks, CopyChunk{rapid.Uint64().Draw(t, "so"), rapid.Uint64().Draw(t, "to"), rapid.Uint32().Draw(t, "l")})
		}
		dialects := []Dialect{}
		for _, d := range rapid.SliceOfN(rapid.Uint16(), 0, 5).Draw(t, "d") {
			dialects = append(dialects, Dialect(d))
		}
		for _, c := range []struct{ in, out typed }{
			{&ValidateNegotiateInfoRequest{Capabilities: rapid.Uint32().Draw(t, "c"), GUID: genGUID().Draw(t, "g"),
				SecurityMode: rapid.Uint16().Draw(t, "sm"), Dialects: dialects}, &ValidateNegotiateInfoRequest{}},
			{&ValidateNegotiateInfoResponse{Capabilities: rapid.Uint32().Draw(t, "c2"), GUID: genGUID().Draw(t, "g2"),
				SecurityMode: rapid.Uint16().Draw(t, "sm2"), Dialect: Dialect(rapid.Uint16().Draw(t, "d2"))}, &ValidateNegotiateInfoResponse{}},
			{&ResumeKeyResponse{ResumeKey: key}, &ResumeKeyResponse{}},
			{&CopyChunkRequest{SourceKey: key, Chunks: chunks}, &CopyChunkRequest{}},
			{&CopyChunkResponse{rapid.Uint32().Draw(t, "a"), rapid.Uint32().Draw(t, "b"), rapid.Uint32().Draw(t, "c3")}, &CopyChunkResponse{}},
			{&ZeroDataInformation{rapid.Int64().Draw(t, "zo"), rapid.Int64().Draw(t, "zb")}, &ZeroDataInformation{}},
			{&AllocatedRange{rapid.Int64().Draw(t, "ro"), rapid.Int64().Draw(t, "rl")}, &AllocatedRange{}},
			{&SnapshotArray{NumberOfSnapShots: rapid.Uint32().Draw(t, "ns"), SnapShots: snapshotNames(t)}, &SnapshotArray{}},
			{&PipeWaitRequest{Timeout: rapid.Int64().Draw(t, "pt"), TimeoutSpecified: rapid.Bool().Draw(t, "ps"), Name: genName().Draw(t, "pn")}, &PipeWaitRequest{}},
			{&ObjectIDBuffer{genGUID().Draw(t, "o1"), genGUID().Draw(t, "o2"), genGUID().Draw(t, "o3"), genGUID().Draw(t, "o4")}, &ObjectIDBuffer{}},
			{&IntegrityInformation{rapid.Uint16().Draw(t, "ia"), rapid.Uint32().Draw(t, "if"), rapid.Uint32().Draw(t, "ic"), rapid.Uint32().Draw(t, "is")}, &IntegrityInformation{}},
			{&DuplicateExtents{genFileID().Draw(t, "df"), rapid.Int64().Draw(t, "ds"), rapid.Int64().Draw(t, "dt"), rapid.Int64().Draw(t, "dc")}, &DuplicateExtents{}},
			{&FileLevelTrim{Key: rapid.Uint32().Draw(t, "tk"), Ranges: trimRanges(t)}, &FileLevelTrim{}},
			{dfsResponse(t), &DFSReferralResponse{}},
			{&DFSReferralRequest{MaxReferralLevel: rapid.Uint16().Draw(t, "ml"), RequestFileName: nonNULName(t)}, &DFSReferralRequest{}},
		} {
			if err := c.out.Decode(c.in.Append(nil)); err != nil || !sameValue(c.in, c.out) {
				t.Fatalf("%T: %+v -> %+v (%v)", c.in, c.in, c.out, err)
			}
		}
	})
}

func dfsResponse(t *rapid.T) *DFSReferralResponse {
	r := &DFSReferralResponse{PathConsumed: rapid.Uint16().Draw(t, "pc"), HeaderFlags: rapid.Uint32().Draw(t, "hf"),
		Version: rapid.SampledFrom([]uint16{3, 4}).Draw(t, "v")}
	for i := rapid.IntRange(0, 3).Draw(t, "nr"); i > 0; i-- {
		r.Referrals = append(r.Referrals, DFSReferral{ServerType: rapid.Uint16().Draw(t, "st"),
			EntryFlags: rapid.Uint16().Draw(t, "ef") &^ dfsNameListReferral, TimeToLive: rapid.Uint32().Draw(t, "ttl"),
			DFSPath: nonNULName(t), DFSAlternatePath: nonNULName(t), NetworkAddress: nonNULName(t)})
	}
	if len(r.Referrals) == 0 {
		r.Version = 0
	}
	return r
}

// TestDFSReferralLayout pins RESP_GET_DFS_REFERRAL v3 (MS-DFSC 2.2.4,
// 2.2.5.3.1): 8-byte header, 34-byte entries, strings after all entries with
// offsets from each entry's start.
func TestDFSReferralLayout(t *testing.T) {
	r := DFSReferralResponse{PathConsumed: 20, HeaderFlags: DFSStorageServers, Version: 3, Referrals: []DFSReferral{
		{TimeToLive: 300, DFSPath: `s1\data`, DFSAlternatePath: `s1\data`, NetworkAddress: `
ode2\data`}}}
	b := r.Append(nil)
	e := b[8:]
	if le.Uint16(b[2:]) != 1 || le.Uint16(e) != 3 || le.Uint16(e[2:]) != 34 || le.Uint32(e[8:]) != 300 || le.Uint16(e[12:]) != 34 {
		t.Fatalf("% x", b)
	}
	if s, err := nulTerminatedUTF16(e, int(le.Uint16(e[16:]))); err != nil || s != `
ode2\data` {
		t.Fatalf("network address %q %v", s, err)
	}
}

func snapshotNames(t *rapid.T) []string {
	var out []string
	for i := rapid.IntRange(0, 3).Draw(t, "nsn"); i > 0; i-- {
		out = append(out, nonNULName(t))
	}
	return out
}

func nonNULName(t *rapid.T) string {
	return rapid.StringMatching(`@GMT-[0-9.\-]{0,19}`).Draw(t, "name")
}

func trimRanges(t *rapid.T) []AllocatedRange {
	var out []AllocatedRange
	for i := rapid.IntRange(0, 3).Draw(t, "ntr"); i > 0; i-- {
		out = append(out, AllocatedRange{rapid.Int64().Draw(t, "o"), rapid.Int64().Draw(t, "l")})
	}
	return out
}

// TestSnapshotArrayLayout: counts, array size including the terminating
// NULs (MS-SMB2 2.2.32.2).
func TestSnapshotArrayLayout(t *testing.T) {
	b := (&SnapshotArray{NumberOfSnapShots: 1, SnapShots: []string{"@GMT-2026.11.22-04.00.00"}}).Append(nil)
	if le.Uint32(b) != 1 || le.Uint32(b[4:]) != 1 || le.Uint32(b[8:]) != 24*2+2+2 || len(b) != 12+52 {
		t.Fatalf("% x", b)
	}
	if e := (&SnapshotArray{}).Append(nil); len(e) != 12 {
		t.Fatalf("empty array % x", e)
	}
}

func TestNetworkInterfaceInfo(t *testing.T) {
	ifs := []NetworkInterfaceInfo{
		{IfIndex: 1, Capability: InterfaceCapRSS, LinkSpeed: 10e9, Addr: netip.MustParseAddrPort("192.0.2.1:445")},
		{IfIndex: 2, LinkSpeed: 1e9, Addr: netip.MustParseAddrPort("[2001:db8::5]:0")},
	}
	b := AppendNetworkInterfaceInfo(nil, ifs)
	if len(b) != 2*152 || le.Uint32(b) != 152 || le.Uint32(b[152:]) != 0 {
		t.Fatalf("layout: len %d next %d/%d", len(b), le.Uint32(b), le.Uint32(b[152:]))
	}
	// SOCKADDR_IN: family 2, port 445 big-endian, address.
	if sa := b[24:32]; sa[0] != 2 || sa[2] != 0x01 || sa[3] != 0xBD || sa[4] != 192 || sa[7] != 1 {
		t.Fatalf("sockaddr_in % x", sa)
	}
	back, err := DecodeNetworkInterfaceInfo(b)
	if err != nil || !sameValue(ifs, back) {
		t.Fatalf("%+v %v", back, err)
	}
	if _, err := DecodeNetworkInterfaceInfo(b[:200]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}

func FuzzDecodeQueryInfoRequest(f *testing.F) {
	fuzzDecode[QueryInfoRequest](f, (&QueryInfoRequest{InfoType: InfoFile, FileInfoClass: FileAllInformation, OutputBufferLength: 4096}).Append(testHeader(CmdQueryInfo)))
}

func FuzzDecodeQueryInfoResponse(f *testing.F) {
	fuzzDecode[QueryInfoResponse](f, (&QueryInfoResponse{Output: make([]byte, 40)}).Append(testHeader(CmdQueryInfo)))
}

func FuzzDecodeSetInfoRequest(f *testing.F) {
	fuzzDecode[SetInfoRequest](f, (&SetInfoRequest{InfoType: InfoFile, FileInfoClass: FileRenameInformation,
		Buffer: (&RenameInformation{FileName: `a\b`}).Append(nil)}).Append(testHeader(CmdSetInfo)))
}

func FuzzDecodeSetInfoResponse(f *testing.F) {
	fuzzDecode[SetInfoResponse](f, (&SetInfoResponse{}).Append(testHeader(CmdSetInfo)))
}

func FuzzDecodeQueryDirectoryRequest(f *testing.F) {
	fuzzDecode[QueryDirectoryRequest](f, (&QueryDirectoryRequest{FileInfoClass: FileIDBothDirectoryInformation, FileName: "*", OutputBufferLength: 65536}).Append(testHeader(CmdQueryDirectory)))
}

func FuzzDecodeQueryDirectoryResponse(f *testing.F) {
	fuzzDecode[QueryDirectoryResponse](f, (&QueryDirectoryResponse{Output: make([]byte, 20)}).Append(testHeader(CmdQueryDirectory)))
}

func FuzzDecodeIoctlRequest(f *testing.F) {
	fuzzDecode[IoctlRequest](f, (&IoctlRequest{CtlCode: FSCTL_VALIDATE_NEGOTIATE_INFO, FileID: AnyFileID, Flags: IoctlFlagIsFSCTL,
		Input: (&ValidateNegotiateInfoRequest{Dialects: []Dialect{DialectSMB30}}).Append(nil)}).Append(testHeader(CmdIoctl)))
}

func FuzzDecodeIoctlResponse(f *testing.F) {
	fuzzDecode[IoctlResponse](f, (&IoctlResponse{CtlCode: FSCTL_VALIDATE_NEGOTIATE_INFO, Output: make([]byte, 24)}).Append(testHeader(CmdIoctl)))
}

// FuzzDecodeFSCTLPayloads covers every FSCTL payload decoder.
func FuzzDecodeFSCTLPayloads(f *testing.F) {
	f.Add((&ValidateNegotiateInfoRequest{Dialects: []Dialect{DialectSMB202, DialectSMB30}}).Append(nil))
	f.Add((&CopyChunkRequest{Chunks: []CopyChunk{{1, 2, 3}}}).Append(nil))
	f.Add(AppendNetworkInterfaceInfo(nil, []NetworkInterfaceInfo{{Addr: netip.MustParseAddrPort("127.0.0.1:445")}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() {
			_ = (&ValidateNegotiateInfoRequest{}).Decode(data)
			_ = (&CopyChunkRequest{}).Decode(data)
			_, _ = DecodeNetworkInterfaceInfo(data)
			_, _ = DecodeAllocatedRanges(data)
			_ = (&SnapshotArray{}).Decode(data)
			_ = (&FileLevelTrim{}).Decode(data)
			_ = (&DFSReferralRequest{}).Decode(data)
		})
		for _, d := range []interface{ Decode([]byte) error }{&ValidateNegotiateInfoRequest{}, &ValidateNegotiateInfoResponse{},
			&ResumeKeyResponse{}, &CopyChunkRequest{}, &CopyChunkResponse{}, &ZeroDataInformation{}, &AllocatedRange{},
			&SnapshotArray{}, &PipeWaitRequest{}, &ObjectIDBuffer{}, &IntegrityInformation{}, &DuplicateExtents{},
			&FileLevelTrim{}, &DFSReferralRequest{}, &DFSReferralResponse{}} {
			if err := d.Decode(data); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
		}
		_, _ = DecodeNetworkInterfaceInfo(data)
		_, _ = DecodeAllocatedRanges(data)
		_, _, _ = DecodeSetIntegrityInformation(data)
	})
}
