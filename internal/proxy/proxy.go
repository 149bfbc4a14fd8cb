// Package proxy is the `http_proxy` integration: it forwards an allowed request
// to an HTTP backend, with path parameters substituted into the integration
// URI, parameter mapping applied and the gateway's own headers set, and
// translates backend failures into AWS's answers.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
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
	// Failer, when set, writes the answers to failed exchanges (413, 400,
	// 502, 504) in place of the built-in ones: the gateway's gateway
	// responses. The client going away is never answered.
	Failer answer.Failer

	// Err is why the exchange failed (the backend's fault, or the client's
	// body), for logs; nil when a backend response was relayed whole, or
	// was cut short by the client.
	Err error

	// Cut says why the response was cut short after its status and
	// headers had been sent (one of the Cut* reasons); "" when it was not.
	Cut string
	// Abort is set when Cut is, under a net/http server: ReverseProxy
	// then ends the handler with panic(http.ErrAbortHandler), so that the
	// client's connection is closed and the client sees a truncated
	// response rather than a complete-looking short one. Serve recovers
	// that panic so the caller can log and count the request; the caller
	// must then panic(http.ErrAbortHandler) itself.
	Abort bool

	body responseBody // the backend's response body, as ReverseProxy reads it
}

// Reasons a response was cut short after its status and headers were sent
// (Call.Cut).
const (
	// CutBackendClosed: reading the backend's body failed (the backend
	// closed or reset the connection mid-body).
	CutBackendClosed = "backend_closed_mid_body"
	// CutClientClosed: the client went away, or stopped taking the
	// response, while it was being sent.
	CutClientClosed = "client_closed_mid_body"
	// CutTimeout: the integration timeout ended the exchange mid-body:
	// the backend was still sending, or the client had stopped reading.
	CutTimeout = "timeout_mid_body"
)

// responseBody is the backend's response body, remembering how reading it
// ended. It lives in the Call, so watching costs no allocation.
type responseBody struct {
	io.ReadCloser
	err error // a read error other than the end of the body
	eof bool  // the body was read to its end
}

func (b *responseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		if err == io.EOF {
			b.eof = true
		} else if b.err == nil {
			b.err = err
		}
	}
	return n, err
}

// watchingTransport passes each backend response body through its Call's
// responseBody, so that Serve can tell how copying it ended.
type watchingTransport struct{ next http.RoundTripper }

func (t *watchingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, err // (an upgrade needs the body's own type; never proxied anyway)
	}
	if c, ok := req.Context().Value(callKey{}).(*Call); ok {
		c.body = responseBody{ReadCloser: resp.Body}
		resp.Body = &c.body
	}
	return resp, nil
}

// TraceInjector writes the trace context of ctx into h (tracing.Tracer).
type TraceInjector interface {
	Inject(ctx context.Context, h http.Header)
}

// Proxy forwards requests for one route. It is safe for concurrent use.
type Proxy struct {
	uri     *route.Template
	mapping *mapping.Mapping
	strip   *HeaderFilter // removed from the client's request: what the gateway sets or maps, and the untrusted headers not passed
	timeout time.Duration
	rp      *httputil.ReverseProxy
}

// Options configures one Proxy.
type Options struct {
	URI       *route.Template
	Mapping   *mapping.Mapping // nil: none
	Timeout   time.Duration    // 0: DefaultTimeout
	Transport http.RoundTripper
	// PassClientHeaders names UntrustedClientHeaders the backend gets from
	// the client as they are (any case). RealIPHeader is always set by the
	// proxy, whatever this says.
	PassClientHeaders []string
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
	// ReverseProxy removes X-Forwarded-For, -Host and -Proto itself; they
	// are named here for their underscore spellings.
	strip := []string{"Forwarded", RequestIDHeader, "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", RealIPHeader}
	strip = append(strip, removedClientHeaders(o.PassClientHeaders)...)
	p.strip = NewHeaderFilter(append(strip, o.Mapping.Headers()...)...)
	next := o.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    &watchingTransport{next: next},
		ErrorHandler: p.fail,
		// FlushInterval stays 0: ReverseProxy already flushes at once for
		// server-sent events and bodies of unknown length, and flushing
		// every response (-1) costs an extra write per request (measured:
		// docs/benchmarks.md).
		BufferPool: copyBuffers,
		// Every error ReverseProxy would print in plain text reaches the
		// Call instead (a failed exchange through ErrorHandler, a failed
		// body copy through responseBody), and the gateway logs it as JSON
		// in the request's access-log line. Nil would mean the standard
		// library's logger, on the gateway's stderr.
		ErrorLog: log.New(io.Discard, "", 0),
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
// c.Err says why when the exchange failed, c.Cut when the response was cut
// short after its headers were sent. Serve does not panic with
// http.ErrAbortHandler: it sets c.Abort, and the caller panics once its
// bookkeeping is done.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, c *Call) {
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	// The context carries c to Rewrite, ErrorHandler and the transport,
	// which see only the request.
	r = r.WithContext(context.WithValue(ctx, callKey{}, c))
	// The timeout bounds writing the response as well as reading it: a
	// client that stops reading would otherwise hold this handler, its
	// backend connection and copy buffer for as long as it keeps its
	// connection open. The deadline is lifted before the connection
	// serves another request.
	rc := http.NewResponseController(w)
	if deadline, _ := ctx.Deadline(); rc.SetWriteDeadline(deadline) == nil {
		defer rc.SetWriteDeadline(time.Time{})
	}
	defer noteCut(ctx, c) // before cancel: it reads ctx's state
	p.rp.ServeHTTP(w, r)
}

// noteCut records a response cut short after its headers were sent. When
// copying the body fails, ReverseProxy panics with http.ErrAbortHandler
// under a net/http server (and merely returns elsewhere); either way the
// backend's body was not read to its end. Other panics go on unchanged.
//
// Why it was cut: once the integration timeout has passed, the timeout
// ended it (the transport then interrupts a backend read that is still
// waiting, and the write deadline Serve sets ends a write to a client that
// stopped reading). Before that, a client going away cancels the context
// (which interrupts the backend read too), so that is asked next; then a
// failed read of the backend's body is the backend's doing; with neither,
// writing to the client failed.
func noteCut(ctx context.Context, c *Call) {
	v := recover()
	if v != nil && v != http.ErrAbortHandler {
		panic(v)
	}
	b := &c.body
	if v == nil && (b.ReadCloser == nil || b.eof) {
		return // no response relayed (fail answered), or relayed whole
	}
	c.Abort = v != nil
	switch deadline, _ := ctx.Deadline(); {
	case !time.Now().Before(deadline):
		c.Cut, c.Err = CutTimeout, context.DeadlineExceeded
		if b.err != nil {
			c.Err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, b.err)
		}
	case ctx.Err() != nil:
		c.Cut = CutClientClosed
	case b.err != nil:
		c.Cut, c.Err = CutBackendClosed, b.err
	default:
		c.Cut = CutClientClosed
	}
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

	p.strip.Remove(out.Header)
	// One slice for both: header values are replaced or appended to (which
	// copies a full slice), never changed in place.
	addr := []string{c.ClientIP}
	out.Header["X-Forwarded-For"] = addr
	out.Header[RealIPHeader] = addr
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
	f, status, body := answer.FailureBackend, http.StatusBadGateway, answer.BadGateway
	var tooBig *http.MaxBytesError
	var clientBody *requestBodyError
	switch ctxErr := r.Context().Err(); {
	case errors.As(err, &tooBig):
		f, status, body = answer.FailureTooLarge, http.StatusRequestEntityTooLarge, answer.TooLarge
	case errors.As(err, &clientBody):
		f, status, body = answer.FailureBodyRead, http.StatusBadRequest, answer.BadRequest
	case errors.Is(ctxErr, context.Canceled):
		w.WriteHeader(answer.ClientClosed)
		return
	case errors.Is(ctxErr, context.DeadlineExceeded), isTimeout(err):
		f, status, body = answer.FailureTimeout, http.StatusGatewayTimeout, answer.TimedOut
	}
	answer.Fail(c.Failer, w, r, f, status, body)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
