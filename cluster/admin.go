package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Admin implements the administrative operations (sofsctl node/group/resource) on top of a
// local store view and a Proposer. It runs on any node; writes are forwarded to the leader.
type Admin struct {
	Store *Store
	Prop  Proposer
	// MaxDrainMoves as in PlacementOptions (for refusals computed locally while draining).
	MaxDrainMoves int
}

func (a *Admin) propose(ctx context.Context, c Command) (Result, error) {
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	return a.Prop.Propose(ctx, c)
}

// waitFor re-evaluates check on every config change (and every 200 ms for time-based
// conditions) until it reports done or an error, or ctx ends.
func (a *Admin) waitFor(ctx context.Context, check func(*State) (bool, error)) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	ch, cancel := a.Store.Subscribe(1024)
	defer func() { cancel() }()
	for {
		var done bool
		var err error
		a.Store.Read(func(s *State) { done, err = check(s) })
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-ch:
			if !ok {
				cancel()
				ch, cancel = a.Store.Subscribe(1024)
			}
		case <-t.C:
		}
	}
}

// Pause marks node Paused (no new groups go there). With drain, it moves every group off it,
// at most MaxDrainMoves at a time (the leader's placer enforces it), reporting progress, and
// fails naming the group and reason if a group has nowhere to go or refuses to leave.
func (a *Admin) Pause(ctx context.Context, node string, drain bool, progress func(string)) error {
	// Read ownership at a point at least as new as every write acknowledged so far.
	if err := a.sync(ctx); err != nil {
		return fmt.Errorf("pause %s: %w", node, err)
	}
	var owned []string
	a.Store.Read(func(s *State) {
		for _, g := range s.SortedGroups() {
			if s.Groups[g].Owner == node {
				owned = append(owned, g)
			}
		}
	})
	if drain {
		if _, err := a.propose(ctx, Command{Op: OpSetProp, Key: "drained/" + node, Value: strings.Join(owned, ",")}); err != nil {
			return fmt.Errorf("pause %s: %w", node, err)
		}
	}
	if _, err := a.propose(ctx, Command{Op: OpSetNodeState, Name: node, NodeState: NodePaused, Draining: drain}); err != nil {
		return fmt.Errorf("pause %s: %w", node, err)
	}
	if !drain {
		return nil
	}
	last := -1
	err := a.waitFor(ctx, func(s *State) (bool, error) {
		var left []string
		pending := false
		for _, g := range s.SortedGroups() {
			grp := s.Groups[g]
			if grp.Owner == node {
				left = append(left, g)
			}
			if grp.PrevOwner == node || (grp.Owner == node && grp.State == GroupPending && !grp.Stuck) {
				pending = true
			}
			if slices.Contains(owned, g) && grp.Owner != node && grp.State == GroupPending {
				pending = true
			}
		}
		if len(left) != last && progress != nil {
			progress(fmt.Sprintf("draining %s: %d of %d groups moved", node, len(owned)-len(left), len(owned)))
			last = len(left)
		}
		if len(left) == 0 && !pending {
			return true, nil
		}
		if !pending {
			_, refusals := Place(s, time.Now(), PlacementOptions{MaxDrainMoves: a.MaxDrainMoves})
			var msgs []string
			for _, r := range refusals {
				if slices.Contains(left, r.Group) {
					msgs = append(msgs, fmt.Sprintf("group %s: %s", r.Group, r.Reason))
				}
			}
			if len(msgs) > 0 {
				return false, fmt.Errorf("drain %s cannot finish: %s", node, strings.Join(msgs, "; "))
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	_, err = a.propose(ctx, Command{Op: OpSetNodeState, Name: node, NodeState: NodePaused, Draining: false})
	return err
}

// sync makes the local view at least as new as the leader's state when sync was called, by
// a read through the log.
func (a *Admin) sync(ctx context.Context) error {
	r, err := a.propose(ctx, Command{Op: OpReadProp, Key: "-"})
	if err != nil {
		return err
	}
	return a.Store.WaitApplied(ctx, r.Index)
}

// Resume returns a paused node to Up. failback: "immediate" moves back the groups its last
// drain moved off; "policy" leaves it to each group's failback policy; "none" does nothing.
func (a *Admin) Resume(ctx context.Context, node, failback string) error {
	if _, err := a.propose(ctx, Command{Op: OpSetNodeState, Name: node, NodeState: NodeUp}); err != nil {
		return fmt.Errorf("resume %s: %w", node, err)
	}
	switch failback {
	case "", "policy", "none":
		return nil
	case "immediate":
	default:
		return fmt.Errorf("resume %s: unknown failback mode %q (immediate, policy, none)", node, failback)
	}
	var groups []string
	a.Store.Read(func(s *State) {
		if v := s.Props["drained/"+node]; v != "" {
			groups = strings.Split(v, ",")
		}
	})
	for _, g := range groups {
		if err := a.Move(ctx, g, node); err != nil {
			return fmt.Errorf("resume %s: failback: %w", node, err)
		}
	}
	return nil
}

// Move moves group to node and waits until it is online there.
func (a *Admin) Move(ctx context.Context, group, node string) error {
	if err := a.sync(ctx); err != nil {
		return fmt.Errorf("move %s: %w", group, err)
	}
	var epoch uint64
	var owner string
	a.Store.Read(func(s *State) {
		if g, ok := s.Groups[group]; ok {
			epoch, owner = g.Epoch, g.Owner
		}
	})
	if owner == node {
		return nil
	}
	res, err := a.propose(ctx, Command{Op: OpMoveGroup, Name: group, Target: node, Epoch: epoch, Reason: "moved by administrator"})
	if err != nil {
		return fmt.Errorf("move %s to %s: %w", group, node, err)
	}
	if err := a.Store.WaitApplied(ctx, res.Index); err != nil {
		return err
	}
	return a.waitFor(ctx, func(s *State) (bool, error) {
		g := s.Groups[group]
		if g == nil {
			return false, fmt.Errorf("group %s vanished", group)
		}
		if g.Owner != node {
			return false, fmt.Errorf("move %s to %s: group went to %q instead (%s)", group, node, g.Owner, g.Reason)
		}
		if g.State == GroupFailed {
			return false, fmt.Errorf("move %s to %s: group failed: %s", group, node, g.Reason)
		}
		return g.State == GroupOnline, nil
	})
}
