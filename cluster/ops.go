package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// pollEvery is how often the operations below re-read a remote node's view; they wait on
// conditions in other processes, which no local event announces.
const pollEvery = 200 * time.Millisecond

// pollUntil calls cond until it reports done or a final error, or ctx ends.
func pollUntil(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		done, err := cond(ctx)
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

// Leave takes node out of the cluster for good: it drains the node (every group moves to
// another node, or the leave stops naming the group that cannot move), removes it from the
// config DB and waits until it has left raft on the remaining nodes. via is any node's
// address; when it is the leaving node itself, another node is asked once it is gone.
func Leave(ctx context.Context, id *TLSIdentity, via, node string, progress func(string)) error {
	c := NewClient(id, via)
	s, err := c.State(ctx)
	if err != nil {
		return fmt.Errorf("leave %s: %w", node, err)
	}
	if _, ok := s.Nodes[node]; !ok {
		return fmt.Errorf("leave %s: no such node (members: %v)", node, s.SortedNodes())
	}
	var rest []string
	for _, n := range s.SortedNodes() {
		if n != node {
			rest = append(rest, s.Nodes[n].Addr)
		}
	}
	if len(rest) == 0 {
		return fmt.Errorf("leave %s: it is the last node; use `sofsctl cluster destroy`", node)
	}
	if s.Nodes[node].Witness {
		if progress != nil {
			progress(fmt.Sprintf("%s is a witness: nothing to drain", node))
		}
	} else if err := c.Pause(ctx, node, true, progress); err != nil {
		return fmt.Errorf("leave %s: %w", node, err)
	}
	if _, err := c.Propose(ctx, Command{Op: OpRemoveNode, Name: node, Now: time.Now()}); err != nil {
		return fmt.Errorf("leave %s: %w", node, err)
	}
	if progress != nil {
		progress(fmt.Sprintf("%s removed from the config DB; waiting for it to leave raft", node))
	}
	return pollUntil(ctx, node+" to leave raft", func(ctx context.Context) (bool, error) {
		for _, addr := range rest {
			st, err := NewClient(id, addr).Status(ctx)
			if err != nil {
				continue
			}
			return st.Leader != "" && st.Leader != node && !slices.Contains(st.Servers, node), nil
		}
		return false, nil // no remaining node answers yet
	})
}

// SetResourceAdmin takes resource offline ("offline") or lets it run again ("online") and
// waits until its owner reports that state. Offline also holds every resource depending on
// it offline; online brings back the ones held only because of it.
func SetResourceAdmin(ctx context.Context, id *TLSIdentity, via, resource, want string) error {
	c := NewClient(id, via)
	if _, err := c.Propose(ctx, Command{Op: OpSetResourceAdmin, Name: resource, Value: want, Now: time.Now()}); err != nil {
		return fmt.Errorf("resource %s %s: %w", want, resource, err)
	}
	target := ResourceOffline
	if want == "online" {
		target = ResourceOnline
	}
	return pollUntil(ctx, "resource "+resource+" "+want, func(ctx context.Context) (bool, error) {
		s, err := c.State(ctx)
		if err != nil {
			return false, nil // the node may be busy; ask again
		}
		r, ok := s.Resources[resource]
		if !ok {
			return false, fmt.Errorf("resource %s vanished", resource)
		}
		g := s.Groups[r.Group]
		if want == "online" && g != nil && (g.Owner == "" || g.State == GroupFailed) {
			// No node runs the group: the resource comes online when the group does.
			return true, nil
		}
		if r.State == ResourceFailed {
			return false, fmt.Errorf("resource %s failed: %s", resource, r.Reason)
		}
		return r.State == target, nil
	})
}

// DestroyReport says what `cluster destroy` did on each node.
type DestroyReport struct {
	Wiped      []string          `json:"wiped"`
	NotReached map[string]string `json:"not_reached,omitempty"` // node -> why; clear its data dir by hand
}

// Destroy ends the cluster: one log entry takes every resource offline everywhere, then each
// node that has applied it stops and removes its cluster identity and config DB (the node
// at via last). Nodes that cannot be reached are reported, not waited for forever.
func Destroy(ctx context.Context, id *TLSIdentity, via string, progress func(string)) (*DestroyReport, error) {
	c := NewClient(id, via)
	s, err := c.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("destroy: %w", err)
	}
	res, err := c.Propose(ctx, Command{Op: OpDestroyCluster, Now: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("destroy: %w", err)
	}
	if progress != nil {
		progress(fmt.Sprintf("cluster %s destroyed at index %d: resources going offline", s.Cluster.Name, res.Index))
	}
	rep := &DestroyReport{NotReached: map[string]string{}}
	order := s.SortedNodes()
	slices.SortStableFunc(order, func(a, b string) int {
		// The node we talk through goes last.
		ai, bi := s.Nodes[a].Addr == via, s.Nodes[b].Addr == via
		switch {
		case ai && !bi:
			return 1
		case bi && !ai:
			return -1
		}
		return 0
	})
	for _, name := range order {
		nc := NewClient(id, s.Nodes[name].Addr)
		nctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := pollUntil(nctx, name+" to apply the destroy", func(ctx context.Context) (bool, error) {
			st, err := nc.Status(ctx)
			return err == nil && st.Applied >= res.Index, nil
		})
		if err == nil {
			err = nc.do(nctx, "POST", "/v1/wipe", nil, nil)
			var ae *APIError
			if errors.As(err, &ae) {
				cancel()
				rep.NotReached[name] = err.Error()
				continue
			}
			// The node closes its listener as it stops, which may cut the reply short: it is
			// done when it stops answering.
			err = pollUntil(nctx, name+" to stop", func(ctx context.Context) (bool, error) {
				_, err := nc.Status(ctx)
				return err != nil, nil
			})
		}
		cancel()
		if err != nil {
			rep.NotReached[name] = err.Error()
			continue
		}
		rep.Wiped = append(rep.Wiped, name)
		if progress != nil {
			progress(fmt.Sprintf("%s wiped and stopped", name))
		}
	}
	return rep, nil
}
