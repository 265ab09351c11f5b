package spaces

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test runs a concurrent write workload in a child process (this test binary re-executed
// with crashChildEnv set), SIGKILLs it mid-flight, reopens the pool and checks every write the
// child acknowledged. A write is acknowledged only after a Flush that began after it returned.

const (
	crashChildEnv = "SOFS_SPACES_CRASH_CHILD"
	crashSlot     = 2 * BlockSize // one record per slot; records span two blocks to catch tearing
	crashWriters  = 4
	crashVDSize   = 12 << 20
)

// crashRecord is [seq u64][slot u64][writer u64][payload...][crc32c u32 of everything before].
func crashRecord(slot, seq uint64, writer int, rng *rand.Rand) []byte {
	b := make([]byte, crashSlot)
	binary.LittleEndian.PutUint64(b[0:], seq)
	binary.LittleEndian.PutUint64(b[8:], slot)
	binary.LittleEndian.PutUint64(b[16:], uint64(writer))
	for i := 24; i < crashSlot-4; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	binary.LittleEndian.PutUint32(b[crashSlot-4:], crc32c(b[:crashSlot-4]))
	return b
}

func parseCrashRecord(b []byte) (slot, seq uint64, ok bool) {
	if crc32c(b[:crashSlot-4]) != binary.LittleEndian.Uint32(b[crashSlot-4:]) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[0:]), true
}

func crashDiskPaths(dir string) []string {
	var out []string
	for i := 0; i < 4; i++ {
		out = append(out, filepath.Join(dir, fmt.Sprintf("disk%d", i)))
	}
	return out
}

func openPaths(t testing.TB, paths []string) []BlockDevice {
	var devs []BlockDevice
	for _, p := range paths {
		d, err := OpenFileDevice(p)
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d)
	}
	return devs
}

// runCrashChild writes until killed. Each writer owns the slots congruent to its index.
func runCrashChild(t *testing.T, dir string) {
	p, err := OpenPool(openPaths(t, crashDiskPaths(dir)), OpenOptions{Owner: OwnerToken{NodeID: "child", Epoch: 2}})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	v, err := p.VirtualDisk("vd")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	slots := uint64(v.Size() / crashSlot)
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < crashWriters; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			var pending []string
			for seq := uint64(1); ; seq++ {
				slot := uint64(rng.IntN(int(slots/crashWriters)))*crashWriters + uint64(w)
				rec := crashRecord(slot, seq, w, rng)
				if _, err := v.WriteAt(rec, int64(slot)*crashSlot); err != nil {
					fmt.Println("ERR", err)
					os.Exit(3)
				}
				pending = append(pending, fmt.Sprintf("ACK %d %d", slot, seq))
				if seq%8 == 0 {
					if err := v.Flush(); err != nil {
						fmt.Println("ERR", err)
						os.Exit(3)
					}
					outMu.Lock()
					for _, l := range pending {
						fmt.Fprintln(out, l)
					}
					out.Flush()
					outMu.Unlock()
					pending = pending[:0]
				}
			}
		}(w)
	}
	wg.Wait()
}

func TestCrashKillResync(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		runCrashChild(t, dir)
		return
	}
	dir := t.TempDir()
	paths := crashDiskPaths(dir)
	for _, p := range paths {
		if err := CreateFileDisk(p, 16<<20); err != nil {
			t.Fatal(err)
		}
	}
	opts := testCreateOpts(1)
	opts.RegionSize = 64 << 10
	p, err := CreatePool(openPaths(t, paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateVirtualDisk("vd", crashVDSize, Mirror); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	wantAcks, limit := 3000, 30*time.Second
	if os.Getenv("SOFS_LONG") != "" {
		wantAcks, limit = 15000, 90*time.Second
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKillResync$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Bound the run: kill after wantAcks acknowledgements or the time limit, whichever is first
	// (a loaded machine may be slow; the kill is mid-workload either way).
	deadline := time.AfterFunc(limit, func() { cmd.Process.Signal(syscall.SIGKILL) })
	acked := map[uint64]uint64{} // slot -> highest acknowledged seq
	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR") {
			t.Fatalf("child: %s", line)
		}
		var slot, seq uint64
		if _, err := fmt.Sscanf(line, "ACK %d %d", &slot, &seq); err != nil {
			continue
		}
		acked[slot] = max(acked[slot], seq)
		n++
		if n == wantAcks {
			cmd.Process.Signal(syscall.SIGKILL) // mid-workload: writers are still writing
		}
	}
	deadline.Stop()
	cmd.Wait()
	if n < 100 {
		t.Fatalf("child acknowledged only %d writes before dying", n)
	}

	p2, err := OpenPool(openPaths(t, paths), testOpenOpts(t, "parent", 3))
	if err != nil {
		t.Fatal(err)
	}
	st := p2.Stats()
	v, err := p2.VirtualDisk("vd")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, crashSlot)
	for slot, seq := range acked {
		if _, err := v.ReadAt(buf, int64(slot)*crashSlot); err != nil {
			t.Fatalf("read slot %d: %v", slot, err)
		}
		gotSlot, gotSeq, ok := parseCrashRecord(buf)
		if !ok || gotSlot != slot || gotSeq < seq {
			t.Fatalf("slot %d: acknowledged seq %d, reads valid=%v slot %d seq %d", slot, seq, ok, gotSlot, gotSeq)
		}
	}
	// Both copies now agree everywhere: a scrub finds nothing to heal.
	res, err := p2.Scrub(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.BadBlocks != 0 {
		t.Fatalf("scrub after resync: %+v", res)
	}
	t.Logf("crash test: SIGKILL after %d acknowledged writes (%d slots); all verified; resync scanned %d dirty regions (%d KiB) and copied %d bytes; scrub clean",
		n, len(acked), st.ResyncRegions, st.ResyncRegions*opts.RegionSize>>10, st.ResyncBytes)
	fmt.Printf("SPACES-CRASH-RESULT acked=%d regions_resynced=%d bytes_scanned=%d bytes_copied=%d vdisk=%d\n",
		n, st.ResyncRegions, st.ResyncRegions*opts.RegionSize, st.ResyncBytes, int64(crashVDSize))
}
