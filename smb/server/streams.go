package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/sofs-dev/sofs/smb/vfs"
)

// Named streams have share modes of their own (MS-FSA 2.1.5.1.2: the sharing check is on the
// stream's Stream object, not the file's): an open of "file:one" does not conflict with one of
// "file:two" or of "file" itself (smbtorture smb2.streams.sharemodes, io). The open table is
// keyed by object id, so a stream open is registered under a key derived from its object's id
// and its case-folded name (stream names match case-insensitively), with the top bit set: file
// system ids (inode numbers) stay below 2^63. Two streams would share a key only on a 64-bit
// hash collision.

// openKey is the open-table key of the object or stream a vfs name (as create builds it,
// "dir/file:stream") opens, given the object's id.
func openKey(id uint64, name string) uint64 {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return id
	}
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], id)
	h.Write(b[:])
	h.Write([]byte(strings.ToUpper(name[i+1:])))
	return h.Sum64() | 1<<63
}

// namesDataStream reports whether a CREATE name ends in the unnamed data stream's explicit
// name, "::$DATA" (the type matches case-insensitively).
func namesDataStream(name string) bool {
	return len(name) >= 7 && strings.EqualFold(name[len(name)-7:], "::$DATA")
}

// linkStreamBase ties a stream open to its object (vfs.Open.LinkBase): deleting the object
// waits for its open streams and needs them to share delete, and a stream of an object whose
// delete is pending cannot be opened (smbtorture smb2.streams.delete).
func linkStreamBase(entry *vfs.Open, baseID uint64, name string) error {
	if !strings.Contains(name, ":") {
		return nil
	}
	return entry.LinkBase(baseID)
}

// removeStreamBase deletes the object of the stream open o, whose delete was pending until its
// last open stream closed.
func removeStreamBase(o *open) error {
	name := o.file.Name()
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return nil
	}
	base, _, err := o.tree.share.FS.Open(context.Background(), name[:i], vfs.OpenRequest{Disposition: vfs.OpenExisting})
	if err != nil {
		return fmt.Errorf("delete %q after its last stream closed: %w", name[:i], err)
	}
	err = base.Remove()
	if cerr := base.Close(); err == nil {
		err = cerr
	}
	return err
}
