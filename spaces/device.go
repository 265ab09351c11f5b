package spaces

import (
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BlockSize is the unit of every I/O spaces issues: offsets and lengths are multiples of it, and with
// O_DIRECT the buffers are aligned to it too.
const BlockSize = 4096

// BlockDevice is one physical disk as spaces sees it. Offsets and lengths are multiples of BlockSize.
// A write is durable only after Sync returns.
type BlockDevice interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Size() int64
	Close() error
}

// zeroer is implemented by devices that can zero a range cheaply (hole punching); others get zeros
// written.
type zeroer interface {
	Zero(off, n int64) error
}

// ErrUnaligned is returned for I/O whose offset or length is not a multiple of BlockSize.
var ErrUnaligned = errors.New("unaligned block I/O")

func checkAligned(n int, off int64) error {
	if off%BlockSize != 0 || n%BlockSize != 0 {
		return fmt.Errorf("%w: offset %d length %d", ErrUnaligned, off, n)
	}
	return nil
}

// alignedBuffer returns a zeroed n-byte slice whose first byte is BlockSize-aligned, as O_DIRECT needs.
func alignedBuffer(n int) []byte {
	raw := make([]byte, n+BlockSize)
	shift := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) % BlockSize); r != 0 {
		shift = BlockSize - r
	}
	return raw[shift : shift+n : shift+n]
}

func isAligned(p []byte) bool {
	return len(p) == 0 || uintptr(unsafe.Pointer(&p[0]))%BlockSize == 0
}

// bouncePool holds 1 MiB aligned buffers for callers whose buffers are not aligned.
var bouncePool = sync.Pool{New: func() any { b := alignedBuffer(1 << 20); return &b }}

// FileDevice is a BlockDevice on a regular file or a block device.
type FileDevice struct {
	path    string
	f       *os.File
	size    int64
	direct  bool
	backing uint64 // st_dev of a regular file (its file system's device), st_rdev of a block device
}

// OpenFileDevice opens path read-write, with O_DIRECT when the file system supports it. Where it
// does not (tmpfs), it falls back to buffered I/O with a logged warning: durability then rests on
// Sync alone, which is still correct, only slower and cache-polluting.
func OpenFileDevice(path string) (*FileDevice, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0)
	direct := true
	if err != nil && errors.Is(err, unix.EINVAL) {
		log.Printf("[SPACES] warning: %s: O_DIRECT not supported by the file system, using buffered I/O", path)
		f, err = os.OpenFile(path, os.O_RDWR, 0)
		direct = false
	}
	if err != nil {
		return nil, fmt.Errorf("open disk %s: %w", path, err)
	}
	size, err := deviceSize(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("size of disk %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat disk %s: %w", path, err)
	}
	backing := st.Dev
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		backing = st.Rdev
	}
	return &FileDevice{path: path, f: f, size: size - size%BlockSize, direct: direct, backing: uint64(backing)}, nil
}

// backingDevice returns an identifier of the physical device under d, if d knows it. Disks that
// share one (disk files on one file system) contend for it.
func backingDevice(d BlockDevice) (uint64, bool) {
	if b, ok := d.(interface{ backingDevice() uint64 }); ok {
		return b.backingDevice(), true
	}
	return 0, false
}

func (d *FileDevice) backingDevice() uint64 { return d.backing }

// CreateFileDisk creates (or truncates) a sparse regular file of size bytes for use as a disk.
func CreateFileDisk(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create disk file %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(size - size%BlockSize); err != nil {
		return fmt.Errorf("size disk file %s: %w", path, err)
	}
	return nil
}

// deviceSize asks the kernel for a block device's size (BLKGETSIZE64); stat reports 0 for those.
func deviceSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode()&os.ModeDevice == 0 {
		return st.Size(), nil
	}
	var size uint64
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); e != 0 {
		return 0, fmt.Errorf("BLKGETSIZE64: %w", e)
	}
	return int64(size), nil
}

// Path is the path the device was opened with (informational only: identity comes from the header).
func (d *FileDevice) Path() string { return d.path }

// Direct reports whether the device uses O_DIRECT.
func (d *FileDevice) Direct() bool { return d.direct }

func (d *FileDevice) Size() int64  { return d.size }
func (d *FileDevice) Close() error { return d.f.Close() }
func (d *FileDevice) Sync() error {
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("sync disk %s: %w", d.path, err)
	}
	return nil
}

func (d *FileDevice) ReadAt(p []byte, off int64) (int, error) {
	if err := checkAligned(len(p), off); err != nil {
		return 0, err
	}
	if !d.direct || isAligned(p) {
		return d.f.ReadAt(p, off)
	}
	bp := bouncePool.Get().(*[]byte)
	defer bouncePool.Put(bp)
	done := 0
	for done < len(p) {
		chunk := min(len(p)-done, len(*bp))
		n, err := d.f.ReadAt((*bp)[:chunk], off+int64(done))
		copy(p[done:], (*bp)[:n])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (d *FileDevice) WriteAt(p []byte, off int64) (int, error) {
	if err := checkAligned(len(p), off); err != nil {
		return 0, err
	}
	if !d.direct || isAligned(p) {
		return d.f.WriteAt(p, off)
	}
	bp := bouncePool.Get().(*[]byte)
	defer bouncePool.Put(bp)
	done := 0
	for done < len(p) {
		chunk := min(len(p)-done, len(*bp))
		copy(*bp, p[done:done+chunk])
		n, err := d.f.WriteAt((*bp)[:chunk], off+int64(done))
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Zero punches a hole (regular files) so the range reads as zeros without writing them.
func (d *FileDevice) Zero(off, n int64) error {
	err := unix.Fallocate(int(d.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	return writeZeros(d, off, n)
}

func writeZeros(d BlockDevice, off, n int64) error {
	buf := alignedBuffer(1 << 20)
	for n > 0 {
		c := min(n, int64(len(buf)))
		if _, err := d.WriteAt(buf[:c], off); err != nil {
			return err
		}
		off += c
		n -= c
	}
	return nil
}

// zeroRange zeroes [off, off+n) on d, cheaply if the device can.
func zeroRange(d BlockDevice, off, n int64) error {
	if z, ok := d.(zeroer); ok {
		return z.Zero(off, n)
	}
	return writeZeros(d, off, n)
}
