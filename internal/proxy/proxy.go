// Package proxy is the `http_proxy` integration: it forwards an allowed request
// to an HTTP backend, with path parameters substituted into the integration
// URI, parameter mapping applied and the gateway's own headers set, and
// translates backend failures into AWS's answers.
package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/mapping"
	"github.com/portcullis/portcullis/internal/route"
)

// RequestIDHeader carries $context.requestId to the backend.
const RequestIDHeader = "X-Request-Id"

// DefaultTimeout is AWS HTTP API's integration timeout.
const DefaultTimeout = 29 * time.Second

// Call is one request as the gateway hands it over, and what became of it.
type Call struct {
	Params    *route.Params
	Source    mapping.Source // reads the client's original request and $context
	RequestID string
	ClientIP  string
	// Trace, when set, writes the request's trace context into the
	// backend request's headers (replacing the client's).
	Trace TraceInjector

	// Err is why the exchange failed (the backend's fault, or the client's
	// body), for logs; nil when a backend response was relayed.
	Err error
}

// TraceInjector writes the trace context of ctx into h (tracing.Tracer).
type TraceInjector interface {
	Inject(ctx context.Context, h http.Header)
}

// Proxy forwards requests for one route. It is safe for concurrent use.
type Proxy struct {
	uri     *route.Template
	mapping *mapping.Mapping
	strip   []string        // headers the gateway sets or maps, removed from the client's request first
	owned   map[string]bool // the same, canonical, with the X-Forwarded-* it sets
	timeout time.Duration
	rp      *httputil.ReverseProxy
}

// Options configures one Proxy.
type Options struct {
	URI       *route.Template
	Mapping   *mapping.Mapping // nil: none
	Timeout   time.Duration    // 0: DefaultTimeout
	Transport http.RoundTripper
}

// New returns a Proxy for one route's integration.
func New(o Options) *Proxy {
	p := &Proxy{
		uri:     o.URI,
		mapping: o.Mapping,
		timeout: o.Timeout,
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	p.strip = append([]string{"Forwarded", RequestIDHeader}, o.Mapping.Headers()...)
	p.owned = map[string]bool{"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true}
	for _, h := range p.strip {
		p.owned[http.CanonicalHeaderKey(h)] = true
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    o.Transport,
		ErrorHandler: p.fail,
		// FlushInterval stays 0: ReverseProxy already flushes at once for
		// server-sent events and bodies of unknown length, and flushing
		// every response (-1) costs an extra write per request (measured:
		// docs/benchmarks.md).
		BufferPool: copyBuffers,
		ErrorLog:   nil,
	}
	return p
}

// Timeout is the integration timeout: the longest one exchange may take.
func (p *Proxy) Timeout() time.Duration { return p.timeout }

// copyBuffers recycles ReverseProxy's 32 KiB copy buffers, which it would
// otherwise allocate for every response.
var copyBuffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

const copyBufferSize = 32 << 10

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[copyBufferSize]byte); ok {
		return buf[:]
	}
	return make([]byte, copyBufferSize)
}

// Put keeps the buffer as an array pointer, which (unlike a slice) fits in
// an interface without allocating.
func (b *bufferPool) Put(buf []byte) {
	if len(buf) == copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(buf))
	}
}

type callKey struct{}

// Serve forwards r. The response, or AWS's error answer, is written to w;
// c.Err says why when the exchange failed.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, c *Call) {
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	// The context carries c to Rewrite and ErrorHandler, which see only
	// the request.
	r = r.WithContext(context.WithValue(ctx, callKey{}, c))
	p.rp.ServeHTTP(w, r)
}

// rewrite builds the outbound request. ReverseProxy has already removed
// hop-by-hop headers (including any the client named in Connection) and
// X-Forwarded-*, so what is set here cannot be stripped by the client.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(callKey{}).(*Call)
	out := pr.Out
	u := p.uri.ExpandURL(c.Params)
	if q := pr.In.URL.RawQuery; q != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&" + q
		} else {
			u.RawQuery = q
		}
	}
	out.URL = u
	out.Host = "" // the backend sees its own host name, as with AWS

	for _, h := range p.strip {
		out.Header.Del(h)
	}
	// X_User_Id is X-User-Id to CGI-style backends (PHP, WSGI, Rack and
	// others map both to HTTP_X_USER_ID), so a client could shadow a header
	// the gateway sets by spelling it with underscores.
	for name := range out.Header {
		if strings.IndexByte(name, '_') >= 0 && p.owned[http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))] {
			delete(out.Header, name)
		}
	}
	out.Header.Set("X-Forwarded-For", c.ClientIP)
	out.Header.Set("X-Forwarded-Host", pr.In.Host)
	if pr.In.TLS != nil {
		out.Header.Set("X-Forwarded-Proto", "https")
	} else {
		out.Header.Set("X-Forwarded-Proto", "http")
	}
	out.Header.Set(RequestIDHeader, c.RequestID)
	if c.Trace != nil {
		c.Trace.Inject(pr.In.Context(), out.Header)
	}
	p.mapping.Apply(out, c.Source)
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // don't let Go add its own
	}
}

// fail answers a request whose backend exchange failed: 413 when the
// client's body was over the limit, 400 when it could not be read (a
// malformed chunked body, a body that stops arriving: the client's fault,
// not the backend's), 504 when the integration timeout fired or the backend
// could not be reached in time, answer.ClientClosed when the client went
// away, 502 otherwise. The context is asked before the error: a client
// going away interrupts the exchange with a deadline in the past, so the
// error alone looks like a timeout.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	c := r.Context().Value(callKey{}).(*Call)
	c.Err = err
	status, body := http.StatusBadGateway, answer.BadGateway
	var tooBig *http.MaxBytesError
	var clientBody *requestBodyError
	switch ctxErr := r.Context().Err(); {
	case errors.As(err, &tooBig):
		status, body = http.StatusRequestEntityTooLarge, answer.TooLarge
	case errors.As(err, &clientBody):
		status, body = http.StatusBadRequest, answer.BadRequest
	case errors.Is(ctxErr, context.Canceled):
		w.WriteHeader(answer.ClientClosed)
		return
	case errors.Is(ctxErr, context.DeadlineExceeded), isTimeout(err):
		status, body = http.StatusGatewayTimeout, answer.TimedOut
	}
	answer.JSON(w, r, status, body)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
