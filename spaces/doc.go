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
//   - Repair, retire and scrub (repair.go): re-create missing copies in parallel, throttled, with progress.
package spaces
