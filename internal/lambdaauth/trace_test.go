package lambdaauth

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestTraceEvaluateIsTheCache: what a Trace says a cached answer decides for
// another ARN is what the cache then really decides for a request to it,
// status, body and reason, across allow, explicit deny and implicit deny.
func TestTraceEvaluateIsTheCache(t *testing.T) {
	answer := `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[
		{"Action":"s3:*","Effect":"Deny","Resource":"*"},
		{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["` + testARNPrefix + `GET/pets/1","` + testARNPrefix + `*/admin/*"]},
		{"Action":["execute-api:*"],"Effect":"Deny","Resource":"` + testARNPrefix + `DELETE/*"}]}}`
	var calls atomic.Int64
	a := mustNew(t, with(baseSettings(), func(s *Settings) { s.ResultTTL = time.Minute }), rawAnswer(&calls, answer), Options{})

	tr := &Trace{Invoke: true}
	r := get("/pets/1", "Authorization", "Bearer t")
	r.Trace = tr
	if d := a.Authorize(context.Background(), r); !d.Allow {
		t.Fatalf("first request denied: %+v", d)
	}
	if !tr.Invoked || !tr.Answered() || !tr.IsPolicy() || tr.MethodARN != testARNPrefix+"GET/pets/1" || tr.CacheTTL != time.Minute || tr.CacheKey == "" {
		t.Fatalf("trace: %+v", tr)
	}
	if len(tr.Sources) != 1 || tr.Sources[0].Value != "Bearer t" || tr.Event != "TOKEN" || tr.Payload != "1.0" || len(tr.EventJSON) == 0 {
		t.Fatalf("trace sources/event: %+v", tr)
	}
	// Every statement, in order, the S3 one marked as not counting.
	if len(tr.Statements) != 3 || tr.Statements[0].Invoke || !tr.Statements[1].Invoke || tr.Statements[2].Effect != "Deny" {
		t.Fatalf("statements: %+v", tr.Statements)
	}
	if got := tr.Statements[1].Matching(testARNPrefix + "POST/x/admin/y"); !slices.Equal(got, []string{testARNPrefix + "*/admin/*"}) {
		t.Errorf("Matching: %v", got)
	}

	for _, c := range []struct {
		method, path string
		allow        bool
		reason       string
	}{
		{"GET", "/pets/1", true, ReasonOK},
		{"GET", "/pets/2", false, ReasonNoAllow},
		{"POST", "/x/admin/y", true, ReasonOK},
		{"DELETE", "/x/admin/y", false, ReasonExplicitDeny},
	} {
		predicted, ok := tr.Evaluate(tr.ARN(c.method, c.path))
		if !ok {
			t.Fatal("Evaluate: no answer held")
		}
		req := get(c.path, "Authorization", "Bearer t")
		req.HTTP.Method = c.method
		served := a.Authorize(context.Background(), req)
		if !served.Cached {
			t.Fatalf("%s %s was not decided by the cache", c.method, c.path)
		}
		if predicted.Allow != c.allow || predicted.Reason != c.reason ||
			predicted.Allow != served.Allow || predicted.Status != served.Status || predicted.Body != served.Body || predicted.Reason != served.Reason {
			t.Errorf("%s %s: explained %+v, served %+v", c.method, c.path, predicted, served)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d invocations, want 1", calls.Load())
	}
}

// TestTraceWithoutInvoke: without Invoke the event is built and the function
// is not called; nothing is cached, so a later request still invokes it.
func TestTraceWithoutInvoke(t *testing.T) {
	var calls atomic.Int64
	a := mustNew(t, with(baseSettings(), func(s *Settings) { s.ResultTTL = time.Minute }),
		rawAnswer(&calls, `{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]}}`), Options{})
	tr := &Trace{}
	r := get("/a", "Authorization", "Bearer t")
	r.Trace = tr
	d := a.Authorize(context.Background(), r)
	if d.Allow || d.Reason != ReasonNotInvoked || d.Status != http.StatusInternalServerError {
		t.Fatalf("decision: %+v", d)
	}
	if calls.Load() != 0 || tr.Invoked || len(tr.EventJSON) == 0 || tr.Answered() {
		t.Fatalf("calls %d, trace %+v", calls.Load(), tr)
	}
	if d := a.Authorize(context.Background(), get("/a", "Authorization", "Bearer t")); !d.Allow || d.Cached || calls.Load() != 1 {
		t.Fatalf("after a traced request the function must still be invoked: %+v, %d calls", d, calls.Load())
	}
}

// TestTraceMissingIdentity: a missing source is recorded as such, and the
// 401 comes before any event.
func TestTraceMissingIdentity(t *testing.T) {
	var calls atomic.Int64
	a := mustNew(t, baseSettings(), rawAnswer(&calls, `{}`), Options{})
	tr := &Trace{Invoke: true}
	r := get("/a")
	r.Trace = tr
	if d := a.Authorize(context.Background(), r); d.Status != http.StatusUnauthorized || d.Reason != ReasonMissingIdentity {
		t.Fatalf("decision: %+v", d)
	}
	if len(tr.Sources) != 1 || tr.Sources[0].Found || tr.EventJSON != nil || tr.MethodARN != "" || calls.Load() != 0 {
		t.Fatalf("trace %+v, %d calls", tr, calls.Load())
	}
}
