package server

// Client abuse against a whole gateway process (Run on 127.0.0.1:0): slow
// and oversized requests, connection floods, malformed requests and request
// smuggling. Each test uses short limits from `server:` so that it runs in a
// few seconds; docs/reliability.md says what each one shows.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
)

// countingBackend is a real HTTP backend that counts the requests it gets,
// records their paths and body sizes, and tracks its open connections.
type countingBackend struct {
	URL      string
	requests atomic.Int64 // complete requests
	broken   atomic.Int64 // requests whose body was cut short
	maxBody  atomic.Int64
	mu       sync.Mutex
	paths    []string
	conns    map[net.Conn]http.ConnState
}

func newCountingBackend(t *testing.T) *countingBackend {
	t.Helper()
	b := &countingBackend{conns: map[net.Conn]http.ConnState{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, err := io.Copy(io.Discard, r.Body)
			for {
				old := b.maxBody.Load()
				if n <= old || b.maxBody.CompareAndSwap(old, n) {
					break
				}
			}
			if err != nil {
				// A body cut short: the request never completed, and
				// the backend answers nothing a client could take for one.
				b.broken.Add(1)
				return
			}
			b.requests.Add(1)
			b.mu.Lock()
			b.paths = append(b.paths, r.URL.Path)
			b.mu.Unlock()
			fmt.Fprintf(w, "backend %s %d", r.URL.Path, n)
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			b.mu.Lock()
			defer b.mu.Unlock()
			if s == http.StateClosed || s == http.StateHijacked {
				delete(b.conns, c)
			} else {
				b.conns[c] = s
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	b.URL = "http://" + ln.Addr().String()
	return b
}

// active counts the backend's connections with a request in progress.
func (b *countingBackend) active() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.conns {
		if s == http.StateActive {
			n++
		}
	}
	return n
}

// hangGuard bounds waiting for what must happen however loaded the machine
// is: a bound on hanging, never on speed.
const hangGuard = 30 * time.Second

// rawResponses writes req on a new connection and reads every response the
// server sends until it closes the connection: after an error, or once the
// connection has been idle for idle_timeout (short in these tests), so every
// response the server would send is read, however slow it is to send it.
func rawResponses(t *testing.T, addr, req string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(hangGuard))
	var out []*http.Response
	for range 10 {
		resp, err := http.ReadResponse(br, nil)
		if isTimeoutErr(err) {
			t.Fatalf("connection still open after %v, %d responses %v", hangGuard, len(out), statuses(out))
		}
		if err != nil {
			break
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return string(b)
}

// healthy fails the test unless the gateway answers a normal request. It
// asserts no latency: a loaded machine may take its time, but it must answer.
func healthy(t *testing.T, r *running) {
	t.Helper()
	c := &http.Client{Timeout: hangGuard}
	resp, err := c.Get(r.base + "/status")
	if err != nil {
		t.Fatalf("gateway no longer answers: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("GET /status = %d %q", resp.StatusCode, b)
	}
}

func addr(r *running) string { return strings.TrimPrefix(r.base, "http://") }

const abuseConfig = `listen: 127.0.0.1:0
server:
  read_header_timeout: %[2]s
  idle_timeout: %[3]s
  max_header_bytes: 4096
  max_body_bytes: 1024
  shutdown_timeout: 2s
routes:
  - route: GET /status
    integration: {type: mock, body: ok}
  - route: ANY /echo/{proxy+}
    integration: {type: http_proxy, uri: "%[1]s/echo/{proxy}", timeout: 1s}
  - route: POST /echo
    integration: {type: http_proxy, uri: "%[1]s/echo", timeout: 1s}
`

func startAbuse(t *testing.T, be *countingBackend, readHeader, idle string) *running {
	t.Helper()
	r := start(t, fmt.Sprintf(abuseConfig, be.URL, readHeader, idle))
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.logs.String())
		}
	})
	return r
}

// TestAbuseSlowlorisHeaders: clients that trickle a request head that never
// ends are cut off by read_header_timeout (1 s); they never reach the backend
// and the gateway keeps answering others meanwhile. Which limit cut them is
// told by an ordering, not a stopwatch: a keep-alive connection that went
// idle just before they connected is closed by idle_timeout (6 s), and each
// slow client must be cut before it. Were read_header_timeout not applied,
// Go's default (10 s) would cut them after it, and without any header
// timeout nothing would.
func TestAbuseSlowlorisHeaders(t *testing.T) {
	be := newCountingBackend(t)
	r := startAbuse(t, be, "1s", "6s")
	const clients = 20

	idle, err := net.Dial("tcp", addr(r))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v %v", resp, err)
	}
	resp.Body.Close()
	idleClosed := make(chan struct{})
	go func() {
		defer close(idleClosed)
		idle.SetReadDeadline(time.Now().Add(hangGuard))
		br.ReadByte()
	}()

	var wg sync.WaitGroup
	var connected sync.WaitGroup
	connected.Add(clients)
	for range clients {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr(r))
			connected.Done()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			go func() { // one byte per 50 ms of a head that never ends, until the server closes
				io.WriteString(c, "GET /echo/x HTTP/1.1\r\nHost: x\r\nX-Slow: ")
				for end := time.Now().Add(hangGuard); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
					if _, err := c.Write([]byte("a")); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(hangGuard))
			n, err := c.Read(make([]byte, 1))
			switch {
			case isTimeoutErr(err):
				t.Errorf("slow client still connected after %v", hangGuard)
				return
			case n > 0:
				t.Errorf("slow client got an answer to a request head that never ended")
			}
			select {
			case <-idleClosed:
				t.Errorf("slow client cut off only after a connection idle since before it connected (idle_timeout 6s): read_header_timeout (1s) did not act")
			default:
			}
		})
	}
	connected.Wait()
	healthy(t, r) // while the slow clients hold connections
	wg.Wait()
	if n := be.requests.Load(); n != 0 {
		t.Errorf("backend got %d requests from slow clients", n)
	}
	<-idleClosed
	healthy(t, r)
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestAbuseOversizedHeaders: a request head over max_header_bytes (plus the
// 4 KiB Go allows on top) gets 431 and is never forwarded.
func TestAbuseOversizedHeaders(t *testing.T) {
	be := newCountingBackend(t)
	r := startAbuse(t, be, "2s", "500ms")
	for _, req := range []string{
		"GET /echo/x HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 16<<10) + "\r\n\r\n",
		"GET /echo/x HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Many: a\r\n", 2000) + "\r\n",
		"GET /echo/" + strings.Repeat("a", 16<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		resps := rawResponses(t, addr(r), req)
		if len(resps) != 1 || resps[0].StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("oversized head: %d responses %v", len(resps), statuses(resps))
		}
	}
	if n := be.requests.Load(); n != 0 {
		t.Errorf("backend got %d oversized requests", n)
	}
	healthy(t, r)
}

func statuses(resps []*http.Response) []int {
	var out []int
	for _, r := range resps {
		out = append(out, r.StatusCode)
	}
	return out
}

// TestAbuseOversizedBodies: bodies over max_body_bytes (1024) get 413,
// declared (Content-Length) or not (chunked), and the backend never
// receives more than the limit.
func TestAbuseOversizedBodies(t *testing.T) {
	be := newCountingBackend(t)
	r := startAbuse(t, be, "2s", "500ms")
	big := strings.Repeat("z", 4096)

	// Declared: refused before the backend is contacted.
	resps := rawResponses(t, addr(r), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n"+big)
	if len(resps) != 1 || resps[0].StatusCode != 413 || bodyOf(resps[0]) != `{"message":"Request Entity Too Large"}` {
		t.Errorf("Content-Length 4096: %v", statuses(resps))
	}
	// A huge declared length that is never sent: answered at once.
	resps = rawResponses(t, addr(r), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc")
	if len(resps) != 1 || resps[0].StatusCode != 413 {
		t.Errorf("Content-Length 10 GB: %v", statuses(resps))
	}
	if n := be.requests.Load(); n != 0 {
		t.Errorf("backend contacted %d times for declared oversized bodies", n)
	}

	// Chunked: the stream is cut at the limit.
	var chunked strings.Builder
	for range 8 {
		fmt.Fprintf(&chunked, "200\r\n%s\r\n", big[:512])
	}
	chunked.WriteString("0\r\n\r\n")
	resps = rawResponses(t, addr(r), "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked.String())
	if len(resps) != 1 || resps[0].StatusCode != 413 {
		t.Errorf("chunked 4096 bytes: %v", statuses(resps))
	}
	if n := be.maxBody.Load(); n > 1024 {
		t.Errorf("backend received a %d-byte body, over the 1024 limit", n)
	}

	// At the limit: passes whole.
	resps = rawResponses(t, addr(r), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n"+big[:1024])
	if len(resps) != 1 || resps[0].StatusCode != 200 || bodyOf(resps[0]) != "backend /echo 1024" {
		t.Errorf("1024 bytes: %v", statuses(resps))
	}
	healthy(t, r)
}

// faultyFunction is internal/gateway/testdata/lambda/faulty.
var faultyFunction = testbin.New("../gateway/testdata/lambda", "faulty")

func faulty(t *testing.T) string { return faultyFunction.Path(t, "faulty") }

// TestAbuseSlowBody: a client that sends its body one byte at a time, never
// finishing, holds its request only until the integration timeout (1 s),
// which also bounds reading the body: on an http_proxy route it gets 504 (or
// 400 when the body's deadline, equal to the timeout, is seen first), on a
// lambda_proxy route 400, and where nothing reads the body (404) it is not
// held at all; the handler returns (its access log line appears) and the
// connection is closed. The body never ends and every other limit is far
// away (the function's timeout, idle_timeout and read_header_timeout are a
// minute), so only the integration timeout can end the request: the answer
// arriving at all, with its status, is the proof.
func TestAbuseSlowBody(t *testing.T) {
	be := newCountingBackend(t)
	bin := faulty(t)
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
server: {read_header_timeout: 1m, idle_timeout: 1m, shutdown_timeout: 2s}
functions:
  slowbody: {runtime: process, command: [%[2]s], timeout: 1m}
routes:
  - route: GET /status
    integration: {type: mock, body: ok}
  - route: POST /proxy
    integration: {type: http_proxy, uri: "%[1]s/echo", timeout: 1s}
  - route: POST /lambda/{fault}
    integration: {type: lambda_proxy, function: slowbody, timeout: 1s}
`, be.URL, bin))
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.logs.String())
		}
	})
	base := runtime.NumGoroutine()
	for _, tc := range []struct {
		path     string
		statuses []int
	}{
		{"/proxy", []int{504, 400}},
		{"/lambda/len", []int{400}},
		{"/nowhere", []int{404}}, // a 404 must not wait for the body either
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			c, err := net.Dial("tcp", addr(r))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n", tc.path)
			stopped := make(chan struct{})
			go func() { // one byte every 250 ms until the server stops reading
				defer close(stopped)
				for end := time.Now().Add(hangGuard); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(hangGuard))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer while the body was still arriving: %v", err)
			}
			resp.Body.Close()
			if !slices.Contains(tc.statuses, resp.StatusCode) {
				t.Errorf("status %d, want one of %v", resp.StatusCode, tc.statuses)
			}
			c.Close()
			<-stopped
			eventually(t, "access log line for "+tc.path, func() bool {
				return strings.Contains(r.logs.String(), `"path":"`+tc.path+`"`)
			})
		})
	}
	healthy(t, r)
	eventually(t, "goroutines back near the baseline", func() bool {
		return runtime.NumGoroutine() <= base+5
	})
}

// TestAbuseIdleConnections: 2,000 open connections (1,000 silent, 1,000
// idle after a keep-alive request) do not stop a normal request being
// served, and the gateway closes the silent ones after read_header_timeout
// (2 s) and the idle ones after idle_timeout (7 s). Which limit closed the
// silent ones is told by an ordering: a marker connection that goes idle
// after all of them were opened is closed by idle_timeout, and by then every
// silent one must already be closed (Go's default header timeout, 10 s,
// would leave the last ones open). The idle ones must close within the
// hang guard, far below Go's default idle timeout (2 min).
func TestAbuseIdleConnections(t *testing.T) {
	be := newCountingBackend(t)
	r := startAbuse(t, be, "2s", "7s")
	const n = 2000
	base := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	keepAlive := func(c net.Conn) bool {
		io.WriteString(c, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			return false
		}
		resp.Body.Close()
		return true
	}
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				c, err := net.Dial("tcp", addr(r))
				if err != nil {
					failures.Add(1)
					continue
				}
				conns[i] = c
				if i%2 == 0 && !keepAlive(c) { // every other one makes a keep-alive request, then idles
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d connections failed to open or answer", f)
	}
	healthy(t, r)

	marker, err := net.Dial("tcp", addr(r))
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	if !keepAlive(marker) {
		t.Fatal("marker connection: no answer")
	}
	marker.SetReadDeadline(time.Now().Add(hangGuard))
	if _, err := marker.Read(make([]byte, 1)); err == nil || isTimeoutErr(err) {
		t.Fatalf("marker connection not closed by idle_timeout: %v", err)
	}
	silentOpen, idleOpen := 0, 0
	for i, c := range conns {
		if i%2 == 1 {
			if !closedByPeer(t, c) {
				silentOpen++
			}
			continue
		}
		c.SetReadDeadline(time.Now().Add(hangGuard))
		if _, err := c.Read(make([]byte, 1)); isTimeoutErr(err) {
			idleOpen++
		}
	}
	if silentOpen > 0 {
		t.Errorf("%d of %d silent connections still open when a connection idle since after they were opened was closed: read_header_timeout did not act", silentOpen, n/2)
	}
	if idleOpen > 0 {
		t.Errorf("%d of %d idle connections still open after %v", idleOpen, n/2, hangGuard)
	}
	for _, c := range conns {
		c.Close()
	}
	healthy(t, r)
	eventually(t, "goroutines back near the baseline", func() bool { return runtime.NumGoroutine() <= base+10 })
}

// closedByPeer reports whether the other end has already closed c (its FIN
// or reset has arrived), without waiting: a non-blocking peek.
func closedByPeer(t *testing.T, c net.Conn) bool {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && err == nil || err != nil && err != syscall.EAGAIN
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return closed
}

// TestAbuseMalformedRequests: requests Go or the gateway cannot make sense
// of get a 4xx (or 501/505), never a crash or a 5xx of ours, and never
// reach the backend.
func TestAbuseMalformedRequests(t *testing.T) {
	be := newCountingBackend(t)
	r := startAbuse(t, be, "2s", "500ms")
	cases := []struct {
		name, req string
		want      []int
	}{
		{"garbage line", "GARBAGE\r\n\r\n", []int{400}},
		{"HTTP/0.9", "GET /echo/x\r\n\r\n", []int{400}},
		{"version 0.9", "GET /echo/x HTTP/0.9\r\nHost: x\r\n\r\n", []int{400, 505}},
		{"version 2.0", "GET /echo/x HTTP/2.0\r\nHost: x\r\n\r\n", []int{400, 505}},
		{"version 9.9", "GET /echo/x HTTP/9.9\r\nHost: x\r\n\r\n", []int{400, 505}},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", []int{400, 505}},
		{"double space", "GET  /echo/x HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"no slash", "GET echo/x HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"bad percent", "GET /echo/%zz HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"nul in path", "GET /echo/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"no host", "GET /echo/x HTTP/1.1\r\n\r\n", []int{400}},
		{"two hosts", "GET /echo/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []int{400}},
		{"header without colon", "GET /echo/x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", []int{400}},
		{"empty header name", "GET /echo/x HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", []int{400}},
		{"space before colon", "GET /echo/x HTTP/1.1\r\nHost: x\r\nX-A : v\r\n\r\n", []int{400}},
		{"nul in header", "GET /echo/x HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", []int{400}},
		{"bad content-length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n", []int{400}},
		{"negative content-length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", []int{400}},
		{"unknown transfer-encoding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", []int{400, 501}},
		{"bad chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", []int{400, 502}},
		{"absurd method", "FROBNICATE /echo/x HTTP/1.1\r\nHost: x\r\n\r\n", nil}, // ANY route: forwarded as is (checked below)
		{"absurd method on mock", "FROBNICATE /status HTTP/1.1\r\nHost: x\r\n\r\n", []int{404}},
		{"long method", strings.Repeat("A", 300) + " /status HTTP/1.1\r\nHost: x\r\n\r\n", []int{404}},
		{"method with separator", "GE(T /status HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", []int{400}},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", []int{200, 400}},
		{"asterisk GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"only CRLFs", "\r\n\r\n\r\n\r\n", nil}, // no request at all: closed or timed out
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := be.requests.Load()
			resps := rawResponses(t, addr(r), c.req)
			if c.want == nil {
				for _, resp := range resps {
					if resp.StatusCode >= 500 {
						t.Errorf("status %d", resp.StatusCode)
					}
				}
				return
			}
			if len(resps) != 1 {
				t.Fatalf("%d responses %v, want one of %v", len(resps), statuses(resps), c.want)
			}
			ok := false
			for _, w := range c.want {
				ok = ok || resps[0].StatusCode == w
			}
			if !ok {
				t.Errorf("status %d %q, want one of %v", resps[0].StatusCode, bodyOf(resps[0]), c.want)
			}
			if be.requests.Load() != before {
				t.Errorf("a malformed request reached the backend")
			}
		})
	}
	healthy(t, r)
}

// TestAbuseRequestSmuggling: framing tricks on raw TCP. Whatever the
// gateway answers, the backend counts exactly the requests a client meant
// (one, or none when refused), never a second request hidden in a body.
// Go's net/http refuses conflicting Content-Length values, obs-fold and
// unknown codings in Transfer-Encoding; a request with both Content-Length
// and Transfer-Encoding is read by Transfer-Encoding (RFC 9112 6.1), and
// the gateway then closes the connection, so that the bytes after the
// chunked body are never read as a request.
func TestAbuseRequestSmuggling(t *testing.T) {
	be := newCountingBackend(t)
	r := startAbuse(t, be, "2s", "500ms")
	smuggled := "GET /echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	clte := "0\r\n\r\n" + smuggled // a front proxy that trusts Content-Length forwards all of it
	tecl := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled)
	cases := []struct {
		name, req   string
		refused     bool // 400 or 501, and nothing forwarded
		forwardedOK int  // else: at most this many backend requests
	}{
		{"CL.TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + fmt.Sprint(len(clte)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + clte, false, 1},
		{"TE.CL", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + tecl, false, 1},
		{"two Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 41\r\n\r\n" + smuggled, true, 0},
		{"Content-Length list", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 41\r\n\r\n" + smuggled, true, 0},
		{"obs-fold Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n chunked\r\nContent-Length: 41\r\n\r\n" + smuggled, true, 0},
		{"obs-fold Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n 41\r\n\r\n" + smuggled, true, 0},
		{"chunked, identity", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, true, 0},
		{"identity, chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n" + smuggled, true, 0},
		{"Transfer-Encoding twice", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, true, 0},
		{"space before colon", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 41\r\n\r\n" + smuggled, true, 0},
		{"xchunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 41\r\n\r\n" + smuggled, true, 0},
		{"HTTP/1.0 chunked", "POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, false, 1},
		{"chunk size overflow", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n" + smuggled, false, 1},
		{"bare LF chunk", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n" + smuggled, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			be.mu.Lock()
			be.paths = nil
			be.mu.Unlock()
			before := be.requests.Load()
			resps := rawResponses(t, addr(r), c.req)
			got := be.requests.Load() - before
			be.mu.Lock()
			for _, p := range be.paths {
				if strings.Contains(p, "smuggled") {
					t.Errorf("the smuggled request reached the backend")
				}
			}
			be.mu.Unlock()
			if len(resps) > 1 {
				t.Errorf("%d responses on one connection %v: a second request was read", len(resps), statuses(resps))
			}
			if c.refused {
				if len(resps) != 1 || resps[0].StatusCode != 400 && resps[0].StatusCode != 501 {
					t.Errorf("responses %v, want one 400 or 501", statuses(resps))
				}
				if got != 0 {
					t.Errorf("backend got %d requests", got)
				}
				return
			}
			if got > int64(c.forwardedOK) {
				t.Errorf("backend got %d requests, at most %d meant", got, c.forwardedOK)
			}
			t.Logf("responses %v, backend requests %d", statuses(resps), got)
		})
	}
	healthy(t, r)
}

func TestMain(m *testing.M) {
	code := m.Run()
	faultyFunction.Remove()
	traceFunction.Remove()
	os.Exit(code)
}
