// Package test holds sofs's integration tests: real sofsd processes on loopback, driven by real
// clients (Samba's smbclient and smbtorture, the go-smb2 library) and compared with a real Samba.
package test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	smb2 "github.com/hirochachacha/go-smb2"
)

// binDir holds sofsd and sofsctl: $SOFS_BIN (make test builds there) or a fresh build.
var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		binDir = os.Getenv("SOFS_BIN")
		if binDir == "" {
			dir, err := os.MkdirTemp("", "sofs-bin-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			build := exec.Command("go", "build", "-o", dir+"/", "../cmd/sofsd", "../cmd/sofsctl")
			build.Stdout, build.Stderr = os.Stdout, os.Stderr
			if err := build.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "building binaries:", err)
				return 1
			}
			binDir = dir
		}
		return m.Run()
	}()
	os.Exit(code)
}

// testUser and testPass are the credentials every test server accepts.
const (
	testUser = "alice"
	testPass = "S3cret-Passw0rd"
)

// sofsd is one running `sofsd standalone` process.
type sofsd struct {
	Addr  string // host:port it listens on
	Host  string
	Port  string
	Share string // share name
	Dir   string // directory behind the share
	cmd   *exec.Cmd
	log   *syncBuffer
	done  chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// makeUsers writes a user database with testUser through the real sofsctl.
func makeUsers(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "users")
	cmd := exec.Command(filepath.Join(binDir, "sofsctl"), "user", "add", "--file", path, testUser)
	cmd.Stdin = strings.NewReader(testPass + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sofsctl user add: %v\n%s", err, out)
	}
	return path
}

var listenRE = regexp.MustCompile(`msg="serving SMB" addr=([0-9.:]+)`)

// startSofsd starts a standalone server with one share "data" on a fresh directory, listening
// on an ephemeral loopback port, and stops it when the test ends.
func startSofsd(t testing.TB, extraArgs ...string) *sofsd {
	t.Helper()
	share := filepath.Join(t.TempDir(), "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	return startSofsdShare(t, share, extraArgs...)
}

// startSofsdShare starts a standalone server whose share "data" is backend (a directory, or
// "csv:PATH" for a volume).
func startSofsdShare(t testing.TB, backend string, extraArgs ...string) *sofsd {
	t.Helper()
	return startSofsdVia(t, nil, []string{"127.0.0.1:0"}, backend, extraArgs...)
}

// startSofsdVia starts sofsd through the command prefix via (e.g. `ip netns exec NS`; none for
// the host) listening on the given addresses; Addr is the first one it reports.
func startSofsdVia(t testing.TB, via []string, listen []string, backend string, extraArgs ...string) *sofsd {
	t.Helper()
	tmp := t.TempDir()
	share := backend
	users := makeUsers(t, tmp)
	args := []string{"standalone"}
	for _, l := range listen {
		args = append(args, "--listen", l)
	}
	args = append(append(args, "--users", users, "--share", "data="+backend, "--name", "SOFSTEST"), extraArgs...)
	argv := append(append(append([]string(nil), via...), filepath.Join(binDir, "sofsd")), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	logBuf := &syncBuffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(logBuf, pw)
	cmd.Stdout = logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &sofsd{Share: "data", Dir: share, cmd: cmd, log: logBuf, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case s.Addr = <-addrc:
	case err := <-s.done:
		t.Fatalf("sofsd exited at start: %v\n%s", err, logBuf.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("sofsd did not start listening\n%s", logBuf.String())
	}
	s.Host, s.Port, _ = net.SplitHostPort(s.Addr)
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("sofsd log:\n%s", tail(logBuf.String(), 60))
		}
	})
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *sofsd) stop(t testing.TB) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("sofsd did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("sofsd ignored SIGINT for 15 s")
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// smbclient runs Samba's smbclient against the server with a bounded time and returns its
// combined output; extra are options such as "-m", "SMB3".
func smbclient(t testing.TB, s *sofsd, commands string, extra ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args := append([]string{"//" + s.Host + "/" + s.Share, "-p", s.Port, "-U", testUser + "%" + testPass}, extra...)
	if commands != "" {
		args = append(args, "-c", commands)
	}
	cmd := exec.CommandContext(ctx, "smbclient", args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustSmbclient is smbclient that fails the test on a non-zero exit or an NT_STATUS error.
func mustSmbclient(t testing.TB, s *sofsd, commands string, extra ...string) string {
	t.Helper()
	out, err := smbclient(t, s, commands, extra...)
	if err != nil || strings.Contains(out, "NT_STATUS_") {
		t.Fatalf("smbclient -c %q %v: %v\n%s", commands, extra, err, out)
	}
	return out
}

// dialGoSMB2 connects the go-smb2 client with the given dialect (0 = highest) and signing.
func dialGoSMB2(t testing.TB, s *sofsd, dialect uint16, requireSigning bool) (*smb2.Session, *smb2.Share) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := &smb2.Dialer{
		Negotiator: smb2.Negotiator{RequireMessageSigning: requireSigning, SpecifiedDialect: dialect},
		Initiator:  &smb2.NTLMInitiator{User: testUser, Password: testPass},
	}
	sess, err := d.Dial(conn)
	if err != nil {
		conn.Close()
		t.Fatalf("go-smb2 dial (dialect %#x): %v", dialect, err)
	}
	fs, err := sess.Mount(s.Share)
	if err != nil {
		sess.Logoff()
		t.Fatalf("go-smb2 mount: %v", err)
	}
	t.Cleanup(func() {
		fs.Umount()
		sess.Logoff()
	})
	return sess, fs
}
