package function

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testlog"
)

// The Runtime API's peer check reads /proc: Linux only (peer_other.go
// serves every local connection elsewhere).

// TestRuntimeAPIRefusesOtherProcesses: the Runtime API listens on loopback
// TCP, which any local process can reach (another user, another container
// of the pod, a backend's SSRF). One that asked for the next invocation
// got the event (a Lambda authorizer's carries the caller's token) and its
// answer was taken as the function's: an Allow for anyone. A connection
// from outside the function's process group is closed unanswered; one from
// a process of the group that is not the function itself (as a child the
// function started would be) is served.
func TestRuntimeAPIRefusesOtherProcesses(t *testing.T) {
	t.Parallel()
	p := runtimeAPI(t, ProcessSettings{Timeout: time.Minute})
	p.mu.Lock()
	addr := p.instances[0].ln.Addr().String()
	p.mu.Unlock()
	nc, err := net.Dial("tcp", addr) // this test's process: not the function's
	if err != nil {
		t.Fatal(err)
	}
	c := newRawConn(t, nc)
	c.send(nextRequest)
	const event = `{"authorizationToken":"Bearer secret"}`
	res := invokeAsync(p, event)
	_ = c.c.SetReadDeadline(time.Now().Add(hangGuard))
	b, err := io.ReadAll(c.br)
	if len(b) > 0 {
		t.Fatalf("a process outside the function's group was answered:\n%s", b)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) { // reset: closed with the request unread
		t.Fatalf("the connection was not closed: %v", err)
	}

	member := dialRuntimeAPI(t, p)
	member.send(nextRequest)
	resp, body := member.read()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if resp.StatusCode != http.StatusOK || body != event || id == "" {
		t.Fatalf("a member of the function's group got %d %q, id %q; want the event", resp.StatusCode, body, id)
	}
	member.send(respond(id, `{"ok":1}`))
	if resp, _ := member.read(); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("answer: %d", resp.StatusCode)
	}
	if r := <-res; r.err != nil || string(r.payload) != `{"ok":1}` {
		t.Fatalf("invoke: %q, %v", r.payload, r.err)
	}
}

// dialFromGroup connects to the Runtime API at addr from a member of
// process group pgid that is not its leader, as a child of the function
// would: the socket is made first and handed to a process that joins the
// group (raw, which sleeps), then connected, so that when the connection
// is accepted the kernel shows the group holding its end. The test speaks
// on its own descriptor of the socket; release ends the holder, after
// which the socket is the test's alone (its Close closes the connection).
func dialFromGroup(t *testing.T, addr *net.TCPAddr, pgid int) (c net.Conn, release func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "runtime API socket")
	defer f.Close()
	holder := exec.Command(bin(t, "raw"))
	holder.Env = []string{"RAW_MODE=hang"}
	holder.ExtraFiles = []*os.File{f}
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	if err := holder.Start(); err != nil { // returns once it runs raw, holding the socket
		t.Fatal(err)
	}
	release = func() {
		_ = holder.Process.Kill()
		_ = holder.Wait()
	}
	t.Cleanup(release)
	to := &syscall.SockaddrInet4{Port: addr.Port}
	copy(to.Addr[:], addr.IP.To4())
	if err := syscall.Connect(fd, to); err != nil {
		t.Fatal(err)
	}
	c, err = net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	return c, release
}

// refusedMsg is the log line of a refused Runtime API connection.
const refusedMsg = "runtime API: refused a connection from a process outside the function's process group"

// TestRuntimeAPIRefusalsLogBounded: any local process may connect to a
// function's Runtime API as often as it likes, and every refusal was
// logged: it could fill the gateway's log. Many refusals give the first
// line and then at most one per refusalLogInterval (no clock is held to a
// speed: the bound grows with the time the test took).
func TestRuntimeAPIRefusalsLogBounded(t *testing.T) {
	t.Parallel()
	logger, logs := testlog.New()
	p := startProcess(t, "raw", ProcessSettings{Env: map[string]string{"RAW_MODE": "hang"}, Logger: logger})
	p.mu.Lock()
	addr := p.instances[0].ln.Addr().String()
	p.mu.Unlock()
	const refusals = 50
	start := time.Now()
	for i := range refusals {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// Closed unanswered: the refusal, and its line if any, are done.
		_ = c.SetReadDeadline(time.Now().Add(hangGuard))
		b, err := io.ReadAll(c)
		c.Close()
		if len(b) > 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
			t.Fatalf("connection %d: read %q, %v; want it closed unanswered", i, b, err)
		}
	}
	bound := 1 + int(time.Since(start)/refusalLogInterval)
	var lines []map[string]any
	for _, r := range logs.Records() {
		if r["msg"] == refusedMsg {
			lines = append(lines, r)
		}
	}
	if len(lines) == 0 || len(lines) > bound {
		t.Fatalf("%d refusals logged %d lines, want 1 to %d", refusals, len(lines), bound)
	}
	if first := lines[0]; fmt.Sprint(first["suppressed"]) != "0" || first["peer"] == nil || first["level"] != "WARN" {
		t.Errorf("first line %v: want a warning with the peer and suppressed 0", first)
	}
}
