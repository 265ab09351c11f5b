// Package cluster is the failover core: membership, quorum, the replicated configuration
// database, ordered global updates and resource control. It knows nothing of SMB or disks:
// other packages register resource types (Registry.Register) and read placement through
// Store.GroupOwner and Store.WatchOwners.
//
// Layers, each usable and tested on its own:
//
//   - Config DB (fsm.go, store.go): a raft FSM holding typed objects (cluster, nodes,
//     networks, groups, resources, resource types, properties) with a schema version. Every
//     change is one log entry (Command); Store.Apply writes through the leader (the update
//     coordinator), Store.Read reads locally, OpReadProp reads through the log
//     (linearizable). OpenStore with an empty Dir is the in-memory twin (raft.InmemStore);
//     otherwise raft-boltdb/v2 and raft's FileSnapshotStore. Raft's pre-vote is on.
//   - Pure decisions (quorum.go, placement.go): DesiredVoters/NextVoteChange (dynamic quorum
//     with witness and tie-breaker), LeaseMonitor (a node without quorum contact for its
//     lease takes its resources offline), Place (preferred/possible owners, anti-affinity,
//     bounded drains, failback windows, failover threshold, priority). No I/O, no clocks.
//   - Resource control (controller.go, resource.go, leader.go, admin.go): per-node
//     Controller runs groups it owns in dependency order with health checks, restarts in
//     place, then asks for failover; agent calls have call and deadlock timeouts. The
//     leader's Placer applies Place's moves with the group epoch as fencing token; the old
//     owner must release a group before the new owner starts it.
//   - Node (node.go, mux.go, gossip.go, tlsca.go, client.go): one mTLS listener per node
//     (port 3343) multiplexing raft, memberlist streams, the admin API and the join service
//     by a one-byte tag; memberlist packets use UDP on the same port number, encrypted with
//     a key derived from the cluster CA. Joining needs a one-time token pinning the CA.
//   - Operations (update.go, clusterlog.go, metrics.go): updating runs, gathered cluster
//     log, Prometheus metrics.
package cluster
