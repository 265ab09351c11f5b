package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readSeeds returns the []byte arguments of the fuzz corpus files named
// real-* under testdata/fuzz/target: messages recorded between smbclient /
// smbtorture and Samba 4.17 (SMB 2.0.2, 3.0 and 3.1.1, signed, unencrypted).
func readSeeds(t *testing.T, target string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "real-*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "[]byte(") {
			t.Fatalf("%s: unexpected corpus line %q", f, last)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(last, "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// messageDecoders maps fuzz target names (FuzzDecode+name) to decoders.
var messageDecoders = map[string]func() codec{
	"NegotiateRequest": func() codec { return &NegotiateRequest{} }, "NegotiateResponse": func() codec { return &NegotiateResponse{} },
	"SessionSetupRequest": func() codec { return &SessionSetupRequest{} }, "SessionSetupResponse": func() codec { return &SessionSetupResponse{} },
	"TreeConnectRequest": func() codec { return &TreeConnectRequest{} }, "TreeConnectResponse": func() codec { return &TreeConnectResponse{} },
	"CreateRequest": func() codec { return &CreateRequest{} }, "CreateResponse": func() codec { return &CreateResponse{} },
	"CloseRequest": func() codec { return &CloseRequest{} }, "CloseResponse": func() codec { return &CloseResponse{} },
	"ReadRequest": func() codec { return &ReadRequest{} }, "ReadResponse": func() codec { return &ReadResponse{} },
	"WriteRequest": func() codec { return &WriteRequest{} }, "WriteResponse": func() codec { return &WriteResponse{} },
	"LockRequest": func() codec { return &LockRequest{} }, "LockResponse": func() codec { return &LockResponse{} },
	"IoctlRequest": func() codec { return &IoctlRequest{} }, "IoctlResponse": func() codec { return &IoctlResponse{} },
	"QueryDirectoryRequest": func() codec { return &QueryDirectoryRequest{} }, "QueryDirectoryResponse": func() codec { return &QueryDirectoryResponse{} },
	"ChangeNotifyRequest": func() codec { return &ChangeNotifyRequest{} }, "ChangeNotifyResponse": func() codec { return &ChangeNotifyResponse{} },
	"QueryInfoRequest": func() codec { return &QueryInfoRequest{} }, "QueryInfoResponse": func() codec { return &QueryInfoResponse{} },
	"SetInfoRequest": func() codec { return &SetInfoRequest{} }, "SetInfoResponse": func() codec { return &SetInfoResponse{} },
	"OplockBreakRequest": func() codec { return &OplockBreakRequest{} }, "OplockBreakNotify": func() codec { return &OplockBreakNotify{} },
	"ErrorResponse": func() codec { return &ErrorResponse{} },
}

// TestRealTrafficDecodes decodes every recorded client and server message
// with the decoder for its command and checks that it re-encodes to bytes
// that decode to the same value. Request encodings are also compared with
// the recorded bytes over the fixed part of the body, and response
// encodings with Samba's whole response, which pins field offsets and
// buffer placement against a real implementation.
func TestRealTrafficDecodes(t *testing.T) {
	total := 0
	for name, mk := range messageDecoders {
		seeds := readSeeds(t, "FuzzDecode"+name)
		total += len(seeds)
		for i, msg := range seeds {
			if !Header(msg).IsResponse() {
				if err := CheckRequestSize(Header(msg).Command(), msg); err != nil {
					t.Errorf("%s seed %d: %v", name, i, err)
				}
			}
			x := mk()
			if err := x.Decode(msg); err != nil {
				t.Errorf("%s seed %d: %v\n% x", name, i, err, msg)
				continue
			}
			enc := x.Append(append([]byte(nil), msg[:HeaderSize]...))
			y := mk()
			if err := y.Decode(enc); err != nil || !sameValue(x, y) {
				t.Errorf("%s seed %d: re-encoding differs: %+v vs %+v (%v)", name, i, x, y, err)
			}
			if !strings.HasSuffix(name, "Request") {
				// Our response encoding is Samba's byte for byte, up to the
				// one pad byte of an empty odd-sized buffer (Samba fills it
				// with junk) and the padding of a compound element.
				trim := enc
				if len(enc) == HeaderSize+int(le.Uint16(enc[HeaderSize:])&^1)+1 {
					trim = enc[:len(enc)-1]
				}
				if len(msg) < len(trim) || !bytes.Equal(msg[:len(trim)], trim) || len(msg)-len(trim) >= 8 {
					t.Errorf("%s seed %d: encoding differs from Samba's\n got % x\nwant % x", name, i, enc[HeaderSize:], msg[HeaderSize:])
				}
			}
			if ss := int(le.Uint16(msg[HeaderSize:]) &^ 1); strings.HasSuffix(name, "Request") && len(enc) >= HeaderSize+ss &&
				!bytes.Equal(enc[HeaderSize:HeaderSize+ss], msg[HeaderSize:HeaderSize+ss]) && !offsetsOnlyDiffer(name) {
				t.Errorf("%s seed %d: fixed body differs from the recording\n got % x\nwant % x", name, i, enc[HeaderSize:HeaderSize+ss], msg[HeaderSize:HeaderSize+ss])
			}
		}
	}
	if total < 300 {
		t.Fatalf("only %d recorded messages found", total)
	}
	if seeds := readSeeds(t, "FuzzParseSMB1Negotiate"); len(seeds) == 0 {
		t.Fatal("no SMB1 negotiate recorded")
	} else if d, err := ParseSMB1Negotiate(seeds[0]); err != nil || !containsString(d, SMB1DialectSMB2Wildcard) {
		t.Fatalf("smbclient's SMB1 negotiate: %q %v", d, err)
	}
}

// offsetsOnlyDiffer names requests for which only decoded values are
// compared: smbtorture fills LOCK reserved fields with junk on purpose, and
// Samba's clients disagree among themselves on the offsets of empty IOCTL
// buffers (smbclient points OutputOffset after the input, smbtorture writes 0).
func offsetsOnlyDiffer(name string) bool {
	switch name {
	case "LockRequest", "IoctlRequest":
		return true
	}
	return false
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestRealTrafficPayloads decodes the recorded negotiate contexts, create
// contexts and directory listings with their typed decoders.
func TestRealTrafficPayloads(t *testing.T) {
	seen := map[NegotiateContextType]bool{}
	for i, b := range readSeeds(t, "FuzzDecodeNegotiateContexts") {
		ctxs, err := DecodeNegotiateContexts(b, 1)
		if err != nil {
			t.Fatalf("negotiate context seed %d: %v", i, err)
		}
		c := ctxs[0]
		var d interface{ Decode([]byte) error }
		switch c.Type {
		case CtxPreauthIntegrity:
			d = &PreauthIntegrityCapabilities{}
		case CtxEncryption:
			d = &EncryptionCapabilities{}
		case CtxCompression:
			d = &CompressionCapabilities{}
		case CtxNetname:
			d = &NetnameNegotiateContextID{}
		case CtxTransport:
			d = &TransportCapabilities{}
		case CtxRDMATransform:
			d = &RDMATransformCapabilities{}
		case CtxSigning:
			d = &SigningCapabilities{}
		default:
			continue
		}
		if err := d.Decode(c.Data); err != nil {
			t.Errorf("negotiate context seed %d type %d: %v", i, c.Type, err)
		}
		seen[c.Type] = true
	}
	for _, want := range []NegotiateContextType{CtxPreauthIntegrity, CtxEncryption, CtxSigning} {
		if !seen[want] {
			t.Errorf("no recorded negotiate context of type %d", want)
		}
	}
	for i, b := range readSeeds(t, "FuzzDecodeCreateContexts") {
		ctxs, err := DecodeCreateContexts(b)
		if err != nil {
			t.Fatalf("create context seed %d: %v", i, err)
		}
		for _, c := range ctxs {
			var err error
			switch c.Name {
			case CtxNameRequestLease:
				err = (&Lease{}).Decode(c.Data)
			case CtxNameDurableHandleRequestV2:
				if len(c.Data) == 8 {
					err = (&DurableHandleResponseV2{}).Decode(c.Data)
				} else {
					err = (&DurableHandleRequestV2{}).Decode(c.Data)
				}
			case CtxNameQueryMaximalAccess:
				if len(c.Data) == 8 {
					err = (&MaximalAccessResponse{}).Decode(c.Data)
				} else {
					err = (&MaximalAccessRequest{}).Decode(c.Data)
				}
			case CtxNameQueryOnDiskID:
				if len(c.Data) > 0 {
					err = (&QueryOnDiskIDResponse{}).Decode(c.Data)
				}
			}
			if err != nil {
				t.Errorf("create context seed %d %q: %v", i, c.Name, err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeDirEntries", "real-*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		class, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(lines[1], "uint8("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		data, _ := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[2], "[]byte("), ")"))
		entries, err := DecodeDirEntries(uint8(class), []byte(data))
		if err != nil || len(entries) == 0 {
			t.Errorf("%s: class %d: %d entries, %v", f, class, len(entries), err)
			continue
		}
		// Re-encoding Samba's entries with DirWriter gives Samba's bytes.
		w, _ := NewDirWriter(nil, uint8(class), len(data))
		for i := range entries {
			if !w.Add(&entries[i]) {
				t.Fatalf("%s: entry %d does not fit", f, i)
			}
		}
		if got := w.Bytes(); !bytes.Equal(got, []byte(data)) {
			t.Errorf("%s: class %d: DirWriter output differs from Samba's\n got % x\nwant % x", f, class, got, []byte(data))
		}
	}
	if len(files) == 0 {
		t.Error("no recorded directory listing")
	}
}

// TestMutatedRealTrafficBoundedAllocation overwrites every 2- and 4-byte
// aligned field (in the first 512 bytes) of every recorded message with
// all-ones, zero and 0x7F.. (the values most likely to turn a length or
// offset into a huge allocation, an out-of-range slice or a loop that does
// not advance) and decodes it: no panic, and allocation stays proportional
// to the input.
func TestMutatedRealTrafficBoundedAllocation(t *testing.T) {
	mutations := 0
	for name, mk := range messageDecoders {
		for _, msg := range readSeeds(t, "FuzzDecode"+name) {
			m := make([]byte, len(msg))
			for _, fill := range []byte{0xFF, 0x00, 0x7F} {
				for width := 2; width <= 4; width += 2 {
					for off := 0; off+width <= len(msg) && off < 512; off += width {
						copy(m, msg)
						for i := 0; i < width; i++ {
							m[off+i] = fill
						}
						mutations++
						if got := allocBytes(func() { _ = mk().Decode(m) }, allocBound(len(m))); got > allocBound(len(m)) {
							t.Errorf("%s: field at %d (width %d) set to %#x: decoding %d bytes allocated %d", name, off, width, fill, len(m), got)
						}
					}
				}
			}
		}
	}
	if mutations < 10000 {
		t.Fatalf("only %d mutations", mutations)
	}
}

// TestRealTrafficFSCTLs decodes the FSCTL payloads of the recorded IOCTLs
// (smbclient and smbtorture: DFS referrals, pipe transceive, validate
// negotiate, resume key, copychunk, allocated ranges, sparse) with the
// typed decoders, and checks every control code seen has a name here.
func TestRealTrafficFSCTLs(t *testing.T) {
	named := map[uint32]bool{FSCTL_DFS_GET_REFERRALS: true, FSCTL_DFS_GET_REFERRALS_EX: true, FSCTL_PIPE_PEEK: true,
		FSCTL_PIPE_WAIT: true, FSCTL_PIPE_TRANSCEIVE: true, FSCTL_SRV_COPYCHUNK: true, FSCTL_SRV_COPYCHUNK_WRITE: true,
		FSCTL_SRV_ENUMERATE_SNAPSHOTS: true, FSCTL_SRV_REQUEST_RESUME_KEY: true, FSCTL_SRV_READ_HASH: true,
		FSCTL_LMR_REQUEST_RESILIENCY: true, FSCTL_QUERY_NETWORK_INTERFACE_INFO: true, FSCTL_VALIDATE_NEGOTIATE_INFO: true,
		FSCTL_GET_REPARSE_POINT: true, FSCTL_SET_REPARSE_POINT: true, FSCTL_DELETE_REPARSE_POINT: true,
		FSCTL_FILE_LEVEL_TRIM: true, FSCTL_SET_SPARSE: true, FSCTL_SET_ZERO_DATA: true, FSCTL_QUERY_ALLOCATED_RANGES: true,
		FSCTL_DUPLICATE_EXTENTS_TO_FILE: true, FSCTL_GET_INTEGRITY_INFORMATION: true, FSCTL_SET_INTEGRITY_INFORMATION: true,
		FSCTL_GET_COMPRESSION: true, FSCTL_SET_COMPRESSION: true, FSCTL_CREATE_OR_GET_OBJECT_ID: true,
		FSCTL_GET_OBJECT_ID: true, FSCTL_OFFLOAD_READ: true, FSCTL_OFFLOAD_WRITE: true, FSCTL_QUERY_FILE_REGIONS: true,
		FSCTL_GET_NTFS_VOLUME_DATA: true}
	typed := 0
	for _, msg := range readSeeds(t, "FuzzDecodeIoctlRequest") {
		var r IoctlRequest
		if err := r.Decode(msg); err != nil {
			t.Fatal(err)
		}
		if !named[r.CtlCode] {
			t.Errorf("unnamed control code %#08x", r.CtlCode)
		}
		var err error
		switch r.CtlCode {
		case FSCTL_DFS_GET_REFERRALS:
			var d DFSReferralRequest
			if err = d.Decode(r.Input); err == nil && d.RequestFileName == "" {
				t.Error("dfs referral request without a file name")
			}
		case FSCTL_VALIDATE_NEGOTIATE_INFO:
			var v ValidateNegotiateInfoRequest
			if err = v.Decode(r.Input); err == nil && len(v.Dialects) == 0 {
				t.Error("validate negotiate info without dialects")
			}
		case FSCTL_SRV_COPYCHUNK, FSCTL_SRV_COPYCHUNK_WRITE:
			err = (&CopyChunkRequest{}).Decode(r.Input)
		case FSCTL_QUERY_ALLOCATED_RANGES:
			err = (&AllocatedRange{}).Decode(r.Input)
		case FSCTL_SET_ZERO_DATA:
			err = (&ZeroDataInformation{}).Decode(r.Input)
		default:
			continue
		}
		if err != nil {
			t.Errorf("ioctl %#08x input: %v", r.CtlCode, err)
		}
		typed++
	}
	for _, msg := range readSeeds(t, "FuzzDecodeIoctlResponse") {
		var r IoctlResponse
		if err := r.Decode(msg); err != nil {
			t.Fatal(err)
		}
		var err error
		switch r.CtlCode {
		case FSCTL_VALIDATE_NEGOTIATE_INFO:
			err = (&ValidateNegotiateInfoResponse{}).Decode(r.Output)
		case FSCTL_SRV_REQUEST_RESUME_KEY:
			err = (&ResumeKeyResponse{}).Decode(r.Output)
		case FSCTL_SRV_COPYCHUNK, FSCTL_SRV_COPYCHUNK_WRITE:
			err = (&CopyChunkResponse{}).Decode(r.Output)
		case FSCTL_QUERY_ALLOCATED_RANGES:
			_, err = DecodeAllocatedRanges(r.Output)
		case FSCTL_SRV_ENUMERATE_SNAPSHOTS:
			err = (&SnapshotArray{}).Decode(r.Output)
		default:
			continue
		}
		if err != nil {
			t.Errorf("ioctl %#08x output: %v", r.CtlCode, err)
		}
		typed++
	}
	if typed < 5 {
		t.Fatalf("only %d typed FSCTL payloads checked", typed)
	}
}
