// Package proxy is the `http_proxy` integration: it forwards an allowed request
// to an HTTP backend, with path parameters substituted into the integration
// URI, parameter mapping applied and the gateway's own headers set, and
// translates backend failures into AWS's answers.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
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
	// Abort is set when Cut is, under a net/http server: the handler must
	// then end with panic(http.ErrAbortHandler), so that the client's
	// connection is closed and the client sees a truncated response rather
	// than a complete-looking short one. Serve does not panic itself, so
	// that the caller can log and count the request first.
	Abort bool

	w http.ResponseWriter // where informational answers are relayed, during Serve
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

// TraceInjector writes the trace context of ctx into h (tracing.Tracer).
type TraceInjector interface {
	Inject(ctx context.Context, h http.Header)
}

// Proxy forwards requests for one route. It is safe for concurrent use.
//
// It is its own reverse proxy rather than httputil.ReverseProxy, which
// cost about a third of a proxied request's allocations (a clone of the
// request, contexts for its hooks, a trace per request) and applies
// nothing Serve does not (relay.go applies the same rules, each tested).
type Proxy struct {
	uri     *route.Template
	mapping *mapping.Mapping
	strip   *HeaderFilter // removed from the client's request: what the gateway sets or maps, and the untrusted headers not passed
	timeout time.Duration
	next    http.RoundTripper
	own     *Transport // next, when it is the project's Transport: exchanges without a trace or context of their own
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
		next:    o.Transport,
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	// The forwarding headers are set by the proxy alone; they are named
	// here for their underscore spellings too.
	strip := []string{"Forwarded", RequestIDHeader, "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", RealIPHeader, ClientCertHeader}
	strip = append(strip, removedClientHeaders(o.PassClientHeaders)...)
	p.strip = NewHeaderFilter(append(strip, o.Mapping.Headers()...)...)
	if p.next == nil {
		p.next = http.DefaultTransport
	}
	p.own, _ = p.next.(*Transport)
	return p
}

// Timeout is the integration timeout: the longest one exchange may take.
func (p *Proxy) Timeout() time.Duration { return p.timeout }

// copyBuffers recycles the 32 KiB buffers response bodies are copied
// through, which would otherwise be allocated for every response.
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

// Serve forwards r. The response, or AWS's error answer, is written to w;
// c.Err says why when the exchange failed, c.Cut when the response was cut
// short after its headers were sent. Serve does not panic with
// http.ErrAbortHandler: it sets c.Abort, and the caller panics once its
// bookkeeping is done.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, c *Call) {
	// The integration timeout is a deadline on the backend connection (the
	// project's Transport sets it on the connection for the exchange, so
	// no context or timer is made per request), and ctx says whether the
	// client went away. Another RoundTripper knows only the request's
	// context, so it gets one with the deadline.
	deadline := time.Now().Add(p.timeout)
	ctx := r.Context()
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d // a caller's earlier deadline, as context.WithTimeout would keep it
	}
	if p.own == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	// The timeout bounds writing the response as well as reading it: a
	// client that stops reading would otherwise hold this handler, its
	// backend connection and copy buffer for as long as it keeps its
	// connection open. The deadline is lifted before the connection
	// serves another request.
	rc := http.NewResponseController(w)
	if rc.SetWriteDeadline(deadline) == nil {
		defer rc.SetWriteDeadline(time.Time{})
	}
	out, err := p.outbound(r, c)
	if err != nil {
		p.fail(ctx, deadline, w, r, c, err)
		return
	}
	c.w = w
	resp, err := p.roundTrip(ctx, deadline, out, c)
	c.w = nil
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body.Close()
		err = errUpgrade
	}
	if err != nil {
		p.fail(ctx, deadline, w, r, c, err)
		return
	}
	readErr, err := relay(w, rc, resp)
	if err == nil {
		return
	}
	// Cut short after the headers were sent. Once the integration timeout
	// has passed, the timeout ended it (the transport then interrupts a
	// backend read that is still waiting, and the write deadline ends a
	// write to a client that stopped reading). Before that, a client going
	// away ends the context (which interrupts the backend read too), so
	// that is asked next; then a failed read of the backend's body is the
	// backend's doing; with neither, writing to the client failed.
	c.Abort = r.Context().Value(http.ServerContextKey) != nil
	switch {
	case !time.Now().Before(deadline):
		c.Cut, c.Err = CutTimeout, context.DeadlineExceeded
		if readErr != nil {
			c.Err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, readErr)
		}
	case ctx.Err() != nil:
		c.Cut = CutClientClosed
	case readErr != nil:
		c.Cut, c.Err = CutBackendClosed, readErr
	default:
		c.Cut = CutClientClosed
	}
}

// roundTrip sends out to the backend. The project's Transport relays
// informational answers to c directly; any other RoundTripper learns of
// them through an httptrace hook, which may run on another goroutine and
// after RoundTrip has returned, and so is fenced off once it has.
func (p *Proxy) roundTrip(ctx context.Context, deadline time.Time, out *http.Request, c *Call) (*http.Response, error) {
	if p.own != nil {
		return p.own.roundTrip(ctx, deadline, out, c)
	}
	var mu sync.Mutex
	done := false
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return nil
		}
		return c.informational(code, http.Header(h))
	}}
	resp, err := p.next.RoundTrip(out.WithContext(httptrace.WithClientTrace(ctx, trace)))
	mu.Lock()
	done = true
	mu.Unlock()
	return resp, err
}

// informational relays a backend's 1xx answer to the client. The client's
// response headers set so far (CORS, by the gateway) are kept for the final
// answer; the 1xx's own headers are not.
func (c *Call) informational(code int, h http.Header) error {
	dst := c.w.Header()
	kept := dst.Clone()
	copyHeader(dst, h)
	c.w.WriteHeader(code)
	clear(dst)
	copyHeader(dst, kept)
	return nil
}

// fail answers a request whose backend exchange failed: 413 when the
// client's body was over the limit, 400 when it could not be read (a
// malformed chunked body, a body that stops arriving: the client's fault,
// not the backend's), 504 when the integration timeout fired or the backend
// could not be reached in time, answer.ClientClosed when the client went
// away, 502 otherwise. The context is asked before the error: a client
// going away interrupts the exchange with a deadline in the past, so the
// error alone looks like a timeout. A request context canceled once the
// integration timeout has passed is the timeout's doing: net/http cancels
// it when reading the client's body fails, and the body's read deadline is
// the integration timeout, which can fire a moment before the context's
// own timer (a slow-body client would be answered 499 while still there).
func (p *Proxy) fail(ctx context.Context, deadline time.Time, w http.ResponseWriter, r *http.Request, c *Call, err error) {
	c.Err = err
	f, status, body := answer.FailureBackend, http.StatusBadGateway, answer.BadGateway
	var tooBig *http.MaxBytesError
	var clientBody *requestBodyError
	switch ctxErr := ctx.Err(); {
	case errors.As(err, &tooBig):
		f, status, body = answer.FailureTooLarge, http.StatusRequestEntityTooLarge, answer.TooLarge
	case errors.As(err, &clientBody):
		f, status, body = answer.FailureBodyRead, http.StatusBadRequest, answer.BadRequest
	case errors.Is(ctxErr, context.Canceled) && time.Now().Before(deadline):
		w.WriteHeader(answer.ClientClosed)
		return
	case errors.Is(ctxErr, context.DeadlineExceeded), isTimeout(err), !time.Now().Before(deadline):
		f, status, body = answer.FailureTimeout, http.StatusGatewayTimeout, answer.TimedOut
	}
	answer.Fail(c.Failer, w, r, f, status, body)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
