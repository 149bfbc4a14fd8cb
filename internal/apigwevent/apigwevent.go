// Package apigwevent holds what the AWS API Gateway events built by
// internal/lambdaauth (Lambda authorizer events) and internal/lambdaproxy
// (Lambda proxy integration events) share: the request time format, the
// route key and resource, the source IP, domainName and domainPrefix, the
// payload 1.0 and 2.0 header and query-string maps, the 2.0 requestContext,
// and the Region/AccountID/APIID/Stage defaults with their validation.
//
// What differs between the two events (empty maps as {} or null, the 1.0
// requestContext, the authorizer fields) stays with the callers. Every
// function here reads its arguments and never modifies them; the maps it
// returns may share value slices with the request, so they are meant to be
// marshalled and dropped, not kept or modified.
package apigwevent

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TimeLayout is requestContext.requestTime (1.0) and requestContext.time
// (2.0): "24/Nov/2026:23:15:31 +0000".
const TimeLayout = "02/Jan/2006:15:04:05 -0700"

// FormatTime formats t in UTC with TimeLayout, as AWS does. The matching
// epoch field is t.UnixMilli().
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// Local defaults for the parts naming the API, used when configuration
// leaves them empty. 000000000000 is the account id LocalStack and the AWS
// SAM CLI use.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
	DefaultAPIID     = "portcullis"
	DefaultStage     = "$default"
)

// Parts names the API an event comes from: requestContext's accountId,
// apiId and stage, and the execute-api ARN's region.
type Parts struct {
	Region, AccountID, APIID, Stage string
}

// WithDefaults returns p with every empty part set to its default.
func (p Parts) WithDefaults() Parts {
	if p.Region == "" {
		p.Region = DefaultRegion
	}
	if p.AccountID == "" {
		p.AccountID = DefaultAccountID
	}
	if p.APIID == "" {
		p.APIID = DefaultAPIID
	}
	if p.Stage == "" {
		p.Stage = DefaultStage
	}
	return p
}

// Errors returns one error per part containing ':', '/' or whitespace, in
// the order region, account id, API id, stage; nil when all are valid.
// Functions commonly split ARNs on ':' and '/', so such a character inside
// a part would hand them a different API than the one configured.
func (p Parts) Errors() []error {
	var errs []error
	for _, part := range [...]struct{ name, v string }{
		{"region", p.Region}, {"account id", p.AccountID}, {"API id", p.APIID}, {"stage", p.Stage},
	} {
		if strings.ContainsAny(part.v, ":/ \t\r\n") {
			errs = append(errs, fmt.Errorf("%s %q: must not contain ':', '/' or whitespace", part.name, part.v))
		}
	}
	return errs
}

// RouteKey returns routeKey, or "$default" when it is empty.
func RouteKey(routeKey string) string {
	if routeKey == "" {
		return "$default"
	}
	return routeKey
}

// Resource returns resource (the route's path template) when set, else the
// path of the route key ("/pets/{id}" for "GET /pets/{id}"), or the route
// key itself when it has no path ("$default").
func Resource(resource, routeKey string) string {
	if resource != "" {
		return resource
	}
	rk := RouteKey(routeKey)
	if _, path, ok := strings.Cut(rk, " "); ok {
		return path
	}
	return rk
}

// SourceIP returns sourceIP when set, else the host part of r.RemoteAddr
// (all of it when it has no port).
func SourceIP(sourceIP string, r *http.Request) string {
	if sourceIP != "" {
		return sourceIP
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// DomainName is the host the client addressed, without a port, as AWS's
// domainName never carries one.
func DomainName(r *http.Request) string {
	h := r.Host
	if h == "" {
		h = r.URL.Host
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// DomainPrefix is the first label of domain, or all of it for an IP
// address.
func DomainPrefix(domain string) string {
	if net.ParseIP(domain) != nil {
		return domain
	}
	prefix, _, _ := strings.Cut(domain, ".")
	return prefix
}

// HeadersV1 returns payload 1.0's headers (the last value of a repeated
// name) and multiValueHeaders (all values in order). Names are lower case,
// as HTTP APIs send them in both payload versions (a function looking up
// "x-api-key" finds it); host is added from r.Host. The multi-value map
// shares its slices with r.Header.
func HeadersV1(r *http.Request) (map[string]string, map[string][]string) {
	headers := make(map[string]string, len(r.Header)+1)
	multi := make(map[string][]string, len(r.Header)+1)
	for k, vs := range r.Header {
		if len(vs) == 0 {
			continue
		}
		lk := lowerName(k)
		// Two names differing only in case (not from net/http's server,
		// which canonicalises them) end up under one key, values merged.
		if prev, ok := multi[lk]; ok {
			vs = append(append(make([]string, 0, len(prev)+len(vs)), prev...), vs...)
		}
		headers[lk] = vs[len(vs)-1]
		multi[lk] = vs
	}
	if r.Host != "" {
		headers["host"] = r.Host
		multi["host"] = []string{r.Host}
	}
	return headers, multi
}

// QueryV1 returns payload 1.0's queryStringParameters (the last value of a
// repeated name) and multiValueQueryStringParameters (all values in
// order), URL-decoded. Both are nil when rawQuery holds no parameter.
func QueryV1(rawQuery string) (map[string]string, map[string][]string) {
	query := parseQuery(rawQuery)
	if len(query) == 0 {
		return nil, nil
	}
	single := make(map[string]string, len(query))
	multi := make(map[string][]string, len(query))
	for k, vs := range query {
		if len(vs) == 0 {
			continue
		}
		single[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	return single, multi
}

// HeadersV2 returns payload 2.0's headers (lower-case names, the values of
// a repeated name joined with ",", host added from r.Host) and cookies:
// every Cookie header split on ";", which AWS moves out of headers.
func HeadersV2(r *http.Request) (headers map[string]string, cookies []string) {
	headers = make(map[string]string, len(r.Header)+1)
	for k, vs := range r.Header {
		if len(vs) == 0 {
			continue
		}
		lk := lowerName(k)
		if lk == "cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		v := vs[0]
		if len(vs) > 1 {
			v = strings.Join(vs, ",")
		}
		// Two names differing only in case (not from net/http's server,
		// which canonicalises them) end up under one key.
		if prev, ok := headers[lk]; ok {
			headers[lk] = prev + "," + v
		} else {
			headers[lk] = v
		}
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	return headers, cookies
}

// QueryV2 returns payload 2.0's queryStringParameters: URL-decoded, the
// values of a repeated name joined with ",". It is nil when rawQuery holds
// no parameter.
func QueryV2(rawQuery string) map[string]string {
	query := parseQuery(rawQuery)
	if len(query) == 0 {
		return nil
	}
	qs := make(map[string]string, len(query))
	for k, vs := range query {
		qs[k] = strings.Join(vs, ",")
	}
	return qs
}

// parseQuery is url.URL.Query without its allocation for an empty query:
// malformed pairs are dropped, as there.
func parseQuery(rawQuery string) url.Values {
	if rawQuery == "" {
		return nil
	}
	query, _ := url.ParseQuery(rawQuery)
	return query
}

// ContextV2 is a payload 2.0 event's requestContext: aws-lambda-go's type
// with authentication shadowed so that, without mutual TLS, it is omitted,
// rather than sent as an object of empty strings.
type ContextV2 struct {
	events.APIGatewayV2HTTPRequestContext
	Authentication *Authentication `json:"authentication,omitempty"`
}

// Authentication is a 2.0 requestContext.authentication: the mutual TLS
// client certificate.
type Authentication struct {
	ClientCert *ClientCert `json:"clientCert"`
}

// NewContextV2 returns the requestContext of a 2.0 event for r: routeKey
// and sourceIP as RouteKey and SourceIP return them, t the request time,
// authentication.clientCert when r came with a verified client certificate.
func NewContextV2(r *http.Request, p Parts, routeKey, requestID, sourceIP string, t time.Time) ContextV2 {
	domain := DomainName(r)
	var auth *Authentication
	if cc := ClientCertOf(r.TLS); cc != nil {
		auth = &Authentication{ClientCert: cc}
	}
	return ContextV2{Authentication: auth, APIGatewayV2HTTPRequestContext: events.APIGatewayV2HTTPRequestContext{
		RouteKey:     routeKey,
		AccountID:    p.AccountID,
		Stage:        p.Stage,
		RequestID:    requestID,
		APIID:        p.APIID,
		DomainName:   domain,
		DomainPrefix: DomainPrefix(domain),
		Time:         FormatTime(t),
		TimeEpoch:    t.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method:    r.Method,
			Path:      r.URL.Path,
			Protocol:  r.Proto,
			SourceIP:  sourceIP,
			UserAgent: r.UserAgent(),
		},
	}}
}

// lowerName returns a header name in lower case. The names most requests
// carry, in the canonical form net/http's server gives them, come from a
// table, so that lower-casing them allocates nothing; any other name is
// lowered by lowerASCII.
func lowerName(s string) string {
	switch s {
	case "Accept":
		return "accept"
	case "Accept-Encoding":
		return "accept-encoding"
	case "Accept-Language":
		return "accept-language"
	case "Authorization":
		return "authorization"
	case "Cache-Control":
		return "cache-control"
	case "Connection":
		return "connection"
	case "Content-Length":
		return "content-length"
	case "Content-Type":
		return "content-type"
	case "Cookie":
		return "cookie"
	case "Host":
		return "host"
	case "If-Modified-Since":
		return "if-modified-since"
	case "If-None-Match":
		return "if-none-match"
	case "Origin":
		return "origin"
	case "Pragma":
		return "pragma"
	case "Referer":
		return "referer"
	case "User-Agent":
		return "user-agent"
	case "X-Amzn-Trace-Id":
		return "x-amzn-trace-id"
	case "X-Api-Key":
		return "x-api-key"
	case "X-Forwarded-For":
		return "x-forwarded-for"
	case "X-Forwarded-Proto":
		return "x-forwarded-proto"
	case "X-Request-Id":
		return "x-request-id"
	}
	return lowerASCII(s)
}

// lowerASCII lower-cases a header name without allocating when it is
// already lower case (HTTP/2 requests).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
