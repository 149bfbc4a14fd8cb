package gateway

// Faults behind the gateway: backends that reset, stall or trickle, and
// Lambda functions (process runtime) that crash, hang, flood or babble. Every
// request must fail closed with the documented answer, the gateway must keep
// answering other routes, and nothing may leak.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/proxy"
	"github.com/portcullis/portcullis/internal/testlog"
	"github.com/prometheus/client_golang/prometheus"
)

// faultyBackend misbehaves by path and tracks its connections.
type faultyBackend struct {
	URL    string
	active atomic.Int64  // connections with a request in progress
	open   atomic.Int64  // connections open
	heard  chan struct{} // a /slow-headers request arrived (when there is room)
}

func newFaultyBackend(t *testing.T) *faultyBackend {
	t.Helper()
	b := &faultyBackend{heard: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		// Headers and half the body, then a TCP reset.
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("h", 500))
		bw.Flush()
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	mux.HandleFunc("/reset-early", func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := http.NewResponseController(w).Hijack()
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	mux.HandleFunc("/slow-headers", func(w http.ResponseWriter, r *http.Request) {
		select {
		case b.heard <- struct{}{}:
		default:
		}
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for range 50 {
			if _, err := io.WriteString(w, "chunk\n"); err != nil {
				return
			}
			http.NewResponseController(w).Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.open.Add(1)
		case http.StateActive:
			b.active.Add(1)
		case http.StateIdle:
			b.active.Add(-1)
		case http.StateClosed, http.StateHijacked:
			b.open.Add(-1)
		}
	}
	srv.Config.ConnState = wrapActive(srv.Config.ConnState)
	srv.Start()
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// wrapActive keeps the active count right for connections that close or
// are hijacked while active.
func wrapActive(f func(net.Conn, http.ConnState)) func(net.Conn, http.ConnState) {
	var mu sync.Mutex
	state := map[net.Conn]http.ConnState{}
	return func(c net.Conn, s http.ConnState) {
		mu.Lock()
		prev := state[c]
		if s == http.StateClosed || s == http.StateHijacked {
			delete(state, c)
		} else {
			state[c] = s
		}
		mu.Unlock()
		if (s == http.StateClosed || s == http.StateHijacked) && prev == http.StateActive {
			f(c, http.StateIdle) // leaves active
		}
		f(c, s)
	}
}

// gatewayServer builds the gateway for cfg with d (its own Transport, so
// that its connections can be counted and closed, and logs discarded,
// unless d brings them) and serves it on a real loopback server until the
// test ends.
func gatewayServer(t *testing.T, cfg string, d Deps) (*httptest.Server, *proxy.Transport, *Gateway) {
	t.Helper()
	f, err := config.Parse(filepath.Join(t.TempDir(), "fault.yaml"), []byte(cfg), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := d.Transport.(*proxy.Transport)
	if !ok {
		tr = proxy.NewTransport()
		d.Transport = tr
	}
	if d.Logger == nil {
		d.Logger = slogJSON(io.Discard)
	}
	g, err := Build(f, d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.Start(ctx)
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		g.Close(nil)
		tr.CloseIdleConnections()
	})
	return srv, tr, g
}

type outcome struct {
	status int
	body   string
	err    error // reading the response failed (truncated stream)
}

func call(c *http.Client, method, url string, header http.Header) outcome {
	return callContext(context.Background(), c, method, url, header)
}

func callContext(ctx context.Context, c *http.Client, method, url string, header http.Header) outcome {
	req, _ := http.NewRequestWithContext(ctx, method, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return outcome{status: resp.StatusCode, body: string(b), err: err}
}

// stillServing fails unless a public mock route answers. It asserts no
// latency: a loaded machine may take its time, but it must answer.
func stillServing(t *testing.T, c *http.Client, base string) {
	t.Helper()
	o := call(c, "GET", base+"/status", nil)
	if o.err != nil || o.status != 200 || o.body != "ok" {
		t.Fatalf("public route: %+v", o)
	}
}

// TestFaultBackend: a backend that resets mid-body, resets before answering,
// stalls before its headers, or trickles its body past the integration
// timeout. The client sees a truncated response or AWS's answer; afterwards
// no goroutine and no backend connection is left behind. The resets go
// through a route whose timeout is a minute away, so that on a loaded
// machine only the reset can end their exchange; the stall and the trickle
// through one of 500 ms, the timeout under test.
func TestFaultBackend(t *testing.T) {
	be := newFaultyBackend(t)
	srv, tr, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
routes:
  - route: GET /status
    integration: {type: mock, body: ok}
  - route: GET /be/{what}
    integration: {type: http_proxy, uri: "%[1]s/{what}", timeout: 1m}
  - route: GET /short/{what}
    integration: {type: http_proxy, uri: "%[1]s/{what}", timeout: 500ms}
`, be.URL), Deps{})
	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Minute} // a bound on hanging, not on speed
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	call(client, "GET", srv.URL+"/be/ok", nil) // warm up pools before the baseline
	client.Transport.(*http.Transport).CloseIdleConnections()
	tr.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	for range 3 {
		// Reset mid-body: headers passed on, then the stream ends short.
		o := call(client, "GET", srv.URL+"/be/reset", nil)
		if o.status == 200 {
			if o.err == nil || len(o.body) >= 1000 {
				t.Errorf("reset mid-body: complete-looking response %d bytes, err %v", len(o.body), o.err)
			}
		} else if o.status != 502 && o.err == nil {
			t.Errorf("reset mid-body: %+v", o)
		}
		// Reset before any answer: 502.
		if o := call(client, "GET", srv.URL+"/be/reset-early", nil); o.status != 502 || o.body != `{"message":"Bad Gateway"}` {
			t.Errorf("reset before answering: %+v", o)
		}
		// No headers within the timeout: 504 at the timeout (the backend
		// would have answered 200 after 5 s).
		o = call(client, "GET", srv.URL+"/short/slow-headers", nil)
		if o.status != 504 || o.body != `{"message":"Endpoint request timed out"}` {
			t.Errorf("slow headers: %+v", o)
		}
		// Body still arriving at the timeout: the stream is cut there
		// (the backend would have sent 50 chunks).
		o = call(client, "GET", srv.URL+"/short/slow-body", nil)
		if o.status != 200 || o.err == nil || strings.Count(o.body, "chunk") >= 50 {
			t.Errorf("slow body: status %d, %d chunks, err %v", o.status, strings.Count(o.body, "chunk"), o.err)
		}
		stillServing(t, client, srv.URL)
	}

	// Nothing left behind: the backend has no request in progress, the
	// gateway's idle backend connections close, and the goroutines are back
	// near the baseline once idle connections are gone.
	client.Transport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second) // a bound on waiting, not on speed
	for {
		tr.CloseIdleConnections()
		g := runtime.NumGoroutine()
		if be.active.Load() == 0 && be.open.Load() == 0 && g <= base+3 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("leak: backend active %d open %d, goroutines %d (baseline %d)\n%s",
				be.active.Load(), be.open.Load(), g, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faulty is testdata/lambda/faulty, built once per run.
func faulty(t *testing.T) string { return lambdaFunctions.Path(t, "faulty") }

// functionFaultConfig: fine has a timeout far longer than any of its
// answers takes, even on a loaded machine, so that only hang ever reaches
// a timeout: once through an authorizer and once through lambda_proxy, each
// on a function of its own with a 1 s timeout, whose process is up long
// before its one request arrives.
const functionFaultConfig = `listen: 127.0.0.1:0
functions:
  fine: {runtime: process, command: [%[1]s], timeout: 30s, concurrency: 2}
  hangauth: {runtime: process, command: [%[1]s], timeout: 1s}
  hangproxy: {runtime: process, command: [%[1]s], timeout: 1s}
  crashstart: {runtime: process, command: [%[1]s], env: {FAULTY_MODE: crashstart}, timeout: 500ms}
  slowstart: {runtime: process, command: [%[1]s], env: {FAULTY_MODE: slowstart, FAULTY_DELAY: 4s}, timeout: 2s}
authorizers:
  fine: {type: lambda, function: fine, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s, timeout: 30s}
  hang: {type: lambda, function: hangauth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
  crashstart: {type: lambda, function: crashstart, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
  slowstart: {type: lambda, function: slowstart, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - route: GET /status
    integration: {type: mock, body: ok}
  - {route: GET /auth/fine, authorizer: fine, integration: {type: mock, body: allowed}}
  - {route: GET /auth/hang, authorizer: hang, integration: {type: mock, body: allowed}}
  - {route: GET /auth/crashstart, authorizer: crashstart, integration: {type: mock, body: allowed}}
  - {route: GET /auth/slowstart, authorizer: slowstart, integration: {type: mock, body: allowed}}
  - {route: "ANY /fn/{fault}", integration: {type: lambda_proxy, function: fine, timeout: 30s}}
  - {route: "ANY /hang/{fault}", integration: {type: lambda_proxy, function: hangproxy, timeout: 1s}}
  - {route: "ANY /crashstart/{fault}", integration: {type: lambda_proxy, function: crashstart}}
  - {route: "ANY /slowstart/{fault}", integration: {type: lambda_proxy, function: slowstart}}
`

const (
	authorizerError = `{"message":null}`
	proxyError      = `{"message":"Internal server error"}`
	functionError   = `{"message":"Internal Server Error"}`
	timedOut        = `{"message":"Endpoint request timed out"}`
)

// TestFaultFunctions: authorizer and lambda_proxy functions that crash at
// start, crash mid-invocation, hang, answer 7 MiB, answer junk, fail, or
// start slowly: each request fails closed with the documented answer, and
// a public route keeps answering meanwhile. No answer is held to a time:
// the statuses say which limit acted (a hang's 504 can only come from its
// timeout, since the function sleeps for a minute).
func TestFaultFunctions(t *testing.T) {
	bin := faulty(t)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(functionFaultConfig, bin), Deps{})
	client := &http.Client{Timeout: time.Minute} // a bound on hanging, not on speed
	bearer := func(s string) http.Header { return http.Header{"Authorization": {"Bearer " + s}} }

	// Slow start first, while it is still starting (it initialises for 4 s,
	// its timeout is 2 s, time enough for an answer on a loaded machine):
	// as on Lambda, initialisation is not counted against the function's
	// timeout, so the first requests wait for it (up to the 10 s init
	// timeout) and are served.
	if o := call(client, "GET", srv.URL+"/auth/slowstart", bearer("ok")); o.status != 200 || o.body != "allowed" {
		t.Errorf("authorizer still starting: %+v", o)
	}
	if o := call(client, "GET", srv.URL+"/slowstart/ok", nil); o.status != 200 || o.body != "ok" {
		t.Errorf("lambda_proxy still starting: %+v", o)
	}

	cases := []struct {
		name, path string
		header     http.Header
		status     int
		body       string
	}{
		{"authorizer ok", "/auth/fine", bearer("ok"), 200, "allowed"},
		{"authorizer crash mid-invocation", "/auth/fine", bearer("crash"), 500, authorizerError},
		{"authorizer hang", "/auth/hang", bearer("hang"), 500, authorizerError},
		{"authorizer huge answer", "/auth/fine", bearer("huge"), 500, authorizerError},
		{"authorizer junk answer", "/auth/fine", bearer("junk"), 500, authorizerError},
		{"authorizer error", "/auth/fine", bearer("error"), 500, authorizerError},
		{"authorizer crash at start", "/auth/crashstart", bearer("ok"), 500, authorizerError},
		{"proxy ok", "/fn/ok", nil, 200, "ok"},
		{"proxy crash mid-invocation", "/fn/crash", nil, 500, functionError},
		{"proxy hang", "/hang/hang", nil, 504, timedOut},
		{"proxy huge answer", "/fn/huge", nil, 502, proxyError},
		{"proxy junk answer", "/fn/junk", nil, 502, proxyError},
		{"proxy function error", "/fn/error", nil, 500, functionError},
		{"proxy crash at start", "/crashstart/ok", nil, 500, functionError},
		{"authorizer after the faults", "/auth/fine", bearer("ok"), 200, "allowed"},
		{"proxy after the faults", "/fn/ok", nil, 200, "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := call(client, "GET", srv.URL+c.path, c.header)
			if o.err != nil || o.status != c.status || o.body != c.body {
				t.Errorf("got %d %q (err %v), want %d %q", o.status, o.body, o.err, c.status, c.body)
			}
			stillServing(t, client, srv.URL)
		})
	}
}

// TestFaultFunctionOverload: with concurrency 1 and queue_size 2, a burst of
// 50 requests to a hanging function gets 47 immediate refusals (500), and
// while the other three hold the function's process and its whole queue,
// a public route is served. The hanging requests end only at the
// function's 60 s timeout or when their clients give up, so the queue is
// certainly full while the public route is called: nothing here depends on
// how fast the machine is.
func TestFaultFunctionOverload(t *testing.T) {
	bin := faulty(t)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  busyproxy: {runtime: process, command: [%[1]s], timeout: 60s, concurrency: 1, queue_size: 2}
  busyauth: {runtime: process, command: [%[1]s], timeout: 60s, concurrency: 1, queue_size: 2}
authorizers:
  busy: {type: lambda, function: busyauth, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s, timeout: 60s}
routes:
  - route: GET /status
    integration: {type: mock, body: ok}
  - {route: "ANY /fn/{fault}", integration: {type: lambda_proxy, function: busyproxy, timeout: 60s}}
  - {route: GET /auth, authorizer: busy, integration: {type: mock, body: allowed}}
`, bin), Deps{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}, Timeout: 2 * time.Minute}
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	bearer := func(s string) http.Header { return http.Header{"Authorization": {"Bearer " + s}} }
	// Wait until both processes are up (and idle again).
	deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not on speed
	for call(client, "GET", srv.URL+"/fn/ok", nil).status != 200 || call(client, "GET", srv.URL+"/auth", bearer("ok")).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("functions never ready")
		}
		time.Sleep(50 * time.Millisecond)
	}

	const burst, held = 50, 3 // concurrency 1 + queue_size 2
	for _, target := range []struct {
		name, path string
		header     http.Header
		body       string
	}{
		{"lambda_proxy", "/fn/hang", nil, functionError},
		{"authorizer", "/auth", bearer("hang"), authorizerError},
	} {
		t.Run(target.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			results := make(chan outcome, burst)
			for range burst {
				go func() { results <- callContext(ctx, client, "GET", srv.URL+target.path, target.header) }()
			}
			safety := time.NewTimer(50 * time.Second) // well inside the 60 s the held requests wait
			defer safety.Stop()
			for i := range burst - held {
				select {
				case o := <-results:
					if o.err != nil || o.status != 500 || o.body != target.body {
						t.Fatalf("refusal %d: %+v, want 500 %s", i, o, target.body)
					}
				case <-safety.C:
					t.Fatalf("only %d of %d requests refused; the queue let more in", i, burst-held)
				}
			}
			heldBack := func(when string) {
				select {
				case o := <-results:
					t.Fatalf("%s: a request the function holds was answered: %+v", when, o)
				default:
				}
			}
			heldBack("queue full")
			for range 20 {
				stillServing(t, client, srv.URL)
			}
			heldBack("after the public route was served")
			cancel() // the held clients give up; their requests end at once
			for range held {
				<-results
			}
		})
	}
}

// TestFaultPoisonInput: one client's input that crashes the function it
// reaches (here os.Exit mid-invocation) fails only its own request, through
// lambda_proxy and through a Lambda authorizer. Other clients, each right
// after a crash, are served: the crashed process is replaced at once, not
// after a crash-loop backoff. Before the fix, sixteen crashes over two
// processes (eight on at least one) grew that backoff to 12.8 s, past the
// function's 10 s queue wait, and the requests after them failed.
//
// Each authorizer failure is logged with the request's id and the
// function error's type (Runtime.ExitError), never the token.
func TestFaultPoisonInput(t *testing.T) {
	bin := faulty(t)
	log, logs := testlog.New()
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  shared: {runtime: process, command: [%[1]s], timeout: 10s, concurrency: 2}
authorizers:
  shared: {type: lambda, function: shared, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s, timeout: 30s}
routes:
  - {route: "ANY /fn/{fault}", integration: {type: lambda_proxy, function: shared, timeout: 30s}}
  - {route: GET /auth, authorizer: shared, integration: {type: mock, body: allowed}}
`, bin), Deps{Logger: log, AccessLog: logs})
	client := &http.Client{Timeout: time.Minute}
	bearer := func(s string) http.Header { return http.Header{"Authorization": {"Bearer " + s}} }
	for i := range 16 {
		poison, served := call(client, "GET", srv.URL+"/fn/crash", nil), call(client, "GET", srv.URL+"/fn/ok", nil)
		if poison.status != 500 || poison.body != functionError {
			t.Fatalf("lambda_proxy poison %d: %+v, want 500 %s", i, poison, functionError)
		}
		if served.status != 200 || served.body != "ok" {
			t.Fatalf("lambda_proxy request after poison %d: %+v", i, served)
		}
		poison, served = call(client, "GET", srv.URL+"/auth", bearer("crash")), call(client, "GET", srv.URL+"/auth", bearer("ok"))
		if poison.status != 500 || poison.body != authorizerError {
			t.Fatalf("authorizer poison %d: %+v, want 500 %s", i, poison, authorizerError)
		}
		if served.status != 200 || served.body != "allowed" {
			t.Fatalf("authorizer request after poison %d: %+v", i, served)
		}
	}

	failures := map[string]map[string]any{} // by request id
	var denied []string
	deadline := time.Now().Add(20 * time.Second) // the access log is written after the answer
	for len(denied) < 16 && time.Now().Before(deadline) {
		denied = denied[:0]
		for _, r := range logs.Records() {
			switch {
			case r["msg"] == "lambda authorizer: function returned an error":
				failures[fmt.Sprint(r["request_id"])] = r
			case r["msg"] == "request" && r["route"] == "GET /auth" && r["status"] == float64(500):
				denied = append(denied, fmt.Sprint(r["request_id"]))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(denied) != 16 {
		t.Fatalf("%d authorizer 500s in the access log, want 16", len(denied))
	}
	for _, id := range denied {
		f := failures[id]
		if f == nil || f["error_type"] != "Runtime.ExitError" || f["error"] == nil {
			t.Errorf("request %s: authorizer failure logged as %v, want its id, error and error_type Runtime.ExitError", id, f)
		}
	}
	if strings.Contains(logs.String(), "Bearer crash") {
		t.Error("the log holds a token")
	}
}

// TestBackendFailureRecords: what the access log and the metrics say when
// an exchange with the backend fails. A client that gives up is the
// client's doing (499, canceled), not a backend timeout (504, timeout).
// The client gives up once the backend has its request, on a route whose
// timeout is far away, so that only the client can end that exchange; the
// backend answers only after 5 s, far past the other route's timeout.
func TestBackendFailureRecords(t *testing.T) {
	be := newFaultyBackend(t)
	reg := prometheus.NewRegistry()
	log, logs := testlog.New()
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
routes:
  - route: GET /be/{what}
    integration: {type: http_proxy, uri: "%[1]s/{what}", timeout: 1m}
  - route: GET /short/{what}
    integration: {type: http_proxy, uri: "%[1]s/{what}", timeout: 400ms}
`, be.URL), Deps{Logger: log, AccessLog: logs, Metrics: NewMetrics(reg)})

	ctx, giveUp := context.WithCancel(context.Background())
	go func() {
		select {
		case <-be.heard:
			giveUp()
		case <-ctx.Done():
		}
	}()
	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Minute} // a bound on hanging, not on speed
	if o := callContext(ctx, client, "GET", srv.URL+"/be/slow-headers", nil); o.err == nil {
		t.Fatalf("the client that gave up got an answer: %+v", o)
	}
	giveUp()
	if o := call(client, "GET", srv.URL+"/short/slow-headers", nil); o.status != 504 {
		t.Fatalf("timeout: %+v", o)
	}

	want := map[float64]string{answer.ClientClosed: "canceled", 504: "timeout"}
	deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not on speed
	for {
		got := map[float64]string{}
		for _, r := range logs.Records() {
			if r["msg"] == "request" {
				got[r["status"].(float64)], _ = r["reason"].(string)
			}
		}
		if maps.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log statuses and reasons %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ route, status string }{{"GET /be/{what}", "499"}, {"GET /short/{what}", "504"}} {
		if n := metricValue(families, "portcullis_requests_total", []string{"gateway", c.route, c.status}); n != 1 {
			t.Errorf("portcullis_requests_total{route=%q, status=%s} = %v, want 1", c.route, c.status, n)
		}
	}
}
