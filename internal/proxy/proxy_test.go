package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/route"
	"github.com/portcullis/portcullis/internal/testbackend"
)

// TestServeFailures: how a failed exchange is answered, and recorded. A
// client that goes away must not be counted as the backend timing out,
// although it interrupts the exchange the same way.
func TestServeFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	fast := func(t *testing.T) (string, <-chan struct{}) { return testbackend.NewRaw(t, answerEach(ok2)).Addr, nil }
	silent := func(t *testing.T) (string, <-chan struct{}) { return holdingBackend(t) }
	gone := func(*testing.T) (string, <-chan struct{}) { return refused, nil }

	// Only the limit under test can end each exchange: the others are far
	// away (a minute), and the silent backend never answers. The status
	// says which one acted.
	for _, tc := range []struct {
		name    string
		backend func(*testing.T) (addr string, heard <-chan struct{})
		timeout time.Duration
		leave   bool // the client goes away once the backend has the request
		status  int
		failed  bool
	}{
		{"answered", fast, time.Minute, false, 200, false},
		{"client gone", silent, time.Minute, true, answer.ClientClosed, true},
		{"integration timeout", silent, 100 * time.Millisecond, false, 504, true},
		{"backend refused", gone, time.Minute, false, 502, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, heard := tc.backend(t)
			tpl, err := route.ParseTemplate("http://" + addr + "/x")
			if err != nil {
				t.Fatal(err)
			}
			tr := NewTransport()
			defer tr.CloseIdleConnections()
			p := New(Options{URI: tpl, Timeout: tc.timeout, Transport: tr})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.leave {
				go func() {
					select {
					case <-heard:
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			w := httptest.NewRecorder()
			c := &Call{Params: &route.Params{}}
			mustReturn(t, "Serve", func() {
				p.Serve(w, httptest.NewRequest("GET", "/x", nil).WithContext(ctx), c)
			})
			if w.Code != tc.status || (c.Err != nil) != tc.failed {
				t.Errorf("status %d, error %v; want %d, failed %v", w.Code, c.Err, tc.status, tc.failed)
			}
		})
	}
}

// TestFailCanceledContext: a request context canceled before the
// integration timeout is the client going away (499, not answered to
// anyone); canceled once the timeout has passed, it is the timeout (504).
// net/http cancels the request context when reading the client's body
// fails, and that read's deadline is the integration timeout, so a
// slow-body client's exchange can end canceled a moment before the
// context's own timer marks it timed out.
func TestFailCanceledContext(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration // from now
		status   int
	}{
		{"before the timeout", time.Minute, answer.ClientClosed},
		{"after the timeout", -time.Millisecond, http.StatusGatewayTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			w := httptest.NewRecorder()
			p := New(Options{})
			p.fail(ctx, time.Now().Add(tc.deadline), w, httptest.NewRequest("POST", "/x", nil), &Call{}, context.Canceled)
			if w.Code != tc.status {
				t.Errorf("status %d; want %d", w.Code, tc.status)
			}
		})
	}
}

// TestServeCut: a response cut short after its headers were sent is
// reported in Call.Cut with its reason. Under a net/http server Serve sets
// Abort, so that the caller can record the request before ending the
// handler with http.ErrAbortHandler; elsewhere Abort stays false. Serve
// itself never panics.
func TestServeCut(t *testing.T) {
	closes := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
	})
	trickles := tricklingBackend(t)
	// A timeout not under test is far away (a minute), so that it cannot
	// act on a loaded machine; the one under test starts at 100 ms and is
	// made longer only when it ran out before the headers arrived.
	for _, tc := range []struct {
		name, backend string
		timeout       time.Duration
		cut           string
	}{
		{"whole", testbackend.NewRaw(t, answerEach(ok2)).Addr, time.Minute, ""},
		{"backend closes mid-body", closes.Addr, time.Minute, CutBackendClosed},
		{"timeout mid-body", trickles, 100 * time.Millisecond, CutTimeout},
	} {
		tpl, err := route.ParseTemplate("http://" + tc.backend + "/x")
		if err != nil {
			t.Fatal(err)
		}
		tr := NewTransport()
		defer tr.CloseIdleConnections()

		t.Run(tc.name+"/no server", func(t *testing.T) {
			var c *Call
			timeoutAfterHeaders(t, tc.timeout, func(timeout time.Duration) int {
				p := New(Options{URI: tpl, Timeout: timeout, Transport: tr})
				w := httptest.NewRecorder()
				c = &Call{Params: &route.Params{}}
				mustReturn(t, "Serve", func() { p.Serve(w, httptest.NewRequest("GET", "/x", nil), c) })
				return w.Code
			})
			if c.Cut != tc.cut || c.Abort || (c.Err != nil) != (tc.cut != "") {
				t.Errorf("cut %q, abort %v, err %v; want cut %q, no abort", c.Cut, c.Abort, c.Err, tc.cut)
			}
		})
		t.Run(tc.name+"/server", func(t *testing.T) {
			var c Call
			var err error
			timeoutAfterHeaders(t, tc.timeout, func(timeout time.Duration) int {
				p := New(Options{URI: tpl, Timeout: timeout, Transport: tr})
				calls := make(chan Call, 1)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					c := &Call{Params: &route.Params{}}
					panicked := true
					defer func() {
						if panicked {
							c.Cut = "Serve panicked"
						}
						calls <- *c
					}()
					p.Serve(w, r, c)
					panicked = false
					if c.Abort {
						panic(http.ErrAbortHandler)
					}
				}))
				defer func() {
					srv.CloseClientConnections() // ends a Serve that hung, so that Close returns
					srv.Close()
				}()
				var status int
				mustReturn(t, "the request", func() {
					var resp *http.Response
					if resp, err = srv.Client().Get(srv.URL + "/x"); err == nil {
						status = resp.StatusCode
						_, err = io.ReadAll(resp.Body)
						resp.Body.Close()
					}
				})
				c = <-calls
				return status
			})
			if c.Cut != tc.cut || c.Abort != (tc.cut != "") {
				t.Errorf("cut %q, abort %v; want cut %q, abort %v", c.Cut, c.Abort, tc.cut, tc.cut != "")
			}
			if (err != nil) != (tc.cut != "") {
				t.Errorf("client read error %v; a cut response must look cut, a whole one whole", err)
			}
		})
	}
}

// TestServeCallerDeadline: a request whose context ends before the
// integration timeout is held to the earlier deadline, and a body cut
// there is recorded as the timeout's doing, not as the client going away.
func TestServeCallerDeadline(t *testing.T) {
	tpl, err := route.ParseTemplate("http://" + tricklingBackend(t) + "/x")
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	p := New(Options{URI: tpl, Timeout: time.Minute, Transport: tr}) // far away: only the caller's deadline can act
	var c *Call
	timeoutAfterHeaders(t, 100*time.Millisecond, func(timeout time.Duration) int {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		w := httptest.NewRecorder()
		c = &Call{Params: &route.Params{}}
		mustReturn(t, "Serve", func() { p.Serve(w, httptest.NewRequest("GET", "/x", nil).WithContext(ctx), c) })
		return w.Code
	})
	if c.Cut != CutTimeout || c.Err == nil {
		t.Errorf("cut %q, err %v; want %q with an error", c.Cut, c.Err, CutTimeout)
	}
}

// tricklingBackend answers each request with its status, headers and the
// first bytes of a body whose rest never comes: only a timeout ends it.
func tricklingBackend(t *testing.T) (addr string) {
	t.Helper()
	return testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nslow")
		io.Copy(io.Discard, r) // the rest never comes
	}).Addr
}

// timeoutAfterHeaders runs exchange with timeout, and again with twice the
// timeout each time it answered 504, up to hangGuard. A 504 means the
// timeout ran out before the backend's headers arrived, which on a loaded
// machine can take longer than a timeout short enough for a test, while a
// test of a timeout reached mid-body needs the headers first. A response
// cut mid-body keeps the status sent before the cut, so an exchange that
// reached the body is never made again: the caller checks that one.
func timeoutAfterHeaders(t *testing.T, timeout time.Duration, exchange func(timeout time.Duration) (status int)) {
	t.Helper()
	for exchange(timeout) == http.StatusGatewayTimeout && 2*timeout <= hangGuard {
		t.Logf("the %v timeout ran out before the backend's headers arrived; again with %v", timeout, 2*timeout)
		timeout *= 2
	}
}
