package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// UpdateOptions configure an updating run (cluster-aware updating).
type UpdateOptions struct {
	// Command runs through `sh -c` on each node in turn (env SOFS_NODE_ID, SOFS_NODE_PID). It
	// may restart sofsd or reboot the machine.
	Command string
	// MaxFailedNodes: the run stops once more nodes than this have failed.
	MaxFailedNodes int
	// RebootTimeout bounds the wait for a node to come back after Command.
	RebootTimeout time.Duration
	Progress      func(string)
}

// UpdateNodeResult is one node's outcome.
type UpdateNodeResult struct {
	Node     string        `json:"node"`
	Groups   int           `json:"groups_before"`
	Output   string        `json:"output,omitempty"`
	Restart  bool          `json:"restarted"`
	Duration time.Duration `json:"duration"`
	Err      string        `json:"error,omitempty"`
}

// UpdateReport is the report at the end of a run.
type UpdateReport struct {
	Nodes    []UpdateNodeResult `json:"nodes"`
	Failed   int                `json:"failed"`
	Stopped  bool               `json:"stopped"`
	Duration time.Duration      `json:"duration"`
}

// execResult is returned by a node's /v1/exec.
type execResult struct {
	Output   string `json:"output"`
	ExitCode int    `json:"exit_code"`
}

// runLocalCommand is the node side of /v1/exec.
func (n *Daemon) runLocalCommand(ctx context.Context, command string) execResult {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(), "SOFS_NODE_ID="+n.meta.ID, fmt.Sprintf("SOFS_NODE_PID=%d", os.Getpid()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		out.WriteString(err.Error())
	}
	return execResult{Output: out.String(), ExitCode: code}
}

// RunUpdate performs an updating run from the administrator's side (so it survives the
// restart of any node): for each node, fewest groups first, drain it, run the command on it,
// wait for it to come back if the command restarted it, resume it with immediate failback and
// check that every group is online; stop when more than MaxFailedNodes failed.
func RunUpdate(ctx context.Context, id *TLSIdentity, seeds []string, opt UpdateOptions) (*UpdateReport, error) {
	if opt.RebootTimeout == 0 {
		opt.RebootTimeout = 15 * time.Minute
	}
	progress := func(format string, a ...any) {
		if opt.Progress != nil {
			opt.Progress(fmt.Sprintf(format, a...))
		}
	}
	began := time.Now()
	// any returns a client for a reachable node other than avoid.
	any := func(ctx context.Context, avoid string) (*Client, *State, error) {
		var last error
		for _, a := range seeds {
			if a == avoid {
				continue
			}
			c := NewClient(id, a)
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			s, err := c.State(cctx)
			cancel()
			if err == nil {
				return c, s, nil
			}
			last = err
		}
		return nil, nil, fmt.Errorf("no reachable node: %w", last)
	}
	_, s, err := any(ctx, "")
	if err != nil {
		return nil, err
	}
	seeds = nil
	type cand struct {
		id, addr string
		groups   int
	}
	var order []cand
	for _, nid := range s.SortedNodes() {
		nd := s.Nodes[nid]
		seeds = append(seeds, nd.Addr)
		if nd.Witness {
			continue
		}
		g := 0
		for _, grp := range s.Groups {
			if grp.Owner == nid {
				g++
			}
		}
		order = append(order, cand{nid, nd.Addr, g})
	}
	slices.SortStableFunc(order, func(a, b cand) int { return a.groups - b.groups })
	rep := &UpdateReport{}
	for _, nd := range order {
		start := time.Now()
		res := UpdateNodeResult{Node: nd.id, Groups: nd.groups}
		err := updateOne(ctx, id, nd.addr, nd.id, opt, any, &res, progress)
		res.Duration = time.Since(start)
		if err != nil {
			res.Err = err.Error()
			rep.Failed++
			progress("node %s FAILED: %v", nd.id, err)
		} else {
			progress("node %s updated in %s", nd.id, res.Duration.Round(time.Millisecond))
		}
		rep.Nodes = append(rep.Nodes, res)
		if rep.Failed > opt.MaxFailedNodes {
			rep.Stopped = true
			progress("stopping: %d failed nodes exceeds the threshold of %d", rep.Failed, opt.MaxFailedNodes)
			break
		}
	}
	rep.Duration = time.Since(began)
	return rep, nil
}

func updateOne(ctx context.Context, id *TLSIdentity, addr, node string, opt UpdateOptions,
	any func(context.Context, string) (*Client, *State, error), res *UpdateNodeResult, progress func(string, ...any)) error {
	ctl, _, err := any(ctx, addr)
	if err != nil {
		return err
	}
	progress("node %s: draining", node)
	if err := ctl.Pause(ctx, node, true, func(p string) { progress("  %s", p) }); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	target := NewClient(id, addr)
	before, err := target.Status(ctx)
	if err != nil {
		return fmt.Errorf("status before update: %w", err)
	}
	progress("node %s: running %q", node, opt.Command)
	var out execResult
	cmdErr := target.do(ctx, "POST", "/v1/exec", map[string]string{"command": opt.Command}, &out)
	res.Output = out.Output
	var ae *APIError
	switch {
	case cmdErr == nil && out.ExitCode != 0:
		return fmt.Errorf("command exited %d: %s", out.ExitCode, out.Output)
	case errors.As(cmdErr, &ae):
		return fmt.Errorf("command: %w", cmdErr)
	}
	// A transport error means the command took the node down (restart or reboot). A command
	// that answered may still be restarting the node (e.g. `systemctl restart sofsd`), so the
	// same process must keep answering for a settle period before we call it not restarted.
	mustRestart := cmdErr != nil
	const settle = 5 * time.Second
	sameSince := time.Time{}
	progress("node %s: waiting for it to be back", node)
	wctx, cancel := context.WithTimeout(ctx, opt.RebootTimeout)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		sctx, c2 := context.WithTimeout(wctx, 2*time.Second)
		st, err := target.Status(sctx)
		c2()
		switch {
		case err != nil:
			sameSince = time.Time{}
		case !st.StartedAt.Equal(before.StartedAt):
			res.Restart = true
			sameSince = time.Time{}
		case !mustRestart && sameSince.IsZero():
			sameSince = time.Now()
		}
		if err == nil && res.Restart && st.LeaseHeld && st.Leader != "" {
			break
		}
		if !sameSince.IsZero() && time.Since(sameSince) >= settle {
			break
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("node did not come back within %s", opt.RebootTimeout)
		case <-t.C:
		}
	}
	progress("node %s: resuming with failback", node)
	if err := ctl.Resume(wctx, node, "immediate"); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	// Health: the node is Up and no group is failed or stuck.
	for {
		s, err := ctl.State(wctx)
		if err == nil {
			ok := s.Nodes[node] != nil && s.Nodes[node].State == NodeUp
			for _, g := range s.Groups {
				if g.Policy.Priority != PriorityNoAutoStart && g.State != GroupOnline {
					ok = false
				}
			}
			if ok {
				return nil
			}
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("cluster not healthy after updating %s", node)
		case <-t.C:
		}
	}
}
