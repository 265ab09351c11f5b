package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Client talks to a node's admin API over the mTLS cluster port. sofsctl and nodes forwarding
// proposals to the leader both use it.
type Client struct {
	Addr string
	hc   *http.Client
}

// NewClient returns a client for the node at addr using identity id.
func NewClient(id *TLSIdentity, addr string) *Client { return newClientVia(id, addr, nil) }

// newClientVia is NewClient over TCP connections from raw (nil: the host's network).
func newClientVia(id *TLSIdentity, addr string, raw rawDialer) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialTagVia(ctx, id, addr, tagAdmin, raw)
		},
		MaxIdleConnsPerHost: 4,
	}
	return &Client{Addr: addr, hc: &http.Client{Transport: tr}}
}

// LoadClientDir loads an identity from a credentials directory (ca.crt, <name>.crt, <name>.key)
// as written by `sofsctl cluster create` (admin.*) or a node's data dir (node.*).
func LoadClientDir(dir string) (*TLSIdentity, error) {
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	for _, name := range []string{"admin", "node"} {
		cert, err1 := os.ReadFile(filepath.Join(dir, name+".crt"))
		key, err2 := os.ReadFile(filepath.Join(dir, name+".key"))
		if err1 == nil && err2 == nil {
			return LoadIdentity(ca, cert, key)
		}
	}
	return nil, fmt.Errorf("load credentials: no admin.crt/admin.key or node.crt/node.key in %s", dir)
}

// APIError is a refusal from the server, with its message.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return e.Msg }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://sofs"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", method, path, c.Addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(msg))}
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// State fetches the node's view of the config DB (CA key removed).
func (c *Client) State(ctx context.Context) (*State, error) {
	var s State
	return &s, c.do(ctx, "GET", "/v1/state", nil, &s)
}

// NodeStatus is one node's raft and lease status.
type NodeStatus struct {
	ID          string            `json:"id"`
	Addr        string            `json:"addr"`
	RaftState   string            `json:"raft_state"`
	Leader      string            `json:"leader"`
	Applied     uint64            `json:"applied"`
	CommitIndex uint64            `json:"commit_index"`
	LastContact time.Time         `json:"last_contact,omitzero"`
	LeaseHeld   bool              `json:"lease_held"`
	Version     string            `json:"version"`
	Members     []string          `json:"members"`
	Voters      []string          `json:"voters"`
	Servers     []string          `json:"servers"` // every member of the raft configuration, voting or not
	Refusals    map[string]string `json:"refusals,omitempty"`
	StartedAt   time.Time         `json:"started_at"`
}

// Status fetches the node's status.
func (c *Client) Status(ctx context.Context) (*NodeStatus, error) {
	var s NodeStatus
	return &s, c.do(ctx, "GET", "/v1/status", nil, &s)
}

// Propose sends a command; the node forwards it to the leader.
func (c *Client) Propose(ctx context.Context, cmd Command) (Result, error) {
	var r Result
	err := c.do(ctx, "POST", "/v1/propose", cmd, &r)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return r, fmt.Errorf("%w: %s", ErrRejected, ae.Msg)
	}
	return r, err
}

// Token asks for a one-time join token valid for ttl.
func (c *Client) Token(ctx context.Context, ttl time.Duration) (string, error) {
	var out struct{ Token string }
	err := c.do(ctx, "POST", "/v1/token", map[string]any{"ttl": ttl.String()}, &out)
	return out.Token, err
}

// Move moves a group and waits until it is online on node.
func (c *Client) Move(ctx context.Context, group, node string) error {
	return c.do(ctx, "POST", "/v1/move", map[string]string{"group": group, "node": node}, nil)
}

// Pause pauses node (draining it if drain), calling progress with each progress line.
func (c *Client) Pause(ctx context.Context, node string, drain bool, progress func(string)) error {
	return c.stream(ctx, "/v1/pause", map[string]any{"node": node, "drain": drain}, progress)
}

// Resume resumes node with the failback mode.
func (c *Client) Resume(ctx context.Context, node, failback string) error {
	return c.stream(ctx, "/v1/resume", map[string]any{"node": node, "failback": failback}, nil)
}

// stream runs a long operation whose response is progress lines ending in "ok" or
// "error: ...".
func (c *Client) stream(ctx context.Context, path string, in any, progress func(string)) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, "POST", "http://sofs"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s on %s: %w", path, c.Addr, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	last := ""
	for sc.Scan() {
		last = sc.Text()
		if strings.HasPrefix(last, "progress: ") && progress != nil {
			progress(strings.TrimPrefix(last, "progress: "))
		}
	}
	switch {
	case last == "ok":
		return nil
	case strings.HasPrefix(last, "error: "):
		return errors.New(strings.TrimPrefix(last, "error: "))
	}
	return fmt.Errorf("POST %s on %s: stream ended without a result (%v)", path, c.Addr, sc.Err())
}

// Events streams applied changes until ctx ends (follow) or the backlog is sent.
func (c *Client) Events(ctx context.Context, fn func(Event)) error {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://sofs/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("events from %s: %w", c.Addr, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var ev Event
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("events from %s: %w", c.Addr, err)
		}
		fn(ev)
	}
}

// joinRequest is sent by a joining node (without a cluster certificate) to the join service.
type joinRequest struct {
	Token   string `json:"token"`
	ID      string `json:"id"`
	Addr    string `json:"addr"`
	PubKey  []byte `json:"pub_key"`
	Version string `json:"version"`
	Level   int    `json:"level"`
	Witness bool   `json:"witness"`
}

type joinResponse struct {
	Cert      []byte `json:"cert"`
	CA        []byte `json:"ca"`
	GossipKey []byte `json:"gossip_key"`
	Cluster   string `json:"cluster"`
}

// requestJoin calls the join service at addr, pinning the server's CA to the token.
func requestJoin(ctx context.Context, addr string, req joinRequest) (*joinResponse, error) {
	_, fp, err := parseJoinToken(req.Token)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // verified below against the CA pinned by the token
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) < 2 {
				return errNoCert
			}
			sum := sha256.Sum256(raw[len(raw)-1])
			if hex.EncodeToString(sum[:]) != fp {
				return errNoCert
			}
			ca, err := x509.ParseCertificate(raw[len(raw)-1])
			if err != nil {
				return err
			}
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: nodeServerName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			return err
		},
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		d := tls.Dialer{Config: cfg}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		if _, err := c.Write([]byte{tagJoin}); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}}
	defer tr.CloseIdleConnections()
	b, _ := json.Marshal(req)
	hreq, _ := http.NewRequestWithContext(ctx, "POST", "http://sofs/v1/join", bytes.NewReader(b))
	resp, err := (&http.Client{Transport: tr}).Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("join via %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("join via %s refused: %w", addr, &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(msg))})
	}
	var out joinResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("join via %s: %w", addr, err)
	}
	return &out, nil
}
