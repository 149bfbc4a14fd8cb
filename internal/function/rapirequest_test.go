package function

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Requests exactly as aws-lambda-go 1.55 sends them.
const (
	awsNext = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:53081\r\n" +
		"User-Agent: aws-lambda-go/go1.26.8\r\nAccept-Encoding: gzip\r\n\r\n"
	awsResponse = "POST /2018-06-01/runtime/invocation/11111111-2222-4333-8444-555555555555/response HTTP/1.1\r\n" +
		"Host: 127.0.0.1:53081\r\nUser-Agent: aws-lambda-go/go1.26.8\r\nTransfer-Encoding: chunked\r\n" +
		"Trailer: Lambda-Runtime-Function-Error-Body,Lambda-Runtime-Function-Error-Type\r\n" +
		"Content-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n" +
		"e\r\n{\"allow\":true}\r\n0\r\n\r\n"
	awsStreamError = "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: h\r\n" +
		"Transfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Body,Lambda-Runtime-Function-Error-Type\r\n\r\n" +
		"2\r\n{}\r\n3\r\n[1]\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.Boom\r\n" +
		"Lambda-Runtime-Function-Error-Body: eyJ9\r\n\r\n"
	awsError = "POST /2018-06-01/runtime/invocation/abc/error HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n" +
		"Lambda-Runtime-Function-Error-Type: errorString\r\nConnection: close\r\n\r\n{}"
)

func TestParseSimple(t *testing.T) {
	for _, tc := range []struct {
		in                          string
		method, path, body, errType string
		trailerType, trailerBody    string
		close                       bool
	}{
		{in: awsNext, method: "GET", path: "/2018-06-01/runtime/invocation/next"},
		{in: awsResponse, method: "POST", path: "/2018-06-01/runtime/invocation/11111111-2222-4333-8444-555555555555/response", body: `{"allow":true}`},
		{in: awsStreamError, method: "POST", path: "/2018-06-01/runtime/invocation/abc/response", body: "{}[1]",
			trailerType: "Runtime.Boom", trailerBody: "eyJ9"},
		{in: awsError, method: "POST", path: "/2018-06-01/runtime/invocation/abc/error", body: "{}", errType: "errorString", close: true},
	} {
		var r request
		// Whole, then with the next request behind it.
		for _, in := range []string{tc.in, tc.in + awsNext} {
			n, more := parseSimple([]byte(in), &r)
			if n != len(tc.in) || more {
				t.Fatalf("%q: n=%d more=%v, want %d", in, n, more, len(tc.in))
			}
			if r.method != tc.method || r.path != tc.path || string(r.body) != tc.body || r.errorType != tc.errType ||
				r.trailerType != tc.trailerType || r.trailerBody != tc.trailerBody || r.close != tc.close || !r.simple {
				t.Errorf("%q: got %+v", in, r)
			}
		}
		// Every strict prefix asks for more.
		for i := range len(tc.in) {
			if n, more := parseSimple([]byte(tc.in[:i]), &r); n != 0 || !more {
				t.Fatalf("prefix %q: n=%d more=%v, want 0, true", tc.in[:i], n, more)
			}
		}
	}
	// Left to net/http: anything unusual.
	for _, in := range []string{
		"PUT /x HTTP/1.1\r\n\r\n",
		"GET /x HTTP/1.0\r\n\r\n",
		"GET /a%2Fb HTTP/1.1\r\n\r\n",
		"GET /x?y=1 HTTP/1.1\r\n\r\n",
		"GET http://h/x HTTP/1.1\r\n\r\n",
		"GET /x HTTP/1.1\n\n",
		"GET /x HTTP/1.1\r\nA : b\r\n\r\n",
		"GET /x HTTP/1.1\r\nA(1): b\r\n\r\n",
		"GET /x HTTP/1.1\r\nA\xc3\xa4: b\r\n\r\n",
		"GET /x HTTP/1.1\r\nA\x7f: b\r\n\r\n",
		"GET /x HTTP/1.1\r\n folded\r\n\r\n",
		"GET /x HTTP/1.1\r\nA: caf\xc3\xa9\r\n\r\n",
		"GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
		"GET /x HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
		"GET /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
		"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"POST /x HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
		"POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=1\r\nx\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nLambda-Runtime-Function-Error-Type: a\r\nLambda-Runtime-Function-Error-Type: b\r\n\r\n",
	} {
		var r request
		if n, more := parseSimple([]byte(in), &r); n != 0 || more {
			t.Errorf("%q: n=%d more=%v, want it left to net/http", in, n, more)
		}
	}
}

// FuzzParseSimple checks that whatever parseSimple accepts, net/http reads
// the same way.
func FuzzParseSimple(f *testing.F) {
	for _, s := range []string{awsNext, awsResponse, awsStreamError, awsError, awsResponse + awsNext,
		"POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "GET /x HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r request
		n, _ := parseSimple(in, &r)
		if n == 0 {
			return
		}
		br := bufio.NewReader(bytes.NewReader(in))
		h, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("parseSimple accepted %q, net/http: %v", in, err)
		}
		body, err := io.ReadAll(h.Body)
		if err != nil {
			t.Fatalf("parseSimple accepted %q, net/http body: %v", in, err)
		}
		if rest, _ := io.ReadAll(br); len(rest) != len(in)-n {
			t.Fatalf("%q: parseSimple used %d bytes, net/http %d", in, n, len(in)-len(rest))
		}
		if r.method != h.Method || r.path != h.URL.Path || r.close != h.Close || !bytes.Equal(r.body, body) ||
			r.errorType != h.Header.Get(trailerErrorType) ||
			r.trailerType != h.Trailer.Get(trailerErrorType) || r.trailerBody != h.Trailer.Get(trailerErrorBody) {
			t.Fatalf("%q: parseSimple %+v, net/http %s %s close=%v body=%q header=%v trailer=%v",
				in, r, h.Method, h.URL.Path, h.Close, body, h.Header, h.Trailer)
		}
		if strings.Contains(r.path, "%") {
			t.Fatalf("%q: escaped path %q accepted", in, r.path)
		}
	})
}
