package spaces

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Benchmarks compare a mirror virtual disk with the same I/O pattern straight to one raw file, on
// file-backed disks in the same temp directory (same device), in the same run, and report the
// ratios with b.ReportMetric. Run: go test -run '^$' -bench . ./spaces/

const (
	benchArea = 128 << 20
	benchSlab = 16 << 20
)

type benchTarget interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
}

func benchRaw(b *testing.B) *FileDevice { return benchRawIn(b, b.TempDir()) }

func benchRawIn(b *testing.B, dir string) *FileDevice {
	path, err := os.CreateTemp(dir, "raw")
	if err != nil {
		b.Fatal(err)
	}
	path.Close()
	if err := CreateFileDisk(path.Name(), benchArea); err != nil {
		b.Fatal(err)
	}
	return benchRawPath(b, path.Name())
}

// benchRawPath opens an existing file as a device, closed when the benchmark ends.
func benchRawPath(b *testing.B, path string) *FileDevice {
	d, err := OpenFileDevice(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// benchMirror builds a mirror virtual disk on bare FileDevices (no fault wrapper), so the
// comparison with the raw file measures spaces and nothing else.
func benchMirror(b *testing.B, disks int, size int64) (*Pool, *VirtualDisk) {
	dir := b.TempDir()
	var devs []BlockDevice
	for d := 0; d < disks; d++ {
		path := filepath.Join(dir, fmt.Sprintf("disk%d", d))
		if err := CreateFileDisk(path, size*2/int64(disks)+size/2+(8<<20)); err != nil {
			b.Fatal(err)
		}
		devs = append(devs, benchRawPath(b, path))
	}
	opts := testCreateOpts(1)
	opts.SlabSize, opts.RegionSize = benchSlab, 1<<20
	p, err := CreatePool(devs, opts)
	if err != nil {
		b.Fatal(err)
	}
	v, err := p.CreateVirtualDisk("bench", size, Mirror)
	if err != nil {
		b.Fatal(err)
	}
	return p, v
}

// runPattern does n ops of size bs (sequential or random) and returns bytes per second, including
// a final flush so writes are durable in both cases.
func runPattern(b *testing.B, t benchTarget, flush func() error, write, random bool, bs int, n int) float64 {
	buf := alignedBuffer(bs)
	copy(buf, pattern(1, 0, bs))
	rng := rand.New(rand.NewPCG(1, 2))
	blocks := int64(benchArea / bs)
	start := time.Now()
	for i := 0; i < n; i++ {
		off := int64(i) % blocks * int64(bs)
		if random {
			off = rng.Int64N(blocks) * int64(bs)
		}
		var err error
		if write {
			_, err = t.WriteAt(buf, off)
		} else {
			_, err = t.ReadAt(buf, off)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if write {
		if err := flush(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n*bs) / time.Since(start).Seconds()
}

func fill(b *testing.B, t benchTarget, flush func() error) {
	runPattern(b, t, flush, true, false, 1<<20, benchArea>>20)
}

// benchCompare runs the same pattern against the raw file and the mirror, interleaved in batches of
// 16 ops so both see the same background load (the machine is shared), and reports both rates and
// their ratio. Writes include a final flush/sync of each target.
func benchCompare(b *testing.B, write, random bool, bs int) {
	benchCompareRA(b, write, random, bs, true)
}

func benchCompareRA(b *testing.B, write, random bool, bs int, readAhead bool) {
	raw := benchRaw(b)
	_, v := benchMirror(b, 2, benchArea)
	v.SetReadAhead(readAhead)
	// Both targets are filled first: the raw file's blocks are then allocated (no file-system
	// allocation in the timed writes) and the mirror's regions are already dirty (the one synced
	// log write per newly dirtied region is measured by BenchmarkFirstWriteToRegion).
	fill(b, raw, raw.Sync)
	fill(b, v, v.Flush)
	buf := alignedBuffer(bs)
	copy(buf, pattern(1, 0, bs))
	blocks := int64(benchArea / bs)
	offs := make([]int64, b.N)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range offs {
		offs[i] = int64(i) % blocks * int64(bs)
		if random {
			offs[i] = rng.Int64N(blocks) * int64(bs)
		}
	}
	do := func(t benchTarget, from, to int) time.Duration {
		start := time.Now()
		for _, off := range offs[from:to] {
			var err error
			if write {
				_, err = t.WriteAt(buf, off)
			} else {
				_, err = t.ReadAt(buf, off)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.ResetTimer()
	// The mirror's batch ends when its read-ahead has finished too: the next batch may use what it
	// read, so its I/O is counted here and does not run during the raw file's batch.
	rawT, mirT, ratios := interleave(b.N, 16, func(i, j int) time.Duration { return do(raw, i, j) },
		func(i, j int) time.Duration {
			t0 := time.Now()
			do(v, i, j)
			v.ra.inflight.Wait()
			return time.Since(t0)
		})
	if write {
		t0 := time.Now()
		if err := raw.Sync(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := v.Flush(); err != nil {
			b.Fatal(err)
		}
		rawT += t1.Sub(t0)
		mirT += time.Since(t1)
	}
	b.StopTimer()
	if !write && readAhead {
		b.ReportMetric(float64(v.pool.Stats().ReadAheadHits)/float64(b.N), "ra_hits/op")
	}
	total := float64(b.N * bs)
	rawRate, mirRate := total/rawT.Seconds(), total/mirT.Seconds()
	b.ReportMetric(rawRate/1e6, "raw_MB/s")
	b.ReportMetric(mirRate/1e6, "mirror_MB/s")
	// The ratio is the median over batches: other engineers' builds come and go in bursts on this
	// shared machine, and a burst that hits one side of a batch should not move the figure.
	// Writes add the final flush/sync to the totals, so their ratio is taken from the totals.
	ratio := median(ratios)
	if write {
		ratio = mirRate / rawRate
	}
	b.ReportMetric(ratio, "mirror/raw")
	if write {
		b.ReportMetric(ratio*2, "mirror/(raw/copies)")
	}
}

func BenchmarkSeqWrite1M(b *testing.B)  { benchCompare(b, true, false, 1<<20) }
func BenchmarkSeqRead1M(b *testing.B)   { benchCompare(b, false, false, 1<<20) }
func BenchmarkRandWrite4K(b *testing.B) { benchCompare(b, true, true, BlockSize) }
func BenchmarkRandRead4K(b *testing.B)  { benchCompare(b, false, true, BlockSize) }

// BenchmarkSeqRead1MNoReadAhead is BenchmarkSeqRead1M with read-ahead off: every read waits for
// its own device read and checksum verification.
func BenchmarkSeqRead1MNoReadAhead(b *testing.B) { benchCompareRA(b, false, false, 1<<20, false) }

// BenchmarkFirstWriteToRegion measures a 4 KiB write into a clean region (dirty-region log write
// and sync on both copies first) against one into an already dirty region.
func BenchmarkFirstWriteToRegion(b *testing.B) {
	p, v := benchMirror(b, 2, benchArea)
	buf := alignedBuffer(BlockSize)
	regions := int64(benchArea >> 20)
	var first, again time.Duration
	for i := 0; i < b.N; i++ {
		off := int64(i) % regions << 20
		if int64(i)%regions == 0 && i > 0 {
			b.StopTimer()
			// Two flushes clear every quiet region's bit, so the next pass dirties them anew.
			if err := p.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := p.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		t0 := time.Now()
		if _, err := v.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := v.WriteAt(buf, off+BlockSize); err != nil {
			b.Fatal(err)
		}
		first += t1.Sub(t0)
		again += time.Since(t1)
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N), "first_us")
	b.ReportMetric(float64(again.Microseconds())/float64(b.N), "dirty_us")
}

// BenchmarkChecksumCost measures what verification adds to a reader: 1 MiB sequential reads of a
// mirror virtual disk with every block's CRC32C checked, against the same reads on the same disk
// with the check skipped (benchNoVerify), in alternating batches so both see the same load.
// crc_cost is verified time / unverified time - 1, the median over batches. Read-ahead is on, as
// in production: the check then runs beside the device's next reads.
func BenchmarkChecksumCost(b *testing.B) { benchChecksumCost(b, true) }

// BenchmarkChecksumCostNoReadAhead is the same with read-ahead off: every read waits for its own
// check, on memory the device has just written (cold in the CPU's caches).
func BenchmarkChecksumCostNoReadAhead(b *testing.B) { benchChecksumCost(b, false) }

func benchChecksumCost(b *testing.B, readAhead bool) {
	_, v := benchMirror(b, 2, benchArea)
	fill(b, v, v.Flush)
	v.SetReadAhead(readAhead)
	buf := alignedBuffer(1 << 20)
	regions := int64(benchArea >> 20)
	batch := func(verify bool) func(from, to int) time.Duration {
		return func(from, to int) time.Duration {
			v.benchNoVerify.Store(!verify)
			t0 := time.Now()
			for k := from; k < to; k++ {
				if _, err := v.ReadAt(buf, int64(k)%regions<<20); err != nil {
					b.Fatal(err)
				}
			}
			// Each batch ends with its own read-ahead finished and forgotten, so neither kind
			// of batch reads what the other read ahead.
			v.stopReadAhead()
			return time.Since(t0)
		}
	}
	b.ResetTimer()
	plainT, verT, ratios := interleave(b.N, 16, batch(false), batch(true))
	v.benchNoVerify.Store(false)
	costs := make([]float64, len(ratios))
	for i, r := range ratios {
		costs[i] = 1/r - 1 // r = verified rate / unverified rate; cost = verified time / unverified time - 1
	}
	b.StopTimer()
	// The CRC rate on its own (warm buffer), for the record.
	start := time.Now()
	var sink uint32
	for j := 0; j < len(buf); j += BlockSize {
		sink ^= crc32c(buf[j : j+BlockSize])
	}
	_ = sink
	b.ReportMetric(float64(len(buf))/time.Since(start).Seconds()/1e9, "crc_GB/s")
	b.ReportMetric(median(costs), "crc_cost") // median over batches, as in benchCompare
	b.ReportMetric(float64(b.N)*float64(len(buf))/verT.Seconds()/1e6, "verified_MB/s")
	b.ReportMetric(float64(b.N)*float64(len(buf))/plainT.Seconds()/1e6, "plain_MB/s")
}

// interleave runs n ops in batches of size, alternately baseline then measured and measured then
// baseline, so both see the same background load and neither always follows the other's I/O (the
// host may cache or read ahead behind the virtual device). It returns both totals and, per batch,
// the measured target's rate relative to the baseline.
func interleave(n, size int, baseline, measured func(from, to int) time.Duration) (baseT, measT time.Duration, ratios []float64) {
	for i := 0; i < n; i += size {
		j := min(i+size, n)
		var bt, mt time.Duration
		if i/size%2 == 0 {
			bt, mt = baseline(i, j), measured(i, j)
		} else {
			mt, bt = measured(i, j), baseline(i, j)
		}
		baseT += bt
		measT += mt
		ratios = append(ratios, bt.Seconds()/mt.Seconds())
	}
	return baseT, measT, ratios
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkRepairRate rebuilds the copies of a pulled disk of a 3-disk mirror pool and compares the
// rate with a plain O_DIRECT copy of the same number of bytes between two files on the device.
func BenchmarkRepairRate(b *testing.B) {
	const size = 96 << 20
	var repairBytes, repairSecs, rawSecs float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Each iteration's files are removed at its end: b.N iterations must not fill the disk.
		dir, err := os.MkdirTemp(b.TempDir(), "iter")
		if err != nil {
			b.Fatal(err)
		}
		var devs []BlockDevice
		for d := 0; d < 3; d++ {
			path := filepath.Join(dir, "disk"+string(rune('0'+d)))
			if err := CreateFileDisk(path, size*2/3+size/2+(8<<20)); err != nil {
				b.Fatal(err)
			}
			devs = append(devs, benchRawPath(b, path))
		}
		opts := testCreateOpts(1)
		opts.SlabSize, opts.RegionSize = benchSlab, 1<<20
		p, err := CreatePool(devs, opts)
		if err != nil {
			b.Fatal(err)
		}
		v, err := p.CreateVirtualDisk("bench", size, Mirror)
		if err != nil {
			b.Fatal(err)
		}
		fill2 := alignedBuffer(1 << 20)
		for off := int64(0); off < size; off += 1 << 20 {
			copy(fill2, pattern(uint64(off), off, 1<<20))
			if _, err := v.WriteAt(fill2, off); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Flush(); err != nil {
			b.Fatal(err)
		}
		// Disk 0 "fails": recorded failed, so repair rebuilds its copies from the others.
		if err := p.failDisk(p.disks[0], ErrPulled); err != nil {
			b.Fatal(err)
		}
		// The raw baseline copies what repair must copy: the pulled disk's share of the copies.
		share := int64(0)
		for _, pl := range v.Placement() {
			for _, c := range pl {
				if c.DiskIndex == 0 {
					share += benchSlab
				}
			}
		}
		src, dst := benchRawIn(b, dir), benchRawIn(b, dir)
		fill(b, src, src.Sync)
		b.StartTimer()
		rawCopy := func() {
			t0 := time.Now()
			for off := int64(0); off < share; off += 1 << 20 {
				o := off % benchArea
				if _, err := src.ReadAt(fill2, o); err != nil {
					b.Fatal(err)
				}
				if _, err := dst.WriteAt(fill2, o); err != nil {
					b.Fatal(err)
				}
			}
			if err := dst.Sync(); err != nil {
				b.Fatal(err)
			}
			rawSecs += time.Since(t0).Seconds()
		}
		repair := func() {
			t1 := time.Now()
			if err := p.Repair(context.Background(), RepairOptions{}); err != nil {
				b.Fatal(err)
			}
			repairSecs += time.Since(t1).Seconds()
		}
		// Alternate which runs first, so neither always runs on a device the other just warmed.
		if i%2 == 0 {
			rawCopy()
			repair()
		} else {
			repair()
			rawCopy()
		}
		repairBytes += float64(p.RepairProgress().BytesDone)
		if int64(p.RepairProgress().BytesDone) != share {
			b.Fatalf("repair copied %d bytes, expected %d", p.RepairProgress().BytesDone, share)
		}
		b.StopTimer()
		p.Close()
		src.Close()
		dst.Close()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(repairBytes/repairSecs/1e6, "repair_MB/s")
	b.ReportMetric(repairBytes/rawSecs/1e6, "rawcopy_MB/s")
	b.ReportMetric(rawSecs/repairSecs, "repair/rawcopy")
}
