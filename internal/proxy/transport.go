package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/httpheader"
)

// Transport is the HTTP/1.1 client every proxy of a gateway shares.
//
// Why not net/http's Transport: it runs a reader and a writer goroutine per
// connection and hands each exchange between them and the caller through
// channels and selects, with connection-pool bookkeeping on every request.
// Measured on one core (docs/benchmarks.md), that was the largest part of
// what a proxied request cost above the mock integration. This Transport
// writes the request and reads the response on the caller's goroutine (a
// request body is written by a second goroutine, so that a backend may answer
// before reading all of it), and keeps idle connections in a LIFO list per
// origin. It speaks HTTP/1.1 only, to http and https origins; it does not
// proxy protocol upgrades (as AWS HTTP APIs do not), and it leaves parsing to
// net/http (Request.Write, http.ReadResponse).
//
// Transport is safe for concurrent use.
type Transport struct {
	// DialTimeout bounds connecting, TLSHandshakeTimeout the TLS handshake.
	DialTimeout         time.Duration
	TLSHandshakeTimeout time.Duration
	// MaxIdlePerHost is how many idle connections are kept per origin;
	// IdleTimeout how long one may stay idle before it is closed.
	MaxIdlePerHost int
	IdleTimeout    time.Duration
	// MaxResponseHeaderBytes limits the backend's status line and headers.
	MaxResponseHeaderBytes int64
	// TLSClientConfig is used for https origins; nil: the defaults.
	TLSClientConfig *tls.Config

	// sessions lets a new connection to an https origin resume an earlier
	// TLS session (as nginx's proxy_ssl_session_reuse does by default)
	// unless TLSClientConfig brings its own cache. A resumed handshake
	// skips the certificate chain, which keeps re-dials cheap when a burst
	// outgrows the idle pool or a backend closes connections after N
	// requests. The origin's certificate was verified when the session was
	// made; crypto/tls checks again that it covers the name and has not
	// expired before resuming.
	sessions tls.ClientSessionCache

	mu      sync.Mutex
	idle    map[origin][]*upstreamConn // oldest first
	pruning bool                       // a prune is scheduled
}

// origin identifies a connection pool: one per scheme and host.
type origin struct {
	https bool
	host  string // as in the URL, with or without a port
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns the transport shared by every proxy of a gateway:
// pooled keep-alive connections, bounded dial and TLS handshake times, and no
// proxy from the environment (a gateway talks to its backends directly).
func NewTransport() *Transport {
	return &Transport{
		DialTimeout:            10 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdlePerHost:         256,
		IdleTimeout:            90 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		sessions:               tls.NewLRUClientSessionCache(sessionCacheSize),
	}
}

// sessionCacheSize is how many backends' TLS sessions are kept: one per
// server name, the latest.
const sessionCacheSize = 256

// Errors RoundTrip reports; Serve answers them with 502.
var (
	errUpgrade        = errors.New("backend switched protocols; upgrades are not proxied")
	errHeaderTooLarge = errors.New("backend response headers exceed the limit")
	errTooMany1xx     = errors.New("backend sent too many informational responses")
)

// max1xx bounds the informational responses one exchange may see, as
// net/http's Transport does.
const max1xx = 5

// RoundTrip sends req on an idle connection to its origin, or a new one, and
// returns the response. The response body must be read to the end or closed;
// only then can the connection serve another request.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var inf informer
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.Got1xxResponse != nil {
		inf = traceInformer{trace.Got1xxResponse}
	}
	deadline, _ := req.Context().Deadline()
	return t.roundTrip(req.Context(), deadline, req, inf)
}

// informer receives the informational (1xx) answers of an exchange, before
// the final answer: Call relays them to the client.
type informer interface {
	informational(code int, h http.Header) error
}

// traceInformer passes informational answers to an httptrace hook, as
// net/http's Transport does.
type traceInformer struct {
	got func(code int, h textproto.MIMEHeader) error
}

func (t traceInformer) informational(code int, h http.Header) error {
	return t.got(code, textproto.MIMEHeader(h))
}

// roundTrip is RoundTrip with what ends the exchange and the receiver of
// informational answers (nil: they are dropped) given apart from the
// request, so that the proxy need not derive a request, a context or a timer
// for each exchange: deadline (zero: none) bounds the whole exchange, body
// included, as a deadline on the connection; ctx ending (the client went
// away) interrupts it.
func (t *Transport) roundTrip(ctx context.Context, deadline time.Time, req *http.Request, inf informer) (*http.Response, error) {
	o, err := originOf(req)
	if err != nil {
		return nil, err
	}
	if err := validHeaders(req.Header); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		c, err := t.get(ctx, deadline, o)
		if err != nil {
			return nil, err
		}
		resp, err := c.exchange(ctx, deadline, req, inf)
		if err == nil {
			return resp, nil
		}
		// A reused connection the backend closed while it lay idle fails
		// before a byte comes back; a request without a body and with no
		// side effects can safely go again on a fresh connection, as
		// net/http's Transport does.
		if attempt > 0 || !c.reused || c.received > 0 || !replayable(req) || ctx.Err() != nil {
			return nil, err
		}
	}
}

func originOf(req *http.Request) (origin, error) {
	u := req.URL
	if u == nil || u.Host == "" {
		return origin{}, errors.New("backend URL has no host")
	}
	switch u.Scheme {
	case "http":
		return origin{host: u.Host}, nil
	case "https":
		return origin{https: true, host: u.Host}, nil
	}
	return origin{}, fmt.Errorf("backend URL scheme %q is not http or https", u.Scheme)
}

// validHeaders refuses header names and values that would change the
// message's framing if written (CR, LF and other controls): values mapped
// from claims or context reach here as well as the client's own.
func validHeaders(h http.Header) error {
	for name, values := range h {
		if !httpheader.ValidName(name) {
			return fmt.Errorf("invalid header name %q for the backend", name)
		}
		for _, v := range values {
			if !httpheader.ValidValue(v) {
				return fmt.Errorf("invalid value for header %q for the backend", name)
			}
		}
	}
	return nil
}

// replayable reports whether a request may be sent twice: no body, and a
// method without side effects (or one the client marked idempotent).
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// get returns an idle connection to o that is still open, or dials one.
// The liveness check is a syscall, so it runs outside the lock.
func (t *Transport) get(ctx context.Context, deadline time.Time, o origin) (*upstreamConn, error) {
	now := time.Now()
	for {
		t.mu.Lock()
		list := t.idle[o]
		if len(list) == 0 {
			t.mu.Unlock()
			return t.dial(ctx, deadline, o)
		}
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[o] = list[:len(list)-1]
		t.mu.Unlock()
		if now.Sub(c.idleSince) < t.IdleTimeout && c.open() {
			c.reused = true
			return c, nil
		}
		c.nc.Close()
	}
}

func (t *Transport) dial(ctx context.Context, deadline time.Time, o origin) (*upstreamConn, error) {
	addr := o.host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		if o.https {
			addr = net.JoinHostPort(addr, "443")
		} else {
			addr = net.JoinHostPort(addr, "80")
		}
	}
	d := net.Dialer{Timeout: t.DialTimeout, Deadline: deadline, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.https {
		cfg := &tls.Config{}
		if t.TLSClientConfig != nil {
			cfg = t.TLSClientConfig.Clone()
		}
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			cfg.ServerName = host
		}
		if cfg.ClientSessionCache == nil {
			cfg.ClientSessionCache = t.sessions
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		nc.SetDeadline(deadline) // the exchange's, if it comes first; exchange sets it again
		hctx, cancel := context.WithTimeout(ctx, t.TLSHandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		nc = tc
	}
	c := &upstreamConn{t: t, origin: o, nc: nc}
	c.interrupt = func() { c.nc.SetDeadline(aLongTimeAgo) }
	c.lr = limitedReader{c: c, n: math.MaxInt64}
	c.br = bufio.NewReaderSize(&c.lr, 4<<10)
	c.bw = bufio.NewWriterSize(nc, 4<<10)
	return c, nil
}

// put returns c to its origin's idle list, or closes it when the list is full.
func (t *Transport) put(c *upstreamConn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = make(map[origin][]*upstreamConn)
	}
	if list := t.idle[c.origin]; len(list) < t.MaxIdlePerHost {
		t.idle[c.origin] = append(list, c)
		if !t.pruning {
			t.pruning = true
			time.AfterFunc(t.IdleTimeout, t.prune)
		}
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.nc.Close()
}

// prune closes connections idle for IdleTimeout, which get alone would leave
// open (in CLOSE_WAIT once the backend gives up on them) while traffic is
// low. It runs while any connection is idle.
func (t *Transport) prune() {
	now := time.Now()
	var expired []*upstreamConn
	t.mu.Lock()
	for o, list := range t.idle {
		n := 0
		for n < len(list) && now.Sub(list[n].idleSince) >= t.IdleTimeout {
			n++
		}
		expired = append(expired, list[:n]...)
		if n == len(list) {
			delete(t.idle, o)
		} else if n > 0 {
			t.idle[o] = append(list[:0], list[n:]...)
			clear(list[len(list)-n:])
		}
	}
	t.pruning = len(t.idle) > 0
	if t.pruning {
		time.AfterFunc(t.IdleTimeout/2, t.prune)
	}
	t.mu.Unlock()
	for _, c := range expired {
		c.nc.Close()
	}
}

// CloseIdleConnections closes every idle connection; connections in use are
// closed when their exchange ends.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
}

// upstreamConn is one connection to a backend. One exchange uses it at a time.
type upstreamConn struct {
	t         *Transport
	origin    origin
	nc        net.Conn
	lr        limitedReader
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time

	interrupt func() // ends blocked reads and writes; made once, for context.AfterFunc

	// For open, set on first use.
	raw    syscall.RawConn
	peekFn func(fd uintptr) bool
	alive  bool

	// Per exchange.
	reused   bool
	received int64 // bytes read from the backend in this exchange
}

// limitedReader reads from the connection, counting what arrives and failing
// once more than n bytes have been read (while headers are being read).
type limitedReader struct {
	c *upstreamConn
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.nc.Read(p)
	l.n -= int64(n)
	l.c.received += int64(n)
	return n, err
}

// exchange writes req and reads the response head. On error the connection
// is closed.
func (c *upstreamConn) exchange(ctx context.Context, deadline time.Time, req *http.Request, inf informer) (*http.Response, error) {
	c.received = 0
	// The integration timeout is the connection's deadline until the
	// exchange ends (release lifts it); the client going away ends ctx,
	// which interrupts blocked reads and writes at once.
	c.nc.SetDeadline(deadline)
	stop := noStop
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.interrupt)
	}

	// A body is written beside the response read: a backend may answer
	// (413, 401) before reading it all, and must not be deadlocked against.
	var written chan error
	if req.Body == nil || req.Body == http.NoBody {
		if err := c.write(req); err != nil {
			return nil, c.fail(stop, ctx, deadline, err)
		}
	} else {
		written = make(chan error, 1)
		go c.writeWithBody(req, written)
	}

	resp, err := c.readResponse(req, inf)
	if err != nil {
		err = c.fail(stop, ctx, deadline, err)
		select {
		case werr := <-written: // nil channel when there was no body
			if werr != nil {
				err = werr // why the body could not be sent: the client's body or the backend
			}
		default:
		}
		return nil, err
	}
	resp.Body = &upstreamBody{ReadCloser: resp.Body, c: c, stop: stop, written: written,
		reusable: !resp.Close && !req.Close}
	return resp, nil
}

// writeWithBody writes a request with a body. When reading the request's own
// body fails, the connection is closed so that the backend sees an aborted
// request and the response read ends; the error, a *requestBodyError, is
// sent first, so the reader finds it. When writing to the backend fails,
// the reader is left to collect what the backend answered, or its error.
func (c *upstreamConn) writeWithBody(req *http.Request, written chan<- error) {
	src := &sourceBody{ReadCloser: req.Body}
	out := *req
	out.Body = src
	err := c.write(&out)
	if src.err != nil {
		written <- &requestBodyError{src.err}
		c.nc.Close()
		return
	}
	written <- err
}

// requestBodyError is RoundTrip's error when reading the request's body
// failed: the client's fault, not the backend's.
type requestBodyError struct{ err error }

func (e *requestBodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *requestBodyError) Unwrap() error { return e.err }

// sourceBody remembers why reading the request body failed.
type sourceBody struct {
	io.ReadCloser
	err error
}

func (s *sourceBody) Read(p []byte) (int, error) {
	n, err := s.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

func (c *upstreamConn) write(req *http.Request) error {
	if err := req.Write(c.bw); err != nil {
		return err
	}
	return c.bw.Flush()
}

// fail closes the connection after a failed exchange and says why: the
// context's error when it ended the exchange, context.DeadlineExceeded when
// the deadline had passed.
func (c *upstreamConn) fail(stop func() bool, ctx context.Context, deadline time.Time, err error) error {
	stop()
	c.nc.Close()
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return err
}

// noStop stands for context.AfterFunc's stop when the context cannot end.
func noStop() bool { return true }

// readResponse reads the final response head, passing informational (1xx)
// responses to inf (the proxy relays them to the client).
func (c *upstreamConn) readResponse(req *http.Request, inf informer) (*http.Response, error) {
	for n := 0; ; n++ {
		c.lr.n = c.t.MaxResponseHeaderBytes + int64(c.br.Size())
		resp, err := http.ReadResponse(c.br, req)
		c.lr.n = math.MaxInt64
		if err != nil {
			return nil, err
		}
		code := resp.StatusCode
		if code == http.StatusSwitchingProtocols {
			return nil, errUpgrade
		}
		if code >= 200 || code < 100 {
			return resp, nil
		}
		if n == max1xx {
			return nil, errTooMany1xx
		}
		if inf != nil {
			if err := inf.informational(code, resp.Header); err != nil {
				return nil, err
			}
		}
	}
}

// upstreamBody is the response body. Read to its end, it gives the
// connection back for reuse; closed early, it closes the connection rather
// than draining what may be an endless stream.
type upstreamBody struct {
	io.ReadCloser
	c        *upstreamConn
	stop     func() bool
	written  chan error // nil when the request had no body
	reusable bool
	eof      bool
	done     bool
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
		b.release()
	}
	return n, err
}

func (b *upstreamBody) Close() error {
	if b.done {
		return nil
	}
	if !b.eof {
		b.c.nc.Close() // before the inner Close, which would drain
		b.reusable = false
	}
	b.ReadCloser.Close()
	b.release()
	return nil
}

// release ends the exchange: the connection goes back to the pool if the
// whole exchange is done cleanly, and is closed otherwise.
func (b *upstreamBody) release() {
	if b.done {
		return
	}
	b.done = true
	c := b.c
	ok := b.stop() && b.reusable // stop is false when the context ended meanwhile
	if b.written != nil {
		select {
		case err := <-b.written:
			ok = ok && err == nil
		default:
			ok = false // the body is still being written
		}
	}
	if !ok || c.br.Buffered() > 0 {
		c.nc.Close()
		return
	}
	c.nc.SetDeadline(time.Time{})
	c.t.put(c)
}

// aLongTimeAgo is a deadline in the past, to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)
