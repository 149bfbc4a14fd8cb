package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbackend"
)

// readHead reads one request head and returns it; "" at EOF.
func readHead(r *bufio.Reader) string {
	var head strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return ""
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String()
		}
	}
}

// holdingBackend never answers: each connection reads a request head,
// reports it on heard, and stays open, reading, until the other end closes
// it. Only the gateway's own limits end an exchange with it.
func holdingBackend(t *testing.T) (addr string, heard <-chan struct{}) {
	t.Helper()
	h := make(chan struct{}, 16)
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		select {
		case h <- struct{}{}:
		default:
		}
		io.Copy(io.Discard, r)
	})
	return be.Addr, h
}

// hangGuard bounds waiting for what must happen however loaded the machine
// is: a bound on hanging, never on speed.
const hangGuard = 30 * time.Second

// mustReturn runs f and fails the test if f has not returned within
// hangGuard.
func mustReturn(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("%s has not returned after %v", what, hangGuard)
	}
}

// answerEach answers every request on the connection with resp.
func answerEach(resp string) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, r *bufio.Reader) {
		for readHead(r) != "" {
			io.WriteString(c, resp)
		}
	}
}

const ok2 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func roundTrip(t *testing.T, tr *Transport, req *http.Request) (*http.Response, string, error) {
	t.Helper()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

func get(t *testing.T, addr, method string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+"/x", body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTransportReusesConnections(t *testing.T) {
	be := testbackend.NewRaw(t, answerEach(ok2))
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	for i := range 5 {
		resp, body, err := roundTrip(t, tr, get(t, be.Addr, "GET", nil))
		if err != nil || resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %v %v %q", i, resp, err, body)
		}
	}
	// HEAD answers carry a Content-Length but no body; the connection stays usable.
	headBE := testbackend.NewRaw(t, answerEach("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"))
	for range 3 {
		if resp, _, err := roundTrip(t, tr, get(t, headBE.Addr, "HEAD", nil)); err != nil || resp.ContentLength != 10 {
			t.Fatalf("HEAD: %v %v", resp, err)
		}
	}
	if n, m := be.Accepted.Load(), headBE.Accepted.Load(); n != 1 || m != 1 {
		t.Errorf("connections: %d and %d, want 1 each", n, m)
	}
}

// A backend that closes a keep-alive connection after each answer, without
// saying so: the next request, with or without a body, must not fail on the
// dead connection.
func TestTransportIdleConnectionClosedByBackend(t *testing.T) {
	closed := make(chan struct{}, 1)
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		head := readHead(r)
		if strings.Contains(head, "Content-Length: 4") {
			io.ReadFull(r, make([]byte, 4))
		}
		io.WriteString(c, ok2)
		c.Close()
		closed <- struct{}{}
	})
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	for i, method := range []string{"GET", "POST", "GET", "POST"} {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader("data")
		}
		if i > 0 {
			<-closed
			finSeen(t, tr)
		}
		if resp, got, err := roundTrip(t, tr, get(t, be.Addr, method, body)); err != nil || resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("request %d (%s): %v %v", i, method, resp, err)
		}
	}
	if n := be.Accepted.Load(); n != 4 {
		t.Errorf("connections: %d, want 4", n)
	}
}

// finSeen waits until the FIN of the backend's close has reached the
// transport's idle connections (on loopback it has, as a rule, by the time
// close returns): then the transport can know they are closed.
func finSeen(t *testing.T, tr *Transport) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(time.Millisecond) {
		tr.mu.Lock()
		open := false
		for _, list := range tr.idle {
			for _, c := range list {
				open = open || c.open()
			}
		}
		tr.mu.Unlock()
		if !open {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("an idle connection still looks open %v after the backend closed it", hangGuard)
		}
	}
}

// A backend that answers before reading the request body (here a 401 to a
// 4 MiB upload, far beyond the socket buffers) has its answer relayed; the
// exchange neither deadlocks nor turns into a 502.
func TestTransportEarlyAnswer(t *testing.T) {
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
		io.Copy(io.Discard, r)
	})
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req := get(t, be.Addr, "POST", strings.NewReader(strings.Repeat("x", 4<<20))).WithContext(ctx)
	resp, body, err := roundTrip(t, tr, req)
	if err != nil || resp.StatusCode != 401 || body != "nope" {
		t.Fatalf("early answer: %v %v %q", resp, err, body)
	}
}

// failingBody fails after some bytes, as a client's body does when it is
// over the limit or the client's connection breaks.
type failingBody struct{ n int }

var errClientBody = errors.New("client body failed")

func (f *failingBody) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errClientBody
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestTransportClientBodyFails(t *testing.T) {
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.Copy(io.Discard, r) // waits for the rest of the body, for ever
	})
	tr := NewTransport()
	req := get(t, be.Addr, "POST", io.NopCloser(&failingBody{n: 100}))
	req.ContentLength = 1000
	// The backend never answers: only the client body's failure can end
	// the exchange.
	var err error
	mustReturn(t, "RoundTrip", func() { _, err = tr.RoundTrip(req) })
	if !errors.Is(err, errClientBody) {
		t.Fatalf("err %v, want the client body's error", err)
	}
	// Marked as the client's fault, which the proxy answers with 400, not 502.
	var rb *requestBodyError
	if !errors.As(err, &rb) {
		t.Errorf("err %T, want a *requestBodyError", err)
	}
}

func TestTransportRefusesBadExchanges(t *testing.T) {
	cases := []struct {
		name   string
		serve  func(net.Conn, *bufio.Reader)
		header http.Header
		want   string
	}{
		{"header value with CRLF", answerEach(ok2), http.Header{"X-User": {"a\r\nX-Admin: 1"}}, "invalid value for header"},
		{"header value with NUL", answerEach(ok2), http.Header{"X-User": {"a\x00b"}}, "invalid value for header"},
		{"header value with DEL", answerEach(ok2), http.Header{"X-User": {"eyJhbGciOiJSUzI1NiJ9\x7f"}}, "invalid value for header"},
		{"header name with space", answerEach(ok2), http.Header{"X User": {"a"}}, "invalid header name"},
		{"header name with a delimiter", answerEach(ok2), http.Header{"X-User(1)": {"a"}}, "invalid header name"},
		{"header name in UTF-8", answerEach(ok2), http.Header{"X-Usér": {"a"}}, "invalid header name"},
		{"header name with a control", answerEach(ok2), http.Header{"X-User\x01": {"a"}}, "invalid header name"},
		{"switching protocols", answerEach("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), nil, "upgrades are not proxied"},
		{"endless 1xx", answerEach(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 10)), nil, "too many informational"},
		{"headers over the limit", answerEach("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n"), nil, "exceed the limit"},
		{"junk status line", answerEach("SSH-2.0-OpenSSH\r\n\r\n"), nil, "malformed HTTP"},
		{"closed before answering", func(c net.Conn, r *bufio.Reader) { readHead(r) }, nil, "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			be := testbackend.NewRaw(t, c.serve)
			tr := NewTransport()
			defer tr.CloseIdleConnections()
			req := get(t, be.Addr, "GET", nil)
			for k, v := range c.header {
				req.Header[k] = v
			}
			resp, err := tr.RoundTrip(req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, %v; want an error containing %q", resp, err, c.want)
			}
		})
	}
}

// Informational answers go to the httptrace hook, as net/http's Transport
// reports them; the final answer follows.
func TestTransportInformational(t *testing.T) {
	be := testbackend.NewRaw(t, answerEach("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+ok2))
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, fmt.Sprint(code, " ", h.Get("Link")))
		return nil
	}}
	req := get(t, be.Addr, "GET", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, body, err := roundTrip(t, tr, req)
	if err != nil || resp.StatusCode != 200 || body != "ok" || len(got) != 1 || got[0] != "103 </a.css>; rel=preload" {
		t.Fatalf("%v %v %q, 1xx seen: %q", resp, err, body, got)
	}
}

// Closing a response body early closes the connection at once rather than
// draining an answer that may never end; the next request gets a new one.
func TestTransportEarlyCloseDoesNotDrain(t *testing.T) {
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		for {
			if _, err := io.WriteString(c, "5\r\nchunk\r\n"); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(get(t, be.Addr, "GET", nil))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(resp.Body, make([]byte, 10))
	// The body never ends: draining it would never return.
	mustReturn(t, "Close of an endless body", func() { resp.Body.Close() })
	if _, err := tr.RoundTrip(get(t, be.Addr, "GET", nil)); err != nil {
		t.Fatal(err)
	}
	if n := be.Accepted.Load(); n != 2 {
		t.Errorf("connections: %d, want 2", n)
	}
}

// The request's context ends a wait for the backend: its deadline (the
// integration timeout) and its cancellation (the client went away). The
// backend never answers, so only the context can end the wait, and the
// error says which way it ended.
func TestTransportContext(t *testing.T) {
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	for _, end := range []string{"deadline", "cancel"} {
		addr, heard := holdingBackend(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		want := context.DeadlineExceeded
		if end == "cancel" {
			ctx, cancel = context.WithCancel(context.Background())
			want = context.Canceled
			go func() {
				select {
				case <-heard: // the request is with the backend
					cancel()
				case <-ctx.Done():
				}
			}()
		}
		var err error
		mustReturn(t, end+": RoundTrip", func() { _, err = tr.RoundTrip(get(t, addr, "GET", nil).WithContext(ctx)) })
		cancel()
		if !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", end, err, want)
		}
	}
}

// A response whose end is the connection's close is read whole, and the
// connection is not reused.
func TestTransportCloseDelimited(t *testing.T) {
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		readHead(r)
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nuntil the end")
	})
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	for range 2 {
		if resp, body, err := roundTrip(t, tr, get(t, be.Addr, "GET", nil)); err != nil || body != "until the end" || !resp.Close {
			t.Fatalf("%v %v %q", resp, err, body)
		}
	}
	if n := be.Accepted.Load(); n != 2 {
		t.Errorf("connections: %d, want 2", n)
	}
}

func TestTransportTLS(t *testing.T) {
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}))
	var conns atomic.Int32
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	be.StartTLS()
	defer be.Close()
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	req := get(t, "x", "GET", nil)
	req.URL, _ = url.Parse(be.URL + "/secure")
	// Without the backend's CA the handshake fails.
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("untrusted backend certificate: %v", err)
	}
	tr.TLSClientConfig = be.Client().Transport.(*http.Transport).TLSClientConfig
	conns.Store(0)
	for range 3 {
		if resp, body, err := roundTrip(t, tr, req); err != nil || resp.StatusCode != 200 || body != "HTTP/1.1 /secure" {
			t.Fatalf("%v %v %q", resp, err, body)
		}
	}
	// TLS 1.3 session tickets arrive after the handshake; they must not
	// make the idle check take a kept-alive connection for a broken one.
	if n := conns.Load(); n != 1 {
		t.Errorf("TLS connections: %d, want 1 reused", n)
	}
}

// A backend that closes every connection: each request dials again, and
// from the second on the TLS handshake resumes the first one's session; a
// transport without the session cache never resumes.
func TestTransportTLSResumesSessions(t *testing.T) {
	be, cfg := closingTLSBackend(t)
	for _, tc := range []struct {
		name string
		tr   *Transport
		want []string
	}{
		{"NewTransport", NewTransport(), []string{"false", "true", "true"}},
		{"without a session cache", noSessions(), []string{"false", "false", "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.tr.TLSClientConfig = cfg
			req := get(t, "x", "GET", nil)
			req.URL, _ = url.Parse(be.URL + "/")
			for i, want := range tc.want {
				resp, body, err := roundTrip(t, tc.tr, req)
				if err != nil || !resp.Close || body != want {
					t.Fatalf("request %d: %v %v resumed=%q, want %s", i, resp, err, body, want)
				}
			}
		})
	}
}

// closingTLSBackend answers whether the TLS session was resumed and closes
// every connection; cfg trusts its certificate.
func closingTLSBackend(tb testing.TB) (be *httptest.Server, cfg *tls.Config) {
	be = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, r.TLS.DidResume)
	}))
	be.StartTLS()
	tb.Cleanup(be.Close)
	return be, be.Client().Transport.(*http.Transport).TLSClientConfig
}

func noSessions() *Transport {
	tr := NewTransport()
	tr.sessions = nil
	return tr
}

// BenchmarkTransportTLSDial is a request on a new TLS connection (the
// backend closes each one), with a full handshake or a resumed one. Both
// ends run in this process, so the figures are the sum of their costs.
func BenchmarkTransportTLSDial(b *testing.B) {
	be, cfg := closingTLSBackend(b)
	for _, bc := range []struct {
		name string
		tr   *Transport
	}{
		{"full", noSessions()},
		{"resumed", NewTransport()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.tr.TLSClientConfig = cfg
			req, err := http.NewRequest("GET", be.URL+"/", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := bc.tr.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// Idle connections are closed after IdleTimeout even when no request comes
// to find them stale.
func TestTransportPrunesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 4)
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		answerEach(ok2)(c, r)
		closed <- struct{}{} // the gateway closed its end
	})
	tr := NewTransport()
	tr.IdleTimeout = 100 * time.Millisecond
	for range 2 {
		if _, _, err := roundTrip(t, tr, get(t, be.Addr, "GET", nil)); err != nil {
			t.Fatal(err)
		}
	}
	// No request comes to find a connection stale: only pruning closes it.
	// The second request may have had a connection of its own (a loaded
	// machine can pause between the two for longer than the idle timeout):
	// every connection the backend accepted must be closed.
	for i := range be.Accepted.Load() {
		select {
		case <-closed:
		case <-time.After(hangGuard):
			t.Fatalf("idle connection %d of %d still open after %v, with an idle timeout of %v", i+1, be.Accepted.Load(), hangGuard, tr.IdleTimeout)
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.idle) != 0 || tr.pruning {
		t.Errorf("idle lists %v, pruning %v after the prune", tr.idle, tr.pruning)
	}
}
