package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// traceFunction is testdata/tracefn.
var traceFunction = testbin.New("testdata", "tracefn")

// receiver is a real OTLP trace receiver on loopback, over gRPC or HTTP,
// decoding with the protocol's own protobuf types.
type receiver struct {
	collectortrace.UnimplementedTraceServiceServer
	mu       sync.Mutex
	spans    []*tracepb.Span
	services map[string]bool // service.name of the resources
}

func (rc *receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				if rc.services == nil {
					rc.services = map[string]bool{}
				}
				rc.services[a.Value.GetStringValue()] = true
			}
		}
		for _, ss := range rs.ScopeSpans {
			rc.spans = append(rc.spans, ss.Spans...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	resp, _ := rc.Export(r.Context(), &req)
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// start serves the receiver for protocol and returns its base URL.
func (rc *receiver) start(t *testing.T, protocol string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if protocol == "grpc" {
		s := grpc.NewServer()
		collectortrace.RegisterTraceServiceServer(s, rc)
		go s.Serve(ln)
		t.Cleanup(s.Stop)
	} else {
		s := &http.Server{Handler: rc}
		go s.Serve(ln)
		t.Cleanup(func() { s.Close() })
	}
	return "http://" + ln.Addr().String()
}

func (rc *receiver) all() []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*tracepb.Span(nil), rc.spans...)
}

// stopNow stops the gateway and waits for it (its tracer flushes on exit).
func (r *running) stopNow(t *testing.T) {
	r.stop()
	err := <-r.done
	r.done <- err // for the cleanup
	if err != nil {
		t.Fatal(err)
	}
}

func TestTracing(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) { testTracing(t, protocol) })
	}
}

func testTracing(t *testing.T, protocol string) {
	rc := &receiver{}
	endpoint := rc.start(t, protocol)
	iss := testissuer.New(t)
	var mu sync.Mutex
	seen := map[string]string{} // backend path → traceparent
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("Traceparent") + "|" + r.Header.Get("X-Amzn-Trace-Id")
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
tracing: {enabled: true, endpoint: %q, protocol: %s}
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
functions:
  tracefn: {runtime: process, command: [%q], env: {BACKEND_URL: "%s/from-function"}}
routes:
  - route: GET /fn
    authorizer: users
    integration: {type: lambda_proxy, function: tracefn}
  - route: GET /proxy/{id}
    authorizer: users
    integration: {type: http_proxy, uri: "%s/from-gateway/{id}"}
`, endpoint, protocol, iss.URL, traceFunction.Path(t, "tracefn"), backend.URL, backend.URL))
	tok := iss.Mint(t, "k1", nil)
	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

	code, body := get(t, r.base+"/fn", "Authorization", "Bearer "+tok, "Traceparent", "00-"+clientTrace+"-"+clientSpan+"-01",
		"X-Amzn-Trace-Id", "Root=1-00000000-000000000000000000000000")
	if code != 200 {
		t.Fatalf("GET /fn: %d %s", code, body)
	}
	var fn struct {
		Traceparent   string `json:"traceparent"`
		XRay          string `json:"x-amzn-trace-id"`
		RuntimeTrace  string `json:"runtime_trace"`
		BackendStatus int    `json:"backend_status"`
	}
	if err := json.Unmarshal([]byte(body), &fn); err != nil || fn.BackendStatus != 200 {
		t.Fatalf("function answer %s: %v", body, err)
	}
	if code, body := get(t, r.base+"/proxy/7", "Authorization", "Bearer "+tok); code != 200 {
		t.Fatalf("GET /proxy/7: %d %s", code, body)
	}
	// A key the gateway has not seen: the request waits for a key fetch.
	iss.AddKey(t, "k2", "rsa")
	if code, body := get(t, r.base+"/proxy/8", "Authorization", "Bearer "+iss.Mint(t, "k2", nil)); code != 200 {
		t.Fatalf("GET /proxy/8 with a new key: %d %s", code, body)
	}
	r.stopNow(t)

	spans := rc.all()
	byName := map[string][]*tracepb.Span{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
		for _, a := range s.Attributes {
			if v := a.Value.String(); strings.Contains(v, strings.Split(tok, ".")[1]) || strings.Contains(v, strings.Split(tok, ".")[2]) {
				t.Errorf("span %s attribute %s holds the token", s.Name, a.Key)
			}
		}
	}
	one := func(name string, i int) *tracepb.Span {
		t.Helper()
		if len(byName[name]) <= i {
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
			}
			t.Fatalf("no span %q #%d among %q", name, i, names)
		}
		return byName[name][i]
	}
	id := func(b []byte) string { return hex.EncodeToString(b) }
	// childOf finds the span named name whose parent is p.
	childOf := func(name string, p *tracepb.Span) *tracepb.Span {
		t.Helper()
		for _, s := range byName[name] {
			if id(s.ParentSpanId) == id(p.SpanId) && id(s.TraceId) == id(p.TraceId) {
				return s
			}
		}
		t.Fatalf("no span %q under %q", name, p.Name)
		return nil
	}
	attr := func(s *tracepb.Span, key string) string {
		for _, a := range s.Attributes {
			if a.Key == key {
				return a.Value.GetStringValue()
			}
		}
		return ""
	}

	// The lambda_proxy request: client → gateway → function → backend.
	req := one("GET /fn", 0)
	if id(req.TraceId) != clientTrace || id(req.ParentSpanId) != clientSpan || req.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span: trace %s parent %s kind %v; want the client's trace %s and span %s", id(req.TraceId), id(req.ParentSpanId), req.Kind, clientTrace, clientSpan)
	}
	childOf("route match", req)
	if got := attr(childOf("authorize users", req), "portcullis.authorizer.cache"); got != "miss" {
		t.Errorf("first authorization: cache %q, want miss", got)
	}
	invoke := childOf("invoke tracefn", req)
	wantTP := "00-" + clientTrace + "-" + id(invoke.SpanId) + "-01"
	wantXRay := "Root=1-" + clientTrace[:8] + "-" + clientTrace[8:] + ";Parent=" + id(invoke.SpanId) + ";Sampled=1"
	if fn.Traceparent != wantTP {
		t.Errorf("the function's event traceparent %q, want %q (the invoke span)", fn.Traceparent, wantTP)
	}
	if fn.XRay != wantXRay || fn.RuntimeTrace != wantXRay {
		t.Errorf("X-Amzn-Trace-Id in the event %q, Lambda-Runtime-Trace-Id %q; want %q", fn.XRay, fn.RuntimeTrace, wantXRay)
	}
	mu.Lock()
	fromFunction, fromGateway := seen["/from-function"], seen["/from-gateway/7"]
	mu.Unlock()
	if !strings.HasPrefix(fromFunction, wantTP) {
		t.Errorf("the backend called by the function saw %q, want the invoke span %q as parent", fromFunction, wantTP)
	}

	// The http_proxy request: a new trace; the backend's parent is the
	// gateway's http_proxy span.
	var preq *tracepb.Span // GET /proxy/7: the one whose http_proxy the backend saw
	tp, xray, _ := strings.Cut(fromGateway, "|")
	for _, p := range byName["GET /proxy/{id}"] {
		if strings.HasPrefix(tp, "00-"+id(p.TraceId)+"-") {
			preq = p
		}
	}
	if preq == nil {
		t.Fatalf("no request span for the trace the backend saw: %q", tp)
	}
	if id(preq.TraceId) == clientTrace || len(preq.ParentSpanId) != 0 {
		t.Errorf("a request without traceparent continued a trace: %s parent %s", id(preq.TraceId), id(preq.ParentSpanId))
	}
	proxy := childOf("http_proxy", preq)
	if want := "00-" + id(preq.TraceId) + "-" + id(proxy.SpanId) + "-01"; tp != want || !strings.Contains(xray, ";Parent="+id(proxy.SpanId)) {
		t.Errorf("backend saw traceparent %q X-Amzn-Trace-Id %q, want %q", tp, xray, want)
	}
	if got := attr(childOf("authorize users", preq), "portcullis.authorizer.cache"); got != "hit" {
		t.Errorf("second authorization: cache %q, want hit", got)
	}
	if got := attr(preq, "http.route"); got != "GET /proxy/{id}" {
		t.Errorf("http.route %q", got)
	}
	fetch := one("jwks fetch", 0)
	var parent *tracepb.Span
	for _, a := range byName["authorize users"] {
		if id(a.SpanId) == id(fetch.ParentSpanId) {
			parent = a
		}
	}
	if parent == nil || attr(parent, "portcullis.authorizer.cache") != "miss" || attr(fetch, "portcullis.jwks.result") != "ok" || len(byName["authorize users"]) != 3 {
		t.Errorf("jwks fetch span: parent %v (want an authorize span with a cache miss), result %q", parent, attr(fetch, "portcullis.jwks.result"))
	}
}

// TestTracingSamplingAndEnv: sample_ratio 0 exports nothing for new traces
// yet passes an unsampled context on, follows a caller that sampled
// (parent-based), and OTEL_* variables fill what the block leaves out.
func TestTracingSamplingAndEnv(t *testing.T) {
	rc := &receiver{}
	endpoint := rc.start(t, "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_SERVICE_NAME", "edge-gateway")
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Traceparent"))
		mu.Unlock()
	}))
	defer backend.Close()
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
tracing: {enabled: true, sample_ratio: 0}
routes:
  - route: GET /p
    integration: {type: http_proxy, uri: %q}
`, backend.URL+"/p"))
	if code, _ := get(t, r.base+"/p"); code != 200 {
		t.Fatalf("GET /p: %d", code)
	}
	const sampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if code, _ := get(t, r.base+"/p", "Traceparent", sampled); code != 200 {
		t.Fatalf("GET /p: %d", code)
	}
	r.stopNow(t)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !strings.HasSuffix(seen[0], "-00") || !strings.HasPrefix(seen[1], "00-0af7651916cd43dd8448eb211c80319c-") || !strings.HasSuffix(seen[1], "-01") {
		t.Errorf("backend saw %q: want an unsampled context, then the caller's sampled trace", seen)
	}
	spans := rc.all()
	if len(spans) == 0 {
		t.Fatal("nothing exported through OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if !rc.services["edge-gateway"] || len(rc.services) != 1 {
		t.Errorf("service names %v, want OTEL_SERVICE_NAME's edge-gateway", rc.services)
	}
	for _, s := range spans {
		if hex.EncodeToString(s.TraceId) != "0af7651916cd43dd8448eb211c80319c" {
			t.Errorf("span %s of an unsampled trace was exported", s.Name)
		}
	}
}

// TestTracingXRayHeader: a client that sends only X-Amzn-Trace-Id (AWS
// clients, load balancers, X-Ray's SDKs) has its trace continued, as seen
// by a real OTLP receiver and the backend; traceparent wins over it, and a
// malformed or over-long one starts a new trace without failing the request.
func TestTracingXRayHeader(t *testing.T) {
	const (
		xraySpan          = "4f2a9c7e1b3d5a60"
		w3cTrace, w3cSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	)
	// Each case its own trace, 6a1f3c207d4e9b0c2f18a3e5b6c7d8eN, so that
	// its exported spans are told apart.
	xrayTrace := func(n int) string { return fmt.Sprintf("6a1f3c207d4e9b0c2f18a3e5b6c7d8e%d", n) }
	xrayRoot := func(n int) string {
		return "Root=1-6a1f3c20-" + xrayTrace(n)[8:] + ";Parent=" + xraySpan
	}
	cases := []struct {
		name                string
		header              []string
		wantTrace, wantSpan string // the request span's trace and parent; "" for a new trace
		sampled             bool
	}{
		{"x-ray only", []string{"X-Amzn-Trace-Id", xrayRoot(0) + ";Sampled=1"}, xrayTrace(0), xraySpan, true},
		{"x-ray from a load balancer and an SDK", []string{"X-Amzn-Trace-Id", "Self=1-6a1f3c21-0123456789abcdef01234567; " + xrayRoot(1) + "; Sampled=1; CalledFrom=app"}, xrayTrace(1), xraySpan, true},
		{"traceparent wins", []string{"Traceparent", "00-" + w3cTrace + "-" + w3cSpan + "-01", "X-Amzn-Trace-Id", xrayRoot(2) + ";Sampled=1"}, w3cTrace, w3cSpan, true},
		{"x-ray not sampled", []string{"X-Amzn-Trace-Id", xrayRoot(3) + ";Sampled=0"}, xrayTrace(3), xraySpan, false},
		{"malformed x-ray", []string{"X-Amzn-Trace-Id", "Root=1-6a1f3c20-" + xrayTrace(4)[8:31] + "Z;Parent=" + xraySpan + ";Sampled=1"}, "", "", true},
		{"over-long x-ray", []string{"X-Amzn-Trace-Id", xrayRoot(5) + ";Sampled=1;Pad=" + strings.Repeat("x", 600)}, "", "", true},
	}
	rc := &receiver{}
	endpoint := rc.start(t, "http/protobuf")
	var mu sync.Mutex
	seen := map[string][2]string{} // backend path → traceparent, X-Amzn-Trace-Id
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = [2]string{r.Header.Get("Traceparent"), r.Header.Get("X-Amzn-Trace-Id")}
		mu.Unlock()
	}))
	defer backend.Close()
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
tracing: {enabled: true, endpoint: %q}
routes:
  - route: GET /p/{n}
    integration: {type: http_proxy, uri: "%s/b/{n}"}
`, endpoint, backend.URL))
	for i, c := range cases {
		if code, body := get(t, fmt.Sprintf("%s/p/%d", r.base, i), c.header...); code != 200 {
			t.Fatalf("%s: %d %s", c.name, code, body)
		}
	}
	r.stopNow(t)

	spans := rc.all()
	id := func(b []byte) string { return hex.EncodeToString(b) }
	mu.Lock()
	defer mu.Unlock()
	for i, c := range cases {
		tp, xray := seen[fmt.Sprintf("/b/%d", i)][0], seen[fmt.Sprintf("/b/%d", i)][1]
		// 00-TRACE-SPAN-FLAGS, the backend's parent being the http_proxy span.
		parts := strings.Split(tp, "-")
		if len(parts) != 4 {
			t.Errorf("%s: backend saw traceparent %q", c.name, tp)
			continue
		}
		trace, proxySpan := parts[1], parts[2]
		if wantX := "Root=1-" + trace[:8] + "-" + trace[8:] + ";Parent=" + proxySpan + ";"; !strings.HasPrefix(xray, wantX) {
			t.Errorf("%s: backend saw X-Amzn-Trace-Id %q, want the gateway's %q...", c.name, xray, wantX)
		}
		if (parts[3] == "01") != c.sampled {
			t.Errorf("%s: backend saw flags %s, want sampled %v", c.name, parts[3], c.sampled)
		}
		var req *tracepb.Span
		for _, s := range spans {
			if s.Kind == tracepb.Span_SPAN_KIND_SERVER && id(s.TraceId) == trace {
				req = s
			}
		}
		switch {
		case !c.sampled:
			if req != nil || trace != c.wantTrace {
				t.Errorf("%s: trace %s (want %s), exported %v (want nothing)", c.name, trace, c.wantTrace, req)
			}
		case req == nil:
			t.Errorf("%s: no request span exported for the trace %s the backend saw", c.name, trace)
		case c.wantTrace == "":
			if len(req.ParentSpanId) != 0 || trace == xrayTrace(i) {
				t.Errorf("%s: trace %s parent %s, want a new trace", c.name, trace, id(req.ParentSpanId))
			}
		default:
			if trace != c.wantTrace || id(req.ParentSpanId) != c.wantSpan {
				t.Errorf("%s: request span trace %s parent %s, want %s %s", c.name, trace, id(req.ParentSpanId), c.wantTrace, c.wantSpan)
			}
		}
	}
}
