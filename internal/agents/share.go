package agents

import (
	"context"
	"fmt"
	"time"

	"github.com/sofs-dev/sofs/cluster"
	"github.com/sofs-dev/sofs/smb/vfs"
)

// ShareTypeName is the resource type of an SMB share on a cluster volume.
const ShareTypeName = "share"

// Share resource properties.
const (
	// PropShareName is the share name clients connect to (default: the resource name).
	PropShareName = "name"
	// PropVolume names the vdisk/volume resource (in the same group, a dependency) it serves.
	PropVolume = "volume"
)

// ShareServer is what the share type needs of this node's SMB server.
type ShareServer interface {
	// Serve starts serving fs as share name.
	Serve(name string, fs vfs.FS) error
	// Stop stops serving it and closes its trees and opens before returning.
	Stop(name string) error
	// Serving reports whether name is served now.
	Serving(name string) bool
}

// VolumeSource finds the mounted file system of a volume resource on this node.
type VolumeSource interface {
	FS(volumeResource string) (vfs.FS, bool)
}

// Shares is the "share" resource type: online means this node's SMB server serves the share
// from its (already mounted) volume; offline means it stops, closing every open.
type Shares struct {
	Server  ShareServer
	Volumes VolumeSource
}

// Info is the registration: both checks are in-memory look-ups.
func (s *Shares) Info() cluster.ResourceTypeInfo {
	return cluster.ResourceTypeInfo{Name: ShareTypeName, LooksAliveInterval: 2 * time.Second, IsAliveInterval: 10 * time.Second}
}

func shareProps(r cluster.ResourceRef) (name, volume string, err error) {
	name = r.Props[PropShareName]
	if name == "" {
		name = r.Name
	}
	volume = r.Props[PropVolume]
	if volume == "" {
		return "", "", fmt.Errorf("share %s: property %q (the vdisk/volume resource it serves) is required", r.Name, PropVolume)
	}
	return name, volume, nil
}

// Online implements cluster.ResourceType.
func (s *Shares) Online(ctx context.Context, r cluster.ResourceRef) error {
	name, volume, err := shareProps(r)
	if err != nil {
		return err
	}
	if s.Server.Serving(name) {
		return nil
	}
	fs, ok := s.Volumes.FS(volume)
	if !ok {
		return fmt.Errorf("share %s: volume %s is not mounted on this node (is the share's depends-on set?)", r.Name, volume)
	}
	if err := s.Server.Serve(name, fs); err != nil {
		return fmt.Errorf("share %s: %w", r.Name, err)
	}
	return nil
}

// Offline implements cluster.ResourceType.
func (s *Shares) Offline(ctx context.Context, r cluster.ResourceRef) error {
	name, _, err := shareProps(r)
	if err != nil {
		return err
	}
	if !s.Server.Serving(name) {
		return nil
	}
	if err := s.Server.Stop(name); err != nil {
		return fmt.Errorf("share %s: %w", r.Name, err)
	}
	return nil
}

// LooksAlive implements cluster.ResourceType: served here, and its volume still mounted.
func (s *Shares) LooksAlive(ctx context.Context, r cluster.ResourceRef) error {
	name, volume, err := shareProps(r)
	if err != nil {
		return err
	}
	if !s.Server.Serving(name) {
		return fmt.Errorf("share %s is not served on this node", name)
	}
	if _, ok := s.Volumes.FS(volume); !ok {
		return fmt.Errorf("share %s: volume %s is no longer mounted", name, volume)
	}
	return nil
}

// IsAlive implements cluster.ResourceType; the volume's own IsAlive does the I/O.
func (s *Shares) IsAlive(ctx context.Context, r cluster.ResourceRef) error {
	return s.LooksAlive(ctx, r)
}
