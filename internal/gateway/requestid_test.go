package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbackend"
	"github.com/portcullis/portcullis/internal/testlog"
)

// TestRequestIDCannotBeForged: whatever a backend, a function or a mock
// integration puts in Apigw-Requestid, the client gets exactly one, the
// gateway's: the id of the request's access-log line. Informational (1xx)
// answers relayed from a backend carry the gateway's id too, and do not
// cost the final answer its id.
func TestRequestIDCannotBeForged(t *testing.T) {
	forging := newRawForgingBackend(t)
	function := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// runtime: http: the answer is the Lambda proxy response.
		io.WriteString(w, `{"statusCode": 200, "headers": {"apigw-requestid": "forged-fn", "Apigw-Requestid": "forged-fn2"},
			"multiValueHeaders": {"APIGW-REQUESTID": ["forged-mv1", "forged-mv2"]}, "body": "ok"}`)
	}))
	t.Cleanup(function.Close)
	logger, logs := testlog.New()
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  forger: {runtime: http, url: %[2]q}
routes:
  - {route: GET /proxy, integration: {type: http_proxy, uri: "http://%[1]s/proxy"}}
  - {route: GET /hints, integration: {type: http_proxy, uri: "http://%[1]s/hints"}}
  - {route: GET /fn2, integration: {type: lambda_proxy, function: forger}}
  - {route: GET /fn1, integration: {type: lambda_proxy, function: forger, payload_format_version: "1.0"}}
  - {route: GET /mock, integration: {type: mock, body: ok, headers: {apigw-requestid: forged-mock}}}
`, forging, function.URL), Deps{Logger: logger, AccessLog: logs})

	for _, path := range []string{"/proxy", "/hints", "/fn2", "/fn1", "/mock"} {
		t.Run(path, func(t *testing.T) {
			var interim []textproto.MIMEHeader
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				interim = append(interim, h)
				return nil
			}}
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			ids := resp.Header.Values(RequestIDResponseHeader)
			if len(ids) != 1 {
				t.Fatalf("%s: %q, want exactly one", RequestIDResponseHeader, ids)
			}
			logged := ""
			deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not on speed
			for logged == "" && time.Now().Before(deadline) {
				for _, r := range logs.Records() {
					if r["msg"] == "request" && r["path"] == path {
						logged, _ = r["request_id"].(string)
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			if ids[0] != logged {
				t.Errorf("client got request id %q, the access log says %q", ids[0], logged)
			}
			for _, h := range interim {
				if got := h.Values(RequestIDResponseHeader); len(got) != 1 || got[0] != logged {
					t.Errorf("informational answer's %s: %q, want [%s]", RequestIDResponseHeader, got, logged)
				}
			}
			if path == "/hints" && len(interim) != 1 {
				t.Errorf("%d informational answers relayed, want 1", len(interim))
			}
		})
	}
}

// newRawForgingBackend answers /proxy with its own Apigw-Requestid headers
// (two spellings), and /hints with a 103 Early Hints carrying one before
// the final answer.
func newRawForgingBackend(t *testing.T) string {
	t.Helper()
	return testbackend.NewRaw(t, testbackend.EachRequest(func(c net.Conn, req *http.Request) bool {
		if req.URL.Path == "/hints" {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nApigw-Requestid: forged-103\r\n\r\n")
		}
		_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApigw-Requestid: forged\r\napigw-requestid: forged-lower\r\n\r\nok")
		return err == nil
	})).Addr
}

// TestMockHeaders: a mock's answer carries its configured headers, the
// body's own Content-Length whatever length was configured, and the
// gateway's request id under its canonical name (begin sets it without
// Set, so the name must need no canonicalization), request after request.
func TestMockHeaders(t *testing.T) {
	if c := textproto.CanonicalMIMEHeaderKey(RequestIDResponseHeader); c != RequestIDResponseHeader {
		t.Fatalf("RequestIDResponseHeader %q is not canonical (%q)", RequestIDResponseHeader, c)
	}
	srv, _, _ := gatewayServer(t, `listen: 127.0.0.1:0
routes:
  - route: ANY /m
    integration: {type: mock, status: 201, body: hello, headers: {x-kind: mock, content-length: "999"}}
`, Deps{})
	ids := map[string]bool{}
	for _, method := range []string{"GET", "HEAD", "GET"} {
		req, _ := http.NewRequest(method, srv.URL+"/m", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantBody := "hello"
		if method == "HEAD" {
			wantBody = ""
		}
		id := resp.Header.Values(RequestIDResponseHeader)
		if resp.StatusCode != 201 || string(body) != wantBody || resp.Header.Get("Content-Length") != "5" ||
			resp.Header.Get("X-Kind") != "mock" || len(id) != 1 || len(id[0]) != 16 || ids[id[0]] {
			t.Fatalf("%s: %d %q, headers %v", method, resp.StatusCode, body, resp.Header)
		}
		ids[id[0]] = true
	}
}
