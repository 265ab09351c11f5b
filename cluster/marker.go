package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// MarkerTypeName is the toy resource type used in tests.
const MarkerTypeName = "marker"

// MarkerRecord is one online/offline transition of a marker resource.
type MarkerRecord struct {
	Node     string    `json:"node"`
	Resource string    `json:"resource"`
	Epoch    uint64    `json:"epoch"`
	Online   bool      `json:"online"`
	At       time.Time `json:"at"`
}

// Marker is a toy resource type: it records every Online and Offline with the group's fencing
// epoch, in memory and optionally appended (fsynced) to the file named by the resource's "log"
// property, so tests can check that a resource never ran on two nodes at once. Properties:
// "fail-online" makes Online fail with that text, "refuse-offline" makes Offline fail, and
// "hang-online" makes Online block until its context ends or forever ("forever").
type Marker struct {
	Node string

	mu      sync.Mutex
	records []MarkerRecord
	state   map[string]bool
	sick    map[string]string
}

// NewMarker returns a marker type for node.
func NewMarker(node string) *Marker {
	return &Marker{Node: node, state: map[string]bool{}, sick: map[string]string{}}
}

// Info is the registration info with short intervals for tests.
func (m *Marker) Info() ResourceTypeInfo {
	return ResourceTypeInfo{Name: MarkerTypeName, LooksAliveInterval: 200 * time.Millisecond, IsAliveInterval: time.Second, CallTimeout: 2 * time.Second, DeadlockTimeout: 3 * time.Second}
}

// Records returns a copy of what happened on this node.
func (m *Marker) Records() []MarkerRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]MarkerRecord(nil), m.records...)
}

// IsOnline reports whether resource is online here.
func (m *Marker) IsOnline(resource string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[resource]
}

// Break makes the next health checks of resource fail with reason ("" heals it).
func (m *Marker) Break(resource, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sick[resource] = reason
}

func (m *Marker) record(r ResourceRef, online bool) error {
	rec := MarkerRecord{Node: m.Node, Resource: r.Name, Epoch: r.Epoch, Online: online, At: time.Now()}
	m.mu.Lock()
	m.records = append(m.records, rec)
	m.state[r.Name] = online
	m.mu.Unlock()
	if path := r.Props["log"]; path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("marker log %s: %w", path, err)
		}
		defer f.Close()
		b, _ := json.Marshal(rec)
		if _, err := f.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("marker log %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("marker log %s: %w", path, err)
		}
	}
	return nil
}

// Online implements ResourceType.
func (m *Marker) Online(ctx context.Context, r ResourceRef) error {
	if msg := r.Props["fail-online"]; msg != "" {
		return fmt.Errorf("marker %s: %s", r.Name, msg)
	}
	switch r.Props["hang-online"] {
	case "forever":
		select {} // deliberately ignores ctx: exercises the deadlock timeout
	case "":
	default:
		<-ctx.Done()
		return ctx.Err()
	}
	return m.record(r, true)
}

// Offline implements ResourceType.
func (m *Marker) Offline(ctx context.Context, r ResourceRef) error {
	if msg := r.Props["refuse-offline"]; msg != "" {
		return fmt.Errorf("%s", msg)
	}
	return m.record(r, false)
}

// LooksAlive implements ResourceType.
func (m *Marker) LooksAlive(ctx context.Context, r ResourceRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if why := m.sick[r.Name]; why != "" {
		return fmt.Errorf("%s", why)
	}
	if !m.state[r.Name] {
		return fmt.Errorf("marker %s is not online", r.Name)
	}
	return nil
}

// IsAlive implements ResourceType.
func (m *Marker) IsAlive(ctx context.Context, r ResourceRef) error { return m.LooksAlive(ctx, r) }

// CheckMarkerOverlap verifies, from records of all nodes, that no resource was online on two
// nodes at once and that epochs of successive online periods never go backwards.
func CheckMarkerOverlap(records []MarkerRecord) error {
	byRes := map[string][]MarkerRecord{}
	for _, r := range records {
		byRes[r.Resource] = append(byRes[r.Resource], r)
	}
	for res, rs := range byRes {
		sortRecords(rs)
		onlineAt := map[string]MarkerRecord{}
		var lastEpoch uint64
		for _, r := range rs {
			if r.Online {
				for n, o := range onlineAt {
					if n != r.Node {
						return fmt.Errorf("resource %s online on %s (epoch %d, since %s) and on %s (epoch %d, at %s)", res, n, o.Epoch, o.At.Format(time.RFC3339Nano), r.Node, r.Epoch, r.At.Format(time.RFC3339Nano))
					}
				}
				if r.Epoch < lastEpoch {
					return fmt.Errorf("resource %s: epoch went back from %d to %d on %s", res, lastEpoch, r.Epoch, r.Node)
				}
				lastEpoch = r.Epoch
				onlineAt[r.Node] = r
			} else {
				delete(onlineAt, r.Node)
			}
		}
	}
	return nil
}

func sortRecords(rs []MarkerRecord) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].At.Before(rs[j-1].At); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
