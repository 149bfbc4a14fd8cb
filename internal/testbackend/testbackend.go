// Package testbackend holds what the request-path benchmarks of
// internal/gateway and internal/proxy stand on: a loopback backend that
// costs as little as a backend can, and a response writer that discards.
// Test code only.
package testbackend

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Raw is a loopback backend that serves each accepted connection with the
// function given to NewRaw. It stands for backends that misbehave in exact
// ways, and for the cheapest backend there is (Fixed).
type Raw struct {
	Addr     string       // its host:port
	Accepted atomic.Int32 // connections accepted so far
}

// NewRaw starts a Raw backend whose connections serve handles; it stops
// when tb ends.
func NewRaw(tb testing.TB, serve func(c net.Conn, r *bufio.Reader)) *Raw {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	b := &Raw{Addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.Accepted.Add(1)
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return b
}

// EachRequest is a NewRaw serve function that reads a connection's
// requests in turn, each with its body read whole, and hands each to
// answer, which writes the answer to c itself (a hostile one, if it likes)
// and returns false to close the connection.
func EachRequest(answer func(c net.Conn, req *http.Request) bool) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, r *bufio.Reader) {
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if !answer(c, req) {
				return
			}
		}
	}
}

// Fixed starts a loopback backend that answers every HTTP/1.1 request on a
// keep-alive connection with a fixed 200 "ok", parsing no more than it
// must (requests must have no body), so that a profile of a proxied
// benchmark shows the caller's costs rather than a backend's. It returns
// its host:port and stops when tb ends.
func Fixed(tb testing.TB) string {
	const answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	return NewRaw(tb, func(c net.Conn, r *bufio.Reader) {
		for {
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
			}
			if _, err := io.WriteString(c, answer); err != nil {
				return
			}
		}
	}).Addr
}

// DiscardWriter stands in for net/http's response writer: it keeps the
// header map and the status, drops the body and, like net/http's, accepts
// a write deadline (proxy.Serve sets one), so that a benchmark takes the
// path a served request takes rather than http.ErrNotSupported's, which
// allocates.
type DiscardWriter struct {
	H      http.Header
	Status int
}

func (w *DiscardWriter) Header() http.Header              { return w.H }
func (w *DiscardWriter) Write(b []byte) (int, error)      { return len(b), nil }
func (w *DiscardWriter) WriteHeader(code int)             { w.Status = code }
func (w *DiscardWriter) SetWriteDeadline(time.Time) error { return nil }

// Interface guard.
var _ http.ResponseWriter = (*DiscardWriter)(nil)
