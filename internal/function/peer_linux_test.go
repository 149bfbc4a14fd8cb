package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
// from outside the function's process group is closed unanswered.
func TestRuntimeAPIRefusesOtherProcesses(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "raw", ProcessSettings{Env: map[string]string{"RAW_MODE": "hang"}, Timeout: time.Minute})
	p.mu.Lock()
	addr := p.instances[0].ln.Addr().String()
	p.mu.Unlock()
	c := dialRuntimeAPI(t, addr) // this test's process: not the function's
	c.send(nextRequest)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = p.Invoke(ctx, []byte(`{"authorizationToken":"Bearer secret"}`)) }()
	_ = c.c.SetReadDeadline(time.Now().Add(hangGuard))
	b, err := io.ReadAll(c.br)
	if len(b) > 0 {
		t.Fatalf("a process outside the function's group was answered:\n%s", b)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) { // reset: closed with the request unread
		t.Fatalf("the connection was not closed: %v", err)
	}
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
