package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/jwtauth"
	"github.com/portcullis/portcullis/internal/lambdaauth"
)

// slogLine is the default access log line as the gateway wrote it through
// log/slog's JSONHandler before the line was rendered by hand: the
// reference appendLine must match.
func slogLine(t *testing.T, ex *exchange, rt *Route, now time.Time, status int, elapsed time.Duration) []byte {
	t.Helper()
	attrs := []slog.Attr{
		slog.String("request_id", ex.id),
		slog.String("mode", ex.mode.String()),
		slog.String("method", ex.r.Method),
		slog.String("path", ex.r.URL.Path),
		slog.String("route", rt.label),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
		slog.String("client_ip", ex.clientIP),
		slog.Int64("bytes", ex.w.bytes),
	}
	if rt.auth != nil {
		attrs = append(attrs, slog.String("authorizer", rt.auth.name()))
	}
	if ex.ident != nil && ex.ident.Subject != "" {
		attrs = append(attrs, slog.String("principal", ex.ident.Subject))
	} else if ex.lambda != nil && ex.lambda.PrincipalID != "" {
		attrs = append(attrs, slog.String("principal", ex.lambda.PrincipalID))
	}
	if ex.apiKey != nil {
		attrs = append(attrs, slog.String("api_key", ex.apiKey.Name))
	}
	if ex.reason != "" {
		attrs = append(attrs, slog.String("reason", ex.reason))
	}
	if ex.backendErr != nil {
		attrs = append(attrs, slog.String("backend_error", ex.backendErr.Error()))
	}
	var b bytes.Buffer
	rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	rec.AddAttrs(attrs...)
	if err := slog.NewJSONHandler(&b, nil).Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDefaultLineMatchesSlog: the hand-rendered default line is the line
// slog wrote, byte for byte (fields, order, number and string formats),
// also for values a client or backend chose; with DEL, which slog leaves
// raw and escape.AppendJSON escapes, the same JSON values.
func TestDefaultLineMatchesSlog(t *testing.T) {
	jwt := &jwtAuthorizer{label: "users"}
	now := time.Date(2026, 12, 6, 15, 4, 5, 123456789, time.UTC)
	hostile := "a\"b\\c\n\r\t\x01<>&\u2028\u2029é\xff😀"
	for _, tc := range []struct {
		name    string
		rt      *Route
		adjust  func(ex *exchange)
		status  int
		elapsed time.Duration
	}{
		{"public", &Route{label: "GET /public"}, nil, 200, 1234 * time.Microsecond},
		{"unmatched", &Route{label: "none"}, func(ex *exchange) { ex.reason = "no_route" }, 404, 17 * time.Microsecond},
		{"jwt principal", &Route{label: "GET /orders/{id}", auth: jwt}, func(ex *exchange) {
			ex.ident = &jwtauth.Identity{Subject: "user-1"}
		}, 200, 3 * time.Millisecond},
		{"lambda principal, key, reason, error", &Route{label: "ANY /x/{proxy+}", auth: jwt}, func(ex *exchange) {
			ex.lambda = &lambdaauth.Decision{PrincipalID: "p-7"}
			ex.apiKey = &apikey.Key{Name: "partner"}
			ex.reason = "backend_error"
			ex.backendErr = errors.New(`dial tcp 127.0.0.1:1: connect: "refused"`)
			ex.mode = ModeForwardAuth
		}, 502, 2*time.Second + 500*time.Microsecond},
		{"hostile values", &Route{label: "GET /" + hostile, auth: &jwtAuthorizer{label: hostile}}, func(ex *exchange) {
			ex.r.URL.Path = "/" + hostile
			ex.r.Method = "G\"ET"
			ex.clientIP = hostile
			ex.ident = &jwtauth.Identity{Subject: hostile}
			ex.apiKey = &apikey.Key{Name: hostile}
			ex.reason = hostile
			ex.backendErr = errors.New(hostile)
			ex.mode = ModeExtAuthz
		}, 499, 0},
		{"DEL", &Route{label: "GET /x"}, func(ex *exchange) { ex.ident = &jwtauth.Identity{Subject: "a\x7fb"} }, 200, time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rt.prepareLine()
			ex := &exchange{id: "AbCdEfGhIjKlMnOp", clientIP: "192.0.2.1", r: httptest.NewRequest("GET", "/public", nil)}
			ex.w.bytes = 42
			if tc.adjust != nil {
				tc.adjust(ex)
			}
			got := ex.appendLine(nil, tc.rt, now, tc.status, tc.elapsed)
			want := slogLine(t, ex, tc.rt, now, tc.status, tc.elapsed)
			if bytes.Equal(got, want) {
				return
			}
			if !strings.Contains(tc.name, "DEL") {
				t.Fatalf("line\n%s\nwant (slog)\n%s", got, want)
			}
			var g, w map[string]any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("line %s: %v", got, err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if gj, wj := mustJSON(t, g), mustJSON(t, w); gj != wj {
				t.Fatalf("values\n%s\nwant (slog)\n%s", gj, wj)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAppendMillis: latency_ms is written as encoding/json (which slog
// used) writes float64(µs)/1000.
func TestAppendMillis(t *testing.T) {
	check := func(us int64) {
		want, _ := json.Marshal(float64(us) / 1000)
		if got := appendMillis(nil, us); string(got) != string(want) {
			t.Fatalf("appendMillis(%d) = %s, want %s", us, got, want)
		}
	}
	for us := int64(0); us < 200_000; us++ {
		check(us)
	}
	for us := int64(1); us < 1<<50; us = us*7 + 3 {
		check(us)
	}
}

// TestDefaultLineAllocs: once an exchange's buffer has grown, writing the
// default line allocates nothing (the slog line allocated its attributes
// and the float's JSON).
func TestDefaultLineAllocs(t *testing.T) {
	rt := &Route{label: "GET /orders/{id}", auth: &jwtAuthorizer{label: "users"}}
	rt.prepareLine()
	ex := &exchange{id: "AbCdEfGhIjKlMnOp", clientIP: "192.0.2.1", r: httptest.NewRequest("GET", "/orders/1", nil),
		ident: &jwtauth.Identity{Subject: "user-1"}}
	ex.g = &Gateway{accessDefault: discard{}, unmatched: rt}
	ex.route = rt
	start := time.Now()
	if n := testing.AllocsPerRun(100, func() {
		ex.start = start
		ex.finish()
	}); n != 0 {
		t.Errorf("finish allocates %v times a line, want 0", n)
	}
}
