package gateway

// Responses cut short after their status and headers were sent: a backend
// that closes mid-body, a client that stops reading and goes away, a body
// still arriving at the integration timeout. Each request is logged and
// counted once with a reason, and the client still sees a truncated
// response, never a clean short one.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/proxy"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testlog"
)

// cuttingBackend serves responses that end badly, on loopback.
func cuttingBackend(t *testing.T) string {
	t.Helper()
	hijack := func(w http.ResponseWriter, head string, body int) {
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		bw.WriteString(head + strings.Repeat("b", body))
		bw.Flush()
		c.Close() // FIN, with the body unfinished
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		// Enough body that the gateway has sent the headers on before the cut.
		hijack(w, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\nContent-Type: text/plain\r\n\r\n", 100000)
	})
	mux.HandleFunc("/chunked-close", func(w http.ResponseWriter, r *http.Request) {
		// A chunked body that stops without its last chunk: the client can
		// only tell if the gateway cuts its own connection too.
		hijack(w, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3e8\r\n", 1000)
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := bytes.Repeat([]byte("e"), 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	// Five seconds of body, past the 1 s timeout of its route; the headers
	// come at once, well within it even on a loaded machine.
	mux.HandleFunc("/trickle", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for range 100 {
			if _, err := io.WriteString(w, "chunk\n"); err != nil {
				return
			}
			http.NewResponseController(w).Flush()
			select {
			case <-time.After(50 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// stdLogLines captures what is written to the standard library's logger
// (where httputil.ReverseProxy, which the proxy once was, wrote its errors)
// until the test ends.
func stdLogLines(t *testing.T) *testlog.Buffer {
	t.Helper()
	buf := &testlog.Buffer{}
	prev, flags := log.Writer(), log.Flags()
	log.SetOutput(buf)
	t.Cleanup(func() { log.SetOutput(prev); log.SetFlags(flags) })
	return buf
}

// TestCutResponsesRecorded: whatever cuts a proxied response short after
// its headers were sent, the request has exactly one access-log line (status
// as sent, the reason, the principal) and is counted once in
// portcullis_requests_total and once in portcullis_responses_cut_total; the
// client sees a truncated response; nothing but JSON is logged.
func TestCutResponsesRecorded(t *testing.T) {
	stdlog := stdLogLines(t)
	iss := testissuer.New(t)
	be := cuttingBackend(t)
	reg := prometheus.NewRegistry()
	logger, logs := testlog.New()
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [%[2]s]}
routes:
  - {route: GET /close, authorizer: users, integration: {type: http_proxy, uri: "%[3]s/close"}}
  - {route: GET /chunked-close, authorizer: users, integration: {type: http_proxy, uri: "%[3]s/chunked-close"}}
  - {route: GET /endless, authorizer: users, integration: {type: http_proxy, uri: "%[3]s/endless"}}
  - {route: GET /trickle, authorizer: users, integration: {type: http_proxy, uri: "%[3]s/trickle", timeout: 1s}}
  - {route: GET /stalled, authorizer: users, integration: {type: http_proxy, uri: "%[3]s/endless", timeout: 1s}}
`, iss.URL, testissuer.Audience, be), Deps{Logger: logger, AccessLog: logs, Metrics: NewMetrics(reg)})
	tok := iss.Mint(t, "k1", map[string]any{"sub": "alice"})
	gwAddr := strings.TrimPrefix(srv.URL, "http://")

	// readAll reads the whole response as a client would; it must end in
	// an error (truncated), not in a clean end of body.
	readAll := func(t *testing.T, path string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil {
			t.Errorf("the response ended cleanly after %d bytes: a cut must look cut to the client", n)
		}
		return resp.Header.Get(RequestIDResponseHeader)
	}
	// stopReading reads the headers and a little of the body, then reads
	// no more; with close it resets the connection while the backend is
	// still sending, else it keeps the connection open until the test ends.
	stopReading := func(t *testing.T, path string, close bool) string {
		c, err := net.Dial("tcp", gwAddr)
		if err != nil {
			t.Fatal(err)
		}
		if close {
			defer c.Close()
		} else {
			t.Cleanup(func() { c.Close() })
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path, gwAddr, tok)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 64<<10); err != nil {
			t.Fatal(err)
		}
		if close {
			c.(*net.TCPConn).SetLinger(0) // reset: unread data would delay a FIN anyway
		}
		return resp.Header.Get(RequestIDResponseHeader)
	}
	goAway := func(t *testing.T, path string) string { return stopReading(t, path, true) }
	stall := func(t *testing.T, path string) string { return stopReading(t, path, false) }

	for _, tc := range []struct {
		name, path string
		client     func(*testing.T, string) string
		reason     string
		backendErr bool
	}{
		{"backend closes mid-body", "/close", readAll, proxy.CutBackendClosed, true},
		{"backend closes mid-chunked-body", "/chunked-close", readAll, proxy.CutBackendClosed, true},
		{"client goes away", "/endless", goAway, proxy.CutClientClosed, false},
		{"integration timeout mid-body", "/trickle", readAll, proxy.CutTimeout, true},
		// The integration timeout bounds writing to the client too: a
		// client that stops reading does not hold the request forever.
		{"client stops reading", "/stalled", stall, proxy.CutTimeout, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.client(t, tc.path)
			if id == "" {
				t.Fatal("no request id")
			}
			var mine []map[string]any
			deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not on speed
			for {
				mine = mine[:0]
				for _, r := range logs.Records() {
					if r["msg"] == "request" && r["request_id"] == id {
						mine = append(mine, r)
					}
				}
				if len(mine) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(mine) != 1 {
				t.Fatalf("%d access-log lines for request %s, want 1", len(mine), id)
			}
			r := mine[0]
			if r["status"] != 200.0 || r["reason"] != tc.reason || r["principal"] != "alice" || r["route"] != "GET "+tc.path {
				t.Errorf("access log: %v; want status 200, reason %s, principal alice", r, tc.reason)
			}
			if _, ok := r["backend_error"]; ok != tc.backendErr {
				t.Errorf("backend_error %v, want present %v", r["backend_error"], tc.backendErr)
			}
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			if n := metricValue(families, "portcullis_requests_total", []string{"gateway", "GET " + tc.path, "200"}); n != 1 {
				t.Errorf("portcullis_requests_total{route=%q,status=200} = %v, want 1", "GET "+tc.path, n)
			}
			if n := metricValue(families, "portcullis_responses_cut_total", []string{tc.reason, "GET " + tc.path}); n != 1 {
				t.Errorf("portcullis_responses_cut_total{reason=%q,route=%q} = %v, want 1", tc.reason, "GET "+tc.path, n)
			}
		})
	}

	if s := stdlog.String(); s != "" {
		t.Errorf("plain text written to the standard logger:\n%s", s)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}
