package lambdaauth

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// ReasonNotInvoked is the Decision.Reason of an authorization traced with
// Trace.Invoke false: the event was built and the function was not called,
// so nothing was decided (a 500 Decision, which a caller must not serve).
// It is for `portcullis explain` only; the request path never sets a Trace.
const ReasonNotInvoked = "not_invoked"

// Trace records how one authorization went, for people (`portcullis
// explain`), not for the request path. Set Request.Trace to a fresh *Trace
// to fill it; with Request.Trace nil, Authorize records nothing and pays one
// nil check per step. Values recorded are raw, credentials included: the
// reader decides what to show.
type Trace struct {
	// Invoke lets Authorize call the function. When false it stops once the
	// event is built, with ReasonNotInvoked.
	Invoke bool

	// Event is "TOKEN" or "REQUEST"; Payload "1.0" or "2.0"; Simple says
	// the answer is read as a simple response.
	Event, Payload string
	Simple         bool
	// Sources are the configured identity sources with what each found, in
	// order; a missing or empty one is a 401 without invoking.
	Sources []SourceValue
	// Validation is the identity validation expression as configured ("":
	// none) and ValidationOK whether the TOKEN value matched it.
	Validation   string
	ValidationOK bool
	// MethodARN is the ARN sent as methodArn (routeArn for 2.0).
	MethodARN string
	// CacheTTL is how long an answer is kept (0: no cache); CacheKey the
	// start of the hash the cache keys the identity values by, enough to
	// tell two keys apart without being the credential; CacheHit says the
	// answer came from the cache.
	CacheTTL time.Duration
	CacheKey string
	CacheHit bool
	// EventJSON is the event built for the function (nil when the request
	// never got that far, or on a cache hit).
	EventJSON []byte
	// Invoked says the function was called; Answer is its raw output and
	// FunctionError its error message, when it failed.
	Invoked       bool
	Answer        []byte
	FunctionError string
	// Failure says why the answer, or the call, did not count: "" when an
	// answer was read. It names structure, never values.
	Failure string
	// PrincipalID and Statements are the answer's, for an IAM policy
	// answer: every statement, in order, including those that do not
	// concern execute-api:Invoke.
	PrincipalID string
	Statements  []Statement

	a   *Authorizer
	res *result // the interpreted answer, as the cache stores it
}

// SourceValue is one identity source and the value it found ("" when
// missing).
type SourceValue struct {
	Expr  string
	Value string
	Found bool
}

// Statement is one statement of a policy answer as the evaluator read it.
type Statement struct {
	Effect    string // "Allow" or "Deny"
	Actions   []string
	Resources []string
	// Invoke says an action covers execute-api:Invoke; a statement that
	// does not is ignored by the evaluation.
	Invoke bool
}

// Matching returns the resources of s that match arn, with the pattern
// matching the evaluation uses.
func (s Statement) Matching(arn string) []string {
	var out []string
	for _, r := range s.Resources {
		p := compilePattern(r)
		if p.match(arn) {
			out = append(out, r)
		}
	}
	return out
}

// Answered says an answer was read (invoked or from the cache), so that
// Evaluate can decide other requests with it.
func (t *Trace) Answered() bool { return t.res != nil }

// IsPolicy says the answer is an IAM policy, evaluated per ARN; a simple
// response decides every request with the same identity alike.
func (t *Trace) IsPolicy() bool { return t.res != nil && t.res.policy != nil }

// UsageIdentifierKey returns the API key the answer names (a policy
// answer's usageIdentifierKey), "" when none: a credential, which a reader
// must not show.
func (t *Trace) UsageIdentifierKey() string {
	if t.res == nil {
		return ""
	}
	return t.res.usageKey
}

// ARN is the method ARN this authorizer sends for a request with method
// and (decoded) path.
func (t *Trace) ARN(method, path string) string {
	if t.a == nil {
		return ""
	}
	return t.a.methodARN(&http.Request{Method: method, URL: &url.URL{Path: path}})
}

// Evaluate decides a request whose method ARN is arn with the answer this
// trace holds, exactly as a cache hit would: the same code, the same
// Decision. ok is false when no answer was read.
func (t *Trace) Evaluate(arn string) (d Decision, ok bool) {
	if t.a == nil || t.res == nil {
		return Decision{}, false
	}
	return t.a.decide(t.res, nil, arn, true), true
}

// cacheKeyText shows the first 8 bytes of a cache key in hex.
func cacheKeyText(key [32]byte) string { return "sha256:" + hex.EncodeToString(key[:8]) }

// traceSources records every identity source's value.
func (a *Authorizer) traceSources(tr *Trace, r *Request) {
	tr.a = a
	tr.Event, tr.Payload, tr.Simple = eventRequest, "1.0", a.simple
	if a.token {
		tr.Event = eventToken
	}
	if a.v2 {
		tr.Payload = "2.0"
	}
	if a.validate != nil {
		tr.Validation = a.validationExpr
	}
	if a.cache != nil {
		tr.CacheTTL = a.ttl
	}
	for _, s := range a.sources {
		v := a.sourceValue(s, r)
		tr.Sources = append(tr.Sources, SourceValue{Expr: s.expr, Value: v, Found: v != ""})
	}
}

// traceAnswer records the function's output and, for a policy answer,
// its statements as compilePolicy reads them.
func (tr *Trace) traceAnswer(out []byte, res *result) {
	tr.res = res
	if res == nil {
		return
	}
	tr.PrincipalID = res.principalID
	if res.policy == nil {
		return
	}
	obj, err := decodeObject(out)
	if err != nil {
		return
	}
	if doc, ok := obj["policyDocument"].(map[string]any); ok {
		_, _ = compilePolicy(doc, tr)
	}
}

// traceFailure records why the call or the answer did not count.
func (tr *Trace) traceFailure(err error) {
	var lf *loadFailure
	if errors.As(err, &lf) {
		tr.Failure = lf.Error()
		return
	}
	tr.Failure = err.Error()
}
