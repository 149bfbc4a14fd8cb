package lambdaproxy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portcullis/portcullis/internal/apigwevent"
)

// BuildEvent returns the JSON event the function receives for r with the
// request body body (already read and bounded by the caller). Settings are
// completed with their defaults first; PayloadFormatVersion must be "1.0"
// or "2.0". Exported for tests and benchmarks; Serve uses the same code.
func BuildEvent(s Settings, r *Request, body []byte) ([]byte, error) {
	if r == nil || r.HTTP == nil {
		return nil, fmt.Errorf("lambda proxy: request without an HTTP request")
	}
	return buildEvent(s.withDefaults(), r, body)
}

func buildEvent(s Settings, r *Request, body []byte) ([]byte, error) {
	switch s.PayloadFormatVersion {
	case "1.0":
		return json.Marshal(eventV1(&s, r, body))
	case "2.0":
		return json.Marshal(eventV2(&s, r, body))
	}
	return nil, fmt.Errorf("lambda proxy: payload format version %q: must be \"1.0\" or \"2.0\"", s.PayloadFormatVersion)
}

// ---- payload format 1.0 ----

// proxyEventV1 is HTTP API's payload 1.0 event. The aws-lambda-go type is
// embedded and some of its fields are shadowed (the outer field of the same
// JSON name wins) where its tags would not give AWS's JSON:
//   - version: AWS sends "1.0"; the Go type has no such field.
//   - body: AWS sends null for a request without a body; the Go type has a
//     plain string, which would give "".
//   - isBase64Encoded: AWS always sends it; the Go type omits false.
//   - requestContext: see requestContextV1.
type proxyEventV1 struct {
	Version string `json:"version"`
	events.APIGatewayProxyRequest
	RequestContext  requestContextV1 `json:"requestContext"`
	Body            *string          `json:"body"`
	IsBase64Encoded bool             `json:"isBase64Encoded"`
}

// requestContextV1 shadows, in aws-lambda-go's APIGatewayProxyRequestContext:
//   - authorizer: map[string]any in the Go type, which fits every case
//     (JWT {"claims","scopes"}, Lambda context keys + principalId), but is
//     replaced by a plain any so the JWT case can use a struct;
//   - identity: AWS sends the fields it does not fill as null; the Go type
//     omits them;
//   - resourceId: AWS sends null for HTTP APIs; the Go type sends "".
type requestContextV1 struct {
	events.APIGatewayProxyRequestContext
	Authorizer any        `json:"authorizer"`
	Identity   identityV1 `json:"identity"`
	ResourceID *string    `json:"resourceId"`
}

// identityV1 is requestContext.identity as HTTP APIs send it: only sourceIp
// and userAgent are known, the rest is null. Field names are those of
// events.APIGatewayRequestIdentity, so the Go type decodes it.
type identityV1 struct {
	AccessKey                     *string `json:"accessKey"`
	AccountID                     *string `json:"accountId"`
	Caller                        *string `json:"caller"`
	CognitoAuthenticationProvider *string `json:"cognitoAuthenticationProvider"`
	CognitoAuthenticationType     *string `json:"cognitoAuthenticationType"`
	CognitoIdentityID             *string `json:"cognitoIdentityId"`
	CognitoIdentityPoolID         *string `json:"cognitoIdentityPoolId"`
	PrincipalOrgID                *string `json:"principalOrgId"`
	SourceIP                      string  `json:"sourceIp"`
	User                          *string `json:"user"`
	UserAgent                     string  `json:"userAgent"`
	UserArn                       *string `json:"userArn"`
}

// jwtAuthorizerV1 is requestContext.authorizer for payload 1.0 with a JWT
// authorizer, and (claims and scopes null) without any authorizer, as AWS's
// own 1.0 example shows.
type jwtAuthorizerV1 struct {
	Claims any      `json:"claims"` // map[string]string, or map[string]json.RawMessage (REST shape)
	Scopes []string `json:"scopes"`
}

// claimsOf is the claims object of a JWT authorizer's event.
func claimsOf(a *Authorizer) any {
	if a.JWTClaimsJSON != nil {
		return a.JWTClaimsJSON
	}
	return nonNilClaims(a.JWTClaims)
}

func eventV1(s *Settings, r *Request, body []byte) *proxyEventV1 {
	hr := r.HTTP
	t := requestTime(r)
	domain := apigwevent.DomainName(hr)
	resource := apigwevent.Resource(r.Resource, r.RouteKey)
	headers, mvHeaders := apigwevent.HeadersV1(hr)
	qs, mvQS := apigwevent.QueryV1(hr.URL.RawQuery) // null without a query

	e := &proxyEventV1{
		Version: "1.0",
		APIGatewayProxyRequest: events.APIGatewayProxyRequest{
			Resource:                        resource,
			Path:                            hr.URL.Path,
			HTTPMethod:                      hr.Method,
			Headers:                         headers,
			MultiValueHeaders:               mvHeaders,
			QueryStringParameters:           qs,
			MultiValueQueryStringParameters: mvQS,
			PathParameters:                  nilIfEmpty(r.PathParams),
			StageVariables:                  nilIfEmpty(s.StageVariables),
		},
		RequestContext: requestContextV1{
			APIGatewayProxyRequestContext: events.APIGatewayProxyRequestContext{
				AccountID:         s.AccountID,
				Stage:             s.Stage,
				DomainName:        domain,
				DomainPrefix:      apigwevent.DomainPrefix(domain),
				RequestID:         r.RequestID,
				ExtendedRequestID: r.RequestID,
				Protocol:          hr.Proto,
				ResourcePath:      resource,
				Path:              hr.URL.Path,
				HTTPMethod:        hr.Method,
				RequestTime:       apigwevent.FormatTime(t),
				RequestTimeEpoch:  t.UnixMilli(),
				APIID:             s.APIID,
			},
			Authorizer: authorizerV1(&r.Authorizer),
			Identity: identityV1{
				SourceIP:  apigwevent.SourceIP(r.SourceIP, hr),
				UserAgent: hr.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		b, b64 := encodeBody(hr.Header.Get("Content-Type"), body)
		e.Body = &b
		e.IsBase64Encoded = b64
	}
	return e
}

func authorizerV1(a *Authorizer) any {
	switch {
	case a.JWT:
		return jwtAuthorizerV1{Claims: claimsOf(a), Scopes: a.JWTScopes}
	case a.Lambda:
		// Payload 1.0 puts the context keys at the top of authorizer, next
		// to principalId, with the values stringified as AWS does for REST
		// APIs ("numberKey": "1"). Without ContextStrings the values are
		// passed as returned.
		m := make(map[string]any, len(a.ContextStrings)+len(a.LambdaContext)+1)
		if a.ContextStrings != nil {
			for k, v := range a.ContextStrings {
				m[k] = v
			}
		} else {
			for k, v := range a.LambdaContext {
				m[k] = v
			}
		}
		if a.PrincipalID != "" {
			m["principalId"] = a.PrincipalID
		}
		return m
	}
	return jwtAuthorizerV1{}
}

// ---- payload format 2.0 ----

// proxyEventV2 is HTTP API's payload 2.0 event: aws-lambda-go's type with
// requestContext shadowed (see requestContextV2). The Go type's omitempty
// tags already match AWS: cookies, queryStringParameters, pathParameters,
// stageVariables and body are absent when empty; isBase64Encoded is always
// present.
type proxyEventV2 struct {
	events.APIGatewayV2HTTPRequest
	RequestContext requestContextV2 `json:"requestContext"`
}

// requestContextV2 is apigwevent's (which omits authentication, as AWS
// does) with authorizer shadowed, because the Go type drops a nil
// jwt.scopes (AWS sends null on unscoped routes) and an empty lambda context.
type requestContextV2 struct {
	apigwevent.ContextV2
	Authorizer *authorizerV2 `json:"authorizer,omitempty"`
}

type authorizerV2 struct {
	JWT *jwtAuthorizerV1 `json:"jwt,omitempty"`
	// Lambda holds a map[string]any; an interface so that an empty
	// context is still sent ({} is not omitted, only a nil interface is).
	Lambda any `json:"lambda,omitempty"`
}

func eventV2(s *Settings, r *Request, body []byte) *proxyEventV2 {
	hr := r.HTTP
	routeKey := apigwevent.RouteKey(r.RouteKey)
	headers, cookies := apigwevent.HeadersV2(hr)

	e := &proxyEventV2{
		APIGatewayV2HTTPRequest: events.APIGatewayV2HTTPRequest{
			Version:               "2.0",
			RouteKey:              routeKey,
			RawPath:               hr.URL.EscapedPath(),
			RawQueryString:        hr.URL.RawQuery,
			Cookies:               cookies,
			Headers:               headers,
			QueryStringParameters: apigwevent.QueryV2(hr.URL.RawQuery), // absent without a query
			PathParameters:        nilIfEmpty(r.PathParams),
			StageVariables:        nilIfEmpty(s.StageVariables),
		},
		RequestContext: requestContextV2{
			ContextV2: apigwevent.NewContextV2(hr, s.Parts, routeKey, r.RequestID,
				apigwevent.SourceIP(r.SourceIP, hr), requestTime(r)),
			Authorizer: authorizerV2Of(&r.Authorizer),
		},
	}
	if len(body) > 0 {
		e.Body, e.IsBase64Encoded = encodeBody(hr.Header.Get("Content-Type"), body)
	}
	return e
}

func authorizerV2Of(a *Authorizer) *authorizerV2 {
	switch {
	case a.JWT:
		return &authorizerV2{JWT: &jwtAuthorizerV1{Claims: claimsOf(a), Scopes: a.JWTScopes}}
	case a.Lambda:
		// The context as returned (HTTP APIs keep JSON types in 2.0); an
		// authorizer without context gives {"lambda": {}} (ours).
		ctx := a.LambdaContext
		if ctx == nil {
			ctx = map[string]any{}
		}
		return &authorizerV2{Lambda: ctx}
	}
	return nil
}

// ---- shared helpers ----

// encodeBody returns the body as the event carries it: as is for text, else
// base64 with isBase64Encoded. Text means a textual content type (see
// isTextContentType) or no content type at all, and in every case a body
// that is valid UTF-8: JSON cannot carry other bytes unchanged.
func encodeBody(contentType string, body []byte) (string, bool) {
	if utf8.Valid(body) && (contentType == "" || isTextContentType(contentType)) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// isTextContentType: text/*, application/json, application/*+json,
// application/xml, application/*+xml, application/javascript,
// application/x-www-form-urlencoded. Parameters (charset) are ignored;
// an unparsable content type is binary.
func isTextContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	sub, ok := strings.CutPrefix(mt, "application/")
	if !ok {
		return false
	}
	switch sub {
	case "json", "xml", "javascript", "x-www-form-urlencoded":
		return true
	}
	return strings.HasSuffix(sub, "+json") || strings.HasSuffix(sub, "+xml")
}

func requestTime(r *Request) time.Time {
	if r.Time.IsZero() {
		return time.Now()
	}
	return r.Time
}

// nilIfEmpty turns an empty map into nil (JSON null in 1.0, absent in 2.0).
// Maps are marshalled at once and never modified, so they are not copied.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func nonNilClaims(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
