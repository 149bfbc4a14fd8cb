package lambdaproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzRequest builds the request the gateway would hand over, without the
// validation httptest.NewRequest does (which panics on bad input).
func fuzzRequest(method, path, rawQuery, headers string, body []byte) *Request {
	h := http.Header{}
	for _, line := range strings.Split(headers, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			ck := http.CanonicalHeaderKey(k)
			h[ck] = append(h[ck], strings.TrimLeft(v, " "))
		}
	}
	r := &http.Request{
		Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: "api.example.com", RemoteAddr: "203.0.113.9:1234",
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
	return &Request{HTTP: r, RouteKey: method + " " + path, Resource: path, RequestID: "req-1", Time: testTime}
}

// FuzzBuildEvent: for random method, path, query, headers and body, both
// payload formats give one valid JSON object, and its body decodes back to
// exactly the request body (base64 or not, as isBase64Encoded says).
func FuzzBuildEvent(f *testing.F) {
	f.Add("POST", "/pets/42", "q=1&q=2&name=a%20b", "Content-Type: application/json\nCookie: a=1; b=2\nCookie: c=3\nX-Multi: 1\nX-Multi: 2", []byte(`{"x":1}`))
	f.Add("GET", "/", "", "", []byte(nil))
	f.Add("PUT", "/ü/%2F", "%zz&=&a=%E2%82", "Content-Type: text/plain; charset=\xff", []byte{0xff, 0x00})
	f.Add("X\x00", "", ";;", "Content-Type: image/png\ncookie: ;;=", []byte("\x89PNG"))
	f.Add("GET", "rel", "a=\u2028", "Content-Type: application/x-www-form-urlencoded", []byte("a=%zz"))
	f.Fuzz(func(t *testing.T, method, path, rawQuery, headers string, body []byte) {
		for _, version := range []string{"1.0", "2.0"} {
			event, err := BuildEvent(baseSettings(version), fuzzRequest(method, path, rawQuery, headers, body), body)
			if err != nil {
				t.Fatalf("%s: %v", version, err)
			}
			var e struct {
				Body            *string `json:"body"`
				IsBase64Encoded bool    `json:"isBase64Encoded"`
				HTTPMethod      string  `json:"httpMethod"`
				RawPath         string  `json:"rawPath"`
			}
			if !json.Valid(event) || json.Unmarshal(event, &e) != nil {
				t.Fatalf("%s: invalid event %q", version, event)
			}
			var got []byte
			switch {
			case e.Body == nil:
			case e.IsBase64Encoded:
				if got, err = base64.StdEncoding.DecodeString(*e.Body); err != nil {
					t.Fatalf("%s: body is not base64: %v", version, err)
				}
			default:
				got = []byte(*e.Body)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("%s: body %q, sent %q", version, got, body)
			}
			if version == "1.0" && utf8.ValidString(method) && e.HTTPMethod != method {
				t.Fatalf("httpMethod %q, want %q", e.HTTPMethod, method)
			}
		}
	})
}

// FuzzServeResponse: whatever the function answers, Serve never panics,
// answers with a status from 200 to 599, and answers 502 with the gateway's
// own body when the output is not JSON. No header the function sets can
// carry CR, LF or NUL, and Content-Length is the body's length.
func FuzzServeResponse(f *testing.F) {
	for _, seed := range []string{
		`{"statusCode":201,"headers":{"X-A":"1","Content-Length":"99"},"multiValueHeaders":{"x-a":["2","3"]},"body":"hi"}`,
		`{"statusCode":200,"body":"aGk=","isBase64Encoded":true,"cookies":["a=1","b=2; Path=/"]}`,
		`{"statusCode":"200"}`,
		`{"statusCode":200.5}`,
		`{"statusCode":99}`,
		`{"statusCode":1e3}`,
		`{"statusCode":204,"body":"x"}`,
		`{"statusCode":200,"headers":{"X-Bad":"a\r\nSet-Cookie: evil=1","Bad Name":"x","Transfer-Encoding":"chunked"}}`,
		`{"statusCode":200,"headers":{"X":{"a":1}}}`,
		`{"statusCode":200,"body":"!!!","isBase64Encoded":true}`,
		`{"statusCode":200,"body":null,"isBase64Encoded":null,"headers":null}`,
		`{"hello":"world"}`,
		`"just a string"`,
		`[1,2,3]`,
		`null`,
		`12`,
		` {"statusCode":200} `,
		`{"statusCode":200}{"statusCode":500}`,
		`not json`,
		``,
		"\xff\xfe",
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	var out []byte
	fn := invokerFunc(func(context.Context, []byte) ([]byte, error) { return out, nil })
	v1 := mustNew(f, baseSettings("1.0"), fn)
	v2 := mustNew(f, baseSettings("2.0"), fn)
	f.Fuzz(func(t *testing.T, answer []byte, useV2 bool) {
		out = answer
		in := v1
		if useV2 {
			in = v2
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			rec := httptest.NewRecorder()
			req := get("http://api.example.com/x")
			req.HTTP.Method = method
			reason := in.Serve(rec, req)
			rec.Flush()
			status := rec.Code
			if status < 200 || status > 599 {
				t.Fatalf("status %d", status)
			}
			if !json.Valid(bytes.TrimSpace(answer)) && (status != http.StatusBadGateway || reason != ReasonBadResponse) {
				t.Fatalf("junk answered %d (%s)", status, reason)
			}
			if reason != "" && reason != ReasonBadResponse {
				t.Fatalf("unexpected reason %q", reason)
			}
			for k, vs := range rec.Header() {
				for _, v := range vs {
					if strings.ContainsAny(k+v, "\r\n\x00") {
						t.Fatalf("header %q: %q", k, v)
					}
				}
			}
			if method == http.MethodHead && rec.Body.Len() != 0 {
				t.Fatalf("HEAD answered with %d body bytes", rec.Body.Len())
			}
			if cl := rec.Header().Get("Content-Length"); cl != "" && method == http.MethodGet && cl != strconv.Itoa(rec.Body.Len()) {
				t.Fatalf("Content-Length %s for %d bytes", cl, rec.Body.Len())
			}
		}
	})
}
