package function

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
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
