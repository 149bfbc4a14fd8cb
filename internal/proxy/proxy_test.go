package proxy

import (
	"bufio"
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/route"
)

// TestServeFailures: how a failed exchange is answered, and recorded. A
// client that goes away must not be counted as the backend timing out,
// although it interrupts the exchange the same way.
func TestServeFailures(t *testing.T) {
	slow := newRawBackend(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		time.Sleep(3 * time.Second)
	})
	fast := newRawBackend(t, answerEach(ok2))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name    string
		backend string
		timeout time.Duration
		cancel  time.Duration // > 0: the client goes away after this long
		status  int
		failed  bool
	}{
		{"answered", fast.addr, time.Second, 0, 200, false},
		{"client gone", slow.addr, 2 * time.Second, 100 * time.Millisecond, answer.ClientClosed, true},
		{"integration timeout", slow.addr, 100 * time.Millisecond, 0, 504, true},
		{"backend refused", refused, time.Second, 0, 502, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := route.ParseTemplate("http://" + tc.backend + "/x")
			if err != nil {
				t.Fatal(err)
			}
			tr := NewTransport()
			defer tr.CloseIdleConnections()
			p := New(Options{URI: tpl, Timeout: tc.timeout, Transport: tr})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			w := httptest.NewRecorder()
			c := &Call{Params: &route.Params{}}
			start := time.Now()
			p.Serve(w, httptest.NewRequest("GET", "/x", nil).WithContext(ctx), c)
			if w.Code != tc.status || (c.Err != nil) != tc.failed {
				t.Errorf("status %d, error %v; want %d, failed %v", w.Code, c.Err, tc.status, tc.failed)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("answered after %v", d)
			}
		})
	}
}
