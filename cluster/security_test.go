package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSingleNode starts an in-process one-node cluster on a loopback address.
func startSingleNode(t *testing.T, host string) (*Daemon, *TLSIdentity) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "n1")
	addr := host + ":3343"
	if err := CreateCluster(dir, "sec", "n1", addr); err != nil {
		t.Fatal(err)
	}
	d, err := StartNode(NodeConfig{DataDir: dir, Timing: FastTiming, Profile: "fast", Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	admin, err := LoadClientDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := &Admin{Store: d.Store()}
	if err := a.waitFor(ctx, func(s *State) (bool, error) { return s.Cluster.Name == "sec" && s.Nodes["n1"] != nil, nil }); err != nil {
		t.Fatal(err)
	}
	return d, admin
}

func TestConnectionWithoutClusterCertificateIsRefused(t *testing.T) {
	d, admin := startSingleNode(t, loopbackBase()+"61")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The admin identity works.
	if _, err := NewClient(admin, d.Addr()).Status(ctx); err != nil {
		t.Fatalf("admin with cluster certificate: %v", err)
	}
	// No client certificate: TLS completes (the join service needs that) but any other
	// service is closed without a byte of response.
	for _, tag := range []byte{tagAdmin, tagRaft, tagMemberlist} {
		c, err := tls.Dial("tcp", d.Addr(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte{tag})
		c.Write([]byte("GET /v1/state HTTP/1.1\r\nHost: x\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		c.Close()
		if len(b) != 0 || (err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset")) {
			t.Fatalf("tag %c without certificate: got %q, %v; want the connection closed", tag, b, err)
		}
	}
	// A certificate from another cluster's CA fails the handshake.
	other := filepath.Join(t.TempDir(), "other")
	if err := CreateCluster(other, "other", "x", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	otherID, _ := LoadClientDir(other)
	otherID.CA = admin.CA // trust the real server, present a foreign client certificate
	if _, err := NewClient(otherID, d.Addr()).Status(ctx); err == nil {
		t.Fatal("foreign cluster certificate accepted")
	}
}

func TestJoinTokenIsOneTimeAndChecked(t *testing.T) {
	d, admin := startSingleNode(t, loopbackBase()+"62")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := NewClient(admin, d.Addr())
	tok, err := cl.Token(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	host := loopbackBase() + "63:3343"
	// Incompatible version: refused with a clear message, and the token is not spent.
	k, _, _ := NewKey()
	_, err = requestJoin(ctx, d.Addr(), joinRequest{Token: tok, ID: "n2", Addr: host, PubKey: PublicKeyPEM(k), Version: "7.0.0", Level: ProtocolLevel})
	if err == nil || !strings.Contains(err.Error(), "incompatible version 7.0.0") {
		t.Fatalf("version mismatch: %v", err)
	}
	// A made-up secret with the right CA pin is refused.
	_, fp, _ := parseJoinToken(tok)
	_, err = requestJoin(ctx, d.Addr(), joinRequest{Token: strings.Repeat("ab", 16) + "." + fp, ID: "n2", Addr: host, PubKey: PublicKeyPEM(k), Version: Version, Level: ProtocolLevel})
	if err == nil || !strings.Contains(err.Error(), "unknown or already used") {
		t.Fatalf("bad secret: %v", err)
	}
	// A token pinning another CA makes the joiner refuse the server.
	_, err = requestJoin(ctx, d.Addr(), joinRequest{Token: strings.Repeat("ab", 16) + "." + strings.Repeat("0", 64), ID: "n2", Addr: host, PubKey: PublicKeyPEM(k), Version: Version})
	if err == nil {
		t.Fatal("joiner accepted a server whose CA does not match the token")
	}
	// The real token works once and yields a certificate the cluster accepts...
	dir := t.TempDir()
	if err := JoinCluster(ctx, dir, "n2", host, d.Addr(), tok, false); err != nil {
		t.Fatal(err)
	}
	id, err := LoadClientDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(id, d.Addr()).Status(ctx); err != nil {
		t.Fatalf("joined node's certificate refused: %v", err)
	}
	// A node certificate may not run commands on other nodes; only the administrator may.
	var out execResult
	err = NewClient(id, d.Addr()).do(ctx, "POST", "/v1/exec", map[string]string{"command": "true"}, &out)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("exec with a node certificate: %v", err)
	}
	if err := NewClient(admin, d.Addr()).do(ctx, "POST", "/v1/exec", map[string]string{"command": "echo hi"}, &out); err != nil || out.Output != "hi\n" {
		t.Fatalf("exec with the admin certificate: %q %v", out.Output, err)
	}
	// ...and never again.
	if err := JoinCluster(ctx, t.TempDir(), "n3", loopbackBase()+"64:3343", d.Addr(), tok, false); err == nil || !strings.Contains(err.Error(), "unknown or already used") {
		t.Fatalf("token reuse: %v", err)
	}
}

func TestMetricsOnAdminListener(t *testing.T) {
	d, admin := startSingleNode(t, loopbackBase()+"65")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := NewClient(admin, d.Addr())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://sofs/metrics", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`sofs_cluster_raft_state{node="n1",state="Leader"} 1`, `sofs_cluster_quorum_lease_held{node="n1"}`, `sofs_cluster_groups{node="n1",state="Online"} 0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

func TestGatherLogHasComponentTags(t *testing.T) {
	d, admin := startSingleNode(t, loopbackBase()+"66")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, missing, err := GatherLog(ctx, admin, d.Addr(), time.Now().Add(-time.Minute))
	if err != nil || len(missing) > 0 {
		t.Fatalf("%v %v", err, missing)
	}
	found := false
	for i, r := range recs {
		if i > 0 && r.Time.Before(recs[i-1].Time) {
			t.Fatal("log not in time order")
		}
		if r.Component == "NODE" && r.Msg == "node started" && r.Node == "n1" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no [NODE] start record among %d records", len(recs))
	}
}

// TestProcessCAKeyStaysOnSigner: the CA private key lives only in the creating node's data
// dir (not in any node's raft log, snapshots or data dir); a join through another node is forwarded to
// that signer, and with the signer down a join is refused saying why.
func TestProcessCAKeyStaysOnSigner(t *testing.T) {
	c := newProcCluster(t, 3, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n1, n2 := c.nodes[0], c.nodes[1]
	key, err := os.ReadFile(filepath.Join(n1.dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.client(n1).Token(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n4dir := filepath.Join(t.TempDir(), "n4")
	if err := JoinCluster(ctx, n4dir, "n4", c.base+"4:3343", n2.addr, tok, false); err != nil {
		t.Fatalf("join through the non-signer n2: %v", err)
	}
	forms := [][]byte{key, []byte(base64.StdEncoding.EncodeToString(key))}
	for _, dir := range []string{filepath.Join(n1.dir, "raft"), c.nodes[1].dir, c.nodes[2].dir, n4dir} {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, f := range forms {
				if bytes.Contains(b, f) {
					t.Errorf("CA private key found in %s", path)
				}
			}
			return nil
		})
	}
	s, err := c.client(n2).State(ctx)
	if err != nil || !s.Nodes["n1"].Signer || s.Nodes["n2"].Signer {
		t.Fatalf("signers: n1 %v, n2 %v (%v)", s.Nodes["n1"].Signer, s.Nodes["n2"].Signer, err)
	}
	tok2, err := c.client(n1).Token(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.kill(n1)
	err = JoinCluster(ctx, filepath.Join(t.TempDir(), "n5"), "n5", c.base+"5:3343", n2.addr, tok2, false)
	if err == nil || !strings.Contains(err.Error(), "no node holding the cluster CA key (a signer) is reachable") {
		t.Fatalf("join with the signer down: %v", err)
	}
}
