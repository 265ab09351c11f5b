// Package csv is the cluster shared volume: a crash-safe file system on a BlockDevice (a spaces
// virtual disk in production, a plain file in tests) that serves SMB shares through vfs.FS.
//
// Layout and ordering rules are in FORMAT.md. In short: two superblocks carrying the owner epoch
// (fencing), a circular journal of CRC32C-checksummed, sequence-numbered record batches written by
// a group committer, two alternating checkpoint areas, and data extents written in place. Every
// metadata change goes through the Coordinator (the seam for multi-node operation) as journal
// records that are durable before the operation is acknowledged; data for newly allocated blocks
// is durable before the record that exposes it. Mount loads the newest valid checkpoint and
// replays the journal after it.
//
// Entry points: Format, Mount / OpenPath, Volume (vfs.FS, plus CloneRange, ZeroRange and
// AllocatedRanges for server-side copy and sparse files), Check (read-only verification of every
// invariant; `sofsctl csv check`).
package csv
