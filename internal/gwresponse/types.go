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
}

var types = [numTypes]typeInfo{
	AccessDenied:                 {"ACCESS_DENIED", http.StatusForbidden},
	APIConfigurationError:        {"API_CONFIGURATION_ERROR", http.StatusInternalServerError},
	AuthorizerConfigurationError: {"AUTHORIZER_CONFIGURATION_ERROR", http.StatusInternalServerError},
	AuthorizerFailure:            {"AUTHORIZER_FAILURE", http.StatusInternalServerError},
	BadRequestBody:               {"BAD_REQUEST_BODY", http.StatusBadRequest},
	BadRequestParameters:         {"BAD_REQUEST_PARAMETERS", http.StatusBadRequest},
	Default4XX:                   {"DEFAULT_4XX", 0},
	Default5XX:                   {"DEFAULT_5XX", 0},
	ExpiredToken:                 {"EXPIRED_TOKEN", http.StatusForbidden},
	IntegrationFailure:           {"INTEGRATION_FAILURE", http.StatusGatewayTimeout},
	IntegrationTimeout:           {"INTEGRATION_TIMEOUT", http.StatusGatewayTimeout},
	InvalidAPIKey:                {"INVALID_API_KEY", http.StatusForbidden},
	InvalidSignature:             {"INVALID_SIGNATURE", http.StatusForbidden},
	MissingAuthenticationToken:   {"MISSING_AUTHENTICATION_TOKEN", http.StatusForbidden},
	QuotaExceeded:                {"QUOTA_EXCEEDED", http.StatusTooManyRequests},
	RequestTooLarge:              {"REQUEST_TOO_LARGE", http.StatusRequestEntityTooLarge},
	ResourceNotFound:             {"RESOURCE_NOT_FOUND", http.StatusNotFound},
	Throttled:                    {"THROTTLED", http.StatusTooManyRequests},
	Unauthorized:                 {"UNAUTHORIZED", http.StatusUnauthorized},
	UnsupportedMediaType:         {"UNSUPPORTED_MEDIA_TYPE", http.StatusUnsupportedMediaType},
	WAFFiltered:                  {"WAF_FILTERED", http.StatusForbidden},
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
