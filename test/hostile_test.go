package test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	smb2 "github.com/hirochachacha/go-smb2"
)

// recordingConn sits between go-smb2 and the server: it records every request frame the client
// sends and counts the credits the server grants, so a test can take the connection over and
// keep sending messages with valid message ids.
type recordingConn struct {
	net.Conn
	mu       sync.Mutex
	out      bytes.Buffer // client → server bytes not yet split into frames
	frames   [][]byte     // recorded request frames (SMB2 messages, without the 4-byte header)
	nextID   uint64       // one past the highest message id the client used
	granted  uint64       // credits granted by the server so far (window high = 1 + granted)
	in       bytes.Buffer
	takeOver bool
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(p)
	for c.out.Len() >= 4 {
		b := c.out.Bytes()
		n := int(binary.BigEndian.Uint32(b) & 0xFFFFFF)
		if len(b) < 4+n {
			break
		}
		frame := append([]byte(nil), b[4:4+n]...)
		c.out.Next(4 + n)
		if len(frame) >= 64 && bytes.HasPrefix(frame, []byte("\xfeSMB")) {
			c.frames = append(c.frames, frame)
			id := binary.LittleEndian.Uint64(frame[24:])
			charge := uint64(binary.LittleEndian.Uint16(frame[6:]))
			if charge == 0 {
				charge = 1
			}
			if id+charge > c.nextID {
				c.nextID = id + charge
			}
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.in.Write(p[:n])
	c.countGrants()
	c.mu.Unlock()
	return n, err
}

// countGrants adds up CreditResponse over complete server frames (compounds included).
func (c *recordingConn) countGrants() {
	for c.in.Len() >= 4 {
		b := c.in.Bytes()
		n := int(binary.BigEndian.Uint32(b) & 0xFFFFFF)
		if len(b) < 4+n {
			return
		}
		frame := b[4 : 4+n]
		for len(frame) >= 64 && bytes.HasPrefix(frame, []byte("\xfeSMB")) {
			c.granted += uint64(binary.LittleEndian.Uint16(frame[14:]))
			next := binary.LittleEndian.Uint32(frame[20:])
			if next == 0 || int(next) >= len(frame) {
				break
			}
			frame = frame[next:]
		}
		c.in.Next(4 + n)
	}
}

// mutate returns a damaged copy of a real request: flipped bytes, truncation, extension, or
// hostile values in the fields decoders trust most (sizes, offsets, lengths).
func mutate(rng *rand.Rand, msg []byte) []byte {
	m := append([]byte(nil), msg...)
	switch rng.Intn(6) {
	case 0: // flip bytes in the body
		for i := 0; i < 1+rng.Intn(8); i++ {
			if len(m) > 64 {
				m[64+rng.Intn(len(m)-64)] ^= byte(1 + rng.Intn(255))
			}
		}
	case 1: // truncate
		m = m[:rng.Intn(len(m)+1)]
	case 2: // extend with junk
		junk := make([]byte, rng.Intn(512))
		rng.Read(junk)
		m = append(m, junk...)
	case 3: // hostile 16/32-bit values at random even offsets of the body (offsets, lengths)
		for i := 0; i < 1+rng.Intn(4); i++ {
			if len(m) > 68 {
				off := 64 + 2*rng.Intn((len(m)-66)/2)
				vals := []uint32{0, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, uint32(len(m)), uint32(len(m) + 1), 64}
				v := vals[rng.Intn(len(vals))]
				if off+4 <= len(m) && rng.Intn(2) == 0 {
					binary.LittleEndian.PutUint32(m[off:], v)
				} else {
					binary.LittleEndian.PutUint16(m[off:], uint16(v))
				}
			}
		}
	case 4: // damage the header: command, flags, next command, structure size
		fields := []int{4, 12, 16, 20, 36, 64}
		f := fields[rng.Intn(len(fields))]
		if f+2 <= len(m) {
			binary.LittleEndian.PutUint16(m[f:], uint16(rng.Intn(0x10000)))
		}
	case 5: // a compound of two copies with a bogus NextCommand
		if len(m) >= 64 {
			binary.LittleEndian.PutUint32(m[20:], uint32(rng.Intn(len(m)+64)))
			m = append(m, msg...)
		}
	}
	return m
}

// TestHostileMessages sends thousands of mutated real client messages at a running server over
// authenticated connections, then checks that the server process is alive, its memory bounded,
// and that well-behaved clients are still served correctly.
func TestHostileMessages(t *testing.T) {
	const total = 3000
	s := startSofsd(t)
	rng := rand.New(rand.NewSource(1))
	sent, dropped := 0, 0
	deadline := time.Now().Add(90 * time.Second)
	for sent < total && time.Now().Before(deadline) {
		raw, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
		if err != nil {
			t.Fatalf("server stopped accepting after %d hostile messages: %v", sent, err)
		}
		rc := &recordingConn{Conn: raw}
		d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: testUser, Password: testPass},
			Negotiator: smb2.Negotiator{SpecifiedDialect: smb21}}
		sess, err := d.Dial(rc)
		if err != nil {
			t.Fatalf("after %d hostile messages a clean client cannot log on: %v", sent, err)
		}
		fs, err := sess.Mount(s.Share)
		if err != nil {
			t.Fatalf("mount: %v", err)
		}
		// Real traffic to learn from: every command a client commonly sends.
		_ = fs.WriteFile("seed.txt", []byte("seed data for mutation"), 0o644)
		_, _ = fs.ReadFile("seed.txt")
		_, _ = fs.ReadDir("")
		_, _ = fs.Stat("seed.txt")
		_ = fs.Rename("seed.txt", "seed2.txt")
		_ = fs.Chtimes("seed2.txt", time.Now(), time.Now())
		_ = fs.Remove("seed2.txt")
		rc.mu.Lock()
		var corpus [][]byte
		for _, f := range rc.frames {
			cmd := binary.LittleEndian.Uint16(f[12:])
			if cmd > 1 { // not NEGOTIATE / SESSION_SETUP: those are exercised by the wire fuzzers
				corpus = append(corpus, f)
			}
		}
		id, high := rc.nextID, 1+rc.granted
		rc.mu.Unlock()
		if len(corpus) == 0 {
			t.Fatal("recorded no requests to mutate")
		}
		// Take the connection over: drain responses, send mutations until the server hangs up.
		done := make(chan struct{})
		go func() {
			io.Copy(io.Discard, rc)
			close(done)
		}()
		for i := 0; i < 200 && sent < total; i++ {
			m := mutate(rng, corpus[rng.Intn(len(corpus))])
			if len(m) >= 64 {
				binary.LittleEndian.PutUint16(m[6:], 1)  // CreditCharge
				binary.LittleEndian.PutUint16(m[14:], 8) // ask for credits to keep going
				rc.mu.Lock()
				high = 1 + rc.granted
				rc.mu.Unlock()
				if id < high && rng.Intn(10) != 0 { // now and then an invalid id on purpose
					binary.LittleEndian.PutUint64(m[24:], id)
					id++
				}
			}
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], uint32(len(m)))
			raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := raw.Write(append(hdr[:], m...)); err != nil {
				dropped++
				break
			}
			sent++
		}
		raw.Close()
		<-done
	}
	if sent < total/2 {
		t.Fatalf("only %d hostile messages sent in the time allowed", sent)
	}
	t.Logf("sent %d mutated messages; server closed %d connections", sent, dropped)
	if s.cmd.ProcessState != nil {
		t.Fatalf("sofsd exited: %v", s.cmd.ProcessState)
	}
	if rss := rssKiB(t, s.cmd.Process.Pid); rss > 512<<10 {
		t.Fatalf("sofsd resident memory %d KiB after the hostile run", rss)
	}
	// A well-behaved client is still served, end to end.
	_, fs := dialGoSMB2(t, s, smb311, true)
	want := []byte("still serving after the storm")
	if err := fs.WriteFile("after.txt", want, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile("after.txt")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v", got, err)
	}
	mustSmbclient(t, s, "ls", "-m", "SMB3")
	if strings.Contains(s.log.String(), "panic") {
		t.Fatalf("server log mentions a panic:\n%s", tail(s.log.String(), 40))
	}
}

func rssKiB(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal(errors.New("no VmRSS"))
	return 0
}
