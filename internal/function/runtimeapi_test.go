package function

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// runtimeAPI starts a process that never calls the Runtime API itself, so
// that the test can speak it (see dialRuntimeAPI). Give it a Timeout far
// longer than the test may take to speak, on a loaded machine, unless the
// timeout is what the test is about.
func runtimeAPI(t *testing.T, s ProcessSettings) *Process {
	t.Helper()
	s.Env = map[string]string{"RAW_MODE": "hang"}
	return startProcess(t, "raw", s)
}

// dialRuntimeAPI connects to the Runtime API of p's process on its behalf:
// from a member of its process group (dialFromGroup), which the peer check
// lets through. The check is made once, when the connection is accepted:
// once a first request is answered the member is let go, and the
// connection is the test's alone.
func dialRuntimeAPI(t *testing.T, p *Process) *rawConn {
	t.Helper()
	p.mu.Lock()
	inst := p.instances[0]
	p.mu.Unlock()
	c, release := dialFromGroup(t, inst.ln.Addr().(*net.TCPAddr), inst.pid)
	rc := newRawConn(t, c)
	rc.send("GET /2018-06-01/runtime/probe HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := rc.read(); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("first request from the function's process group: %d, want 404", resp.StatusCode)
	}
	release()
	return rc
}

// rawConn is a client connection that writes requests by hand.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// newRawConn speaks on c, which it closes at the test's end.
func newRawConn(t *testing.T, c net.Conn) *rawConn {
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// read reads one response and its body.
func (rc *rawConn) read() (*http.Response, string) {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(hangGuard))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatal(err)
	}
	return resp, string(b)
}

func (rc *rawConn) expectClosed() {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(hangGuard))
	if b, err := rc.br.ReadByte(); err == nil {
		rc.t.Fatalf("connection still open (read %q)", b)
	}
}

const nextRequest = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"

func respond(id, body string) string {
	return fmt.Sprintf("POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body)
}

func pendingNext(p *Process) bool {
	p.mu.Lock()
	inst := p.instances[0]
	p.mu.Unlock()
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.pending != nil
}

func invokeAsync(p *Process, event string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		b, err := p.Invoke(ctx, []byte(event))
		ch <- result{b, err}
	}()
	return ch
}

// A process that hangs up while waiting in /next is forgotten at once, as
// with net/http's request contexts: its next /next is not a conflict, and
// no invocation is written to the dead connection.
func TestRuntimeAPIDisconnectWhileWaiting(t *testing.T) {
	t.Parallel()
	p := runtimeAPI(t, ProcessSettings{Timeout: time.Minute})
	c1 := dialRuntimeAPI(t, p)
	c1.send(nextRequest)
	if !eventually(hangGuard, func() bool { return pendingNext(p) }) {
		t.Fatal("/next never registered")
	}
	c2 := dialRuntimeAPI(t, p)
	c2.send(nextRequest)
	if resp, _ := c2.read(); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second /next: %d, want 409", resp.StatusCode)
	}
	c1.c.Close()
	if !eventually(hangGuard, func() bool { return !pendingNext(p) }) {
		t.Fatal("/next of a closed connection still pending")
	}
	c2.send(nextRequest)
	res := invokeAsync(p, `{"n":1}`)
	resp, body := c2.read()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if resp.StatusCode != http.StatusOK || body != `{"n":1}` || id == "" {
		t.Fatalf("event: %d %q id %q", resp.StatusCode, body, id)
	}
	if got := resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"); got != "arn:aws:lambda:us-east-1:000000000000:function:fn-raw" {
		t.Errorf("arn %q", got)
	}
	if got := resp.Header.Get("Lambda-Runtime-Trace-Id"); !strings.HasPrefix(got, "Root=1-") || !strings.HasSuffix(got, ";Sampled=0") || len(got) != len("Root=1-00000000-000000000000000000000000;Sampled=0") {
		t.Errorf("trace id %q", got)
	}
	if ms := resp.Header.Get("Lambda-Runtime-Deadline-Ms"); ms == "" {
		t.Error("no deadline")
	}
	c2.send(respond(id, `{"ok":true}`))
	if resp, _ := c2.read(); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("response: %d", resp.StatusCode)
	}
	if r := <-res; r.err != nil || string(r.payload) != `{"ok":true}` {
		t.Fatalf("invoke: %q %v", r.payload, r.err)
	}
}

func TestRuntimeAPIProtocol(t *testing.T) {
	t.Parallel()
	p := runtimeAPI(t, ProcessSettings{Timeout: time.Minute, MaxResponseBytes: 100})

	c := dialRuntimeAPI(t, p)
	c.send("GET /2018-06-01/runtime/nope HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.read(); resp.StatusCode != http.StatusNotFound || resp.Close {
		t.Errorf("unknown path: %d close=%v", resp.StatusCode, resp.Close)
	}
	c.send("POST /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	if resp, _ := c.read(); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST /next: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	c.send(respond("00000000-0000-4000-8000-000000000000", "{}"))
	if resp, _ := c.read(); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown id: %d", resp.StatusCode)
	}
	c.send("GARBAGE\r\n\r\n")
	if resp, _ := c.read(); resp.StatusCode != http.StatusBadRequest || !resp.Close {
		t.Errorf("malformed: %d close=%v", resp.StatusCode, resp.Close)
	}
	c.expectClosed()

	// A request sent behind an unanswered /next is answered after it;
	// Expect: 100-continue is honoured.
	c = dialRuntimeAPI(t, p)
	c.send(nextRequest)
	if !eventually(hangGuard, func() bool { return pendingNext(p) }) {
		t.Fatal("/next never registered")
	}
	c.send("GET /2018-06-01/runtime/other HTTP/1.1\r\nHost: x\r\n\r\n")
	res := invokeAsync(p, `"pipelined"`)
	resp, body := c.read()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if resp.StatusCode != http.StatusOK || body != `"pipelined"` {
		t.Fatalf("event: %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.read(); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("pipelined request: %d", resp.StatusCode)
	}
	c.send(fmt.Sprintf("POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\n"+
		"Expect: 100-continue\r\nContent-Length: 4\r\n\r\n", id))
	if resp, _ := c.read(); resp.StatusCode != http.StatusContinue {
		t.Fatalf("expected 100 Continue, got %d", resp.StatusCode)
	}
	c.send("true")
	if resp, _ := c.read(); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("response: %d", resp.StatusCode)
	}
	if r := <-res; r.err != nil || string(r.payload) != "true" {
		t.Fatalf("invoke: %q %v", r.payload, r.err)
	}

	// Over MaxResponseBytes: 413, the invocation fails, the connection
	// closes. Chunked, as aws-lambda-go sends it.
	c.send(nextRequest)
	res = invokeAsync(p, `{}`)
	resp, _ = c.read()
	id = resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	big := `"` + strings.Repeat("x", 200) + `"`
	c.send(fmt.Sprintf("POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", id, len(big), big))
	if resp, _ := c.read(); resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Fatalf("oversize: %d close=%v", resp.StatusCode, resp.Close)
	}
	if r := <-res; !errors.Is(r.err, ErrTooLarge) {
		t.Fatalf("oversize invoke: %v", r.err)
	}
	c.expectClosed()

	// HTTP/1.0 without keep-alive: answered, then closed.
	c = dialRuntimeAPI(t, p)
	c.send("GET /nope HTTP/1.0\r\n\r\n")
	if resp, _ := c.read(); resp.StatusCode != http.StatusNotFound || !resp.Close {
		t.Fatalf("HTTP/1.0: %d close=%v", resp.StatusCode, resp.Close)
	}
	c.expectClosed()
}

// Errors reported through /error, with the type in a header.
func TestRuntimeAPIErrorReport(t *testing.T) {
	t.Parallel()
	p := runtimeAPI(t, ProcessSettings{Timeout: time.Minute})
	c := dialRuntimeAPI(t, p)
	c.send(nextRequest)
	res := invokeAsync(p, `{}`)
	resp, _ := c.read()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	body := `{"errorMessage":"Unauthorized","errorType":"errorString"}`
	c.send(fmt.Sprintf("POST /2018-06-01/runtime/invocation/%s/error HTTP/1.1\r\nHost: x\r\n"+
		"Lambda-Runtime-Function-Error-Type: errorString\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body))
	if resp, _ := c.read(); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("error report: %d", resp.StatusCode)
	}
	var fe *Error
	if r := <-res; !errors.As(r.err, &fe) || fe.Message != "Unauthorized" || fe.Type != "errorString" {
		t.Fatalf("got %v", r.err)
	}
}

// A process that stops reading its events cannot hold up Invoke's callers
// beyond their contexts: events go out with non-blocking writes, small ones
// from Invoke's goroutine, large ones from a goroutine of their own.
//
// The process asks for event after event without reading any, until its
// connection can take no more. No clock decides when that is: an
// invocation is let go (its context cancelled) only once it is held (queued,
// or handed to the process) and the gateway's end of the connection cannot
// be written to; the process's reading buffer and the gateway's writing
// buffer are shrunk to a few KiB, so that this comes within a few events.
// The three invocations from then on must each return with their context's
// error; a write that blocked Invoke's caller would hold it for good, which
// the hang guard turns into a failure.
func TestRuntimeAPIProcessNotReading(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		size int // the event's length in bytes
	}{
		{"copied and written by Invoke", copyEventMax},
		{"written by a goroutine", copyEventMax + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The execution timeout would kill the process and close the
			// connection: it is far away.
			p := runtimeAPI(t, ProcessSettings{Timeout: time.Hour})
			c := dialRuntimeAPI(t, p)
			if err := c.c.(*net.TCPConn).SetReadBuffer(4096); err != nil {
				t.Fatal(err)
			}
			gw := gatewayEnd(t, p)
			if err := gw.SetWriteBuffer(4096); err != nil {
				t.Fatal(err)
			}
			// Asking again without reading is allowed (it fails the previous
			// invocation), so the events pile up unread. 1,024 events of
			// 16 KiB are far more than any socket buffer holds.
			const maxEvents = 1024
			c.send(strings.Repeat(nextRequest, maxEvents+1))
			event := []byte(`"` + strings.Repeat("x", tc.size-2) + `"`)

			held := 0 // consecutive invocations let go by their context
			for i := 0; held < 3; i++ {
				if i == maxEvents {
					t.Fatalf("%d events went out to a process that reads none", i)
				}
				before := currentInvocation(p)
				ctx, cancel := context.WithCancel(context.Background())
				res := make(chan error, 1)
				go func() {
					_, err := p.Invoke(ctx, event)
					res <- err
				}()
				var err error
				func() {
					defer cancel()
					for deadline := time.Now().Add(hangGuard); ; time.Sleep(time.Millisecond) {
						select {
						case err = <-res:
							return
						default:
						}
						if time.Now().After(deadline) {
							t.Fatalf("invocation %d: neither answered nor held after %v", i, hangGuard)
						}
						if (queued(p) || currentInvocation(p) != before) && !writable(t, gw) {
							cancel() // held by a process that reads nothing
							select {
							case err = <-res:
							case <-time.After(hangGuard):
								t.Fatalf("invocation %d: Invoke still held %v after its context was cancelled", i, hangGuard)
							}
							return
						}
					}
				}()
				switch {
				case errors.Is(err, ErrInvalidResponse): // its event went out whole
					held = 0
				case errors.Is(err, context.Canceled):
					held++
				default:
					t.Fatalf("invocation %d: %v", i, err)
				}
			}
		})
	}
}

// gatewayEnd is the gateway's end of the only Runtime API connection of p's
// process.
func gatewayEnd(t *testing.T, p *Process) *net.TCPConn {
	t.Helper()
	p.mu.Lock()
	inst := p.instances[0]
	p.mu.Unlock()
	var c net.Conn
	if !eventually(hangGuard, func() bool {
		inst.mu.Lock()
		defer inst.mu.Unlock()
		for rc := range inst.conns {
			c = rc.c
		}
		return len(inst.conns) == 1
	}) {
		t.Fatal("the Runtime API connection was never accepted")
	}
	return c.(*net.TCPConn)
}

// currentInvocation is the invocation p's process holds, or nil.
func currentInvocation(p *Process) *invocation {
	p.mu.Lock()
	inst := p.instances[0]
	p.mu.Unlock()
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.current
}

// queued reports whether an invocation waits in p's queue.
func queued(p *Process) bool {
	p.disp.mu.Lock()
	defer p.disp.mu.Unlock()
	return p.disp.queue.Len() > 0
}

// writable reports whether c's socket would take more bytes now.
func writable(t *testing.T, c *net.TCPConn) bool {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	err = raw.Control(func(fd uintptr) {
		for {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			n, err := unix.Poll(fds, 0)
			if err == unix.EINTR {
				continue
			}
			ok = err == nil && n > 0 && fds[0].Revents&unix.POLLOUT != 0
			return
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// Events too large to go out in one write from Invoke's goroutine, both
// straight to an idle process and from the queue.
func TestProcessLargeEvents(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "echo", ProcessSettings{})
	for _, n := range []int{copyEventMax - 2, copyEventMax + 1, 1 << 20} {
		event := `"` + strings.Repeat("y", n) + `"`
		for range 3 {
			got, err := invoke(t, p, event)
			if err != nil || string(got) != event {
				t.Fatalf("%d bytes: %d bytes back, %v", len(event), len(got), err)
			}
		}
	}
}
