package rpc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type staticShares []Share

func (s staticShares) Shares() []Share { return s }

var testShares = staticShares{
	{Name: "vms", Type: STypeDiskTree, Comment: "Hyper-V guests", Path: `C:\ClusterStorage\Volume1\vms`, Flags: 0x0030},
	{Name: "IPC$", Type: STypeIPC | STypeSpecial, Comment: "Remote IPC"},
	{Name: "data", Type: STypeDiskTree, Path: `C:\ClusterStorage\Volume2\data`},
	{Name: "C$", Type: STypeDiskTree | STypeSpecial, Comment: "Default share", Path: `C:\`},
}

func testServer() *Server {
	return &Server{ServerName: "SOFS1", Comment: "sofs cluster node", Shares: testShares}
}

func enumAll(t *testing.T, c *tClient, level, prefMax uint32, resume int64) tShareEnumResult {
	t.Helper()
	stub, f := c.call(0, opNetrShareEnum, tShareEnumStub(`\\SOFS1`, level, prefMax, resume), 4096)
	if f != nil {
		t.Fatalf("NetrShareEnum level %d: fault %#x", level, f.status)
	}
	res, err := tDecodeShareEnum(stub)
	if err != nil {
		t.Fatalf("NetrShareEnum level %d response: %v\n% x", level, err, stub)
	}
	return res
}

func TestNetrShareEnumLevels(t *testing.T) {
	c := newTClient(t, testServer())
	c.bindSrvsvc()
	for _, level := range []uint32{0, 1, 2, 501, 502} {
		res := enumAll(t, c, level, 0xFFFFFFFF, 0)
		if res.Level != level || res.Status != 0 || res.Total != 4 || !res.HasResume || res.Resume != 0 || len(res.Shares) != 4 {
			t.Fatalf("level %d: %+v", level, res)
		}
		for i, got := range res.Shares {
			w := testShares[i]
			want := tShareInfo{Name: w.Name}
			if level != 0 {
				want.Type, want.Comment = w.Type, w.Comment
			}
			if level == 501 {
				want.Flags = w.Flags
			}
			if level == 2 || level == 502 {
				want.Path, want.Passwd, want.MaxUses = w.Path, "<null>", 0xFFFFFFFF
			}
			if got != want {
				t.Fatalf("level %d share %d = %+v, want %+v", level, i, got, want)
			}
		}
	}
	for _, level := range []uint32{3, 503, 1005, 100} {
		res := enumAll(t, c, level, 0xFFFFFFFF, 7)
		if res.Status != errInvalidLevel || len(res.Shares) != 0 || !res.HasResume || res.Resume != 7 {
			t.Fatalf("level %d: %+v, want ERROR_INVALID_LEVEL", level, res)
		}
		if shareEnumArms[level] != res.NullArm {
			t.Fatalf("level %d: null arm %v", level, res.NullArm)
		}
	}
}

// Paging with PreferedMaximumLength and the resume handle visits every share exactly once.
func TestNetrShareEnumPaging(t *testing.T) {
	c := newTClient(t, &Server{ServerName: "P", Shares: manyShares(37)})
	c.bindSrvsvc()
	for _, prefMax := range []uint32{1, 100, 400, 5000} {
		var names []string
		resume := int64(0)
		for page := 0; ; page++ {
			if page > 40 {
				t.Fatalf("prefmaxlen %d: no end after 40 pages", prefMax)
			}
			res := enumAll(t, c, 1, prefMax, resume)
			if res.Total != uint32(37-len(names)) {
				t.Fatalf("prefmaxlen %d page %d: TotalEntries %d with %d seen", prefMax, page, res.Total, len(names))
			}
			if len(res.Shares) == 0 {
				t.Fatalf("prefmaxlen %d page %d: empty page", prefMax, page)
			}
			for _, s := range res.Shares {
				names = append(names, s.Name)
			}
			if res.Status == 0 {
				if res.Resume != 0 {
					t.Fatalf("resume handle %d at the end", res.Resume)
				}
				break
			}
			if res.Status != errMoreData || res.Resume != uint32(len(names)) {
				t.Fatalf("prefmaxlen %d page %d: status %d resume %d after %d names", prefMax, page, res.Status, res.Resume, len(names))
			}
			resume = int64(res.Resume)
		}
		want := manyShares(37).Shares()
		if len(names) != len(want) {
			t.Fatalf("prefmaxlen %d: %d names", prefMax, len(names))
		}
		for i := range want {
			if names[i] != want[i].Name {
				t.Fatalf("prefmaxlen %d: name %d = %s", prefMax, i, names[i])
			}
		}
		if prefMax == 1 && c.callID < 37 {
			t.Fatalf("prefmaxlen 1 should give one share per page")
		}
	}
	// A resume handle past the end yields an empty, complete answer.
	res := enumAll(t, c, 1, 0xFFFFFFFF, 1000)
	if len(res.Shares) != 0 || res.Status != 0 || res.Total != 0 {
		t.Fatalf("resume past end: %+v", res)
	}
}

func TestNetrShareEnumSticky(t *testing.T) {
	c := newTClient(t, testServer())
	c.bindSrvsvc()
	stub, f := c.call(0, opNetrShareEnumSticky, tShareEnumStub("", 1, 0xFFFFFFFF, -1), 4096)
	if f != nil {
		t.Fatalf("fault %#x", f.status)
	}
	res, err := tDecodeShareEnum(stub)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Shares {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "vms,data" || res.HasResume {
		t.Fatalf("sticky shares %v resume %v", names, res.HasResume)
	}
}

func TestNetrShareEnumNoShares(t *testing.T) {
	c := newTClient(t, &Server{ServerName: "E"})
	c.bindSrvsvc()
	res := enumAll(t, c, 1, 0xFFFFFFFF, -1)
	if len(res.Shares) != 0 || res.Total != 0 || res.Status != 0 || res.NullArm {
		t.Fatalf("%+v", res)
	}
}

func TestNetrShareGetInfo(t *testing.T) {
	c := newTClient(t, testServer())
	c.bindSrvsvc()
	get := func(name string, level uint32) tShareGetInfoResult {
		t.Helper()
		stub, f := c.call(0, opNetrShareGetInfo, tShareGetInfoStub(`\\SOFS1`, name, level), 4096)
		if f != nil {
			t.Fatalf("fault %#x", f.status)
		}
		res, err := tDecodeShareGetInfo(stub)
		if err != nil {
			t.Fatalf("%s level %d: %v\n% x", name, level, err, stub)
		}
		return res
	}
	vms := testShares[0]
	cases := []struct {
		level uint32
		want  tShareInfo
	}{
		{0, tShareInfo{Name: "vms"}},
		{1, tShareInfo{Name: "vms", Type: vms.Type, Comment: vms.Comment}},
		{2, tShareInfo{Name: "vms", Type: vms.Type, Comment: vms.Comment, Path: vms.Path, Passwd: "<null>", MaxUses: 0xFFFFFFFF}},
		{501, tShareInfo{Name: "vms", Type: vms.Type, Comment: vms.Comment, Flags: vms.Flags}},
		{502, tShareInfo{Name: "vms", Type: vms.Type, Comment: vms.Comment, Path: vms.Path, Passwd: "<null>", MaxUses: 0xFFFFFFFF}},
		{1005, tShareInfo{Flags: vms.Flags}},
	}
	for _, tc := range cases {
		// Share names are case-insensitive.
		res := get("VMS", tc.level)
		if res.Status != 0 || res.Level != tc.level || res.Info != tc.want {
			t.Fatalf("level %d: %+v, want %+v", tc.level, res, tc.want)
		}
	}
	if res := get("nosuch", 1); res.Status != nerrNetNameNotFound || !res.NullArm {
		t.Fatalf("unknown share: %+v", res)
	}
	for _, level := range []uint32{3, 7, 503, 1004, 1006, 1501, 100} {
		res := get("vms", level)
		if res.Status != errInvalidLevel || res.NullArm != shareInfoArms[level] {
			t.Fatalf("level %d: %+v, want ERROR_INVALID_LEVEL", level, res)
		}
	}
	// Level is checked before the name (MS-SRVS 3.1.4.10).
	if res := get("nosuch", 7); res.Status != errInvalidLevel {
		t.Fatalf("bad level and name: status %d", res.Status)
	}
}

func TestNetrServerGetInfo(t *testing.T) {
	c := newTClient(t, testServer())
	c.bindSrvsvc()
	for _, level := range []uint32{100, 101, 102} {
		stub, f := c.call(0, opNetrServerGetInfo, tServerGetInfoStub(`\\SOFS1`, level), 4096)
		if f != nil {
			t.Fatalf("fault %#x", f.status)
		}
		res, err := tDecodeServerGetInfo(stub)
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if res.Status != 0 || res.PlatformID != 500 || res.Name != "SOFS1" {
			t.Fatalf("level %d: %+v", level, res)
		}
		if level >= 101 && (res.VersionMajor != 10 || res.VersionMin != 0 || res.Type != 0x9003 || res.Comment != "sofs cluster node") {
			t.Fatalf("level %d: %+v", level, res)
		}
		if level == 102 && (res.UserPath != `C:\` || res.Disc != 15 || res.Hidden != 0) {
			t.Fatalf("level %d: %+v", level, res)
		}
	}
	for _, level := range []uint32{0, 103, 503, 1005} {
		stub, f := c.call(0, opNetrServerGetInfo, tServerGetInfoStub("", level), 4096)
		if f != nil {
			t.Fatalf("fault %#x", f.status)
		}
		res, err := tDecodeServerGetInfo(stub)
		if err != nil || res.Status != errInvalidLevel || res.NullArm != serverInfoArms[level] {
			t.Fatalf("level %d: %+v %v", level, res, err)
		}
	}
}

// TestNdrdumpParsesOurStubs hands our request encodings and our server's responses to Samba's ndrdump,
// whose parsers are generated from Samba's srvsvc IDL: an implementation that shares no code with ours.
func TestNdrdumpParsesOurStubs(t *testing.T) {
	ndrdump, err := exec.LookPath("ndrdump")
	if err != nil {
		t.Skip("ndrdump (samba-common-bin) not installed; scripts/install-deps.sh installs it")
	}
	type call struct {
		fn    string // Samba's name for the function
		opnum uint16
		in    []byte
		want  []string // substrings ndrdump must print for the out side
	}
	// Each ndrdump run costs ~0.1-0.2 s on a loaded machine: the default run checks one answer per
	// function and level family; SOFS_LONG=1 checks every case and also our request encodings.
	full := os.Getenv("SOFS_LONG") == "1"
	core := map[int]bool{1: true, 4: true, 5: true, 6: true, 11: true, 12: true, 13: true, 14: true, 17: true, 18: true}
	var calls []call
	for _, level := range []uint32{0, 1, 2, 501, 502} {
		calls = append(calls, call{"srvsvc_NetShareEnumAll", opNetrShareEnum, tShareEnumStub(`\\SOFS1`, level, 0xFFFFFFFF, 0),
			[]string{"'vms'", "'IPC$'", "'data'", "'C$'", "WERR_OK", fmt.Sprintf("level                    : 0x%08x", level)}})
	}
	calls = append(calls, call{"srvsvc_NetShareEnumAll", opNetrShareEnum, tShareEnumStub("", 1, 30, 1), []string{"'IPC$'", "WERR_MORE_DATA"}})
	calls = append(calls, call{"srvsvc_NetShareEnum", opNetrShareEnumSticky, tShareEnumStub("", 0, 0xFFFFFFFF, -1), []string{"'vms'", "'data'", "WERR_OK"}})
	for _, level := range []uint32{0, 1, 2, 501, 502, 1005} {
		calls = append(calls, call{"srvsvc_NetShareGetInfo", opNetrShareGetInfo, tShareGetInfoStub(`\\SOFS1`, "vms", level), []string{"WERR_OK"}})
	}
	calls = append(calls, call{"srvsvc_NetShareGetInfo", opNetrShareGetInfo, tShareGetInfoStub("", "nosuch", 2), []string{"WERR_NERR_NETNAMENOTFOUND"}})
	calls = append(calls, call{"srvsvc_NetShareGetInfo", opNetrShareGetInfo, tShareGetInfoStub("", "vms", 7), []string{"WERR_INVALID_LEVEL"}})
	for _, level := range []uint32{100, 101, 102} {
		calls = append(calls, call{"srvsvc_NetSrvGetInfo", opNetrServerGetInfo, tServerGetInfoStub(`\\SOFS1`, level), []string{"'SOFS1'", "PLATFORM_ID_NT", "WERR_OK"}})
	}
	calls = append(calls, call{"srvsvc_NetSrvGetInfo", opNetrServerGetInfo, tServerGetInfoStub("", 503), []string{"WERR_INVALID_LEVEL"}})

	dir := t.TempDir()
	srv := testServer()
	for i, cl := range calls {
		if !full && !core[i] {
			continue
		}
		c := newTClient(t, srv)
		c.bindSrvsvc()
		out, f := c.call(0, cl.opnum, cl.in, 4096)
		if f != nil {
			t.Fatalf("%s: fault %#x", cl.fn, f.status)
		}
		inFile := filepath.Join(dir, fmt.Sprintf("%d.in", i))
		outFile := filepath.Join(dir, fmt.Sprintf("%d.out", i))
		if err := os.WriteFile(inFile, cl.in, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(outFile, out, 0o600); err != nil {
			t.Fatal(err)
		}
		run := func(args ...string) string {
			t.Helper()
			cmd := exec.Command(ndrdump, args...)
			cmd.Env = append(os.Environ(), "HOME="+dir)
			b, err := cmd.CombinedOutput()
			s := string(b)
			if err != nil || !strings.Contains(s, "dump OK") || strings.Contains(s, "WARNING") {
				t.Fatalf("ndrdump %s: %v\n%s\nstub % x", strings.Join(args, " "), err, s, must(os.ReadFile(args[len(args)-1])))
			}
			return s
		}
		if full {
			run("srvsvc", cl.fn, "in", inFile)
		}
		s := run("-c", inFile, "srvsvc", cl.fn, "out", outFile)
		for _, w := range cl.want {
			if !strings.Contains(s, w) {
				t.Fatalf("%s out: ndrdump output lacks %q\n%s", cl.fn, w, s)
			}
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		return []byte(err.Error())
	}
	return bytes.Clone(b)
}

// Levels that reveal local paths are for administrators only (MS-SRVS 3.1.4.8, 3.1.4.10); OpenPipe opens
// for an ordinary user.
func TestAdminOnlyLevels(t *testing.T) {
	p, err := testServer().OpenPipe("srvsvc")
	if err != nil {
		t.Fatal(err)
	}
	c := &tClient{t: t, pipe: p, readMax: 65536}
	t.Cleanup(func() { p.Close() })
	c.bindSrvsvc()
	for _, level := range []uint32{0, 1, 501} {
		if res := enumAll(t, c, level, 0xFFFFFFFF, -1); res.Status != 0 || len(res.Shares) != 4 {
			t.Fatalf("user enum level %d: %+v", level, res)
		}
	}
	for _, level := range []uint32{2, 502} {
		res := enumAll(t, c, level, 0xFFFFFFFF, 3)
		if res.Status != errAccessDenied || !res.NullArm || len(res.Shares) != 0 || res.Resume != 3 {
			t.Fatalf("user enum level %d: %+v, want ERROR_ACCESS_DENIED", level, res)
		}
		stub, f := c.call(0, opNetrShareGetInfo, tShareGetInfoStub("", "vms", level), 4096)
		if f != nil {
			t.Fatalf("fault %#x", f.status)
		}
		if res, err := tDecodeShareGetInfo(stub); err != nil || res.Status != errAccessDenied || !res.NullArm {
			t.Fatalf("user getinfo level %d: %+v %v", level, res, err)
		}
	}
	for level, want := range map[uint32]uint32{101: 0, 102: errAccessDenied} {
		stub, f := c.call(0, opNetrServerGetInfo, tServerGetInfoStub("", level), 4096)
		if f != nil {
			t.Fatalf("fault %#x", f.status)
		}
		if res, err := tDecodeServerGetInfo(stub); err != nil || res.Status != want {
			t.Fatalf("user server info level %d: %+v %v", level, res, err)
		}
	}
}

// Null sessions see levels 0 and 1 only; NetrShareEnumSticky has no level 501 for anyone.
func TestAnonymousAndStickyLevels(t *testing.T) {
	anon := newTClientAs(t, testServer(), Caller{Anonymous: true})
	anon.bindSrvsvc()
	if res := enumAll(t, anon, 1, 0xFFFFFFFF, -1); res.Status != 0 || len(res.Shares) != 4 {
		t.Fatalf("anonymous level 1: %+v", res)
	}
	if res := enumAll(t, anon, 501, 0xFFFFFFFF, -1); res.Status != errAccessDenied || !res.NullArm {
		t.Fatalf("anonymous level 501: %+v", res)
	}
	admin := newTClient(t, testServer())
	admin.bindSrvsvc()
	stub, f := admin.call(0, opNetrShareEnumSticky, tShareEnumStub("", 501, 0xFFFFFFFF, -1), 4096)
	if f != nil {
		t.Fatalf("fault %#x", f.status)
	}
	if res, err := tDecodeShareEnum(stub); err != nil || res.Status != errInvalidLevel || !res.NullArm {
		t.Fatalf("sticky level 501: %+v %v", res, err)
	}
}
