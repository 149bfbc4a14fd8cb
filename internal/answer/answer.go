// Package answer writes the answers Portcullis gives by itself, byte for byte
// as AWS API Gateway does, so the gateway and backends that verify tokens
// again (package verify) answer alike.
package answer

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/jwtauth"
)

// Bodies, as AWS sends them.
const (
	NotFound      = `{"message":"Not Found"}`
	Unauthorized  = `{"message":"Unauthorized"}`
	Forbidden     = `{"message":"Forbidden"}`
	BadRequest    = `{"message":"Bad Request"}`
	TooLarge      = `{"message":"Request Entity Too Large"}`
	BadGateway    = `{"message":"Bad Gateway"}`
	TimedOut      = `{"message":"Endpoint request timed out"}`
	InternalError = `{"message":"Internal server error"}`
	// TooManyRequests is the THROTTLED gateway response's body (429).
	TooManyRequests = `{"message":"Too Many Requests"}`
)

// ClientClosed is the status recorded, in the access log and the metrics,
// for a request whose client went away before its answer (nginx's 499).
// Nobody reads the answer; recording it as a 502 or 504 would blame the
// backend for the client.
const ClientClosed = 499

// Recorder is implemented by a ResponseWriter that wants to know which of
// the gateway's own answers it carried (for $context.error.message).
type Recorder interface {
	RecordAnswer(body string)
}

// JSON writes status and body with the headers AWS sends along; a HEAD
// request gets no body. A Recorder is told the body.
func JSON(w http.ResponseWriter, r *http.Request, status int, body string) {
	if rec, ok := w.(Recorder); ok {
		rec.RecordAnswer(body)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// Challenge is the WWW-Authenticate value for a request without a token
// (RFC 6750 §3.1: no error code when no credentials were sent).
const Challenge = "Bearer"

// InsufficientScope is the WWW-Authenticate value for a token that lacks the
// route's scopes.
const InsufficientScope = `Bearer error="insufficient_scope", error_description="the token has none of the scopes this route requires"`

// InvalidToken is the WWW-Authenticate value for a token that failed
// verification. The description is jwtauth's, never the token.
func InvalidToken(err error) string {
	desc := "the token could not be verified"
	var d *jwtauth.Denial
	if errors.As(err, &d) {
		desc = d.Description
	}
	return `Bearer error="invalid_token", error_description="` + quoteSafe(desc) + `"`
}

// quoteSafe keeps a description inside a quoted-string.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// Failure is an integration's failure that the gateway answers by itself:
// which of its own answers it is, in the integration's terms. The gateway
// turns it into a gateway response type (package gwresponse).
type Failure uint8

// Failures an integration answers by itself.
const (
	FailureTooLarge Failure = iota + 1 // the client's body is over the limit (413)
	FailureBodyRead                    // the client's body could not be read (400)
	FailureBackend                     // the backend or function failed (502, or 500 for a function)
	FailureTimeout                     // the integration timed out (504)
)

// Failer is an integration's hook for its failure answers, as
// httputil.ReverseProxy's ErrorHandler is a proxy's: status and body are
// the built-in answer, which the Failer writes to w as it is or as the
// configuration changes it. It must write a complete answer.
type Failer interface {
	Fail(w http.ResponseWriter, r *http.Request, f Failure, status int, body string)
}

// Fail writes an integration failure's answer through h, or as the built-in
// JSON answer when h is nil.
func Fail(h Failer, w http.ResponseWriter, r *http.Request, f Failure, status int, body string) {
	if h != nil {
		h.Fail(w, r, f, status, body)
		return
	}
	JSON(w, r, status, body)
}
