package lambdaproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/testbin"
)

var testFunctions = testbin.New("testdata", "echo1", "echo2", "shapes", "fail", "sleep")

func TestMain(m *testing.M) {
	code := m.Run()
	testFunctions.Remove()
	os.Exit(code)
}

// bin returns the path of a testdata function, built once per test run.
func bin(t testing.TB, name string) string { return testFunctions.Path(t, name) }

// startFunction runs a testdata function on the process runtime, closed
// when the test ends.
func startFunction(t testing.TB, name string, timeout time.Duration) *function.Process {
	t.Helper()
	p, err := function.NewProcess(function.ProcessSettings{
		Name:    name,
		Command: []string{bin(t, name)},
		Timeout: timeout,
	})
	if err != nil {
		t.Fatalf("NewProcess %s: %v", name, err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start %s: %v", name, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// counting wraps an Invoker and counts invocations.
type counting struct {
	Invoker
	calls atomic.Int64
}

func (c *counting) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	c.calls.Add(1)
	return c.Invoker.Invoke(ctx, event)
}

// invokerFunc is an Invoker for failures a real function cannot produce.
type invokerFunc func(ctx context.Context, event []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, event []byte) ([]byte, error) { return f(ctx, event) }

func baseSettings(version string) Settings {
	return Settings{
		PayloadFormatVersion: version,
		Parts:                apigwevent.Parts{Region: "eu-west-1", AccountID: "123456789012", APIID: "abc123", Stage: "prod"},
		StageVariables:       map[string]string{"env": "test"},
	}
}

func mustNew(t testing.TB, s Settings, fn Invoker) *Integration {
	t.Helper()
	i, err := New(s, fn, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return i
}

var testTime = time.Date(2026, 11, 24, 23, 15, 31, 250e6, time.UTC)

// realRequest is a request as the gateway's server sees it: repeated
// headers and query parameters, cookies, path parameters, a JSON body.
func realRequest() *Request {
	r := httptest.NewRequest(http.MethodPost, "http://api.example.com:8443/pets/42?q=1&q=2&name=a%20b", strings.NewReader(`{"x":1}`))
	r.RemoteAddr = "203.0.113.9:51234"
	r.Header.Set("User-Agent", "curl/8.0")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("Cookie", "c=3")
	return &Request{
		HTTP:       r,
		RouteKey:   "POST /pets/{id}",
		Resource:   "/pets/{id}",
		PathParams: map[string]string{"id": "42"},
		RequestID:  "req-42",
		Time:       testTime,
	}
}

func get(target string) *Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	return &Request{HTTP: r, RouteKey: "$default", Resource: "$default", RequestID: "req-1", Time: testTime}
}

// serve runs one request through the integration.
func serve(t testing.TB, i *Integration, r *Request) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	reason := i.Serve(rec, r)
	return rec, reason
}

// echoedEvent is the event an echo function received: the body of its
// answer.
func echoedEvent(t testing.TB, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("echo answered %d: %s", rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes()
}

// assertJSON compares two JSON documents by value: every key, null versus
// absent, numbers and strings distinct.
func assertJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got %s\nwant %s\n%s", indent(got), indent([]byte(want)), diffKeys("", g, w))
	}
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}

// diffKeys lists where two decoded documents differ, for readable failures.
func diffKeys(path string, g, w any) string {
	gm, gok := g.(map[string]any)
	wm, wok := w.(map[string]any)
	if !gok || !wok {
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("  %s: got %#v, want %#v\n", path, g, w)
		}
		return ""
	}
	keys := map[string]bool{}
	for k := range gm {
		keys[k] = true
	}
	for k := range wm {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var out strings.Builder
	for _, k := range names {
		gv, gin := gm[k]
		wv, win := wm[k]
		switch {
		case !gin:
			fmt.Fprintf(&out, "  %s.%s: absent, want %#v\n", path, k, wv)
		case !win:
			fmt.Fprintf(&out, "  %s.%s: got %#v, want absent\n", path, k, gv)
		default:
			out.WriteString(diffKeys(path+"."+k, gv, wv))
		}
	}
	return out.String()
}

// assertHeader compares the whole header the client got.
func assertHeader(t testing.TB, got http.Header, want http.Header) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers differ\n got %v\nwant %v", got, want)
	}
}
