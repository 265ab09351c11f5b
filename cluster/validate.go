package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// ValidationReport is what `sofsctl cluster validate` prints.
type ValidationReport struct {
	Checks   []ValidationCheck `json:"checks"`
	Failed   int               `json:"failed"`
	Warnings int               `json:"warnings"`
}

// ValidationCheck is one line of the report.
type ValidationCheck struct {
	Check string `json:"check"`
	OK    bool   `json:"ok"`
	// Warning marks a failed check that does not stop the cluster working (not in Failed).
	Warning bool   `json:"warning,omitempty"`
	Detail  string `json:"detail"`
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
	mux.HandleFunc("GET /v1/resolve", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		addrs, err := n.cfg.LookupHost(ctx, r.URL.Query().Get("name"))
		out := resolveResult{Addrs: addrs}
		if err != nil {
			out.Error = err.Error()
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /v1/probes", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]probeResult{}
		for name, p := range n.cfg.Probes {
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			detail, err := p(ctx)
			cancel()
			res := probeResult{Detail: detail}
			if err != nil {
				res.Error = err.Error()
			}
			out[name] = res
		}
		writeJSON(w, out)
	})
}

type resolveResult struct {
	Addrs []string `json:"addrs"`
	Error string   `json:"error,omitempty"`
}

type probeResult struct {
	Detail string `json:"detail"`
	Error  string `json:"error,omitempty"`
}

// Validate checks the cluster like Test-Cluster: every node reachable from here and from every
// other node, the same sofs version and kernel everywhere, clock skew under maxSkew, name
// resolution from every node, and the node probes other packages registered (shared disks).
//
// Name resolution: a node address given as a name, and the access point, must resolve on
// every node (a failure). A node ID that does not resolve to the node's address is only a
// warning: the cluster forms from the addresses in the config DB without DNS (cold start),
// but administrators and clients usually reach nodes by name.
func Validate(ctx context.Context, id *TLSIdentity, seed string, maxSkew time.Duration) (*ValidationReport, error) {
	return validateVia(ctx, id, seed, maxSkew, nil)
}

func validateVia(ctx context.Context, id *TLSIdentity, seed string, maxSkew time.Duration, raw rawDialer) (*ValidationReport, error) {
	client := func(addr string) *Client { return newClientVia(id, addr, raw) }
	s, err := client(seed).State(ctx)
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
	warn := func(check string, ok bool, format string, a ...any) {
		rep.Checks = append(rep.Checks, ValidationCheck{Check: check, OK: ok, Warning: !ok, Detail: fmt.Sprintf(format, a...)})
		if !ok {
			rep.Warnings++
		}
	}
	infos := map[string]probeInfo{}
	for _, nid := range s.SortedNodes() {
		c := client(s.Nodes[nid].Addr)
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
			err := client(s.Nodes[from].Addr).do(ctx, "GET", "/v1/reach?addr="+s.Nodes[to].Addr, nil, &out)
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
	for _, from := range s.SortedNodes() {
		if _, up := infos[from]; !up {
			continue
		}
		fc := client(s.Nodes[from].Addr)
		resolve := func(name string) (resolveResult, error) {
			var out resolveResult
			err := fc.do(ctx, "GET", "/v1/resolve?name="+url.QueryEscape(name), nil, &out)
			return out, err
		}
		for _, to := range s.SortedNodes() {
			host, _, err := net.SplitHostPort(s.Nodes[to].Addr)
			if err != nil {
				add("address of "+to, false, "%q is not host:port: %v", s.Nodes[to].Addr, err)
				continue
			}
			if net.ParseIP(host) == nil {
				// The cluster itself depends on this name.
				out, err := resolve(host)
				switch {
				case err != nil:
					add("resolve "+host+" on "+from, false, "%v", err)
				case out.Error != "":
					add("resolve "+host+" on "+from, false, "address of %s does not resolve: %s (cold start needs DNS then; IP addresses avoid that)", to, out.Error)
				default:
					add("resolve "+host+" on "+from, true, "%s", strings.Join(out.Addrs, ", "))
				}
			}
			check := "resolve node " + to + " on " + from
			out, err := resolve(to)
			switch {
			case err != nil:
				warn(check, false, "%v", err)
			case out.Error != "":
				warn(check, false, "node name %s does not resolve: %s (the cluster needs no DNS; clients and administrators may)", to, out.Error)
			case net.ParseIP(host) != nil && !slices.Contains(out.Addrs, host):
				warn(check, false, "%s resolves to %s, not to its cluster address %s", to, strings.Join(out.Addrs, ", "), host)
			default:
				warn(check, true, "%s", strings.Join(out.Addrs, ", "))
			}
		}
		if ap := s.Cluster.AccessPoint; ap != "" {
			out, err := resolve(ap)
			switch {
			case err != nil:
				add("resolve access point "+ap+" on "+from, false, "%v", err)
			case out.Error != "":
				add("resolve access point "+ap+" on "+from, false, "clients cannot find the cluster: %s", out.Error)
			default:
				add("resolve access point "+ap+" on "+from, true, "%s", strings.Join(out.Addrs, ", "))
			}
		}
	}
	// Probes from other packages: each must pass on every node and see the same thing.
	seen := map[string]map[string][]string{} // probe -> detail -> nodes
	for _, nid := range s.SortedNodes() {
		if _, up := infos[nid]; !up || s.Nodes[nid].Witness {
			continue
		}
		var out map[string]probeResult
		if err := client(s.Nodes[nid].Addr).do(ctx, "GET", "/v1/probes", nil, &out); err != nil {
			add("probes on "+nid, false, "%v", err)
			continue
		}
		for _, name := range sortedKeys(out) {
			r := out[name]
			if r.Error != "" {
				add(name+" on "+nid, false, "%s", r.Error)
				continue
			}
			add(name+" on "+nid, true, "%s", r.Detail)
			if seen[name] == nil {
				seen[name] = map[string][]string{}
			}
			seen[name][r.Detail] = append(seen[name][r.Detail], nid)
		}
	}
	for _, name := range sortedKeys(seen) {
		var parts []string
		for _, d := range sortedKeys(seen[name]) {
			parts = append(parts, fmt.Sprintf("%s: %q", strings.Join(seen[name][d], ","), d))
		}
		add(name+" same on every node", len(seen[name]) == 1, "%s", strings.Join(parts, "; "))
	}
	return rep, nil
}
