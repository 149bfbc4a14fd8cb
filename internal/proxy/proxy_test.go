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

// TestServeCut: a response cut short after its headers were sent is
// reported in Call.Cut with its reason. Under a net/http server Serve
// recovers ReverseProxy's http.ErrAbortHandler panic and sets Abort, so
// the caller can record the request before ending the handler; elsewhere
// nothing panics and Abort stays false.
func TestServeCut(t *testing.T) {
	closes := newRawBackend(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
	})
	trickles := newRawBackend(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nslow")
		time.Sleep(3 * time.Second)
	})
	for _, tc := range []struct {
		name, backend string
		timeout       time.Duration
		cut           string
	}{
		{"whole", newRawBackend(t, answerEach(ok2)).addr, time.Second, ""},
		{"backend closes mid-body", closes.addr, time.Second, CutBackendClosed},
		{"timeout mid-body", trickles.addr, 100 * time.Millisecond, CutTimeout},
	} {
		tpl, err := route.ParseTemplate("http://" + tc.backend + "/x")
		if err != nil {
			t.Fatal(err)
		}
		tr := NewTransport()
		defer tr.CloseIdleConnections()
		p := New(Options{URI: tpl, Timeout: tc.timeout, Transport: tr})

		t.Run(tc.name+"/no server", func(t *testing.T) {
			c := &Call{Params: &route.Params{}}
			p.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil), c)
			if c.Cut != tc.cut || c.Abort || (c.Err != nil) != (tc.cut != "") {
				t.Errorf("cut %q, abort %v, err %v; want cut %q, no abort", c.Cut, c.Abort, c.Err, tc.cut)
			}
		})
		t.Run(tc.name+"/server", func(t *testing.T) {
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
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL + "/x")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			c := <-calls
			if c.Cut != tc.cut || c.Abort != (tc.cut != "") {
				t.Errorf("cut %q, abort %v; want cut %q, abort %v", c.Cut, c.Abort, tc.cut, tc.cut != "")
			}
			if (err != nil) != (tc.cut != "") {
				t.Errorf("client read error %v; a cut response must look cut, a whole one whole", err)
			}
		})
	}
}
