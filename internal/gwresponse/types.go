package gwresponse

import (
	"net/http"

	"github.com/portcullis/portcullis/internal/answer"
)

// Type is an AWS gateway response type: which of the gateway's own answers
// a response is. The zero value is no type.
type Type uint8

// The AWS gateway response types. Portcullis produces the ones whose
// comment names a case; the others are accepted (an AWS definition carries
// them) and never used. See README.md.
const (
	AccessDenied                 Type = iota + 1 // an authorizer denied: insufficient scopes, a Lambda authorizer's deny
	APIConfigurationError                        // never produced
	AuthorizerConfigurationError                 // a Lambda authorizer could not be invoked or answered badly
	AuthorizerFailure                            // a JWT authorizer had no keys to verify with
	BadRequestBody                               // the client's body could not be read
	BadRequestParameters                         // a request path the gateway refuses (dot segments, encoded slashes)
	Default4XX                                   // fallback of every 4xx type not configured
	Default5XX                                   // fallback of every 5xx type not configured
	ExpiredToken                                 // never produced (SigV4)
	IntegrationFailure                           // the backend or function failed
	IntegrationTimeout                           // the integration timed out
	InvalidAPIKey                                // a missing or unknown API key
	InvalidSignature                             // never produced (SigV4)
	MissingAuthenticationToken                   // no route matches the request
	QuotaExceeded                                // a usage plan's quota is used up
	RequestTooLarge                              // the client's body is over the limit
	ResourceNotFound                             // never produced: routes are matched before authorization
	Throttled                                    // a rate limit
	Unauthorized                                 // an authorizer could not authenticate the caller
	UnsupportedMediaType                         // never produced
	WAFFiltered                                  // never produced
	numTypes
)

// typeInfo is what AWS says about a type.
type typeInfo struct {
	name   string
	status int // AWS's default status; 0 for DEFAULT_4XX and DEFAULT_5XX
	// errorType is the x-amzn-ErrorType value AWS's answer carries
	// (observed), as a header value slice shared by every answer (header
	// values are only read); nil: the gateway adds none (a Lambda
	// authorizer's 500 sets its own).
	errorType []string
}

var types = [numTypes]typeInfo{
	AccessDenied:                 {name: "ACCESS_DENIED", status: http.StatusForbidden},
	APIConfigurationError:        {name: "API_CONFIGURATION_ERROR", status: http.StatusInternalServerError},
	AuthorizerConfigurationError: {name: "AUTHORIZER_CONFIGURATION_ERROR", status: http.StatusInternalServerError},
	AuthorizerFailure:            {name: "AUTHORIZER_FAILURE", status: http.StatusInternalServerError},
	BadRequestBody:               {name: "BAD_REQUEST_BODY", status: http.StatusBadRequest},
	BadRequestParameters:         {name: "BAD_REQUEST_PARAMETERS", status: http.StatusBadRequest},
	Default4XX:                   {name: "DEFAULT_4XX", status: 0},
	Default5XX:                   {name: "DEFAULT_5XX", status: 0},
	ExpiredToken:                 {name: "EXPIRED_TOKEN", status: http.StatusForbidden},
	IntegrationFailure:           {name: "INTEGRATION_FAILURE", status: http.StatusGatewayTimeout},
	IntegrationTimeout:           {name: "INTEGRATION_TIMEOUT", status: http.StatusGatewayTimeout},
	InvalidAPIKey:                {name: "INVALID_API_KEY", status: http.StatusForbidden},
	InvalidSignature:             {name: "INVALID_SIGNATURE", status: http.StatusForbidden},
	MissingAuthenticationToken:   {name: "MISSING_AUTHENTICATION_TOKEN", status: http.StatusForbidden},
	QuotaExceeded:                {name: "QUOTA_EXCEEDED", status: http.StatusTooManyRequests, errorType: []string{"LimitExceededException"}},
	RequestTooLarge:              {name: "REQUEST_TOO_LARGE", status: http.StatusRequestEntityTooLarge},
	ResourceNotFound:             {name: "RESOURCE_NOT_FOUND", status: http.StatusNotFound},
	Throttled:                    {name: "THROTTLED", status: http.StatusTooManyRequests, errorType: []string{"TooManyRequestsException"}},
	Unauthorized:                 {name: "UNAUTHORIZED", status: http.StatusUnauthorized},
	UnsupportedMediaType:         {name: "UNSUPPORTED_MEDIA_TYPE", status: http.StatusUnsupportedMediaType},
	WAFFiltered:                  {name: "WAF_FILTERED", status: http.StatusForbidden},
}

// String is AWS's name of the type, such as "UNAUTHORIZED"; "" for the
// zero Type.
func (t Type) String() string {
	if t == 0 || t >= numTypes {
		return ""
	}
	return types[t].name
}

// AWSStatus is the status AWS gives the type when nothing customises it; 0
// for DEFAULT_4XX and DEFAULT_5XX, which have none. Portcullis's built-in
// answers keep their own status (see README.md); this is for documentation
// and export.
func (t Type) AWSStatus() int {
	if t == 0 || t >= numTypes {
		return 0
	}
	return types[t].status
}

// ErrorTypeHeader is the x-amzn-ErrorType header value AWS's answer of
// type t carries, as observed: TooManyRequestsException for THROTTLED,
// LimitExceededException for QUOTA_EXCEEDED; nil for the other types. The
// slice is shared: callers put it in a header map and never change it.
func (t Type) ErrorTypeHeader() []string {
	if t == 0 || t >= numTypes {
		return nil
	}
	return types[t].errorType
}

// ParseType returns the type named name (AWS's spelling, upper case).
func ParseType(name string) (Type, bool) {
	for t := Type(1); t < numTypes; t++ {
		if types[t].name == name {
			return t, true
		}
	}
	return 0, false
}

// Types returns every type in AWS's alphabetical order.
func Types() []Type {
	out := make([]Type, 0, numTypes-1)
	for t := Type(1); t < numTypes; t++ {
		out = append(out, t)
	}
	return out
}

// FromFailure is the type of an integration's failure answer.
func FromFailure(f answer.Failure) Type {
	switch f {
	case answer.FailureTooLarge:
		return RequestTooLarge
	case answer.FailureBodyRead:
		return BadRequestBody
	case answer.FailureTimeout:
		return IntegrationTimeout
	}
	return IntegrationFailure
}
