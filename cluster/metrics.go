package cluster

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// nodeCollector exports the node's cluster state at scrape time (no background loop).
type nodeCollector struct {
	d *Daemon

	raftState, applied, commit, lastContact, members, groups, resources, failovers, lease *prometheus.Desc
}

func newNodeCollector(d *Daemon) *nodeCollector {
	l := prometheus.Labels{"node": d.meta.ID}
	return &nodeCollector{
		d:           d,
		raftState:   prometheus.NewDesc("sofs_cluster_raft_state", "1 for the node's current raft state", []string{"state"}, l),
		applied:     prometheus.NewDesc("sofs_cluster_raft_applied_index", "last config DB log index applied here", nil, l),
		commit:      prometheus.NewDesc("sofs_cluster_raft_commit_index", "last committed config DB log index known here", nil, l),
		lastContact: prometheus.NewDesc("sofs_cluster_raft_last_contact_seconds", "seconds since this follower heard from the leader", nil, l),
		members:     prometheus.NewDesc("sofs_cluster_members_alive", "members the failure detector sees alive", nil, l),
		groups:      prometheus.NewDesc("sofs_cluster_groups", "groups by state (cluster-wide view)", []string{"state"}, l),
		resources:   prometheus.NewDesc("sofs_cluster_resources", "resources by state (cluster-wide view)", []string{"state"}, l),
		failovers:   prometheus.NewDesc("sofs_cluster_group_moves_total", "group moves applied while this node led", []string{"kind"}, l),
		lease:       prometheus.NewDesc("sofs_cluster_quorum_lease_held", "1 while the node may host resources", nil, l),
	}
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.raftState, c.applied, c.commit, c.lastContact, c.members, c.groups, c.resources, c.failovers, c.lease} {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.d.Status()
	for _, s := range []string{"Follower", "Candidate", "Leader", "Shutdown"} {
		v := 0.0
		if st.RaftState == s {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.raftState, prometheus.GaugeValue, v, s)
	}
	ch <- prometheus.MustNewConstMetric(c.applied, prometheus.GaugeValue, float64(st.Applied))
	ch <- prometheus.MustNewConstMetric(c.commit, prometheus.GaugeValue, float64(st.CommitIndex))
	if !st.LastContact.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.lastContact, prometheus.GaugeValue, timeSince(st.LastContact))
	}
	ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(len(st.Members)))
	lease := 0.0
	if st.LeaseHeld {
		lease = 1
	}
	ch <- prometheus.MustNewConstMetric(c.lease, prometheus.GaugeValue, lease)
	gs := map[GroupState]int{GroupOffline: 0, GroupPending: 0, GroupOnline: 0, GroupFailed: 0}
	rs := map[ResourceState]int{ResourceOffline: 0, ResourcePending: 0, ResourceOnline: 0, ResourceFailed: 0}
	c.d.store.Read(func(s *State) {
		for _, g := range s.Groups {
			gs[g.State]++
		}
		for _, r := range s.Resources {
			rs[r.State]++
		}
	})
	for k, v := range gs {
		ch <- prometheus.MustNewConstMetric(c.groups, prometheus.GaugeValue, float64(v), string(k))
	}
	for k, v := range rs {
		ch <- prometheus.MustNewConstMetric(c.resources, prometheus.GaugeValue, float64(v), string(k))
	}
	if c.d.member != nil {
		moves, failovers := c.d.member.Placer.counts()
		ch <- prometheus.MustNewConstMetric(c.failovers, prometheus.CounterValue, float64(moves-failovers), "planned")
		ch <- prometheus.MustNewConstMetric(c.failovers, prometheus.CounterValue, float64(failovers), "failover")
	}
}

// metricsHandler serves /metrics for this node.
func (d *Daemon) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newNodeCollector(d))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func timeSince(t time.Time) float64 { return time.Since(t).Seconds() }
