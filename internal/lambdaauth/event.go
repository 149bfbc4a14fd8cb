package lambdaauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/identity"
)

// sourceKind says where an identity source reads from. Request parts
// (header, query string, cookie) are delegated to internal/identity so that
// every authorizer in the gateway reads them the same way.
type sourceKind uint8

const (
	srcRequest sourceKind = iota + 1
	srcStage
	srcContext
)

type source struct {
	kind sourceKind
	req  identity.Source                        // srcRequest
	name string                                 // srcStage, srcContext
	read func(a *Authorizer, r *Request) string // srcContext
	expr string
}

func (s source) isHeader() bool { return s.kind == srcRequest && s.req.Kind == identity.Header }

// contextVariable returns the reader of a $context variable an identity
// source may use. The list is closed so that a typo fails at configuration
// time rather than turning every request into a 401.
func contextVariable(name string) (func(a *Authorizer, r *Request) string, bool) {
	switch name {
	case "accountId":
		return func(a *Authorizer, _ *Request) string { return a.parts.AccountID }, true
	case "apiId":
		return func(a *Authorizer, _ *Request) string { return a.parts.APIID }, true
	case "stage":
		return func(a *Authorizer, _ *Request) string { return a.parts.Stage }, true
	case "requestId":
		return func(_ *Authorizer, r *Request) string { return r.RequestID }, true
	case "httpMethod", "http.method":
		return func(_ *Authorizer, r *Request) string { return r.HTTP.Method }, true
	case "path", "http.path":
		return func(_ *Authorizer, r *Request) string { return r.HTTP.URL.Path }, true
	case "resourcePath":
		return func(_ *Authorizer, r *Request) string { return apigwevent.Resource(r.Resource, r.RouteKey) }, true
	case "routeKey":
		return func(_ *Authorizer, r *Request) string { return apigwevent.RouteKey(r.RouteKey) }, true
	case "protocol", "http.protocol":
		return func(_ *Authorizer, r *Request) string { return r.HTTP.Proto }, true
	case "domainName":
		return func(_ *Authorizer, r *Request) string { return apigwevent.DomainName(r.HTTP) }, true
	case "domainPrefix":
		return func(_ *Authorizer, r *Request) string { return apigwevent.DomainPrefix(apigwevent.DomainName(r.HTTP)) }, true
	case "identity.sourceIp", "http.sourceIp":
		return func(_ *Authorizer, r *Request) string { return apigwevent.SourceIP(r.SourceIP, r.HTTP) }, true
	case "identity.userAgent", "http.userAgent":
		return func(_ *Authorizer, r *Request) string { return r.HTTP.UserAgent() }, true
	case "identity.clientCert.subjectDN", "identity.clientCert.issuerDN", "identity.clientCert.serialNumber",
		"identity.clientCert.clientCertPem", "identity.clientCert.validity.notBefore", "identity.clientCert.validity.notAfter":
		// Mutual TLS: the verified client certificate; empty (401 without
		// invoking) without one. As an identity source it also keys the
		// result cache, so a cached decision is reused only with the same
		// certificate.
		field := strings.TrimPrefix(name, "identity.clientCert.")
		return func(_ *Authorizer, r *Request) string {
			return clientCertField(apigwevent.ClientCertOf(r.HTTP.TLS), field)
		}, true
	}
	return nil, false
}

func clientCertField(c *apigwevent.ClientCert, field string) string {
	if c == nil {
		return ""
	}
	switch field {
	case "subjectDN":
		return c.SubjectDN
	case "issuerDN":
		return c.IssuerDN
	case "serialNumber":
		return c.SerialNumber
	case "clientCertPem":
		return c.ClientCertPem
	case "validity.notBefore":
		return c.Validity.NotBefore
	case "validity.notAfter":
		return c.Validity.NotAfter
	}
	return ""
}

func parseSource(expr string) (source, error) {
	for _, p := range []string{"$stageVariables.", "stageVariables."} {
		if name, ok := strings.CutPrefix(expr, p); ok {
			if name == "" {
				return source{}, fmt.Errorf("identity source %q: missing stage variable name", expr)
			}
			return source{kind: srcStage, name: name, expr: expr}, nil
		}
	}
	for _, p := range []string{"$context.", "context."} {
		if name, ok := strings.CutPrefix(expr, p); ok {
			read, known := contextVariable(name)
			if !known {
				return source{}, fmt.Errorf("identity source %q: unknown context variable %q", expr, name)
			}
			return source{kind: srcContext, name: name, read: read, expr: expr}, nil
		}
	}
	s, err := identity.Parse(expr)
	if err != nil {
		return source{}, fmt.Errorf("identity source: %w", err)
	}
	return source{kind: srcRequest, req: s, expr: expr}, nil
}

// identityValues returns every configured source's value, or false when any
// is missing or empty (AWS: 401 without invoking).
func (a *Authorizer) identityValues(r *Request) ([]string, bool) {
	if len(a.sources) == 0 {
		return nil, true
	}
	values := make([]string, len(a.sources))
	for i, s := range a.sources {
		v := a.sourceValue(s, r)
		if v == "" {
			return nil, false
		}
		values[i] = v
	}
	return values, true
}

// sourceValue is what one identity source finds in r; "" when missing.
func (a *Authorizer) sourceValue(s source, r *Request) string {
	var v string
	switch s.kind {
	case srcRequest:
		v, _ = s.req.Value(r.HTTP)
	case srcStage:
		v = a.stageVars[s.name]
	case srcContext:
		v = s.read(a, r)
	}
	return v
}

// methodARN is the ARN AWS sends as methodArn (REST, 1.0) and routeArn (2.0):
// the real method and the real, decoded path without its leading slash.
func (a *Authorizer) methodARN(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/")
	return a.arnPrefix + r.Method + "/" + p
}

func (a *Authorizer) requestTime(r *Request) time.Time {
	if r.Time.IsZero() {
		return a.now()
	}
	return r.Time
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// requestEventV1 is HTTP API's payload 1.0 REQUEST event. The aws-lambda-go
// type lacks the multi-value maps and part of requestContext that REST's
// REQUEST event has, so they are added here; the outer fields shadow the
// embedded ones of the same JSON name.
type requestEventV1 struct {
	events.APIGatewayV2CustomAuthorizerV1Request
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	RequestContext                  requestContextV1    `json:"requestContext"`
}

type requestContextV1 struct {
	events.APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext
	Identity         identityV1 `json:"identity"`
	Protocol         string     `json:"protocol"`
	DomainName       string     `json:"domainName"`
	DomainPrefix     string     `json:"domainPrefix"`
	RequestTime      string     `json:"requestTime"`
	RequestTimeEpoch int64      `json:"requestTimeEpoch"`
}

// identityV1 is requestContext.identity with clientCert always present: the
// mutual TLS client certificate, or null without one (ours; AWS's examples
// always show it).
type identityV1 struct {
	events.APIGatewayRequestIdentity
	ClientCert *apigwevent.ClientCert `json:"clientCert"`
}

// requestEventV2 is HTTP API's payload 2.0 REQUEST event; requestContext is
// apigwevent's, which has "authentication" only with a mutual TLS client
// certificate, instead of an object of empty strings.
type requestEventV2 struct {
	events.APIGatewayV2CustomAuthorizerV2Request
	RequestContext apigwevent.ContextV2 `json:"requestContext"`
}

// buildEvent returns the JSON event for r.
func (a *Authorizer) buildEvent(r *Request, values []string, arn string) ([]byte, error) {
	switch {
	case a.token:
		return json.Marshal(events.APIGatewayCustomAuthorizerRequest{
			Type:               eventToken,
			AuthorizationToken: values[0],
			MethodArn:          arn,
		})
	case a.v2:
		return json.Marshal(a.eventV2(r, values, arn))
	default:
		return json.Marshal(a.eventV1(r, values, arn))
	}
}

func (a *Authorizer) eventV1(r *Request, values []string, arn string) *requestEventV1 {
	hr := r.HTTP
	t := a.requestTime(r)
	domain := apigwevent.DomainName(hr)
	resource := apigwevent.Resource(r.Resource, r.RouteKey)
	joined := strings.Join(values, ",")

	headers, mvHeaders := apigwevent.HeadersV1(hr)
	qs, mvQS := apigwevent.QueryV1(hr.URL.RawQuery)
	if qs == nil {
		// Empty maps are {} in authorizer events, never null (ours).
		qs, mvQS = map[string]string{}, map[string][]string{}
	}

	e := &requestEventV1{
		APIGatewayV2CustomAuthorizerV1Request: events.APIGatewayV2CustomAuthorizerV1Request{
			Version:               "1.0",
			Type:                  eventRequest,
			MethodArn:             arn,
			IdentitySource:        joined,
			AuthorizationToken:    joined,
			Resource:              resource,
			Path:                  hr.URL.Path,
			HTTPMethod:            hr.Method,
			Headers:               headers,
			QueryStringParameters: qs,
			PathParameters:        copyMap(r.PathParams),
			StageVariables:        copyMap(a.stageVars),
		},
		MultiValueHeaders:               mvHeaders,
		MultiValueQueryStringParameters: mvQS,
		RequestContext: requestContextV1{
			APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext: events.APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext{
				Path:         hr.URL.Path,
				AccountID:    a.parts.AccountID,
				Stage:        a.parts.Stage,
				RequestID:    r.RequestID,
				ResourcePath: resource,
				HTTPMethod:   hr.Method,
				APIID:        a.parts.APIID,
			},
			Identity: identityV1{
				APIGatewayRequestIdentity: events.APIGatewayRequestIdentity{
					SourceIP:  apigwevent.SourceIP(r.SourceIP, hr),
					UserAgent: hr.UserAgent(),
				},
				ClientCert: apigwevent.ClientCertOf(hr.TLS),
			},
			Protocol:         hr.Proto,
			DomainName:       domain,
			DomainPrefix:     apigwevent.DomainPrefix(domain),
			RequestTime:      apigwevent.FormatTime(t),
			RequestTimeEpoch: t.UnixMilli(),
		},
	}
	return e
}

func (a *Authorizer) eventV2(r *Request, values []string, arn string) *requestEventV2 {
	hr := r.HTTP
	routeKey := apigwevent.RouteKey(r.RouteKey)
	headers, cookies := apigwevent.HeadersV2(hr)
	qs := apigwevent.QueryV2(hr.URL.RawQuery)
	if qs == nil {
		qs = map[string]string{} // {}, never null (ours)
	}
	identitySource := append(make([]string, 0, len(values)), values...)

	return &requestEventV2{
		APIGatewayV2CustomAuthorizerV2Request: events.APIGatewayV2CustomAuthorizerV2Request{
			Version:               "2.0",
			Type:                  eventRequest,
			RouteArn:              arn,
			IdentitySource:        identitySource,
			RouteKey:              routeKey,
			RawPath:               hr.URL.EscapedPath(),
			RawQueryString:        hr.URL.RawQuery,
			Cookies:               cookies,
			Headers:               headers,
			QueryStringParameters: qs,
			PathParameters:        copyMap(r.PathParams),
			StageVariables:        copyMap(a.stageVars),
		},
		RequestContext: apigwevent.NewContextV2(hr, a.parts, routeKey, r.RequestID,
			apigwevent.SourceIP(r.SourceIP, hr), a.requestTime(r)),
	}
}
