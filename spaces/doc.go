// Package spaces is sofs's pooled block storage: physical disks grouped into a pool, carved into
// fixed-size virtual disks with simple, mirror or mirror3 resiliency (ARCHITECTURE.md, "Storage model").
//
// It knows nothing of files or SMB. Layers, bottom up:
//
//   - BlockDevice (device.go): a file or block device with 4 KiB aligned I/O (FileDevice, O_DIRECT where
//     the file system allows it), an in-memory twin with power-loss semantics (MemDevice) and a
//     fault-injecting wrapper (FaultyDevice).
//   - On-disk formats (format.go): disk header, pool metadata slots, dirty-region log blocks and
//     checksum blocks, each self-checking with CRC32C.
//   - Pool (pool.go): disk membership, metadata generations written to every disk and chosen by
//     majority, owner token (node id + epoch) fencing.
//   - VirtualDisk (vdisk.go): slabs whose copies sit on distinct disks, reads that verify per-block
//     CRC32C and heal from another copy, writes to every live copy behind a dirty-region log (drl.go).
//   - Repair, retire and scrub (repair.go): re-create missing copies in parallel, throttled, with
//     progress recorded in the pool metadata so other processes (sofsctl pool show) see it.
//
// # Which metadata generation counts
//
// Every generation lists the pool's disks with their states; its live disks are the active and
// retiring ones, and it also records the live disks of the committed generation it succeeded
// (PrevLive). The rule (quorum.go, tested against a model of commits, failures, torn writes and
// crashes in quorum_test.go):
//
//   - A commit succeeds once the generation is durable on a majority of its own live disks and on
//     at least half of the previous generation's (commitQuorum). Disks that fail the write are
//     recorded failed in a retried commit. A commit that could not succeed even if every
//     reachable disk took it is not written; the writes waiting on it fail.
//   - So a pool loses disks one commit at a time, each keeping at least half of the live disks:
//     a 2-disk mirror records the loss of one disk on the survivor and keeps serving and writing;
//     a 3-disk pool can lose two disks in turn, but not both in one step.
//   - A write that skipped a copy is acknowledged only once a committed generation records that
//     copy's disk failed; otherwise a later open from the skipped disks could trust their copies.
//   - At open, generations are walked newest first. One whose present holders satisfy
//     commitQuorum is chosen. One that could have been committed (holders plus absent disks would
//     satisfy it) but is not provably on enough present disks refuses the open (ErrNoMajority):
//     its quorum, and newer data, may be on the absent disks. One that cannot have been
//     committed (a torn metadata write) is passed over.
//   - Hence a disk that failed and returns with an older generation does not win (the newer
//     generation lists it failed and needs no vote from it), and a pool opened from a stale disk
//     alone is refused (its generation lists the other disks live, and they are absent). A 2-disk
//     mirror that lost a disk without recording it (a crash first) opens only when both are back.
//   - Each disk has two metadata slots; a commit writes the slot not holding the disk's newest
//     committed generation, so failed commits never erase the proof of the last good one.
//   - Disk counting cannot stop two writers that each see half of a 2-disk pool: the owner token
//     does. A writer opens only with an epoch above the recorded owner's (the cluster hands them
//     out), and a writer stops as soon as it reads a higher epoch on any disk it writes.
package spaces
