package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sofs-dev/sofs/smb/rpc"
	"github.com/sofs-dev/sofs/smb/vfs"
)

// Shares can be added and removed while the server runs: a cluster node serves a share only
// while it owns the share's volume. A tree connect to a share this server does not serve (now)
// fails with STATUS_BAD_NETWORK_NAME (MS-SMB2 3.3.5.7).

// ErrShareExists is returned by AddShare for a name already served.
var ErrShareExists = errors.New("share already served")

// ErrNoShare is returned by RemoveShare for a name not served.
var ErrNoShare = errors.New("share not served")

func validShareName(name string) bool {
	return name != "" && !strings.ContainsAny(name, `\/:*?"<>|`)
}

// share finds a share by name, case-insensitively.
func (s *Server) share(name string) *shareState {
	s.sharesMu.RLock()
	defer s.sharesMu.RUnlock()
	return s.shares[strings.ToUpper(name)]
}

// AddShare starts serving sh. Its settings are validated as in Config.Shares.
func (s *Server) AddShare(sh Share) error {
	if !validShareName(sh.Name) || strings.EqualFold(sh.Name, "IPC$") {
		return fmt.Errorf("add share %q: bad share name", sh.Name)
	}
	if sh.FS == nil {
		return fmt.Errorf("add share %q: no file system", sh.Name)
	}
	key := strings.ToUpper(sh.Name)
	s.sharesMu.Lock()
	defer s.sharesMu.Unlock()
	if _, ok := s.shares[key]; ok {
		return fmt.Errorf("add share %q: %w", sh.Name, ErrShareExists)
	}
	s.shares[key] = &shareState{Share: sh, opens: vfs.NewOpenTable()}
	s.log.Info("share online", "share", sh.Name)
	return nil
}

// RemoveShare stops serving the named share: new tree connects fail with
// STATUS_BAD_NETWORK_NAME, every tree connected to it is disconnected and its opens are closed
// (pending deletes happen) before RemoveShare returns, so the caller may then release the file
// system. Requests on a removed tree get STATUS_NETWORK_NAME_DELETED (MS-SMB2 3.3.5.2.11).
func (s *Server) RemoveShare(name string) error {
	key := strings.ToUpper(name)
	s.sharesMu.Lock()
	sh, ok := s.shares[key]
	if ok && !sh.ipc {
		delete(s.shares, key)
	}
	s.sharesMu.Unlock()
	if !ok || sh.ipc {
		return fmt.Errorf("remove share %q: %w", name, ErrNoShare)
	}
	// Set before the sweep: a tree connect that found the share before the delete either adds
	// its tree before the sweep reaches its session (and is swept) or sees removed afterwards.
	sh.removed.Store(true)
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	closed := 0
	for _, sess := range sessions {
		for _, id := range sess.treesOf(sh) {
			if sess.removeTree(id) {
				closed++
			}
		}
	}
	s.log.Info("share offline", "share", name, "trees_closed", closed)
	return nil
}

// ServedShares lists the names of the disk shares served now.
func (s *Server) ServedShares() []string {
	s.sharesMu.RLock()
	defer s.sharesMu.RUnlock()
	var out []string
	for _, sh := range s.shares {
		if !sh.ipc {
			out = append(out, sh.Name)
		}
	}
	return out
}

// treesOf lists the ids of the session's trees on sh.
func (s *session) treesOf(sh *shareState) []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []uint32
	for id, t := range s.trees {
		if t.share == sh {
			ids = append(ids, id)
		}
	}
	return ids
}

// shareLister exposes the share list to the srvsvc pipe.
type shareLister struct{ s *Server }

func (l shareLister) Shares() []rpc.Share {
	l.s.sharesMu.RLock()
	out := make([]rpc.Share, 0, len(l.s.shares))
	for _, sh := range l.s.shares {
		if !sh.ipc {
			out = append(out, rpc.Share{Name: sh.Name, Type: 0, Comment: sh.Comment, Path: `C:\` + sh.Name})
		}
	}
	l.s.sharesMu.RUnlock()
	slices.SortFunc(out, func(a, b rpc.Share) int { return strings.Compare(a.Name, b.Name) })
	return append(out, rpc.Share{Name: "IPC$", Type: 3 | 0x80000000, Comment: "IPC Service"})
}
