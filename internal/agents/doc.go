// Package agents holds the resource types a sofs cluster node hosts, in the manner of Windows
// failover cluster resource DLLs: the cluster core (package cluster) places groups and calls
// Online/Offline/LooksAlive/IsAlive; these types do the work with the storage and SMB packages.
//
//   - volume.go: "vdisk/volume", a spaces virtual disk opened with the group's fencing epoch and
//     the csv volume on it mounted with the same epoch; FormatVolume makes one.
//   - share.go: "share", an SMB share of a mounted volume served by this node's SMB server
//     (through the small ShareServer interface, so smb/server knows nothing of the cluster).
//   - netname.go: "netname", the access point answered by the built-in DNS responder on the
//     node that owns the name.
//
// The cluster package must not import smb or the disk packages; this package sits between them
// and cmd/sofsd wires it up.
package agents
