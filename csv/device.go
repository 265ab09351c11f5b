package csv

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// BlockSize is the volume's allocation unit and the unit of every metadata structure on disk.
const BlockSize = 4096

// BlockDevice is what a volume is stored on: a spaces virtual disk in production, a plain file in
// tests and for the CLI. Writes become durable only after Flush returns; a crash may lose or tear
// any write issued since the previous Flush.
type BlockDevice interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Flush() error
	Size() int64
}

// FileDevice is a BlockDevice backed by a host file or block device.
type FileDevice struct {
	f    *os.File
	size int64
}

// OpenFileDevice opens path (a regular file or a block device) read-write.
func OpenFileDevice(path string) (*FileDevice, error) {
	return openFileDevice(path, os.O_RDWR)
}

// OpenFileDeviceReadOnly opens path read-only (for check and show).
func OpenFileDeviceReadOnly(path string) (*FileDevice, error) {
	return openFileDevice(path, os.O_RDONLY)
}

func openFileDevice(path string, flag int) (*FileDevice, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("open device %s: %w", path, err)
	}
	// Seek to the end rather than Stat: block devices report size 0 in Stat.
	size, err := f.Seek(0, 2)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("size of device %s: %w", path, err)
	}
	return &FileDevice{f: f, size: size - size%BlockSize}, nil
}

// CreateFileDevice creates (or truncates) a sparse regular file of size bytes.
func CreateFileDevice(path string, size int64) (*FileDevice, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create device %s: %w", path, err)
	}
	size -= size % BlockSize
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("size device %s: %w", path, err)
	}
	return &FileDevice{f: f, size: size}, nil
}

func (d *FileDevice) ReadAt(p []byte, off int64) (int, error)  { return d.f.ReadAt(p, off) }
func (d *FileDevice) WriteAt(p []byte, off int64) (int, error) { return d.f.WriteAt(p, off) }

// Flush uses fdatasync: the file's size never changes after creation, so its data is all that
// must reach stable storage.
func (d *FileDevice) Flush() error {
	if err := unix.Fdatasync(int(d.f.Fd())); err != nil {
		return fmt.Errorf("flush device: %w", err)
	}
	return nil
}
func (d *FileDevice) Size() int64  { return d.size }
func (d *FileDevice) Close() error { return d.f.Close() }
