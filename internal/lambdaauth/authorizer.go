// Package lambdaauth runs one AWS API Gateway Lambda (custom) authorizer on
// the gateway's own machine: it builds the event AWS would send, invokes the
// function, interprets its answer (IAM policy or simple response), caches the
// interpreted answer and turns everything into a Decision carrying the exact
// status and body AWS would have sent. An authorizer written for AWS runs
// unchanged. See README.md for every behaviour and the choices made where AWS
// documents nothing.
package lambdaauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/config"
)

// Invoker runs the authorizer function with one event and returns its raw
// JSON output. internal/function's runtimes satisfy it.
//
// An error that matches FunctionError (via errors.As) means the function ran
// and returned an error; its message decides between 401 (exactly
// "Unauthorized") and 500. Any other error is technical and yields 500.
// Invoke must honour ctx: the authorizer's timeout is delivered through it.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// FunctionError is satisfied by the error an Invoker returns when the
// function itself failed (Lambda's errorMessage/errorType). It is an
// interface so that this package and the runtimes need not import each other.
// FunctionErrorMessage returns the function's errorMessage verbatim.
type FunctionError interface {
	error
	FunctionErrorMessage() string
}

// functionErrorType is what a FunctionError may also offer: Lambda's
// errorType ("Runtime.ExitError", an exception's class), which is logged,
// unlike the message, which may quote the identity.
type functionErrorType interface {
	FunctionErrorType() string
}

// functionRequestID is what a FunctionError may also offer: the failed
// invocation's id, which labels the function's own output in the log.
type functionRequestID interface {
	FunctionRequestID() string
}

// Limits and defaults.
const (
	// DefaultTimeout is HTTP API's authorizer timeout.
	DefaultTimeout = 10 * time.Second
	// DefaultCacheSize bounds the result cache when Settings.CacheSize is 0.
	DefaultCacheSize = 10000
	// MaxResultTTL is AWS's upper bound for authorizerResultTtlInSeconds.
	MaxResultTTL = 3600 * time.Second
	// MaxResponseBytes bounds the function's output we are willing to parse.
	// AWS documents no limit for authorizer answers; a policy this large is a
	// bug, and parsing it per cache miss would be a cheap denial of service.
	MaxResponseBytes = 1 << 20
)

// Settings configures one Lambda authorizer. The zero value is not valid;
// Validate reports every problem at once. Zero Timeout and CacheSize take the
// defaults; ResultTTL 0 means "no cache" (the caller applies AWS's 300 s
// default before calling New).
type Settings struct {
	Name string // label for metrics and logs

	// PayloadFormatVersion is "1.0" (REST and HTTP API 1.0 events, IAM
	// policy answers) or "2.0" (HTTP API 2.0 events, IAM policy or simple
	// answers). Required.
	PayloadFormatVersion string

	// EventType applies to 1.0 only: "TOKEN" sends REST's TOKEN event,
	// "REQUEST" (the default) sends HTTP API's 1.0 REQUEST event, which is a
	// superset of REST's REQUEST event, so REST REQUEST authorizers read it
	// unchanged.
	EventType string

	// IdentitySources lists where the identity comes from, in REST syntax
	// (method.request.header.X, method.request.querystring.x,
	// stageVariables.x, context.x) or HTTP API syntax ($request.header.X,
	// $request.querystring.x, $stageVariables.x, $context.x); both are
	// accepted, as is $request.cookie.x. TOKEN needs exactly one header
	// source. REQUEST may have none only when ResultTTL is 0, as on AWS.
	IdentitySources []string

	// IdentityValidationExpression is a Go (RE2) regular expression the
	// whole TOKEN value must match (it is anchored for you, as AWS matches
	// the whole value). TOKEN only.
	IdentityValidationExpression string

	ResultTTL             time.Duration // 0 disables caching; at most MaxResultTTL
	EnableSimpleResponses bool          // 2.0 only
	Timeout               time.Duration // per invocation; 0 means DefaultTimeout
	CacheSize             int           // cache entries; 0 means DefaultCacheSize

	// Region, AccountID, APIID and Stage appear in ARNs and requestContext.
	// Empty values take the local defaults "us-east-1", "000000000000",
	// "portcullis" and "$default".
	apigwevent.Parts

	StageVariables map[string]string
}

const (
	eventToken   = "TOKEN"
	eventRequest = "REQUEST"
)

func (s Settings) eventType() string {
	if s.EventType == "" {
		return eventRequest
	}
	return s.EventType
}

// Validate reports every problem with s at once.
func (s Settings) Validate() error { return s.Problems().Err() }

// Problems is what Validate reports, each at the field of a lambda
// authorizer's configuration block it is about ("event_type",
// "identity_source[1]"; "" for the name and the API's parts, which the
// block does not write), so that the gateway reports it at its place.
func (s Settings) Problems() config.Problems {
	_, _, ps := s.compile()
	return ps
}

// compile validates s and returns its parsed identity sources and validation
// expression, so New and Validate cannot disagree.
func (s Settings) compile() ([]source, *regexp.Regexp, config.Problems) {
	var ps config.Problems

	if strings.TrimSpace(s.Name) == "" {
		ps.Addf("", "name is required")
	}
	v2 := false
	switch s.PayloadFormatVersion {
	case "1.0":
	case "2.0":
		v2 = true
	default:
		ps.Addf("payload_format_version", "payload format version %q: must be \"1.0\" or \"2.0\"", s.PayloadFormatVersion)
	}
	et := s.eventType()
	switch et {
	case eventRequest:
	case eventToken:
		if v2 {
			ps.Addf("event_type", "event type TOKEN exists only with payload format version 1.0")
		}
	default:
		ps.Addf("event_type", "event type %q: must be TOKEN or REQUEST", s.EventType)
	}

	sources := make([]source, 0, len(s.IdentitySources))
	for i, expr := range s.IdentitySources {
		at := "identity_source[" + strconv.Itoa(i) + "]"
		src, err := parseSource(expr)
		if err != nil {
			ps.Add(at, err)
			continue
		}
		if src.kind == srcStage {
			if _, ok := s.StageVariables[src.name]; !ok {
				// Not an error on AWS either, but every request would get 401:
				// almost certainly a typo worth failing loudly on.
				ps.Addf(at, "identity source %q: no stage variable %q is configured", expr, src.name)
			}
		}
		sources = append(sources, src)
	}
	if et == eventToken {
		if len(s.IdentitySources) != 1 {
			ps.Addf("identity_source", "a TOKEN authorizer needs exactly one identity source, a header (got %d)", len(s.IdentitySources))
		} else if len(sources) == 1 && !sources[0].isHeader() {
			ps.Addf("identity_source[0]", "identity source %q: a TOKEN authorizer reads a header", s.IdentitySources[0])
		}
	} else if len(s.IdentitySources) == 0 && s.ResultTTL > 0 {
		ps.Addf("identity_source", "a REQUEST authorizer with caching (result TTL > 0) needs at least one identity source")
	}

	var re *regexp.Regexp
	if s.IdentityValidationExpression != "" {
		if et != eventToken {
			ps.Addf("identity_validation_expression", "identity validation expression applies only to TOKEN authorizers")
		}
		var err error
		// The whole value must match, as with AWS (Java's Matcher.matches):
		// an unanchored "Bearer .+" must not pass "xBearer y".
		if re, err = regexp.Compile(`^(?:` + s.IdentityValidationExpression + `)$`); err != nil {
			ps.Addf("identity_validation_expression", "identity validation expression: %w", err)
		}
	}

	if s.ResultTTL < 0 || s.ResultTTL > MaxResultTTL {
		ps.Addf("result_ttl", "result TTL %v: must be between 0 and %v", s.ResultTTL, MaxResultTTL)
	}
	if s.EnableSimpleResponses && !v2 {
		ps.Addf("enable_simple_responses", "simple responses exist only with payload format version 2.0")
	}
	if s.Timeout < 0 {
		ps.Addf("timeout", "timeout %v: must not be negative", s.Timeout)
	}
	if s.CacheSize < 0 {
		ps.Addf("cache_size", "cache size %d: must not be negative", s.CacheSize)
	}
	// Authorizers commonly split the ARN on ':' and '/'.
	for _, err := range s.Parts.Errors() {
		ps.Add("", err)
	}
	if len(ps) > 0 {
		return nil, nil, ps
	}
	return sources, re, nil
}

func (s Settings) withDefaults() Settings {
	if s.EventType == "" {
		s.EventType = eventRequest
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.CacheSize == 0 {
		s.CacheSize = DefaultCacheSize
	}
	s.Parts = s.Parts.WithDefaults()
	return s
}

// Options carries an Authorizer's dependencies; every field is optional.
type Options struct {
	Logger  *slog.Logger     // nil: discard
	Metrics *Metrics         // nil: none
	Now     func() time.Time // nil: time.Now; event times and cache expiry
}

// Authorizer is one configured Lambda authorizer. It is safe for concurrent
// use; create it with New.
type Authorizer struct {
	name     string
	fn       Invoker
	sources  []source
	token    bool // REST TOKEN event
	v2       bool // payload format 2.0
	simple   bool // 2.0 simple responses
	validate *regexp.Regexp
	// validationExpr is the expression as configured, for Trace.
	validationExpr string
	timeout        time.Duration
	ttl            time.Duration // ResultTTL, for Trace
	arnPrefix      string        // "arn:aws:execute-api:{region}:{account}:{api}/{stage}/"
	parts          apigwevent.Parts
	stageVars      map[string]string
	now            func() time.Time
	log            *slog.Logger
	metrics        *authorizerMetrics
	cache          *resultCache // nil when ResultTTL is 0
}

// New validates s and builds the authorizer around fn.
func New(s Settings, fn Invoker, o Options) (*Authorizer, error) {
	sources, re, ps := s.compile()
	if err := ps.Err(); err != nil {
		return nil, fmt.Errorf("lambda authorizer %q: %w", s.Name, err)
	}
	if fn == nil {
		return nil, fmt.Errorf("lambda authorizer %q: no function to invoke", s.Name)
	}
	s = s.withDefaults()
	a := &Authorizer{
		name:     s.Name,
		fn:       fn,
		sources:  sources,
		token:    s.EventType == eventToken,
		v2:       s.PayloadFormatVersion == "2.0",
		simple:   s.EnableSimpleResponses,
		validate: re,
		timeout:  s.Timeout,
		ttl:      s.ResultTTL,

		validationExpr: s.IdentityValidationExpression,
		arnPrefix:      "arn:aws:execute-api:" + s.Region + ":" + s.AccountID + ":" + s.APIID + "/" + s.Stage + "/",
		parts:          s.Parts,
		stageVars:      make(map[string]string, len(s.StageVariables)),
		now:            o.Now,
		log:            o.Logger,
		metrics:        o.Metrics.forAuthorizer(s.Name),
	}
	for k, v := range s.StageVariables {
		a.stageVars[k] = v
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a.log = a.log.With("authorizer", s.Name)
	if s.ResultTTL > 0 {
		c, err := newResultCache(s.CacheSize, s.ResultTTL, o.Now)
		if err != nil {
			return nil, fmt.Errorf("lambda authorizer %q: cache: %w", s.Name, err)
		}
		a.cache = c
	}
	return a, nil
}

// Request is what the gateway knows about the request being authorized.
// HTTP is required; the other fields fill the event and the ARN.
type Request struct {
	HTTP       *http.Request
	RouteKey   string            // "GET /pets/{id}" or "$default"; empty means "$default"
	Resource   string            // the route's path template, "/pets/{id}"; "$default" for $default
	PathParams map[string]string // real values
	RequestID  string
	SourceIP   string    // empty: the host part of HTTP.RemoteAddr
	Time       time.Time // zero: Options.Now()
	// Trace, when set, records how the request was decided (see Trace);
	// nil on the request path.
	Trace *Trace
}

// Decision is the outcome of one authorization. When Allow is false, the
// gateway must answer with exactly Status, Header and Body, which are AWS's.
// Context and ContextStrings are shared with the cache: read them, never
// modify them.
type Decision struct {
	Allow  bool
	Status int         // when !Allow: 401, 403 or 500
	Body   string      // when !Allow: AWS's exact body
	Header http.Header // when !Allow: Content-Type, and x-amzn-ErrorType on 500
	// Reason is a short stable code for logs and metrics, one of the Reason*
	// constants.
	Reason      string
	PrincipalID string
	// UsageIdentifierKey is the API key an IAM-policy answer names, for
	// api_keys source AUTHORIZER; "" when none.
	UsageIdentifierKey string
	// Context is the authorizer context as returned; JSON numbers are
	// json.Number so they keep their exact text.
	Context map[string]any
	// ContextStrings is Context as AWS stringifies it for
	// $context.authorizer.KEY, plus "principalId" for IAM answers.
	ContextStrings map[string]string
	Cached         bool // decided from a cached answer, without invoking
}

// Reasons, as in Decision.Reason.
const (
	ReasonOK              = "ok"
	ReasonMissingIdentity = "missing_identity"
	ReasonInvalidIdentity = "invalid_identity"
	ReasonUnauthorized    = "unauthorized"
	ReasonExplicitDeny    = "explicit_deny"
	ReasonNoAllow         = "no_allow"
	ReasonNotAuthorized   = "not_authorized"
	ReasonFunctionError   = "function_error"
	ReasonTimeout         = "timeout"
	ReasonBadResponse     = "bad_response"
	ReasonInvocationError = "invocation_error"
)

// AWS's bodies, byte for byte. The capital M on the two IAM 403s is what
// real responses carry.
const (
	bodyUnauthorized = `{"message":"Unauthorized"}`
	bodyExplicitDeny = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	bodyNoAllow      = `{"Message":"User is not authorized to access this resource"}`
	bodyForbidden    = `{"message":"Forbidden"}`
	bodyConfigError  = `{"message":null}`
)

func deny(status int, body, reason string) Decision {
	h := http.Header{"Content-Type": {"application/json"}}
	if status == http.StatusInternalServerError {
		h["X-Amzn-Errortype"] = []string{"AuthorizerConfigurationException"}
	}
	return Decision{Status: status, Body: body, Header: h, Reason: reason}
}

func serverError(reason string) Decision {
	return deny(http.StatusInternalServerError, bodyConfigError, reason)
}

// Authorize decides r. It never panics and never returns an allowing
// Decision unless the function's answer explicitly allowed this request.
func (a *Authorizer) Authorize(ctx context.Context, r *Request) (d Decision) {
	defer func() {
		if p := recover(); p != nil {
			// The panic value may quote the payload; log its type only.
			var id string
			if r != nil {
				id = r.RequestID
			}
			a.log.Error("lambda authorizer: recovered from panic", "request_id", id, "reason", ReasonBadResponse,
				"error", fmt.Sprintf("panic: %T", p))
			d = serverError(ReasonBadResponse)
		}
	}()
	if r == nil || r.HTTP == nil || r.HTTP.URL == nil {
		return serverError(ReasonInvocationError)
	}
	tr := r.Trace
	if tr != nil {
		a.traceSources(tr, r)
	}
	values, ok := a.identityValues(r)
	if !ok {
		return deny(http.StatusUnauthorized, bodyUnauthorized, ReasonMissingIdentity)
	}
	if a.validate != nil && !a.validate.MatchString(values[0]) {
		return deny(http.StatusUnauthorized, bodyUnauthorized, ReasonInvalidIdentity)
	}
	arn := a.methodARN(r.HTTP)
	if tr != nil {
		tr.ValidationOK = a.validate != nil
		tr.MethodARN = arn
	}

	if a.cache == nil {
		res, err := a.load(ctx, r, values, arn)
		return a.decide(res, err, arn, false)
	}
	key := cacheKey(values)
	if tr != nil {
		tr.CacheKey = cacheKeyText(key)
	}
	if res, ok := a.cache.lookup(key); ok {
		a.metrics.cacheHit()
		if tr != nil {
			tr.CacheHit, tr.res = true, res
		}
		return a.decide(res, nil, arn, true)
	}
	a.metrics.cacheMiss()
	res, err := a.cache.get(ctx, key, func(ctx context.Context) (*result, error) {
		return a.load(ctx, r, values, arn)
	})
	return a.decide(res, err, arn, false)
}

// loadFailure is an outcome that must not be cached: the function said
// Unauthorized, failed, timed out or answered nonsense. It travels as an
// error so that the cache's loader shares it with concurrent waiters without
// storing it.
type loadFailure struct {
	reason string
	err    error
}

func (f *loadFailure) Error() string {
	if f.err == nil {
		return f.reason
	}
	return f.reason + ": " + f.err.Error()
}

func (f *loadFailure) Unwrap() error { return f.err }

// load builds the event, invokes the function and interprets its answer.
func (a *Authorizer) load(ctx context.Context, r *Request, values []string, arn string) (res *result, err error) {
	stage := ReasonInvocationError
	defer func() {
		if p := recover(); p != nil {
			// The panic value may quote the payload; log its type only.
			a.log.Error("lambda authorizer: recovered from panic", "request_id", r.RequestID, "reason", stage,
				"error", fmt.Sprintf("panic: %T", p))
			res, err = nil, &loadFailure{reason: stage, err: errors.New("panic")}
		}
		if err != nil {
			var lf *loadFailure
			if errors.As(err, &lf) {
				a.metrics.invoked(lf.reason)
			}
		} else {
			a.metrics.invoked(ReasonOK)
		}
	}()

	event, err := a.buildEvent(r, values, arn)
	if err != nil {
		a.log.Error("lambda authorizer: cannot build event", "request_id", r.RequestID, "reason", ReasonInvocationError,
			"error", err.Error())
		return nil, &loadFailure{reason: ReasonInvocationError, err: err}
	}
	tr := r.Trace
	if tr != nil {
		tr.EventJSON = event
		if !tr.Invoke {
			return nil, &loadFailure{reason: ReasonNotInvoked}
		}
		tr.Invoked = true
		defer func() {
			if err != nil {
				tr.traceFailure(err)
			}
		}()
	}
	ictx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	out, err := a.fn.Invoke(ictx, event)
	if tr != nil {
		tr.Answer = bytes.Clone(out)
		var fe FunctionError
		if errors.As(err, &fe) {
			tr.FunctionError = fe.FunctionErrorMessage()
		}
	}
	if err != nil {
		var fe FunctionError
		switch {
		case errors.As(err, &fe) && fe.FunctionErrorMessage() == "Unauthorized":
			return nil, &loadFailure{reason: ReasonUnauthorized}
		case errors.As(err, &fe):
			// The message is the function's own text and may quote the
			// identity: only its type is logged.
			var errorType string
			if typed, ok := fe.(functionErrorType); ok {
				errorType = typed.FunctionErrorType()
			}
			attrs := []any{"request_id", r.RequestID, "reason", ReasonFunctionError, "error", "function error", "error_type", errorType}
			if id, ok := fe.(functionRequestID); ok && id.FunctionRequestID() != "" {
				// Finds the function's output (print(), a traceback) for
				// this request.
				attrs = append(attrs, "function_request_id", id.FunctionRequestID())
			}
			a.log.Warn("lambda authorizer: function returned an error", attrs...)
			return nil, &loadFailure{reason: ReasonFunctionError, err: errors.New("function error")}
		case errors.Is(ictx.Err(), context.DeadlineExceeded):
			a.log.Warn("lambda authorizer: timed out", "request_id", r.RequestID, "reason", ReasonTimeout,
				"error", err.Error(), "timeout", a.timeout)
			return nil, &loadFailure{reason: ReasonTimeout, err: err}
		default:
			a.log.Error("lambda authorizer: invocation failed", "request_id", r.RequestID, "reason", ReasonInvocationError,
				"error", err.Error())
			return nil, &loadFailure{reason: ReasonInvocationError, err: err}
		}
	}
	if errors.Is(ictx.Err(), context.DeadlineExceeded) {
		// An invoker that ignored ctx and answered late: AWS would have given
		// up, and so do we.
		a.log.Warn("lambda authorizer: answer arrived after the timeout", "request_id", r.RequestID,
			"reason", ReasonTimeout, "error", context.DeadlineExceeded.Error(), "timeout", a.timeout)
		return nil, &loadFailure{reason: ReasonTimeout, err: context.DeadlineExceeded}
	}
	stage = ReasonBadResponse
	res, err = interpret(out, a.v2, a.simple)
	if tr != nil {
		tr.traceAnswer(out, res)
	}
	if err != nil {
		// The error describes structure only, never values.
		a.log.Warn("lambda authorizer: malformed answer", "request_id", r.RequestID, "reason", ReasonBadResponse,
			"error", err.Error())
		return nil, &loadFailure{reason: ReasonBadResponse, err: err}
	}
	return res, nil
}

// decide turns an interpreted answer, or the failure to get one, into the
// Decision for the request whose ARN is arn.
func (a *Authorizer) decide(res *result, err error, arn string, cached bool) Decision {
	if err != nil {
		var lf *loadFailure
		if !errors.As(err, &lf) {
			// The caller's context ended while waiting for another
			// request's invocation.
			return serverError(ReasonInvocationError)
		}
		if lf.reason == ReasonUnauthorized {
			return deny(http.StatusUnauthorized, bodyUnauthorized, ReasonUnauthorized)
		}
		return serverError(lf.reason)
	}
	if res == nil {
		return serverError(ReasonInvocationError)
	}
	var d Decision
	if res.policy == nil {
		if !res.allow {
			d = deny(http.StatusForbidden, bodyForbidden, ReasonNotAuthorized)
		} else {
			d = Decision{Allow: true, Reason: ReasonOK}
		}
	} else {
		switch res.policy.evaluate(arn) {
		case effectAllow:
			d = Decision{Allow: true, Reason: ReasonOK}
		case effectDeny:
			d = deny(http.StatusForbidden, bodyExplicitDeny, ReasonExplicitDeny)
		default:
			d = deny(http.StatusForbidden, bodyNoAllow, ReasonNoAllow)
		}
	}
	d.PrincipalID = res.principalID
	d.Cached = cached
	if d.Allow {
		d.UsageIdentifierKey = res.usageKey
		d.Context = res.context
		d.ContextStrings = res.contextStrings
	}
	return d
}
