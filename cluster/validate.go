package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// ValidationReport is what `sofsctl cluster validate` prints.
type ValidationReport struct {
	Checks []ValidationCheck `json:"checks"`
	Failed int               `json:"failed"`
}

// ValidationCheck is one line of the report.
type ValidationCheck struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type probeInfo struct {
	Node    string    `json:"node"`
	Version string    `json:"version"`
	Kernel  string    `json:"kernel"`
	Now     time.Time `json:"now"`
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// validateHandlers adds /v1/info (version, kernel, clock) and /v1/reach (can this node open
// an mTLS stream to addr).
func (n *Daemon) validateHandlers(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, probeInfo{Node: n.meta.ID, Version: Version, Kernel: kernelRelease(), Now: time.Now()})
	})
	mux.HandleFunc("GET /v1/reach", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err := n.client(r.URL.Query().Get("addr")).Status(ctx)
		if err != nil {
			writeJSON(w, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, map[string]string{"rtt": time.Since(start).String()})
	})
}

// Validate checks the cluster like Test-Cluster: every node reachable from here and from every
// other node, the same sofs version and kernel everywhere, clock skew under maxSkew. Name
// resolution and shared disks are not checked by this package (the cluster uses addresses
// from the config DB and needs no DNS to form).
func Validate(ctx context.Context, id *TLSIdentity, seed string, maxSkew time.Duration) (*ValidationReport, error) {
	s, err := NewClient(id, seed).State(ctx)
	if err != nil {
		return nil, err
	}
	rep := &ValidationReport{}
	add := func(check string, ok bool, format string, a ...any) {
		rep.Checks = append(rep.Checks, ValidationCheck{Check: check, OK: ok, Detail: fmt.Sprintf(format, a...)})
		if !ok {
			rep.Failed++
		}
	}
	infos := map[string]probeInfo{}
	for _, nid := range s.SortedNodes() {
		c := NewClient(id, s.Nodes[nid].Addr)
		var pi probeInfo
		sent := time.Now()
		err := c.do(ctx, "GET", "/v1/info", nil, &pi)
		rtt := time.Since(sent)
		if err != nil {
			add("reach "+nid, false, "%s unreachable from here: %v", s.Nodes[nid].Addr, err)
			continue
		}
		add("reach "+nid, true, "%s answers (rtt %s)", s.Nodes[nid].Addr, rtt.Round(time.Microsecond))
		infos[nid] = pi
		skew := pi.Now.Sub(sent.Add(rtt / 2))
		if skew < 0 {
			skew = -skew
		}
		add("clock "+nid, skew <= maxSkew, "skew %s against this machine (limit %s)", skew.Round(time.Millisecond), maxSkew)
	}
	versions, kernels := map[string][]string{}, map[string][]string{}
	for nid, pi := range infos {
		versions[pi.Version] = append(versions[pi.Version], nid)
		kernels[pi.Kernel] = append(kernels[pi.Kernel], nid)
	}
	add("same sofs version", len(versions) <= 1, "%v", versions)
	add("same kernel", len(kernels) <= 1, "%v", kernels)
	for from := range infos {
		for _, to := range s.SortedNodes() {
			if from == to {
				continue
			}
			var out map[string]string
			err := NewClient(id, s.Nodes[from].Addr).do(ctx, "GET", "/v1/reach?addr="+s.Nodes[to].Addr, nil, &out)
			switch {
			case err != nil:
				add("path "+from+" -> "+to, false, "%v", err)
			case out["error"] != "":
				add("path "+from+" -> "+to, false, "%s", out["error"])
			default:
				add("path "+from+" -> "+to, true, "rtt %s", out["rtt"])
			}
		}
	}
	return rep, nil
}
