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

	"github.com/portcullis/portcullis/internal/route"
)

// BenchmarkServe is one proxied GET through Serve to a loopback backend in
// the same process that answers a fixed 200 with as little parsing as it
// can, so that the figures are the proxy's and its backend client's. The
// client's request carries the headers a browser or API client sends.
func BenchmarkServe(b *testing.B) { benchmarkServe(b, context.Background()) }

// BenchmarkServeClientContext is BenchmarkServe with a request context that
// can end, as net/http's server gives every request: the exchange then
// watches it, to stop when the client goes away.
func BenchmarkServeClientContext(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchmarkServe(b, ctx)
}

func benchmarkServe(b *testing.B, ctx context.Context) {
	backend := fixedBackend(b)
	tpl, err := route.ParseTemplate("http://" + backend + "/hello")
	if err != nil {
		b.Fatal(err)
	}
	tr := NewTransport()
	b.Cleanup(tr.CloseIdleConnections)
	p := New(Options{URI: tpl, Transport: tr})
	params := &route.Params{}
	req := httptest.NewRequestWithContext(ctx, "GET", "/orders/1?page=2", nil)
	req.Header.Set("Authorization", "Bearer abc.def.ghi")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "bench/1.0")
	req.Header.Set("Accept-Encoding", "gzip")
	w := &discardWriter{h: http.Header{}}
	c := &Call{}
	serve := func() {
		clear(w.h)
		*c = Call{Params: params, RequestID: "req-1", ClientIP: "192.0.2.1"}
		p.Serve(w, req, c)
		if w.status != 200 || c.Err != nil {
			b.Fatalf("status %d, err %v", w.status, c.Err)
		}
	}
	serve()
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// discardWriter stands in for net/http's response writer, write deadline
// included.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header              { return w.h }
func (w *discardWriter) Write(b []byte) (int, error)      { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)             { w.status = code }
func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }

// fixedBackend answers every request on a keep-alive connection with a
// fixed 200 (the benchmark's requests have no body).
func fixedBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	const answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
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
			}()
		}
	}()
	return ln.Addr().String()
}
