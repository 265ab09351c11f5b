package cluster

import (
	"context"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchRuns is 20 with SOFS_LONG=1 (make bench), else 3 so the default run stays short.
func benchRuns() int {
	if os.Getenv("SOFS_LONG") != "" {
		return 20
	}
	return 3
}

func benchCluster(b *testing.B, n int, profile string) *procCluster {
	return newProcClusterTB(b, n, false, profile)
}

// BenchmarkFailover measures, for each failure detection profile, the time from SIGKILL of the
// node owning a group to (a) the cluster marking that node Down and (b) the group online on
// another node. Reported as median and max over the runs.
func BenchmarkFailover(b *testing.B) {
	for _, profile := range []string{"default", "fast"} {
		b.Run(profile, func(b *testing.B) {
			for range b.N {
				c := benchCluster(b, 3, profile)
				ctx := context.Background()
				if _, err := c.propose(ctx, Command{Op: OpPutGroup, Group: &Group{Name: "g", Policy: DefaultPolicy()}}); err != nil {
					b.Fatal(err)
				}
				if _, err := c.propose(ctx, Command{Op: OpPutResource, Resource: &Resource{Name: "r", Group: "g", Type: MarkerTypeName}}); err != nil {
					b.Fatal(err)
				}
				var detect, online []time.Duration
				for run := range benchRuns() {
					var owner *procNode
					c.waitFor("g online", 30*time.Second, func(ctx context.Context) bool {
						for _, nd := range c.live() {
							s, err := c.client(nd).State(ctx)
							if err != nil {
								continue
							}
							g := s.Groups["g"]
							if g != nil && g.State == GroupOnline {
								for _, o := range c.nodes {
									if o.id == g.Owner {
										owner = o
									}
								}
								return owner != nil
							}
						}
						return false
					})
					var observer *procNode
					for _, nd := range c.live() {
						if nd != owner {
							observer = nd
						}
					}
					killed := time.Now()
					c.kill(owner)
					var downAt, onlineAt time.Time
					deadline := time.Now().Add(60 * time.Second)
					for (downAt.IsZero() || onlineAt.IsZero()) && time.Now().Before(deadline) {
						cctx, cancel := context.WithTimeout(ctx, time.Second)
						s, err := c.client(observer).State(cctx)
						cancel()
						now := time.Now()
						if err == nil {
							if downAt.IsZero() && s.Nodes[owner.id].State == NodeDown {
								downAt = now
							}
							if g := s.Groups["g"]; onlineAt.IsZero() && g != nil && g.Owner != owner.id && g.State == GroupOnline {
								onlineAt = now
							}
						}
						time.Sleep(20 * time.Millisecond) // sampling interval of the measurement
					}
					if downAt.IsZero() || onlineAt.IsZero() {
						b.Fatalf("run %d: no failover within 60s", run)
					}
					detect = append(detect, downAt.Sub(killed))
					online = append(online, onlineAt.Sub(killed))
					c.start(owner)
					// Wait for the node and, with dynamic quorum, all three votes to be back
					// before the next kill (a kill while votes are being restored can leave the
					// survivors without quorum, as in Windows).
					c.waitFor("killed node back up with all votes", 30*time.Second, func(ctx context.Context) bool {
						s, err := c.client(observer).State(ctx)
						if err != nil || s.Nodes[owner.id].State != NodeUp {
							return false
						}
						st, err := c.client(observer).Status(ctx)
						return err == nil && len(st.Voters) == 3
					})
				}
				report := func(name string, d []time.Duration) {
					slices.Sort(d)
					b.ReportMetric(d[len(d)/2].Seconds(), name+"-median-s")
					b.ReportMetric(d[len(d)-1].Seconds(), name+"-max-s")
				}
				report("detect", detect)
				report("online", online)
				b.Logf("profile %s, %d runs: detect %v, online %v", profile, len(detect), detect, online)
			}
		})
	}
}

// BenchmarkConfigUpdates measures committed config DB updates per second through raft on a
// three-node process cluster, from one client and from 16 concurrent clients.
func BenchmarkConfigUpdates(b *testing.B) {
	c := benchCluster(b, 3, "default")
	l := c.leader()
	cl := c.client(l)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		start := time.Now()
		for i := range b.N {
			if _, err := cl.Propose(ctx, Command{Op: OpSetProp, Key: "bench", Value: string(rune(i))}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
	})
	b.Run("concurrent16", func(b *testing.B) {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					if _, err := cl.Propose(ctx, Command{Op: OpSetProp, Key: "bench", Value: string(rune(w))}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
	})
}
