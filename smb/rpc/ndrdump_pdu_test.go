package rpc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNdrdumpParsesOurPDUs hands every kind of PDU the server sends to Samba's ndrdump, which parses them
// with the ncacn_packet definition of Samba's dcerpc.idl.
func TestNdrdumpParsesOurPDUs(t *testing.T) {
	ndrdump, err := exec.LookPath("ndrdump")
	if err != nil {
		t.Skip("ndrdump (samba-common-bin) not installed; scripts/install-deps.sh installs it")
	}
	c := newTClient(t, &Server{ServerName: "BIG", Shares: manyShares(40)})
	var pdus = map[string][]byte{}
	raw := func(in []byte) []byte {
		b, more, err := c.pipe.Transact(in, 1<<16)
		if err != nil || more {
			t.Fatalf("transact: more=%v err=%v", more, err)
		}
		return b
	}
	pdus["bind_ack"] = raw(tBind(11, 1, 4280, 4280, 0,
		tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}},
		tCtx{id: 1, abstract: tSrvsvc, transfers: [][20]byte{tNDR64}},
		tCtx{id: 2, abstract: tSrvsvc, transfers: [][20]byte{tBTFN}},
		tCtx{id: 3, abstract: tOther, transfers: [][20]byte{tNDR}}))
	pdus["bind_nak"] = raw(tBind(11, 2, 4280, 4280, 0, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}}))
	pdus["alter_resp"] = raw(tBind(14, 3, 4280, 4280, 0, tCtx{id: 4, abstract: tSrvsvc, transfers: [][20]byte{tNDR}}))
	pdus["fault"] = raw(tRequest(4, 0, 99, nil, 100)[0])
	pdus["response_first"] = raw(tRequest(5, 0, opNetrShareEnum, tShareEnumStub("", 502, 0xFFFFFFFF, 0), 4096)[0])
	for {
		b, _, err := c.pipe.Read(1 << 16)
		if err != nil {
			break
		}
		pdus["response_next"] = b
	}
	want := map[string][]string{
		"bind_ack":       {"DCERPC_BIND_ACK_RESULT_ACCEPTANCE", "DCERPC_BIND_ACK_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED", "DCERPC_BIND_ACK_RESULT_NEGOTIATE_ACK", "negotiate                : 0x0002", "DCERPC_BIND_ACK_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED", `'\PIPE\srvsvc'`},
		"bind_nak":       {"DCERPC_BIND_NAK_REASON_NOT_SPECIFIED", "num_versions             : 0x01"},
		"alter_resp":     {"DCERPC_PKT_ALTER_RESP", "DCERPC_BIND_ACK_RESULT_ACCEPTANCE"},
		"fault":          {"DCERPC_NCA_S_OP_RNG_ERROR", "1: DCERPC_PFC_FLAG_DID_NOT_EXECUTE"},
		"response_first": {"1: DCERPC_PFC_FLAG_FIRST", "0: DCERPC_PFC_FLAG_LAST", "frag_length              : 0x10b8"},
		"response_next":  {"0: DCERPC_PFC_FLAG_FIRST", "1: DCERPC_PFC_FLAG_LAST"},
	}
	dir := t.TempDir()
	for name, pdu := range pdus {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, pdu, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(ndrdump, "dcerpc", "ncacn_packet", "struct", file)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "pull returned Success") || strings.Contains(string(out), "WARNING") {
			t.Fatalf("ndrdump %s: %v\n%s\n% x", name, err, out, pdu)
		}
		for _, w := range want[name] {
			if !strings.Contains(string(out), w) {
				t.Fatalf("ndrdump of %s lacks %q:\n%s", name, w, out)
			}
		}
	}
}
