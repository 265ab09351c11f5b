package spaces

import (
	"sync"
	"sync/atomic"
)

// Read-ahead for sequential readers of a virtual disk.
//
// Why: a verified read is one device read followed by a CRC32C of every block. The CRC runs on
// memory the device has just written behind the CPU's caches (~140 us per MiB measured here, twice
// the cost on warm memory), and while it runs the device sits idle: a sequential reader at queue
// depth one gets the device's rate times read/(read+verify). Splitting one read into pieces to
// overlap them costs more than it hides (see readChecked). Reading the next regions ahead, whole
// and verified, on their own goroutines keeps the device busy while the reader's CPU checks and
// copies, as every block layer does for sequential streams.
//
// Coherence: a prefetch holds its region's read lock from the moment it is issued until its data
// is in memory, and every change to a region's contents (writeRegion, a thin slab's release)
// drops the region's entry under the region's write lock. So an entry that is present and done
// when a reader holds the region's read lock holds the region's current contents. Heals, repairs
// and scrubs write what the data already is, so they need not drop entries. All I/O goes through
// the volume's one coordinator node (ARCHITECTURE.md, redirected I/O), so no other node changes
// the contents behind this cache.
const (
	raStreams = 4 // sequential readers tracked at once
	raDepth   = 3 // regions read ahead of each stream
	raEntries = raStreams * raDepth
)

type readAhead struct {
	disabled atomic.Bool
	mu       sync.Mutex
	streams  [raStreams]raStream
	tick     uint64
	entries  map[int64]*raEntry // region index -> entry
	free     [][]byte
	inflight sync.WaitGroup
}

// raStream is one tracked reader: where its last read ended and how many bytes it has read in
// sequence. A stream counts as sequential once it has read a region's worth in order.
type raStream struct {
	end, run int64
	used     uint64
}

type raEntry struct {
	region int64
	buf    []byte
	done   chan struct{}
	// Guarded by readAhead.mu.
	err     error
	ready   bool // the prefetch finished (done is closed)
	dropped bool // no longer in entries; the buffer returns to the free list once unused
	refs    int  // readers copying from buf
	used    uint64
}

// closeReadAhead stops read-ahead for good (the disk is closing or being deleted): no prefetch
// may touch extents after they are freed or their device closed.
func (v *VirtualDisk) closeReadAhead() {
	v.ra.disabled.Store(true)
	v.stopReadAhead()
}

// SetReadAhead turns read-ahead for sequential readers on (the default) or off.
func (v *VirtualDisk) SetReadAhead(on bool) {
	v.ra.disabled.Store(!on)
	if !on {
		v.stopReadAhead()
	}
}

// stopReadAhead waits for every prefetch in flight and forgets all entries. The caller has set
// disabled; afterRead checks it under mu, so once mu has been taken here no new prefetch starts.
func (v *VirtualDisk) stopReadAhead() {
	ra := &v.ra
	ra.mu.Lock()
	ra.mu.Unlock() //nolint:staticcheck // an empty critical section: the barrier described above
	ra.inflight.Wait()
	ra.mu.Lock()
	defer ra.mu.Unlock()
	for _, e := range ra.entries {
		ra.dropLocked(e)
		ra.releaseLocked(e)
	}
}

// serveReadAhead copies dst (inside region, at off) from a read-ahead entry and reports whether
// it did. The caller holds the region's read lock.
func (v *VirtualDisk) serveReadAhead(dst []byte, off, region int64) bool {
	ra := &v.ra
	ra.mu.Lock()
	e := ra.entries[region]
	if e == nil {
		ra.mu.Unlock()
		return false
	}
	e.refs++
	ra.mu.Unlock()
	<-e.done
	ra.mu.Lock()
	ok := e.err == nil && !e.dropped
	ra.mu.Unlock()
	regionOff := region * v.regionSize
	if ok {
		copy(dst, e.buf[off-regionOff:])
		v.pool.stats.raHits.Add(1)
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	e.refs--
	if !ok || off+int64(len(dst)) >= regionOff+int64(len(e.buf)) {
		ra.dropLocked(e) // consumed to its end, or unusable (a failed read is retried directly)
	} else {
		ra.tick++
		e.used = ra.tick
	}
	ra.releaseLocked(e)
	return ok
}

// dropReadAhead forgets region's entry; the caller holds the region's write lock, so no prefetch
// of it is in flight and no reader is copying from it.
func (v *VirtualDisk) dropReadAhead(region int64) {
	ra := &v.ra
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if e := ra.entries[region]; e != nil {
		ra.dropLocked(e)
		ra.releaseLocked(e)
	}
}

func (ra *readAhead) dropLocked(e *raEntry) {
	if ra.entries[e.region] == e {
		delete(ra.entries, e.region)
	}
	e.dropped = true
}

// releaseLocked returns a dropped, finished, unused entry's buffer to the free list.
func (ra *readAhead) releaseLocked(e *raEntry) {
	if e.dropped && e.ready && e.refs == 0 && e.buf != nil {
		if len(ra.free) < raEntries {
			ra.free = append(ra.free, e.buf[:cap(e.buf)])
		}
		e.buf = nil
	}
}

// afterRead records a completed read of [off, end) and, when it continues a sequential stream,
// starts reading the next regions ahead. The caller holds no region lock.
func (v *VirtualDisk) afterRead(off, end int64) {
	ra := &v.ra
	if ra.disabled.Load() {
		return
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	ra.tick++
	st := &ra.streams[0]
	found := false
	for i := range ra.streams {
		s := &ra.streams[i]
		if s.run > 0 && s.end == off {
			st, found = s, true
			break
		}
		if s.used < st.used {
			st = s // least recently used: replaced by a new stream
		}
	}
	if found {
		st.run += end - off
	} else {
		st.run = end - off
	}
	st.end, st.used = end, ra.tick
	// Only a continuing stream: one large read on its own says nothing about the next.
	if !found || st.run < v.regionSize || ra.disabled.Load() {
		return
	}
	if ra.entries == nil {
		ra.entries = map[int64]*raEntry{}
	}
	// The region holding end (when end is inside one) and the ones after it, up to raDepth.
	first := end / v.regionSize
	for r := first; r < first+raDepth && r*v.regionSize < v.size; r++ {
		if ra.entries[r] != nil {
			continue
		}
		n := min(v.regionSize, v.size-r*v.regionSize)
		if len(ra.entries) >= raEntries && !ra.evictLocked() {
			return
		}
		l := v.lock(r)
		if !l.TryRLock() {
			return // a writer is at the region: do not wait for it, and do not read ahead of it
		}
		s := v.slabs[r*v.regionSize/v.slabSize]
		if s.unallocated() {
			l.RUnlock()
			return // reads as zeros without I/O
		}
		var buf []byte
		if k := len(ra.free); k > 0 && int64(cap(ra.free[k-1])) >= n {
			buf, ra.free = ra.free[k-1][:n], ra.free[:k-1]
		} else {
			buf = alignedBuffer(int(n))
		}
		e := &raEntry{region: r, buf: buf, done: make(chan struct{}), used: ra.tick}
		ra.entries[r] = e
		ra.inflight.Add(1)
		v.pool.stats.raRegions.Add(1)
		go v.prefetch(e, s, l)
	}
}

// evictLocked drops the least recently used finished entry nobody is reading, and reports whether
// there was one.
func (ra *readAhead) evictLocked() bool {
	var victim *raEntry
	for _, e := range ra.entries {
		if e.ready && e.refs == 0 && (victim == nil || e.used < victim.used) {
			victim = e
		}
	}
	if victim == nil {
		return false
	}
	ra.dropLocked(victim)
	ra.releaseLocked(victim)
	return true
}

// prefetch reads and verifies e's region (healing bad copies as any read does), then releases the
// region's read lock, taken when the prefetch was issued. Consecutive regions are read from
// alternate copies: several are in flight at once, and copies on distinct devices then serve
// them side by side (a direct read keeps one copy per slab, so a lone stream stays on one disk).
func (v *VirtualDisk) prefetch(e *raEntry, s *slab, l *sync.RWMutex) {
	defer v.ra.inflight.Done()
	v.pool.fg.begin()
	err := s.readVerified(e.buf, e.region*v.regionSize-s.index*v.slabSize, e.region)
	v.pool.fg.end()
	ra := &v.ra
	ra.mu.Lock()
	e.err, e.ready = err, true
	close(e.done)
	ra.releaseLocked(e)
	ra.mu.Unlock()
	// Only now: a writer that takes the region's lock finds the entry finished.
	l.RUnlock()
}
