// Package localfs is the vfs.FS backend that serves a directory of the host.
//
// Confinement: the FS holds an O_PATH descriptor of the share root and resolves every name with
// openat2(2) and RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS relative to it, so no lookup can leave the
// root through "..", absolute paths, symlinks or magic links, whatever the client sent and
// whatever another process does to the tree meanwhile. Host paths are never built by string
// concatenation for access; operations on an existing object (rename, remove, set times) go
// through descriptors that were themselves resolved beneath the root at the time of the call.
//
// Metadata Windows needs and POSIX lacks — DOS attributes, a settable creation time and a
// settable change time — live in one extended attribute, user.sofs.dos, holding a small versioned
// binary record (record.go). When it is absent, creation time comes from statx btime and the
// attributes are derived (directory bit from the mode, Archive for files, ReadOnly when the owner
// write bit is clear). When the file system refuses user xattrs (or Options.NoXattrs is set),
// localfs falls back cleanly: attributes are derived as above, ReadOnly is still kept through
// the mode bits, and the other settable attributes, creation time and change time are accepted
// and dropped (Samba does the same with "store dos attributes = no").
//
// The ReadOnly attribute is mirrored into the mode: setting it clears every write bit, clearing
// it restores the owner write bit. POSIX clients of the same directory then see what Windows
// clients see, and the attribute survives without xattrs. localfs also enforces it on Open:
// opening a read-only file for data writes, or overwriting/superseding it, gives vfs.ErrReadOnly
// (MS-FSA 2.1.5.1.2.1: STATUS_ACCESS_DENIED on Windows), since the server usually runs as root
// and the kernel would not.
//
// Linux cannot set ctime, so a change time set through SetInfo is kept in the record, with the
// moment it was set; it is reported while the inode's real ctime still matches that moment, and
// the real ctime once anything changed the object afterwards (as Windows advances it).
//
// File IDs are inode numbers; the volume serial number is derived from the root's device and
// inode numbers. A share that spans several mounts (something mounted beneath the root) is
// served, but inode numbers are then unique only per mount.
//
// Case-insensitive opens (Windows clients) try the exact spelling first and fall back to a
// per-element case-folded match (strings.EqualFold semantics; exact wins, else the first in
// byte order). A per-directory index of folded names, validated by the directory's mtime and
// ctime, keeps filling a directory case-insensitively linear rather than quadratic (fold.go).
//
// Handles remember the name they were opened or renamed under. When an ancestor directory is
// renamed through this FS, or anything moves the object, Name, Remove and Rename find it again
// by the name the kernel reports for the descriptor, accepted only if it resolves beneath the
// root to the same inode (locate.go).
//
// Optional capabilities (vfs/extensions.go):
//
//   - Named streams (vfs.Streamer; streams.go, streamname.go). Open accepts "file:stream",
//     "file:stream:$DATA" and "file::$DATA" (the file itself) in the last element. Each named
//     stream is one user xattr, user.sofs.stream.<name>, the name kept as given except '%' and
//     control characters, written %XX. Stream names match case-insensitively. A stream holds at
//     most 64 KiB (the kernel's limit for one xattr value), and less on ext4 without ea_inode,
//     where all of a file's xattrs share one ~4 KiB block; writes beyond give vfs.ErrNoSpace.
//     Overwriting or superseding a file drops its named streams; renaming a stream is not
//     supported yet. Without xattrs (Options.NoXattrs or a file system refusing them) opening a
//     stream gives vfs.ErrNotSupported.
//   - Stored security descriptors (vfs.Securable on handles; security.go): opaque bytes in
//     user.sofs.sd, at most 64 KiB.
//   - Change watching (vfs.Watcher; watch.go) with inotify, so changes made on the host are
//     reported too; watch.go explains how the watched directories stay confined.
//
// Objects that are neither regular files nor directories (FIFOs, sockets, devices) are not
// served: opening one gives vfs.ErrAccess. Symlinks that resolve beneath the root are followed;
// ReadDir lists those that do not as the link itself with AttrReparsePoint.
package localfs
