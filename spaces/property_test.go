package spaces

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// setRapidDefaults raises rapid's check count unless given on the command line: a few hundred
// sequences by default, thousands with SOFS_LONG=1.
func setRapidDefaults(checks, longChecks int) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["rapid.checks"] {
		n := checks
		if os.Getenv("SOFS_LONG") != "" {
			n = longChecks
		}
		flag.Set("rapid.checks", fmt.Sprint(n))
	}
	if !set["rapid.steps"] {
		flag.Set("rapid.steps", "40")
	}
}

const (
	propBlocks   = 1024 // 4 MiB mirror virtual disk: 4 slabs, 16 regions
	propDiskSize = 8 << 20
	propMaxDisks = 7
)

// blockVal identifies the contents of one model block: pattern(seed, block) or zeros for seed 0.
type blockVal uint64

func blockContent(seed blockVal, block int64) []byte {
	if seed == 0 {
		return make([]byte, BlockSize)
	}
	return pattern(uint64(seed), block*BlockSize, BlockSize)
}

// modelBlock holds what a block may read as now (cur) and what it may read as after a crash
// (sinceFlush: its durable value and every value written since).
type modelBlock struct {
	cur, sinceFlush map[blockVal]bool
}

type spacesMachine struct {
	t        *rapid.T
	rng      *rand.Rand
	mems     []*MemDevice
	devs     []*FaultyDevice
	pool     *Pool
	vd       *VirtualDisk
	model    []modelBlock
	nextSeed blockVal
	pulled   map[int]bool // disks pulled and not returned
	wt       bool
	// corrupted holds blocks with one silently corrupted copy not yet rewritten or scrubbed (a read
	// heals only the copy it happens to read):
	// the model corrupts a second copy of none of them and pulls no disk while any exist, so a
	// good copy always survives.
	corrupted map[int64]bool
	// overwritten holds formerly corrupted blocks rewritten since the last flush: a crash now could
	// leave one copy corrupt-old and the other new, neither matching the durable checksum (a double
	// fault), so the machine does not crash until a flush.
	overwritten map[int64]bool
	lastEnd     int64 // block after the last read
}

func one(v blockVal) map[blockVal]bool { return map[blockVal]bool{v: true} }

func newSpacesMachine(t *rapid.T) *spacesMachine {
	m := &spacesMachine{t: t, pulled: map[int]bool{}, nextSeed: 1, corrupted: map[int64]bool{}, overwritten: map[int64]bool{}}
	m.rng = rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
	ndisks := rapid.IntRange(2, 5).Draw(t, "disks")
	m.mems, m.devs = memDisks(ndisks, propDiskSize)
	opts := testCreateOpts(1)
	p, err := CreatePool(asDevices(m.devs), opts)
	if err != nil {
		t.Fatal(err)
	}
	res := Mirror
	if ndisks >= 3 && rapid.Bool().Draw(t, "mirror3") {
		res = Mirror3
	}
	create := p.CreateVirtualDisk
	if rapid.Bool().Draw(t, "thin") {
		create = p.CreateThinVirtualDisk // slabs allocated by first writes, released by trims
	}
	v, err := create("vd", propBlocks*BlockSize, res)
	if err != nil {
		t.Fatal(err)
	}
	m.pool, m.vd = p, v
	m.model = make([]modelBlock, propBlocks)
	for i := range m.model {
		m.model[i] = modelBlock{cur: one(0), sinceFlush: one(0)}
	}
	return m
}

func (m *spacesMachine) write(t *rapid.T) {
	start := rapid.Int64Range(0, propBlocks-1).Draw(t, "block")
	n := rapid.Int64Range(1, min(96, propBlocks-start)).Draw(t, "nblocks")
	seed := m.nextSeed
	m.nextSeed++
	buf := make([]byte, 0, n*BlockSize)
	for b := start; b < start+n; b++ {
		buf = append(buf, blockContent(seed, b)...)
	}
	if _, err := m.vd.WriteAt(buf, start*BlockSize); err != nil {
		t.Fatalf("write blocks %d+%d (pulled %v): %v", start, n, m.pulled, err)
	}
	for b := start; b < start+n; b++ {
		if m.corrupted[b] && !m.wt {
			m.overwritten[b] = true
		}
		delete(m.corrupted, b)
		mb := &m.model[b]
		mb.cur = one(seed)
		if m.wt {
			mb.sinceFlush = one(seed) // durable before WriteAt returned
		} else {
			mb.sinceFlush[seed] = true
		}
	}
}

// trim discards a range: a random one, or (half the time) whole slabs, which a thin disk
// releases. For the model it is a write of zeros: durable at once with write-through (and a
// release always is), else by the next flush.
func (m *spacesMachine) trim(t *rapid.T) {
	slabBlocks := m.vd.slabSize / BlockSize
	var start, n int64
	if rapid.Bool().Draw(t, "wholeSlabs") {
		first := rapid.Int64Range(0, propBlocks/slabBlocks-1).Draw(t, "slab")
		start = first * slabBlocks
		n = rapid.Int64Range(1, propBlocks/slabBlocks-first).Draw(t, "nslabs") * slabBlocks
	} else {
		start = rapid.Int64Range(0, propBlocks-1).Draw(t, "block")
		n = rapid.Int64Range(1, min(300, propBlocks-start)).Draw(t, "nblocks")
	}
	if err := m.vd.Trim(start*BlockSize, n*BlockSize); err != nil {
		t.Fatalf("trim blocks %d+%d (pulled %v): %v", start, n, m.pulled, err)
	}
	for b := start; b < start+n; b++ {
		if m.corrupted[b] && !m.wt {
			m.overwritten[b] = true
		}
		delete(m.corrupted, b)
		mb := &m.model[b]
		mb.cur = one(0)
		if m.wt {
			mb.sinceFlush = one(0)
		} else {
			mb.sinceFlush[0] = true
		}
	}
}

func (m *spacesMachine) read(t *rapid.T) {
	start := rapid.Int64Range(0, propBlocks-1).Draw(t, "block")
	n := rapid.Int64Range(1, min(128, propBlocks-start)).Draw(t, "nblocks")
	m.readRange(t, start, n)
}

// readOn continues a sequential stream from where the last read ended, so the virtual disk's
// read-ahead has entries in flight and in memory while the other actions write, trim, corrupt,
// pull and crash around them.
func (m *spacesMachine) readOn(t *rapid.T) {
	start := m.lastEnd % propBlocks
	n := rapid.Int64Range(1, min(128, propBlocks-start)).Draw(t, "nblocks")
	m.readRange(t, start, n)
}

func (m *spacesMachine) readRange(t *rapid.T, start, n int64) {
	m.lastEnd = start + n
	buf := make([]byte, n*BlockSize)
	if _, err := m.vd.ReadAt(buf, start*BlockSize); err != nil {
		t.Fatalf("read blocks %d+%d (pulled %v): %v", start, n, m.pulled, err)
	}
	for b := start; b < start+n; b++ {
		got := buf[(b-start)*BlockSize : (b-start+1)*BlockSize]
		mb := &m.model[b]
		var match blockVal
		found := false
		for v := range mb.cur {
			if bytes.Equal(got, blockContent(v, b)) {
				match, found = v, true
				break
			}
		}
		if !found {
			t.Fatalf("block %d reads as none of the %d values it may hold (%v)", b, len(mb.cur), mb.cur)
		}
		if len(mb.cur) > 1 {
			// Resolved after a crash; resync made it durable at open.
			mb.cur, mb.sinceFlush = one(match), one(match)
		}
	}
}

func (m *spacesMachine) flush(t *rapid.T) {
	if err := m.vd.Flush(); err != nil {
		t.Fatalf("flush (pulled %v): %v", m.pulled, err)
	}
	clear(m.overwritten)
	for i := range m.model {
		mb := &m.model[i]
		mb.sinceFlush = map[blockVal]bool{}
		for v := range mb.cur {
			mb.sinceFlush[v] = true
		}
	}
}

func (m *spacesMachine) writeThrough(t *rapid.T) {
	m.wt = !m.wt
	m.vd.SetWriteThrough(m.wt)
}

// crash drops the pool without flushing, loses a random subset of unsynced blocks on every disk,
// and reopens.
func (m *spacesMachine) crash(t *rapid.T) {
	if len(m.overwritten) > 0 {
		t.Skip("a corrupt block has an unflushed overwrite")
	}
	// A crashed process does no more I/O: its prefetches must not heal a device the next open uses.
	m.vd.closeReadAhead()
	for _, mem := range m.mems {
		mem.Crash(m.rng)
	}
	open := func() (*Pool, error) {
		return OpenPool(asDevices(m.devs), OpenOptions{Owner: OwnerToken{NodeID: "n1", Epoch: 1}, Logf: func(string, ...any) {}})
	}
	p, err := open()
	if unrecorded := m.unrecordedPulls(); errors.Is(err, ErrNoMajority) && len(unrecorded) > 0 {
		// A disk vanished and the pool crashed before recording it: the present disks cannot
		// tell whether the absent one holds newer metadata (in a 2-disk mirror they never can),
		// so the open is refused until it returns.
		for _, i := range unrecorded {
			m.devs[i].Return()
			delete(m.pulled, i)
		}
		p, err = open()
	}
	if err != nil {
		t.Fatalf("reopen after crash (pulled %v): %v", m.pulled, err)
	}
	// Disks absent at open are recorded failed; returning them later changes nothing.
	for i := range m.pulled {
		delete(m.pulled, i)
		m.devs[i].Return()
	}
	v, err := p.VirtualDisk("vd")
	if err != nil {
		t.Fatal(err)
	}
	v.SetWriteThrough(m.wt)
	m.pool, m.vd = p, v
	for i := range m.model {
		mb := &m.model[i]
		mb.cur = map[blockVal]bool{}
		for v := range mb.sinceFlush {
			mb.cur[v] = true
		}
	}
}

// unrecordedPulls lists pulled disks the pool has not recorded failed yet.
func (m *spacesMachine) unrecordedPulls() []int {
	var out []int
	for _, d := range m.pool.Disks() {
		if m.pulled[d.Index] && d.State != DiskFailed && d.State != DiskRemoved {
			out = append(out, d.Index)
		}
	}
	return out
}

// pull pulls a live disk when the pool can lose it: every earlier loss is recorded (losses one at
// a time, each leaving at least half of the live disks, is what the metadata rule allows — see
// commitQuorum), and every slab keeps a live copy elsewhere (no acknowledged write is then lost,
// and the virtual disk never becomes unhealthy). A 2-disk mirror loses one disk; a 3-disk pool
// loses two in turn.
func (m *spacesMachine) pull(t *rapid.T) {
	if len(m.unrecordedPulls()) > 0 || len(m.corrupted) > 0 {
		t.Skip("an earlier loss is not recorded yet, or a block has a corrupt copy")
	}
	var live []int
	for _, d := range m.pool.Disks() {
		if (d.State == DiskActive || d.State == DiskRetiring) && !m.pulled[d.Index] {
			live = append(live, d.Index)
		}
	}
	if len(live) < 2 {
		t.Skip("last live disk")
	}
	i := rapid.SampledFrom(live).Draw(t, "disk")
	for si, pl := range m.vd.Placement() {
		if len(pl) == 0 {
			continue // an unallocated slab of a thin disk: nothing to lose
		}
		other := false
		for _, c := range pl {
			other = other || (c.Live && !c.Rebuilding && c.DiskIndex != i && !m.pulled[c.DiskIndex])
		}
		if !other {
			t.Skipf("slab %d has no live copy off disk %d", si, i)
		}
	}
	m.devs[i].Pull()
	m.pulled[i] = true
}

func (m *spacesMachine) returnDisk(t *rapid.T) {
	if len(m.pulled) == 0 {
		t.Skip("no disk pulled")
	}
	var pulled []int
	for i := range m.pulled {
		pulled = append(pulled, i)
	}
	slices.Sort(pulled)
	i := rapid.SampledFrom(pulled).Draw(t, "disk")
	m.devs[i].Return()
	delete(m.pulled, i)
}

func (m *spacesMachine) repair(t *rapid.T) {
	err := m.pool.Repair(context.Background(), RepairOptions{Parallel: 2})
	if err != nil && !errors.Is(err, ErrNoSpace) {
		t.Fatalf("repair: %v", err)
	}
	if err == nil {
		if h := m.vd.Health(); h.State != Healthy {
			t.Fatalf("repair succeeded but health is %+v", h)
		}
	}
	for _, d := range m.pool.Disks() {
		if d.State == DiskFailed {
			if rerr := m.pool.RemoveFailedDisk(d.ID); rerr != nil && err == nil {
				t.Fatalf("remove failed disk after full repair: %v", rerr)
			}
			delete(m.pulled, d.Index) // gone for good; pulling it back in means nothing now
		}
	}
}

func (m *spacesMachine) scrub(t *rapid.T) {
	res, err := m.pool.Scrub(context.Background())
	if err != nil {
		t.Fatalf("scrub (pulled %v): %v", m.pulled, err)
	}
	// Resync after a crash may have healed some already, so fewer may be found; none stay bad.
	if res.HealedBlocks > res.BadBlocks {
		t.Fatalf("scrub %+v healed more than it found", res)
	}
	if len(m.pulled) == 0 {
		clear(m.corrupted)
	}
}

func (m *spacesMachine) addDisk(t *rapid.T) {
	if len(m.devs) >= propMaxDisks {
		t.Skip("enough disks")
	}
	mem := NewMemDevice(propDiskSize)
	dev := NewFaultyDevice(mem)
	if _, err := m.pool.AddDisk(dev); err != nil {
		t.Fatalf("add disk: %v", err)
	}
	m.mems = append(m.mems, mem)
	m.devs = append(m.devs, dev)
}

func (m *spacesMachine) corrupt(t *rapid.T) {
	// Silent corruption of one copy of one block that has a second live copy.
	b := rapid.Int64Range(0, propBlocks-1).Draw(t, "block")
	if m.corrupted[b] || len(m.pulled) > 0 {
		t.Skip("block already has a corrupt copy, or a disk is pulled")
	}
	// Media rot of data at rest: a block with unflushed writes is excluded, because after a crash
	// a corrupt copy and an in-flight write are indistinguishable (neither matches the durable
	// checksum) — a double fault spaces does not claim to survive.
	if mb := m.model[b]; len(mb.sinceFlush) != 1 || len(mb.cur) != 1 {
		t.Skip("block has unflushed writes")
	}
	for v := range m.model[b].cur {
		if !m.model[b].sinceFlush[v] {
			t.Skip("block has unflushed writes")
		}
	}
	m.corrupted[b] = true
	s := m.vd.slabs[b*BlockSize/m.vd.slabSize]
	copies := s.readCopies(0)
	if len(copies) < 2 {
		t.Skip("no second copy")
	}
	c := copies[rapid.IntRange(0, len(copies)-1).Draw(t, "copy")]
	mem := m.mems[c.diskIndex]
	mem.CorruptBlock(c.dataOff((b*BlockSize)%m.vd.slabSize), 17)
	mem.Sync()
}

func (m *spacesMachine) check(t *rapid.T) {
	if h := m.vd.Health(); h.State == Unhealthy {
		t.Fatalf("virtual disk unhealthy though every slab kept a live copy: %+v", h)
	}
}

func TestPropertyAcknowledgedWritesSurvive(t *testing.T) {
	setRapidDefaults(300, 3000)
	rapid.Check(t, func(t *rapid.T) {
		m := newSpacesMachine(t)
		t.Repeat(map[string]func(*rapid.T){
			"write":        m.write,
			"trim":         m.trim,
			"read":         m.read,
			"readOn":       m.readOn,
			"flush":        m.flush,
			"writeThrough": m.writeThrough,
			"crash":        m.crash,
			"pull":         m.pull,
			"return":       m.returnDisk,
			"repair":       m.repair,
			"addDisk":      m.addDisk,
			"corrupt":      m.corrupt,
			"scrub":        m.scrub,
			"":             m.check,
		})
		// Finally every block must read back as a value it may hold.
		m.readRange(t, 0, propBlocks)
	})
}
