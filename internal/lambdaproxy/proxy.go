// Package lambdaproxy is the lambda_proxy integration: a route whose backend
// is a Lambda function, with AWS API Gateway's HTTP API behaviour. It builds
// the payload format 1.0 or 2.0 event from the request, invokes the function
// and translates its answer (or failure) into the HTTP response AWS would
// give. See README.md.
//
// Event and response payloads carry tokens and personal data, so this
// package never logs them.
package lambdaproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function"
)

// Defaults.
const (
	// DefaultTimeout is API Gateway's integration timeout.
	DefaultTimeout = 29 * time.Second
	// DefaultMaxBodyBytes is Lambda's synchronous payload limit (6 MiB).
	DefaultMaxBodyBytes int64 = 6 << 20
)

// Bodies of the answers this package gives by itself. The others are in
// package answer.
const (
	// FunctionErrorBody is HTTP API's answer, with status 500, when the
	// function reports an error or cannot be invoked at all (note the
	// capital S, unlike answer.InternalError).
	FunctionErrorBody = `{"message":"Internal Server Error"}`
)

// Reasons returned by Serve, for logs and metrics.
const (
	ReasonBodyTooLarge     = "body_too_large"
	ReasonBodyRead         = "body_read_error"
	ReasonEvent            = "event_error"
	ReasonFunctionError    = "function_error"
	ReasonUnavailable      = "function_unavailable"
	ReasonTimeout          = "timeout"
	ReasonCanceled         = "canceled"
	ReasonResponseTooLarge = "response_too_large"
	ReasonBadResponse      = "bad_response"
	ReasonInvocationError  = "invocation_error"
)

// Settings configure one lambda_proxy integration.
type Settings struct {
	PayloadFormatVersion string        // "1.0" or "2.0" (required)
	Timeout              time.Duration // default 29s; the caller's context may end it sooner
	MaxBodyBytes         int64         // request and response body limit, default 6 MiB
	// requestContext parts; defaults us-east-1, 000000000000, portcullis,
	// $default (apigwevent's, as lambdaauth's). Region is not part of the event today but
	// is validated like the others so configuration is shared.
	apigwevent.Parts
	StageVariables map[string]string
}

// Validate reports every problem at once.
func (s Settings) Validate() error { return s.Problems().Err() }

// Problems is what Validate reports, each at the field of a lambda_proxy
// integration's configuration block it is about ("payload_format_version",
// "timeout"; "" for what the block does not write), so that the gateway
// reports it at its place.
func (s Settings) Problems() config.Problems {
	var ps config.Problems
	switch s.PayloadFormatVersion {
	case "1.0", "2.0":
	case "":
		ps.Addf("payload_format_version", "payload format version: required (\"1.0\" or \"2.0\")")
	default:
		ps.Addf("payload_format_version", "payload format version %q: must be \"1.0\" or \"2.0\"", s.PayloadFormatVersion)
	}
	if s.Timeout < 0 {
		ps.Addf("timeout", "timeout %v: must not be negative", s.Timeout)
	}
	if s.MaxBodyBytes < 0 {
		ps.Addf("", "max body bytes %d: must not be negative", s.MaxBodyBytes)
	}
	for _, err := range s.Parts.Errors() {
		ps.Add("", err)
	}
	return ps
}

func (s Settings) withDefaults() Settings {
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s.Parts = s.Parts.WithDefaults()
	return s
}

// Authorizer is what the route's authorizer established, for
// requestContext.authorizer. The zero value means no authorizer.
type Authorizer struct {
	// JWT authorizer: claims stringified as AWS does, and the token's scopes
	// (nil on routes without authorization_scopes → JSON null for 2.0
	// jwt.scopes).
	JWTClaims map[string]string
	// JWTClaimsJSON, when set (a REST-shape jwt authorizer), replaces
	// JWTClaims in the event: each claim with its JSON type, as REST APIs
	// pass them.
	JWTClaimsJSON map[string]json.RawMessage
	JWTScopes     []string
	JWT           bool
	// Lambda authorizer: its context as returned, principalId, and the
	// AWS-stringified values.
	Lambda         bool
	PrincipalID    string
	LambdaContext  map[string]any
	ContextStrings map[string]string
}

// Request is one request for the integration.
type Request struct {
	HTTP       *http.Request
	RouteKey   string            // "GET /pets/{id}" or "$default"; empty means "$default"
	Resource   string            // route path template "/pets/{id}" ("$default" for $default); empty: from RouteKey
	PathParams map[string]string // real values
	RequestID  string
	SourceIP   string    // empty: host of HTTP.RemoteAddr
	Time       time.Time // zero: now
	Authorizer Authorizer
	// Failer, when set, writes the integration's failure answers in place
	// of the built-in ones: the gateway's gateway responses.
	Failer answer.Failer
}

// Invoker invokes the function; internal/function's runtimes satisfy it. An
// error with a FunctionErrorMessage() string method (function.Error) means
// the function ran and failed; other errors are technical.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// Options carries an Integration's dependencies; every field is optional.
type Options struct {
	Logger *slog.Logger // nil: discard
}

// Integration is one configured lambda_proxy integration, safe for
// concurrent use.
type Integration struct {
	s   Settings
	fn  Invoker
	log *slog.Logger
}

// New validates s and builds the integration around fn.
func New(s Settings, fn Invoker, o Options) (*Integration, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("lambda proxy: %w", err)
	}
	if fn == nil {
		return nil, errors.New("lambda proxy: no function to invoke")
	}
	s = s.withDefaults()
	vars := make(map[string]string, len(s.StageVariables))
	for k, v := range s.StageVariables {
		vars[k] = v
	}
	s.StageVariables = vars
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Integration{s: s, fn: fn, log: log}, nil
}

// functionError is implemented by function.Error; matched with errors.As so
// that other runtimes can report function errors too.
type functionError interface {
	error
	FunctionErrorMessage() string
}

// functionErrorDetail is what a functionError may also offer (function.Error
// does): Lambda's errorType and the failed invocation's id, which labels the
// function's own output in the log. Unlike the message, both may be logged.
type functionErrorDetail interface {
	FunctionErrorType() string
	FunctionRequestID() string
}

// Event returns the event Serve would send the function for r, reading
// r's body as Serve does, and invokes nothing. For `portcullis explain`.
func (i *Integration) Event(r *Request) ([]byte, error) {
	if r == nil || r.HTTP == nil {
		return nil, errors.New("lambda proxy: request without an HTTP request")
	}
	body, reason := readBody(r.HTTP, i.s.MaxBodyBytes)
	if reason != "" {
		return nil, errors.New("lambda proxy: " + reason)
	}
	return buildEvent(i.s, r, body)
}

// Serve reads the body (bounded), builds the event, invokes, and writes the
// HTTP response (or AWS's error answer) to w. It returns a short reason for
// logs: "" on success, else one of the Reason constants.
func (i *Integration) Serve(w http.ResponseWriter, r *Request) string {
	hr := r.HTTP
	body, reason := readBody(hr, i.s.MaxBodyBytes)
	switch reason {
	case ReasonBodyTooLarge:
		answer.Fail(r.Failer, w, hr, answer.FailureTooLarge, http.StatusRequestEntityTooLarge, answer.TooLarge)
		return reason
	case ReasonBodyRead:
		answer.Fail(r.Failer, w, hr, answer.FailureBodyRead, http.StatusBadRequest, answer.BadRequest)
		return reason
	}

	event, err := buildEvent(i.s, r, body)
	if err != nil {
		i.log.Error("lambda proxy: building the event", "request_id", r.RequestID, "error", err)
		answer.Fail(r.Failer, w, hr, answer.FailureBackend, http.StatusInternalServerError, answer.InternalError)
		return ReasonEvent
	}

	ctx, cancel := context.WithTimeout(hr.Context(), i.s.Timeout)
	out, err := i.fn.Invoke(ctx, event)
	cancel()
	if err != nil {
		return i.invokeFailed(w, r, err)
	}

	res, err := parseResponse(i.s.PayloadFormatVersion, out, i.s.MaxBodyBytes)
	if err != nil {
		i.log.Warn("lambda proxy: malformed Lambda proxy response", "request_id", r.RequestID, "error", err)
		answer.Fail(r.Failer, w, hr, answer.FailureBackend, http.StatusBadGateway, answer.InternalError)
		return ReasonBadResponse
	}
	writeResponse(w, hr, res)
	return ""
}

// invokeFailed answers a failed invocation as AWS does.
func (i *Integration) invokeFailed(w http.ResponseWriter, r *Request, err error) string {
	hr := r.HTTP
	var fe functionError
	switch {
	case errors.As(err, &fe):
		// The function's message is its own business (and may carry
		// secrets): logged at debug level only. Its type and invocation
		// id, which finds the function's output for this request, are not.
		attrs := []any{"request_id", r.RequestID, "reason", ReasonFunctionError}
		if d, ok := fe.(functionErrorDetail); ok {
			attrs = append(attrs, "error_type", d.FunctionErrorType())
			if id := d.FunctionRequestID(); id != "" {
				attrs = append(attrs, "function_request_id", id)
			}
		}
		i.log.Warn("lambda proxy: function returned an error", attrs...)
		i.log.Debug("lambda proxy: function error", "request_id", r.RequestID, "error", err)
		answer.Fail(r.Failer, w, hr, answer.FailureBackend, http.StatusInternalServerError, FunctionErrorBody)
		return ReasonFunctionError
	case errors.Is(err, function.ErrUnavailable):
		// Nothing ran the function: its queue was full, no process was
		// free in time, or Lambda refused the invocation (throttling). API
		// Gateway answers an invocation Lambda rejects with 500, not 502.
		i.log.Warn("lambda proxy: function unavailable", "request_id", r.RequestID, "error", err)
		answer.Fail(r.Failer, w, hr, answer.FailureBackend, http.StatusInternalServerError, FunctionErrorBody)
		return ReasonUnavailable
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, function.ErrTimeout):
		i.log.Warn("lambda proxy: function timed out", "request_id", r.RequestID, "error", err)
		answer.Fail(r.Failer, w, hr, answer.FailureTimeout, http.StatusGatewayTimeout, answer.TimedOut)
		return ReasonTimeout
	case errors.Is(err, context.Canceled) && hr.Context().Err() != nil:
		// The client went away; nobody reads an answer.
		w.WriteHeader(answer.ClientClosed)
		return ReasonCanceled
	case errors.Is(err, function.ErrTooLarge):
		i.log.Warn("lambda proxy: function response too large", "request_id", r.RequestID, "error", err)
		answer.Fail(r.Failer, w, hr, answer.FailureBackend, http.StatusBadGateway, answer.InternalError)
		return ReasonResponseTooLarge
	case errors.Is(err, function.ErrInvalidResponse):
		i.log.Warn("lambda proxy: malformed Lambda proxy response", "request_id", r.RequestID, "error", err)
		answer.Fail(r.Failer, w, hr, answer.FailureBackend, http.StatusBadGateway, answer.InternalError)
		return ReasonBadResponse
	}
	i.log.Error("lambda proxy: invocation failed", "request_id", r.RequestID, "error", err)
	answer.Fail(r.Failer, w, hr, answer.FailureBackend, http.StatusBadGateway, answer.InternalError)
	return ReasonInvocationError
}

// readBody reads at most max bytes. A Content-Length over max is refused
// before reading; so is a body that turns out longer while being read
// (chunked requests), or one that an outer http.MaxBytesReader cuts.
func readBody(r *http.Request, max int64) ([]byte, string) {
	if r.ContentLength > max {
		return nil, ReasonBodyTooLarge
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, ""
	}
	size := max + 1
	if r.ContentLength >= 0 && r.ContentLength < size {
		size = r.ContentLength + 1 // +1 so that EOF is seen without growing
	}
	buf := make([]byte, 0, min(size, 512<<10))
	buf, err := readAll(io.LimitReader(r.Body, max+1), buf)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, ReasonBodyTooLarge
		}
		return nil, ReasonBodyRead
	}
	if int64(len(buf)) > max {
		return nil, ReasonBodyTooLarge
	}
	return buf, ""
}

// readAll is io.ReadAll into a caller-sized buffer.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
	}
}

// writeResponse writes the translated answer. Content-Length is always
// computed here; 204 and 304 answers and HEAD requests carry no body.
func writeResponse(w http.ResponseWriter, r *http.Request, res *response) {
	h := w.Header()
	for k, vs := range res.header {
		h[k] = vs
	}
	noBody := res.status == http.StatusNoContent || res.status == http.StatusNotModified
	if noBody {
		h.Del("Content-Length")
	} else {
		h.Set("Content-Length", strconv.Itoa(len(res.body)))
	}
	w.WriteHeader(res.status)
	if !noBody && r.Method != http.MethodHead && len(res.body) > 0 {
		_, _ = w.Write(res.body)
	}
}
