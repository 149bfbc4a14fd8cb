// Package function runs Lambda-style functions: it gives a function an event
// (JSON bytes) and returns the function's response payload. Three runtimes
// share one interface: Process runs unchanged Lambda binaries locally behind
// a Runtime API served by Portcullis, Invoke calls the AWS Lambda Invoke API,
// and HTTP posts the event to a plain HTTP endpoint. See README.md.
//
// Event and response payloads carry bearer tokens and other secrets, so this
// package never logs them; only a function's own stdout/stderr is logged.
package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Function invokes one function. Safe for concurrent use.
//
// Invoke returns the function's response payload, which is always valid JSON
// of at most the runtime's MaxResponseBytes. When the function itself reports
// an error the returned error is a *Error; every other error is a technical
// failure, matchable with errors.Is against ErrTimeout, ErrTooLarge,
// ErrUnavailable, ErrInvalidResponse or the context's error.
type Function interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// Error is a failure reported by the function itself: it ran and returned an
// error (aws-lambda-go's {"errorMessage", "errorType"} payload), as opposed to
// a technical failure to run it. Callers match Message, for instance
// "Unauthorized" from a Lambda authorizer means "answer 401".
type Error struct {
	Message string
	Type    string
	// RequestID is the invocation's id (Lambda's request id), which labels
	// the function's output in the log; empty when the runtime has none to
	// give (an init error, the http runtime).
	RequestID string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Type == "" {
		return "function error: " + e.Message
	}
	return "function error: " + e.Type + ": " + e.Message
}

// FunctionErrorMessage is the function's own error message; it lets callers
// such as Lambda authorizers tell "Unauthorized" from other failures without
// depending on this package (see lambdaauth.FunctionError).
func (e *Error) FunctionErrorMessage() string { return e.Message }

// FunctionErrorType is the function's error type (Lambda's errorType, such
// as Runtime.ExitError). Unlike the message, which may quote what the
// function was given, callers may log it.
func (e *Error) FunctionErrorType() string { return e.Type }

// FunctionRequestID is the failed invocation's id (see RequestID). Callers
// log it beside their own request id, so that the function's output for a
// failed request can be found.
func (e *Error) FunctionRequestID() string { return e.RequestID }

// Sentinels for technical failures, matchable with errors.Is.
var (
	// ErrTimeout: the invocation exceeded its timeout (the runtime's Timeout
	// or the caller's context deadline, which then also matches
	// context.DeadlineExceeded).
	ErrTimeout = errors.New("function timed out")
	// ErrTooLarge: the response exceeded MaxResponseBytes.
	ErrTooLarge = errors.New("function response too large")
	// ErrUnavailable: the function could not be run: no process could take
	// the invocation (queue full, processes failing to start, runtime
	// closed or not started), or Lambda refused the Invoke call (throttled,
	// no such function). API Gateway answers that with 500.
	ErrUnavailable = errors.New("function unavailable")
	// ErrInvalidResponse: the function answered with something that is not a
	// JSON document (or an error report that cannot be read). Callers expect
	// JSON (authorizer and proxy responses), so raw bytes are not passed on.
	ErrInvalidResponse = errors.New("function response is not valid JSON")
)

// DefaultMaxResponseBytes is Lambda's synchronous response limit; every
// runtime enforces it unless configured otherwise.
const DefaultMaxResponseBytes int64 = 6 << 20

// DefaultTimeout is Lambda's default function timeout, used by Process.
const DefaultTimeout = 3 * time.Second

// DefaultRemoteTimeout is used by Invoke and HTTP: API Gateway's integration
// timeout, since the remote side has its own (possibly longer) function
// timeout and cold starts.
const DefaultRemoteTimeout = 29 * time.Second

// errorPayload is aws-lambda-go's error report (messages.InvokeResponse_Error).
type errorPayload struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// parseErrorPayload recognises a payload that is exactly an error report: a
// JSON object whose keys are errorMessage and errorType (both strings) and
// optionally stackTrace. The strictness keeps a legitimate response that
// merely mentions errorMessage from being turned into a function error; it is
// needed because the Runtime Interface Emulator (and plain HTTP functions)
// do not mark errors out of band.
func parseErrorPayload(b []byte) (*Error, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false
	}
	rawMsg, okMsg := m["errorMessage"]
	rawType, okType := m["errorType"]
	if !okMsg || !okType {
		return nil, false
	}
	for k := range m {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return nil, false
		}
	}
	var e Error
	if json.Unmarshal(rawMsg, &e.Message) != nil || json.Unmarshal(rawType, &e.Type) != nil {
		return nil, false
	}
	return &e, true
}

// decodeErrorReport reads an error report that is known to be one (Runtime
// API /error, X-Amz-Function-Error), tolerating extra keys. A body that is
// not JSON still counts as a function error when the error type came out of
// band (custom runtimes may post plain text); the text is not used as the
// message because it is unbounded, unstructured output.
func decodeErrorReport(b []byte, fallbackType string) (*Error, error) {
	var p errorPayload
	if err := json.Unmarshal(b, &p); err != nil {
		if fallbackType != "" {
			return &Error{Type: fallbackType}, nil
		}
		return nil, fmt.Errorf("unreadable error report: %w", ErrInvalidResponse)
	}
	if p.Type == "" {
		p.Type = fallbackType
	}
	return &Error{Message: p.Message, Type: p.Type}, nil
}

// contextError turns the caller's context ending into an error. A deadline
// also matches ErrTimeout because, to the caller, the function took too long.
func contextError(name string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("function %s: %w: %w", name, ErrTimeout, err)
	}
	return fmt.Errorf("function %s: %w", name, err)
}

// orDefault returns v unless it is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
