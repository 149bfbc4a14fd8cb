package lambdaauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/portcullis/portcullis/internal/apigwevent"
)

// funcError is what a runtime reports when the function returned an error.
type funcError struct{ msg, typ, id string }

func (e *funcError) Error() string                { return "function error: " + e.typ + ": " + e.msg }
func (e *funcError) FunctionErrorMessage() string { return e.msg }
func (e *funcError) FunctionErrorType() string    { return e.typ }
func (e *funcError) FunctionRequestID() string    { return e.id }

// lambdaInvoker runs a real aws-lambda-go handler in process through
// lambda.NewHandler, the JSON path lambda.Start uses, and counts calls.
type lambdaInvoker struct {
	h     lambda.Handler
	calls atomic.Int64
	gate  chan struct{} // when set, each call waits for it to close

	mu   sync.Mutex
	last []byte
}

func newInvoker(handler any) *lambdaInvoker {
	return &lambdaInvoker{h: lambda.NewHandler(handler)}
}

func (l *lambdaInvoker) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	l.calls.Add(1)
	l.mu.Lock()
	l.last = bytes.Clone(event)
	l.mu.Unlock()
	if l.gate != nil {
		select {
		case <-l.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out, err := l.h.Invoke(ctx, event)
	if err != nil {
		return nil, &funcError{msg: err.Error()}
	}
	// aws-lambda-go returns a pooled buffer that the next call reuses.
	return bytes.Clone(out), nil
}

func (l *lambdaInvoker) lastEvent() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// invokerFunc is an Invoker for answers a Go handler cannot produce
// (non-JSON output, technical errors, hangs).
type invokerFunc func(ctx context.Context, event []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, event []byte) ([]byte, error) { return f(ctx, event) }

func rawAnswer(calls *atomic.Int64, out string) invokerFunc {
	return func(context.Context, []byte) ([]byte, error) {
		calls.Add(1)
		return []byte(out), nil
	}
}

// baseSettings is a REST TOKEN authorizer without a cache.
func baseSettings() Settings {
	return Settings{
		Name:                 "test",
		PayloadFormatVersion: "1.0",
		EventType:            "TOKEN",
		IdentitySources:      []string{"method.request.header.Authorization"},
		Parts:                apigwevent.Parts{Region: "eu-west-1", AccountID: "123456789012", APIID: "abc123", Stage: "prod"},
	}
}

func with(s Settings, mod func(*Settings)) Settings {
	mod(&s)
	return s
}

func mustNew(t testing.TB, s Settings, fn Invoker, o Options) *Authorizer {
	t.Helper()
	a, err := New(s, fn, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

const testARNPrefix = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"

func policy(principal, effect string, resources ...string) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: resources},
			},
		},
	}
}

// tokenHandler allows the request's own methodArn when the token is
// "Bearer allow" and denies it for "Bearer deny", as typical AWS examples do.
func tokenHandler(_ context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	switch e.AuthorizationToken {
	case "Bearer allow":
		p := policy("user-1", "Allow", e.MethodArn)
		p.Context = map[string]any{"role": "admin", "n": 7, "ok": true}
		return p, nil
	case "Bearer deny":
		return policy("user-1", "Deny", e.MethodArn), nil
	case "Bearer other":
		return policy("user-1", "Allow", testARNPrefix+"GET/elsewhere"), nil
	}
	return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
}

func get(target string, header ...string) *Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return &Request{HTTP: r, RouteKey: "$default", Resource: "$default", RequestID: "req-1"}
}

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 24, 23, 15, 31, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func decodeMap(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("event is not a JSON object: %v\n%s", err, b)
	}
	return m
}
