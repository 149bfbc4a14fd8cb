package lambdaauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/portcullis/portcullis/internal/testlog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Settings)
		want string // substring of the error; "" means valid
	}{
		{"token ok", func(*Settings) {}, ""},
		{"request defaults", func(s *Settings) { s.EventType = "" }, ""},
		{"v2 simple", func(s *Settings) {
			s.PayloadFormatVersion, s.EventType, s.EnableSimpleResponses = "2.0", "", true
			s.IdentitySources = []string{"$request.header.Authorization", "$request.querystring.t", "$context.identity.sourceIp", "$stageVariables.env"}
			s.StageVariables = map[string]string{"env": "dev"}
		}, ""},
		{"no name", func(s *Settings) { s.Name = "" }, "name"},
		{"no version", func(s *Settings) { s.PayloadFormatVersion = "" }, "payload format version"},
		{"bad version", func(s *Settings) { s.PayloadFormatVersion = "3.0" }, "payload format version"},
		{"token on 2.0", func(s *Settings) { s.PayloadFormatVersion = "2.0" }, "TOKEN"},
		{"bad event type", func(s *Settings) { s.EventType = "token" }, "event type"},
		{"token two sources", func(s *Settings) {
			s.IdentitySources = append(s.IdentitySources, "method.request.header.X")
		}, "exactly one"},
		{"token query source", func(s *Settings) { s.IdentitySources = []string{"method.request.querystring.t"} }, "reads a header"},
		{"token no source", func(s *Settings) { s.IdentitySources = nil }, "exactly one"},
		{"request no source with cache", func(s *Settings) {
			s.EventType, s.IdentitySources, s.ResultTTL = "REQUEST", nil, time.Minute
		}, "at least one identity source"},
		{"request no source no cache", func(s *Settings) { s.EventType, s.IdentitySources = "REQUEST", nil }, ""},
		{"bad source", func(s *Settings) { s.IdentitySources = []string{"$request.body.x"} }, "identity source"},
		{"unknown context", func(s *Settings) {
			s.EventType, s.IdentitySources = "REQUEST", []string{"$context.nope"}
		}, "unknown context variable"},
		{"unset stage variable", func(s *Settings) {
			s.EventType, s.IdentitySources = "REQUEST", []string{"stageVariables.x"}
		}, "no stage variable"},
		{"bad regex", func(s *Settings) { s.IdentityValidationExpression = "(" }, "validation expression"},
		{"regex on request", func(s *Settings) {
			s.EventType, s.IdentityValidationExpression = "REQUEST", "^x$"
		}, "only to TOKEN"},
		{"ttl too long", func(s *Settings) { s.ResultTTL = 3601 * time.Second }, "result TTL"},
		{"ttl max", func(s *Settings) { s.ResultTTL = 3600 * time.Second }, ""},
		{"negative ttl", func(s *Settings) { s.ResultTTL = -1 }, "result TTL"},
		{"simple on 1.0", func(s *Settings) { s.EnableSimpleResponses = true }, "simple responses"},
		{"negative timeout", func(s *Settings) { s.Timeout = -time.Second }, "timeout"},
		{"negative cache", func(s *Settings) { s.CacheSize = -1 }, "cache size"},
		{"slash in stage", func(s *Settings) { s.Stage = "a/b" }, "stage"},
		{"colon in region", func(s *Settings) { s.Region = "a:b" }, "region"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := with(baseSettings(), c.mod).Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Validate = %v, want error containing %q", err, c.want)
			}
		})
	}
	if _, err := New(baseSettings(), nil, Options{}); err == nil {
		t.Error("New without an invoker succeeded")
	}
}

// TestOutcomes is the client-visible table of the reference: every row's
// exact status, body and headers, and whether the function ran.
func TestOutcomes(t *testing.T) {
	iamAllow := func(_ context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return policy("u", "Allow", e.MethodArn), nil
	}
	raw := func(out string) func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(out), nil }
	}
	fail := func(msg string) func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, errors.New(msg) }
	}
	simple := func(allow bool) func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: allow, Context: map[string]any{"k": "v"}}, nil
		}
	}
	v2simple := func(s *Settings) {
		s.PayloadFormatVersion, s.EventType, s.EnableSimpleResponses = "2.0", "", true
		s.IdentitySources = []string{"$request.header.Authorization"}
	}
	token := func(*Settings) {}
	var hangCalls, techCalls, panicCalls, lateCalls atomic.Int64

	cases := []struct {
		name    string
		mod     func(*Settings)
		handler any     // for lambdaInvoker
		inv     Invoker // instead of handler
		calls   *atomic.Int64
		header  []string
		status  int
		body    string
		reason  string
		invoked int64
		usage   string // the UsageIdentifierKey an allow carries
	}{
		{name: "allow", mod: token, handler: iamAllow, header: []string{"Authorization", "Bearer x"}, status: 0, reason: ReasonOK, invoked: 1},
		{name: "identity missing", mod: token, handler: iamAllow, status: 401, body: bodyUnauthorized, reason: ReasonMissingIdentity},
		{name: "identity empty", mod: token, handler: iamAllow, header: []string{"Authorization", ""}, status: 401, body: bodyUnauthorized, reason: ReasonMissingIdentity},
		{name: "regex mismatch", mod: func(s *Settings) { s.IdentityValidationExpression = `^Bearer [a-z]+$` }, handler: iamAllow,
			header: []string{"Authorization", "Bearer X1"}, status: 401, body: bodyUnauthorized, reason: ReasonInvalidIdentity},
		{name: "regex match", mod: func(s *Settings) { s.IdentityValidationExpression = `^Bearer [a-z]+$` }, handler: iamAllow,
			header: []string{"Authorization", "Bearer xyz"}, reason: ReasonOK, invoked: 1},
		{name: "regex must match the whole value", mod: func(s *Settings) { s.IdentityValidationExpression = `Bearer [a-z]+` }, handler: iamAllow,
			header: []string{"Authorization", "xBearer abc!"}, status: 401, body: bodyUnauthorized, reason: ReasonInvalidIdentity},
		{name: "unanchored regex matching whole value", mod: func(s *Settings) { s.IdentityValidationExpression = `Bearer [a-z]+` }, handler: iamAllow,
			header: []string{"Authorization", "Bearer abc"}, reason: ReasonOK, invoked: 1},
		{name: "function says Unauthorized", mod: token, handler: fail("Unauthorized"), header: []string{"Authorization", "t"},
			status: 401, body: bodyUnauthorized, reason: ReasonUnauthorized, invoked: 1},
		{name: "function says unauthorized (case)", mod: token, handler: fail("unauthorized"), header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonFunctionError, invoked: 1},
		{name: "function says Unauthorized.", mod: token, handler: fail("Unauthorized."), header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonFunctionError, invoked: 1},
		{name: "explicit deny", mod: token, handler: tokenHandler, header: []string{"Authorization", "Bearer deny"},
			status: 403, body: bodyExplicitDeny, reason: ReasonExplicitDeny, invoked: 1},
		{name: "no matching allow", mod: token, handler: tokenHandler, header: []string{"Authorization", "Bearer other"},
			status: 403, body: bodyNoAllow, reason: ReasonNoAllow, invoked: 1},
		{name: "simple false", mod: v2simple, handler: simple(false), header: []string{"Authorization", "t"},
			status: 403, body: bodyForbidden, reason: ReasonNotAuthorized, invoked: 1},
		{name: "simple true", mod: v2simple, handler: simple(true), header: []string{"Authorization", "t"}, reason: ReasonOK, invoked: 1},
		{name: "simple enabled, IAM answer", mod: v2simple, handler: iamAllow, header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "isAuthorized not boolean", mod: v2simple, handler: raw(`{"isAuthorized":"true"}`), header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "simple context not object", mod: v2simple, handler: raw(`{"isAuthorized":true,"context":[1]}`), header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "other function error", mod: token, handler: fail("boom"), header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonFunctionError, invoked: 1},
		{name: "technical error", mod: token, calls: &techCalls, inv: invokerFunc(func(context.Context, []byte) ([]byte, error) {
			techCalls.Add(1)
			return nil, errors.New("connection refused")
		}), header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonInvocationError, invoked: 1},
		{name: "timeout", mod: func(s *Settings) { s.Timeout = 20 * time.Millisecond }, calls: &hangCalls,
			inv: invokerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
				hangCalls.Add(1)
				<-ctx.Done()
				return nil, ctx.Err()
			}), header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonTimeout, invoked: 1},
		{name: "late answer ignoring ctx", mod: func(s *Settings) { s.Timeout = 10 * time.Millisecond }, calls: &lateCalls,
			inv: invokerFunc(func(ctx context.Context, e []byte) ([]byte, error) {
				lateCalls.Add(1)
				time.Sleep(30 * time.Millisecond)
				return json.Marshal(policy("u", "Allow", "*"))
			}), header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonTimeout, invoked: 1},
		{name: "invoker panics", mod: token, calls: &panicCalls, inv: invokerFunc(func(context.Context, []byte) ([]byte, error) {
			panicCalls.Add(1)
			panic("secret token in panic")
		}), header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonInvocationError, invoked: 1},
		{name: "not JSON", mod: token, inv: rawAnswer(new(atomic.Int64), "allow"), header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonBadResponse},
		{name: "trailing data", mod: token, inv: rawAnswer(new(atomic.Int64), `{"principalId":"u","policyDocument":{"Statement":[]}} {}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse},
		{name: "too large", mod: token, inv: rawAnswer(new(atomic.Int64), `{"principalId":"`+strings.Repeat("a", MaxResponseBytes)+`"}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse},
		{name: "null answer", mod: token, handler: raw(`null`), header: []string{"Authorization", "t"},
			status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "missing principalId", mod: token, handler: raw(`{"policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "numeric principalId", mod: token, handler: raw(`{"principalId":1,"policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "missing policyDocument", mod: token, handler: raw(`{"principalId":"u"}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "lower-case statement key", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "lower-case effect value", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":"allow","Resource":"*"}]}}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "condition refused", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{}}]}}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "object context on 1.0", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]},"context":{"o":{"a":1}}}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "array context on 1.0", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]},"context":{"a":[1]}}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "object context on 2.0 IAM", mod: func(s *Settings) {
			s.PayloadFormatVersion, s.EventType = "2.0", ""
			s.IdentitySources = []string{"$request.header.Authorization"}
		}, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]},"context":{"o":{"a":1}}}`),
			header: []string{"Authorization", "t"}, reason: ReasonOK, invoked: 1},
		{name: "usageIdentifierKey", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]},"usageIdentifierKey":"k"}`),
			header: []string{"Authorization", "t"}, reason: ReasonOK, invoked: 1, usage: "k"},
		{name: "usageIdentifierKey not a string", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]},"usageIdentifierKey":1}`),
			header: []string{"Authorization", "t"}, status: 500, body: bodyConfigError, reason: ReasonBadResponse, invoked: 1},
		{name: "usageIdentifierKey on a deny", mod: token, handler: raw(`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*"}]},"usageIdentifierKey":"k"}`),
			header: []string{"Authorization", "t"}, status: 403, body: bodyExplicitDeny, reason: ReasonExplicitDeny, invoked: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inv Invoker
			var count func() int64
			switch {
			case c.handler != nil:
				li := newInvoker(c.handler)
				inv, count = li, li.calls.Load
			default:
				inv = c.inv
				count = func() int64 {
					if c.calls == nil {
						return -1
					}
					return c.calls.Load()
				}
			}
			a := mustNew(t, with(baseSettings(), c.mod), inv, Options{})
			d := a.Authorize(context.Background(), get("/pets/1", c.header...))
			if d.Reason != c.reason {
				t.Errorf("reason %q, want %q", d.Reason, c.reason)
			}
			if d.UsageIdentifierKey != c.usage {
				t.Errorf("UsageIdentifierKey %q, want %q", d.UsageIdentifierKey, c.usage)
			}
			if c.status == 0 {
				if !d.Allow || d.Status != 0 || d.Body != "" {
					t.Errorf("got %+v, want allow", d)
				}
			} else {
				if d.Allow || d.Status != c.status || d.Body != c.body {
					t.Errorf("got allow=%v %d %s, want deny %d %s", d.Allow, d.Status, d.Body, c.status, c.body)
				}
				if got := d.Header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type %q", got)
				}
				wantType := ""
				if c.status == http.StatusInternalServerError {
					wantType = "AuthorizerConfigurationException"
				}
				if got := d.Header.Get("x-amzn-ErrorType"); got != wantType {
					t.Errorf("x-amzn-ErrorType %q, want %q", got, wantType)
				}
				if d.Context != nil || d.ContextStrings != nil {
					t.Errorf("denial carries context %v", d.Context)
				}
			}
			if n := count(); n != -1 && n != c.invoked {
				t.Errorf("invocations %d, want %d", n, c.invoked)
			}
		})
	}
}

// TestDefaultTimeoutIsHTTPAPIs: without a timeout the function gets HTTP
// API's 10 s for its answer, through the deadline of its context.
func TestDefaultTimeoutIsHTTPAPIs(t *testing.T) {
	var deadline time.Time
	fn := invokerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		deadline, _ = ctx.Deadline()
		return []byte(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`), nil
	})
	a := mustNew(t, baseSettings(), fn, Options{})
	r := httptest.NewRequest("GET", "/pets/1", nil)
	r.Header.Set("Authorization", "Bearer x")
	before := time.Now()
	if d := a.Authorize(context.Background(), &Request{HTTP: r}); !d.Allow {
		t.Fatalf("denied: %+v", d)
	}
	after := time.Now()
	// The deadline was set between before and after, 10 s ahead.
	if deadline.Before(before.Add(10*time.Second)) || deadline.After(after.Add(10*time.Second)) {
		t.Fatalf("the function's deadline is %v after the call began, want 10 s", deadline.Sub(before))
	}
}

func TestNilRequest(t *testing.T) {
	a := mustNew(t, baseSettings(), newInvoker(tokenHandler), Options{})
	for _, r := range []*Request{nil, {}} {
		if d := a.Authorize(context.Background(), r); d.Allow || d.Status != 500 {
			t.Errorf("Authorize(%v) = %+v", r, d)
		}
	}
}

func TestContextStrings(t *testing.T) {
	cases := []struct {
		name    string
		mod     func(*Settings)
		answer  string
		strings map[string]string
	}{
		{"1.0 IAM", func(*Settings) {},
			`{"principalId":"me","policyDocument":{"Statement":{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}},
			  "context":{"s":"x","n":1.50,"i":-3,"big":12345678901234567890,"t":true,"f":false,"principalId":"shadowed"}}`,
			map[string]string{"s": "x", "n": "1.50", "i": "-3", "big": "12345678901234567890", "t": "true", "f": "false", "principalId": "me"}},
		{"1.0 IAM no context", func(*Settings) {},
			`{"principalId":"me","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]}}`,
			map[string]string{"principalId": "me"}},
		{"2.0 simple nested", func(s *Settings) {
			s.PayloadFormatVersion, s.EventType, s.EnableSimpleResponses = "2.0", "", true
			s.IdentitySources = []string{"$request.header.Authorization"}
		}, `{"isAuthorized":true,"context":{"s":"x","o":{"b":[1,"2"]},"a":[true],"z":null,"n":2}}`,
			map[string]string{"s": "x", "o": `{"b":[1,"2"]}`, "a": "[true]", "n": "2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := mustNew(t, with(baseSettings(), c.mod), rawAnswer(new(atomic.Int64), c.answer), Options{})
			d := a.Authorize(context.Background(), get("/", "Authorization", "t"))
			if !d.Allow {
				t.Fatalf("denied: %+v", d)
			}
			if !reflect.DeepEqual(d.ContextStrings, c.strings) {
				t.Errorf("ContextStrings = %v, want %v", d.ContextStrings, c.strings)
			}
		})
	}

	// Context keeps the answer as returned, numbers with their exact text.
	a := mustNew(t, baseSettings(), newInvoker(tokenHandler), Options{})
	d := a.Authorize(context.Background(), get("/x", "Authorization", "Bearer allow"))
	if d.PrincipalID != "user-1" || d.Context["role"] != "admin" || d.Context["n"] != json.Number("7") || d.Context["ok"] != true {
		t.Errorf("decision %+v", d)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	if NewMetrics(reg) == nil {
		t.Fatal("second NewMetrics on one registry failed")
	}
	inv := newInvoker(tokenHandler)
	a := mustNew(t, with(baseSettings(), func(s *Settings) { s.ResultTTL = time.Minute }), inv, Options{Metrics: m})
	ctx := context.Background()
	a.Authorize(ctx, get("/a", "Authorization", "Bearer allow"))
	a.Authorize(ctx, get("/b", "Authorization", "Bearer allow"))
	a.Authorize(ctx, get("/a", "Authorization", "nope"))
	for _, c := range []struct {
		vec    *prometheus.CounterVec
		labels []string
		want   float64
	}{
		{m.cache, []string{"test", "hit"}, 1},
		{m.cache, []string{"test", "miss"}, 2},
		{m.invocations, []string{"test", "ok"}, 1},
		{m.invocations, []string{"test", "unauthorized"}, 1},
	} {
		if got := testutil.ToFloat64(c.vec.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("pedantic gather: %v", err)
	}
}

// TestFailureLogs: every failure of the authorizer is logged with the
// request's id and what went wrong (for a function error, its type and the
// invocation's id, which labels the function's own output; its message may
// quote the token), so that an operator can match a 500 in the access log
// with its cause. Never the token.
func TestFailureLogs(t *testing.T) {
	const secret = "Bearer s3cr3t-t0ken"
	for _, c := range []struct {
		name  string
		inv   Invoker
		s     Settings
		want  map[string]string // attributes of the failure's record
		error string            // text the error attribute must contain
	}{
		{"function error", invokerFunc(func(context.Context, []byte) ([]byte, error) {
			return nil, &funcError{msg: "no such user " + secret, typ: "Runtime.ExitError", id: "0d5b7c4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f"}
		}), baseSettings(), map[string]string{"reason": ReasonFunctionError, "error_type": "Runtime.ExitError",
			"function_request_id": "0d5b7c4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f"}, "function error"},
		{"timeout", invokerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}), with(baseSettings(), func(s *Settings) { s.Timeout = time.Millisecond }), map[string]string{"reason": ReasonTimeout}, "deadline exceeded"},
		{"invocation error", invokerFunc(func(context.Context, []byte) ([]byte, error) {
			return nil, errors.New("function authz: queue full (100 waiting): function unavailable")
		}), baseSettings(), map[string]string{"reason": ReasonInvocationError}, "queue full"},
		{"malformed answer", invokerFunc(func(context.Context, []byte) ([]byte, error) {
			return []byte(`{"principalId":"` + secret + `"}`), nil
		}), baseSettings(), map[string]string{"reason": ReasonBadResponse}, "policyDocument"},
		{"panic", invokerFunc(func(_ context.Context, e []byte) ([]byte, error) { panic(string(e)) }),
			baseSettings(), map[string]string{"reason": ReasonInvocationError}, "panic"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logger, logs := testlog.New()
			a := mustNew(t, c.s, c.inv, Options{Logger: logger})
			r := get("/", "Authorization", secret)
			r.RequestID = "req-7f3a"
			if d := a.Authorize(context.Background(), r); d.Allow || d.Status != 500 {
				t.Fatalf("decision %+v, want a 500", d)
			}
			var found map[string]any
			for _, rec := range logs.Records() {
				if rec["request_id"] == "req-7f3a" && rec["authorizer"] == "test" {
					found = rec
				}
			}
			if found == nil {
				t.Fatalf("no record with the request id: %s", logs.String())
			}
			for k, v := range c.want {
				if found[k] != v {
					t.Errorf("%s = %v, want %q in %v", k, found[k], v, found)
				}
			}
			if e, _ := found["error"].(string); !strings.Contains(e, c.error) {
				t.Errorf("error = %q, want it to say %q", e, c.error)
			}
			if strings.Contains(logs.String(), "s3cr3t") {
				t.Errorf("the log holds the token: %s", logs.String())
			}
		})
	}
}

// TestLogsNoSecrets: whatever goes wrong, neither the token nor the answer
// reaches the log.
func TestLogsNoSecrets(t *testing.T) {
	const secret = "Bearer s3cr3t-t0ken"
	answers := []Invoker{
		invokerFunc(func(_ context.Context, e []byte) ([]byte, error) { return nil, &funcError{msg: "bad " + string(e)} }),
		invokerFunc(func(_ context.Context, e []byte) ([]byte, error) { return e, nil }),
		invokerFunc(func(_ context.Context, e []byte) ([]byte, error) {
			return []byte(`{"principalId":"` + secret + `","policyDocument":{"Statement":[{"Effect":"` + secret + `","Action":"*","Resource":"*"}]}}`), nil
		}),
		invokerFunc(func(_ context.Context, e []byte) ([]byte, error) { panic(string(e)) }),
	}
	for i, inv := range answers {
		var buf strings.Builder
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		a := mustNew(t, baseSettings(), inv, Options{Logger: log})
		if d := a.Authorize(context.Background(), get("/", "Authorization", secret)); d.Allow {
			t.Fatalf("%d: allowed", i)
		}
		if buf.Len() == 0 {
			t.Errorf("%d: nothing logged", i)
		}
		if strings.Contains(buf.String(), "s3cr3t") {
			t.Errorf("%d: log contains the token: %s", i, buf.String())
		}
	}
}
