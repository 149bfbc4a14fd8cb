package lambdaproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/testlog"
)

func shape(name string) *Request {
	return get("http://api.example.com/s?shape=" + name)
}

func jsonHeader(body string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "Content-Length": {fmt.Sprint(len(body))}}
}

type wantResponse struct {
	status int
	header http.Header
	body   []byte
	reason string
}

func assertResponse(t *testing.T, rec *httptest.ResponseRecorder, reason string, w wantResponse) {
	t.Helper()
	if rec.Code != w.status {
		t.Errorf("status %d, want %d (body %q)", rec.Code, w.status, rec.Body.Bytes())
	}
	if reason != w.reason {
		t.Errorf("reason %q, want %q", reason, w.reason)
	}
	assertHeader(t, rec.Result().Header, w.header)
	if !bytes.Equal(rec.Body.Bytes(), w.body) {
		t.Errorf("body %q, want %q", rec.Body.Bytes(), w.body)
	}
}

var (
	badResponse = wantResponse{502, jsonHeader(`{"message":"Internal server error"}`), []byte(`{"message":"Internal server error"}`), ReasonBadResponse}
	pngBytes    = []byte{0x89, 'P', 'N', 'G', 0x00, 0xff, 0xfe, '\n'}
)

// TestResponsesV1: the shapes function's answers, translated for 1.0.
func TestResponsesV1(t *testing.T) {
	s := baseSettings("1.0")
	s.MaxBodyBytes = 4096
	i := mustNew(t, s, startFunction(t, "shapes", 5*time.Second))
	cases := map[string]wantResponse{
		"multi": {200, http.Header{
			"Content-Type":   {"text/plain; charset=utf-8"},
			"X-One":          {"single"},
			"X-Both":         {"m1", "m2"},
			"Set-Cookie":     {"a=1; Path=/", "b=2"},
			"Content-Length": {"5"},
		}, []byte("hello"), ""},
		"base64": {200, http.Header{"Content-Type": {"image/png"}, "Content-Length": {"8"}}, pngBytes, ""},
		"created": {201, http.Header{
			"Location":       {"/pets/1"},
			"X-Count":        {"5"},
			"X-Flag":         {"true"},
			"Content-Type":   {"application/json"},
			"Content-Length": {"8"},
		}, []byte(`{"id":1}`), ""},
		"nocontent":     {204, http.Header{"Content-Type": {"application/json"}}, nil, ""},
		"nocontenttype": {200, http.Header{"Content-Type": {"application/json"}, "Content-Length": {"9"}}, []byte("<p>hi</p>"), ""},
		// 2.0's cookies field means nothing in 1.0; its headers still do.
		"cookies":    {200, http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"h=0"}, "Content-Length": {"2"}}, []byte("ok"), ""},
		"badbase64":  badResponse,
		"badstatus":  badResponse,
		"status99":   badResponse,
		"status600":  badResponse,
		"nostatus":   badResponse, // 1.0 makes no assumptions
		"bodyobject": badResponse,
		"bareobject": badResponse,
		"barestring": badResponse,
		"barenumber": badResponse,
		"big":        badResponse, // over MaxBodyBytes
		"junk":       badResponse, // not JSON (the runtime's ErrInvalidResponse)
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			rec, reason := serve(t, i, shape(name))
			assertResponse(t, rec, reason, want)
		})
	}
}

// TestResponsesV2: the same for 2.0, with cookies and the bare-JSON rule.
func TestResponsesV2(t *testing.T) {
	s := baseSettings("2.0")
	s.MaxBodyBytes = 4096
	i := mustNew(t, s, startFunction(t, "shapes", 5*time.Second))
	bare := func(body string) wantResponse {
		return wantResponse{200, jsonHeader(body), []byte(body), ""}
	}
	cases := map[string]wantResponse{
		"cookies": {200, http.Header{
			"Content-Type":   {"text/plain"},
			"Set-Cookie":     {"h=0", "s=1; Path=/; Secure", "t=2; HttpOnly"},
			"Content-Length": {"2"},
		}, []byte("ok"), ""},
		"base64": {200, http.Header{"Content-Type": {"image/png"}, "Content-Length": {"8"}}, pngBytes, ""},
		"created": {201, http.Header{
			"Location":       {"/pets/1"},
			"X-Count":        {"5"},
			"X-Flag":         {"true"},
			"Content-Type":   {"application/json"},
			"Content-Length": {"8"},
		}, []byte(`{"id":1}`), ""},
		// multiValueHeaders is not part of the 2.0 response format.
		"multi": {200, http.Header{
			"Content-Type":   {"text/plain; charset=utf-8"},
			"X-One":          {"single"},
			"X-Both":         {"from-headers"},
			"Content-Length": {"5"},
		}, []byte("hello"), ""},
		"bareobject": bare(`{"hello":"world","n":1}`),
		"barestring": bare(`"just a string"`),
		"barenumber": bare(`42`),
		"nostatus":   bare(`{"body":"no status"}`),
		"nocontent":  {204, http.Header{"Content-Type": {"application/json"}}, nil, ""},
		"badbase64":  badResponse,
		"badstatus":  badResponse,
		"status99":   badResponse,
		"status600":  badResponse,
		"bodyobject": badResponse,
		"big":        badResponse,
		"junk":       badResponse,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			rec, reason := serve(t, i, shape(name))
			assertResponse(t, rec, reason, want)
		})
	}
}

// TestHeadRequest: a HEAD gets the headers and no body.
func TestHeadRequest(t *testing.T) {
	i := mustNew(t, baseSettings("2.0"), startFunction(t, "shapes", 5*time.Second))
	r := shape("cookies")
	r.HTTP.Method = http.MethodHead
	rec, reason := serve(t, i, r)
	assertResponse(t, rec, reason, wantResponse{200, http.Header{
		"Content-Type":   {"text/plain"},
		"Set-Cookie":     {"h=0", "s=1; Path=/; Secure", "t=2; HttpOnly"},
		"Content-Length": {"2"},
	}, nil, ""})
}

// TestFunctionError: the function returns an error → 500, and nothing of
// its message reaches the client; the warning names the error's type and
// the invocation (whose id labels the function's own output), not its
// message.
func TestFunctionError(t *testing.T) {
	for _, v := range []string{"1.0", "2.0"} {
		logger, logs := testlog.New()
		i, err := New(baseSettings(v), startFunction(t, "fail", 5*time.Second), Options{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		r := realRequest()
		r.RequestID = "gw-req-1"
		rec, reason := serve(t, i, r)
		body := `{"message":"Internal Server Error"}`
		assertResponse(t, rec, reason, wantResponse{500, jsonHeader(body), []byte(body), ReasonFunctionError})
		var warned bool
		for _, rec := range logs.Records() {
			if rec["level"] != "WARN" {
				continue
			}
			warned = true
			id, _ := rec["function_request_id"].(string)
			if rec["msg"] != "lambda proxy: function returned an error" || rec["request_id"] != "gw-req-1" ||
				rec["error_type"] != "errorString" || len(id) != 36 || rec["error"] != nil {
				t.Errorf("%s: warning %v, want the request id, error_type and function_request_id, no message", v, rec)
			}
		}
		if !warned {
			t.Errorf("%s: no warning for the function error: %s", v, logs.String())
		}
	}
}

// TestTimeout: past the integration timeout → 504, whether the
// integration's deadline or the runtime's own timeout fires first.
func TestTimeout(t *testing.T) {
	body := `{"message":"Endpoint request timed out"}`
	want := wantResponse{504, jsonHeader(body), []byte(body), ReasonTimeout}
	t.Run("integration timeout", func(t *testing.T) {
		s := baseSettings("1.0")
		s.Timeout = 300 * time.Millisecond
		i := mustNew(t, s, startFunction(t, "sleep", 5*time.Second))
		// The function answers after 2 s: a 504 can only be the timeout's.
		rec, reason := serve(t, i, realRequest())
		assertResponse(t, rec, reason, want)
	})
	t.Run("runtime timeout", func(t *testing.T) {
		i := mustNew(t, baseSettings("2.0"), startFunction(t, "sleep", 300*time.Millisecond))
		// The runtime's 300 ms also bounds the wait for its process: on a
		// loaded machine the first requests may find none ready yet (500).
		deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not on speed
		for {
			rec, reason := serve(t, i, realRequest())
			if reason == ReasonUnavailable && time.Now().Before(deadline) {
				continue
			}
			assertResponse(t, rec, reason, want)
			break
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		i := mustNew(t, baseSettings("2.0"), startFunction(t, "sleep", 5*time.Second))
		r := realRequest()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		r.HTTP = r.HTTP.WithContext(ctx)
		rec, reason := serve(t, i, r)
		assertResponse(t, rec, reason, want)
	})
}

// TestClientGone: a client that goes away during the invocation is
// recorded as 499, not as the function's failure, and is let go at once.
func TestClientGone(t *testing.T) {
	i := mustNew(t, baseSettings("2.0"), startFunction(t, "sleep", 5*time.Second))
	r := realRequest()
	ctx, cancel := context.WithCancel(context.Background())
	r.HTTP = r.HTTP.WithContext(ctx)
	time.AfterFunc(200*time.Millisecond, cancel)
	// The function answers 200 after 2 s: a 499 can only be the client's
	// leaving, seen before that answer.
	rec, reason := serve(t, i, r)
	assertResponse(t, rec, reason, wantResponse{499, http.Header{}, nil, ReasonCanceled})
}

// TestTechnicalErrors: a function that could not be run at all (queue
// full, no process in time, Lambda refusing the invocation) → 500, as API
// Gateway answers an invocation Lambda rejects; other failures → 502.
func TestTechnicalErrors(t *testing.T) {
	bad := `{"message":"Internal server error"}`
	unavailable := `{"message":"Internal Server Error"}`
	cases := []struct {
		err    error
		status int
		body   string
		reason string
	}{
		{fmt.Errorf("function x: queue full (100 waiting): %w", function.ErrUnavailable), 500, unavailable, ReasonUnavailable},
		{errors.New("connection refused"), 502, bad, ReasonInvocationError},
		{fmt.Errorf("function x: %w", function.ErrTooLarge), 502, bad, ReasonResponseTooLarge},
		{fmt.Errorf("function x: %w", function.ErrInvalidResponse), 502, bad, ReasonBadResponse},
	}
	for _, c := range cases {
		i := mustNew(t, baseSettings("2.0"), invokerFunc(func(context.Context, []byte) ([]byte, error) { return nil, c.err }))
		rec, reason := serve(t, i, realRequest())
		assertResponse(t, rec, reason, wantResponse{c.status, jsonHeader(c.body), []byte(c.body), c.reason})
	}
}

// TestBodyTooLarge: 413 without invoking, by Content-Length or while
// reading a body of unknown length.
func TestBodyTooLarge(t *testing.T) {
	body := `{"message":"Request Entity Too Large"}`
	want := wantResponse{413, jsonHeader(body), []byte(body), ReasonBodyTooLarge}
	s := baseSettings("1.0")
	s.MaxBodyBytes = 16
	fn := &counting{Invoker: startFunction(t, "echo1", 5*time.Second)}
	i := mustNew(t, s, fn)

	big := strings.Repeat("x", 17)
	r := realRequest()
	r.HTTP = httptest.NewRequest(http.MethodPost, "/up", strings.NewReader(big)) // Content-Length 17
	rec, reason := serve(t, i, r)
	assertResponse(t, rec, reason, want)

	r = realRequest()
	r.HTTP = httptest.NewRequest(http.MethodPost, "/up", io.MultiReader(strings.NewReader(big)))
	r.HTTP.ContentLength = -1 // chunked
	rec, reason = serve(t, i, r)
	assertResponse(t, rec, reason, want)

	r = realRequest()
	r.HTTP = httptest.NewRequest(http.MethodPost, "/up", strings.NewReader(big))
	r.HTTP.Body = http.MaxBytesReader(httptest.NewRecorder(), r.HTTP.Body, 4)
	r.HTTP.ContentLength = -1
	rec, reason = serve(t, i, r)
	assertResponse(t, rec, reason, want)

	if n := fn.calls.Load(); n != 0 {
		t.Errorf("function invoked %d times", n)
	}

	// Exactly at the limit is invoked; the echoed event is then over the
	// same limit as a response body: 502.
	r = realRequest()
	r.HTTP = httptest.NewRequest(http.MethodPost, "/up", strings.NewReader(big[:16]))
	rec, reason = serve(t, i, r)
	if rec.Code != 502 || reason != ReasonBadResponse || fn.calls.Load() != 1 {
		t.Errorf("16-byte body: %d %q, %d calls", rec.Code, reason, fn.calls.Load())
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestBodyReadError(t *testing.T) {
	fn := &counting{Invoker: invokerFunc(func(context.Context, []byte) ([]byte, error) { return []byte(`{}`), nil })}
	i := mustNew(t, baseSettings("2.0"), fn)
	hr := httptest.NewRequest(http.MethodPost, "/up", failingReader{})
	hr.ContentLength = -1
	rec, reason := serve(t, i, &Request{HTTP: hr})
	body := `{"message":"Bad Request"}`
	assertResponse(t, rec, reason, wantResponse{400, jsonHeader(body), []byte(body), ReasonBodyRead})
	if fn.calls.Load() != 0 {
		t.Error("function invoked")
	}
}

func TestValidate(t *testing.T) {
	if err := (Settings{PayloadFormatVersion: "2.0"}).Validate(); err != nil {
		t.Errorf("minimal settings: %v", err)
	}
	bad := Settings{PayloadFormatVersion: "2", Timeout: -1, MaxBodyBytes: -1, Parts: apigwevent.Parts{Stage: "a/b", APIID: "x y"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{"payload format version", "timeout", "max body", "stage", "API id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if err := (Settings{}).Validate(); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("missing version: %v", err)
	}
	if _, err := New(Settings{PayloadFormatVersion: "1.0"}, nil, Options{}); err == nil {
		t.Error("New without a function accepted")
	}
	i := mustNew(t, Settings{PayloadFormatVersion: "1.0"}, invokerFunc(nil))
	if i.s.Timeout != DefaultTimeout || i.s.MaxBodyBytes != DefaultMaxBodyBytes || i.s.Stage != "$default" {
		t.Errorf("defaults: %+v", i.s)
	}
}
