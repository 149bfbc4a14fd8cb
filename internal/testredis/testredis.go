// Package testredis runs real redis-server processes for tests: a server
// on a free loopback port with no persistence, which a test can kill and
// start again on the same port, and a Sentinel watching it; Traffic
// counts what a client sends; WaitFor waits for replicas to converge. It
// is test support, used from _test.go files only.
package testredis

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
)

// Server is one redis-server process (or Sentinel) owned by a test.
type Server struct {
	Addr string
	bin  string
	args []string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Binary returns redis-server's path, skipping (or failing under `make
// test`) when it is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	return testbin.Tool(t, "PORTCULLIS_REDIS_SERVER", "redis-server", "Debian package redis-server")
}

// Start runs redis-server on a free port; it is killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startServer(t, nil)
}

// startServer runs redis-server on a free port, without persistence, in a
// temporary directory, with the arguments extra gives for that directory
// after the common ones; it is killed when the test ends.
func startServer(t testing.TB, extra func(dir string) []string) *Server {
	t.Helper()
	bin := Binary(t)
	port := freePort(t)
	dir := t.TempDir()
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		bin:  bin, dir: dir,
		args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no"},
	}
	if extra != nil {
		s.args = append(s.args, extra(dir)...)
	}
	s.start(t)
	t.Cleanup(s.Kill)
	return s
}

// StartSentinel runs a Sentinel that watches primary under the name master.
func StartSentinel(t testing.TB, master string, primary *Server) *Server {
	t.Helper()
	bin := Binary(t)
	port := freePort(t)
	dir := t.TempDir()
	host, pport, _ := net.SplitHostPort(primary.Addr)
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %s 1000\n", port, dir, master, host, pport, master)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, dir: dir, args: []string{conf, "--sentinel"}}
	s.start(t)
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	log, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	// Hang guard, not a speed limit: a started redis-server answers PING
	// within milliseconds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ping(s.Addr) {
			return
		}
		select {
		case <-s.done:
			out, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			t.Fatalf("redis-server %v exited:\n%s", s.args, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer PING", s.Addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitFor polls cond until it holds: for what replicas sharing a Redis
// converge on (a change pushed, a lost key written back, a subscription
// back). The bound only stops a test that hangs; it is no speed limit.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for guard := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(guard) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// Kill ends the process with SIGKILL and waits for it (idempotent).
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart starts the killed server again on the same port, empty.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	s.start(t)
}

// Command runs one command over a fresh connection and returns its reply:
// a status, error or integer line as it is (without CRLF), a bulk string's
// contents; an array's first line only.
func (s *Server) Command(t testing.TB, args ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSpace(line)
	if n, err := strconv.Atoi(strings.TrimPrefix(line, "$")); strings.HasPrefix(line, "$") && err == nil && n >= 0 {
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	return line
}

// StartCluster runs a one-node Redis Cluster holding every slot: real
// Cluster protocol (CLUSTER SLOTS, MOVED-aware clients) on one process.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	return StartClusterNodes(t, 1)[0]
}

// StartClusterNodes runs a Redis Cluster of n primaries (no replicas), the
// slots split evenly between them in order, so that keys land on
// different processes.
func StartClusterNodes(t testing.TB, n int) []*Server {
	t.Helper()
	nodes := make([]*Server, n)
	for i := range nodes {
		nodes[i] = startServer(t, func(dir string) []string {
			return []string{"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf")}
		})
		first, last := i*16384/n, (i+1)*16384/n-1
		if got := nodes[i].Command(t, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(first), strconv.Itoa(last)); got != "+OK" {
			t.Fatalf("CLUSTER ADDSLOTSRANGE: %s", got)
		}
		if i > 0 {
			host, port, _ := net.SplitHostPort(nodes[i].Addr)
			if got := nodes[0].Command(t, "CLUSTER", "MEET", host, port); got != "+OK" {
				t.Fatalf("CLUSTER MEET: %s", got)
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second) // hang guard
	for _, s := range nodes {
		for !strings.Contains(s.Command(t, "CLUSTER", "INFO"), "cluster_state:ok") ||
			!strings.Contains(s.Command(t, "CLUSTER", "INFO"), "cluster_known_nodes:"+strconv.Itoa(n)+"\r") {
			if time.Now().After(deadline) {
				t.Fatalf("the %d-node cluster did not reach cluster_state:ok", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
