package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/internal/route"
	"github.com/portcullis/portcullis/internal/testbackend"
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
	backend := testbackend.Fixed(b)
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
	w := &testbackend.DiscardWriter{H: http.Header{}}
	c := &Call{}
	serve := func() {
		clear(w.H)
		*c = Call{Params: params, RequestID: "req-1", ClientIP: "192.0.2.1"}
		p.Serve(w, req, c)
		if w.Status != 200 || c.Err != nil {
			b.Fatalf("status %d, err %v", w.Status, c.Err)
		}
	}
	serve()
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}
