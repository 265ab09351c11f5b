package cluster

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProcessNoFalseDeathUnderFullCPULoad saturates both cores with busy loops while a
// three-node cluster on the fast profile runs, and checks that no healthy node is declared
// Down (memberlist's health awareness and the probe timeouts must absorb the scheduling
// delays).
func TestProcessNoFalseDeathUnderFullCPULoad(t *testing.T) {
	c := newProcCluster(t, 3, "fast")
	load := 10 * time.Second
	if os.Getenv("SOFS_LONG") != "" {
		load = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), load+30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var downs []string
	evctx, stopEvents := context.WithCancel(ctx)
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		c.client(c.nodes[0]).Events(evctx, func(ev Event) {
			if ev.Op == OpSetNodeState && strings.Contains(ev.Detail, "Down") {
				mu.Lock()
				downs = append(downs, ev.Name+" at "+ev.Time.Format(time.RFC3339Nano))
				mu.Unlock()
			}
		})
	}()
	// Four busy loops for two cores, at normal priority like the nodes.
	var burners []*exec.Cmd
	for range 4 {
		b := exec.Command("sh", "-c", "while :; do :; done")
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		burners = append(burners, b)
	}
	stopBurners := func() {
		for _, b := range burners {
			b.Process.Kill()
			b.Wait()
		}
		burners = nil
	}
	t.Cleanup(stopBurners)
	// Keep the config DB busy too while loaded.
	deadline := time.Now().Add(load)
	writes := 0
	for time.Now().Before(deadline) {
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := c.propose(wctx, Command{Op: OpSetProp, Key: "load", Value: time.Now().String()}); err == nil {
			writes++
		}
		wcancel()
	}
	stopBurners()
	stopEvents()
	<-evDone
	mu.Lock()
	defer mu.Unlock()
	if len(downs) > 0 {
		t.Fatalf("healthy nodes declared down under CPU load: %v", downs)
	}
	if writes == 0 {
		t.Fatal("no config update succeeded under load")
	}
	t.Logf("%s of full CPU load: no false node death, %d config updates", load, writes)
}
