// Command barestack is the load harness's bare-stack reference (bench/): the
// bench backend's answer served, or proxied to it, by the libraries
// Portcullis is built on with none of Portcullis's own code (no routing,
// request id, header rewriting, access log or metrics). The harness runs it
// beside nginx and portcullis, pinned and loaded the same way, so that what
// the gateway adds over its stack shows as a difference in the same run.
//
// One mode per process (-mode):
//
//	floor            net/http server answering 200 with the backend's body (fetched once at start); no backend call
//	http-transport   net/http server + httputil.ReverseProxy + net/http.Transport tuned for keep-alive
//	proxy-transport  net/http server + httputil.ReverseProxy + internal/proxy's Transport
//	proxy-serve      net/http server + internal/proxy's Proxy.Serve (its relay and Transport), what portcullis's http_proxy runs
//	fasthttp-client  net/http server + a github.com/valyala/fasthttp HostClient as the backend client
//	fasthttp         fasthttp server and HostClient end to end
//
// Every ReverseProxy mode recycles its 32 KiB copy buffers (as portcullis's
// proxy does) and sends nothing to a log.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portcullis/portcullis/internal/proxy"
	"github.com/portcullis/portcullis/internal/route"
)

// modes are the -mode values, in the order the harness reports them.
var modes = []string{"floor", "http-transport", "proxy-transport", "proxy-serve", "fasthttp-client", "fasthttp"}

func main() {
	mode := flag.String("mode", "floor", fmt.Sprintf("what to serve: one of %q", modes))
	listen := flag.String("listen", "127.0.0.1:18002", "listen address")
	backend := flag.String("backend", "127.0.0.1:18000", "the backend's host:port")
	path := flag.String("path", "/hello", "the backend path whose answer floor serves")
	idle := flag.Int("idle", 256, "idle keep-alive connections kept to the backend (at least wrk's connections)")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err == nil {
		err = serveOn(ln, *mode, *backend, *path, *idle)
	}
	fmt.Fprintln(os.Stderr, "barestack:", err)
	os.Exit(1)
}

// serveOn runs mode's server on ln until it fails.
func serveOn(ln net.Listener, mode, backend, path string, idle int) error {
	if mode == "fasthttp" {
		s := &fasthttp.Server{Handler: fasthttpProxy(hostClient(backend, idle)), ReadTimeout: 2 * time.Minute}
		return s.Serve(ln)
	}
	var h http.Handler
	switch mode {
	case "floor":
		answer, err := fetch("http://" + backend + path)
		if err != nil {
			return err
		}
		h = answer
	case "http-transport":
		h = reverseProxy(backend, tunedTransport(idle))
	case "proxy-transport":
		h = reverseProxy(backend, proxy.NewTransport())
	case "proxy-serve":
		var err error
		if h, err = relayProxy(backend, path); err != nil {
			return err
		}
	case "fasthttp-client":
		h = &fasthttpClientProxy{client: hostClient(backend, idle)}
	default:
		return fmt.Errorf("unknown -mode %q (one of %q)", mode, modes)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: log.New(io.Discard, "", 0)}
	return s.Serve(ln)
}

// ---------------------------------------------------------------- floor

// fixedAnswer answers every request with the same status, content type and
// body.
type fixedAnswer struct {
	status      int
	contentType []string
	length      []string
	body        []byte
}

// fetch gets url once and returns its answer, to be served from memory.
func fetch(url string) (*fixedAnswer, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, fmt.Errorf("fetching the backend's answer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetching the backend's answer: %w", err)
	}
	return &fixedAnswer{status: resp.StatusCode, contentType: []string{resp.Header.Get("Content-Type")},
		length: []string{strconv.Itoa(len(body))}, body: body}, nil
}

func (a *fixedAnswer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = a.contentType
	h["Content-Length"] = a.length
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// ---------------------------------------------------------------- ReverseProxy

// reverseProxy forwards every request to backend (path and query kept)
// through transport.
func reverseProxy(backend string, transport http.RoundTripper) *httputil.ReverseProxy {
	target := &url.URL{Scheme: "http", Host: backend}
	return &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:  transport,
		BufferPool: &copyBuffers{},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
}

// relayProxy forwards every request to backend's path through
// internal/proxy's Proxy, as a public http_proxy route does, with no
// routing, request id generation, access log or metrics around it.
func relayProxy(backend, path string) (http.Handler, error) {
	uri, err := route.ParseTemplate("http://" + backend + path)
	if err != nil {
		return nil, fmt.Errorf("proxy-serve: %w", err)
	}
	p := proxy.New(proxy.Options{URI: uri, Transport: proxy.NewTransport()})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		c := &proxy.Call{Params: &route.Params{}, RequestID: "barestack", ClientIP: ip}
		p.Serve(w, r, c)
		if c.Abort {
			panic(http.ErrAbortHandler)
		}
	}), nil
}

// tunedTransport is net/http's Transport set up as a reverse proxy's backend
// client: keep-alive with at least as many idle connections per host as
// there are clients, no proxy from the environment, no HTTP/2 attempt, and
// no transparent gzip.
func tunedTransport(idle int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// copyBuffers recycles ReverseProxy's copy buffers; it is safe for
// concurrent use.
type copyBuffers struct{ pool sync.Pool }

const copyBufferSize = 32 << 10

func (b *copyBuffers) Get() []byte {
	if buf, ok := b.pool.Get().(*[copyBufferSize]byte); ok {
		return buf[:]
	}
	return make([]byte, copyBufferSize)
}

func (b *copyBuffers) Put(buf []byte) {
	if len(buf) == copyBufferSize {
		b.pool.Put((*[copyBufferSize]byte)(buf))
	}
}

// ---------------------------------------------------------------- fasthttp

// hostClient is a fasthttp client keeping up to idle connections to backend.
func hostClient(backend string, idle int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                     backend,
		MaxConns:                 idle,
		MaxIdleConnDuration:      90 * time.Second,
		ReadTimeout:              30 * time.Second,
		WriteTimeout:             30 * time.Second,
		NoDefaultUserAgentHeader: true,
	}
}

// fasthttpClientProxy is a net/http handler that forwards each request to
// its client's backend with fasthttp and copies the answer back, without
// the hop-by-hop headers either way. It is safe for concurrent use.
type fasthttpClientProxy struct {
	client *fasthttp.HostClient
}

func (p *fasthttpClientProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL.RequestURI())
	req.SetHost(p.client.Addr)
	for name, values := range r.Header {
		if hopByHop(name) {
			continue
		}
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	if r.ContentLength != 0 {
		req.SetBodyStream(r.Body, int(r.ContentLength)) // -1: chunked
	}
	if err := p.client.Do(req, resp); err != nil {
		http.Error(w, "Bad Gateway", http.StatusBadGateway)
		return
	}
	h := w.Header()
	for name, value := range resp.Header.All() {
		if hopByHop(string(name)) {
			continue
		}
		n := string(name) // canonical: the client normalizes header names
		h[n] = append(h[n], string(value))
	}
	w.WriteHeader(resp.StatusCode())
	_, _ = w.Write(resp.Body())
}

// fasthttpProxy forwards each request to client's backend, fasthttp end to
// end: the server's request and response are the client's.
func fasthttpProxy(client *fasthttp.HostClient) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		req := &ctx.Request
		for _, name := range hopByHopHeaders {
			req.Header.Del(name)
		}
		req.SetHost(client.Addr)
		if err := client.Do(req, &ctx.Response); err != nil {
			ctx.Error("Bad Gateway", fasthttp.StatusBadGateway)
			return
		}
		for _, name := range hopByHopHeaders {
			ctx.Response.Header.Del(name)
		}
	}
}

// hopByHopHeaders are the headers of one connection (RFC 9110, 7.6.1),
// which a proxy does not forward.
var hopByHopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// hopByHop reports whether the canonical header name is one of
// hopByHopHeaders.
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}
