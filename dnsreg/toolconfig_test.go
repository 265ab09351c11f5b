package dnsreg

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseNodeFlag(t *testing.T) {
	got, err := ParseNodeFlag("node1=10.0.0.1,fd00::1")
	if err != nil || !reflect.DeepEqual(got, ToolNode{Name: "node1", Addrs: []string{"10.0.0.1", "fd00::1"}}) {
		t.Errorf("got %+v, %v", got, err)
	}
	got, err = ParseNodeFlag("node2:down=10.0.0.2")
	if err != nil || !got.Down || got.Name != "node2" {
		t.Errorf("got %+v, %v", got, err)
	}
	for _, bad := range []string{"node1", "node1=10.0.0", "no de=10.0.0.1", "n:sideways=10.0.0.1", "=10.0.0.1"} {
		if n, err := ParseNodeFlag(bad); err == nil {
			t.Errorf("ParseNodeFlag(%q) = %+v, want an error", bad, n)
		}
	}
}

func FuzzParseNodeFlag(f *testing.F) {
	f.Add("node1=10.0.0.1,fd00::1")
	f.Add("n:down=")
	f.Add("a.b:up=1.2.3.4,,")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNodeFlag(s)
		if err != nil {
			return
		}
		c := ToolConfig{AccessPoint: "fs1.example", Nodes: []ToolNode{n}}
		if _, err := c.Desired(); err != nil {
			t.Fatalf("accepted node %+v gives no record set: %v", n, err)
		}
	})
}

// TestToolConfigAgainstBIND drives what `sofsctl dns` does (config file, key file,
// register, report, check) against a real BIND.
func TestToolConfigAgainstBIND(t *testing.T) {
	named := startNamed(t)
	cfgPath := filepath.Join(t.TempDir(), "dns.json")
	writeFile(t, cfgPath, `{
	"server": "`+named.addr+`",
	"access_point": "fs1.sofs.test",
	"key_file": "`+named.keyFile+`",
	"ttl": 30,
	"owner": "tool-test",
	"nodes": [
		{"name": "node1", "addrs": ["10.73.0.1", "fd73::1"]},
		{"name": "node2", "down": true, "addrs": ["10.73.0.2"]}
	]
}`)
	c, err := LoadToolConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeZoneName() != testZone {
		t.Errorf("node zone %q, want the access point's parent %s", c.NodeZoneName(), testZone)
	}
	desired, err := c.Desired()
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.Updater(testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	diffs, err := Check(ctx, u, desired)
	if err != nil || len(diffs) != 2 {
		t.Fatalf("before register: %v %v, want fs1 and node1 missing", diffs, err)
	}
	if err := u.Sync(ctx, desired); err != nil {
		t.Fatal(err)
	}
	if diffs, err := Check(ctx, u, desired); err != nil || len(diffs) != 0 {
		t.Fatalf("after register: %v %v", diffs, err)
	}
	for _, rr := range lookup(t, named.addr, "node1.sofs.test.", 1) {
		if strings.Contains(rr.String(), "10.73.0.1") && rr.Header().Ttl != 30 {
			t.Errorf("TTL %d, want the configured 30", rr.Header().Ttl)
		}
	}
	seen, err := u.Observe(ctx, desired.Names())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteReport(&out, desired, seen); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	t.Logf("report:\n%s", report)
	for _, want := range []string{
		"fs1.sofs.test.    10.73.0.1,fd73::1  10.73.0.1,fd73::1  192.0.2.99       -",
		"node1.sofs.test.  10.73.0.1,fd73::1  10.73.0.1,fd73::1  192.0.2.10       -",
		"node2.sofs.test.  -                  -                  -                -",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Another cluster claiming the same names is refused, not allowed to take them over.
	c.Owner = "other-cluster"
	other, err := c.Updater(testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Sync(ctx, desired); err == nil || !strings.Contains(err.Error(), `managed by "tool-test"`) {
		t.Errorf("sync by another owner = %v, want a refusal naming tool-test", err)
	}
	checkForeignRecords(t, named.addr)
}
