// Package cluster is the failover core: membership, quorum, the replicated configuration
// database, ordered global updates and resource control. It knows nothing of SMB or disks.
package cluster
