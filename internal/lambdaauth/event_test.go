package lambdaauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// realRequest is a request as the gateway's server would see it: repeated
// headers and query parameters, cookies, a path with real values.
func realRequest() *Request {
	r := httptest.NewRequest(http.MethodGet, "http://api.example.com:8443/pets/42?q=1&q=2&name=a%20b", nil)
	r.RemoteAddr = "203.0.113.9:51234"
	r.Header.Set("Authorization", "Bearer abc")
	r.Header.Set("User-Agent", "curl/8.0")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("Cookie", "c=3")
	return &Request{
		HTTP:       r,
		RouteKey:   "GET /pets/{id}",
		Resource:   "/pets/{id}",
		PathParams: map[string]string{"id": "42"},
		RequestID:  "req-42",
		Time:       time.Date(2026, 11, 24, 23, 15, 31, 250e6, time.UTC),
	}
}

const wantARN = testARNPrefix + "GET/pets/42"

func TestTokenEvent(t *testing.T) {
	cases := []struct {
		name, target, stage, want string
	}{
		{"path", "/pets/42", "prod", `{"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"` + wantARN + `"}`},
		{"root", "/", "prod", `{"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"` + testARNPrefix + `GET/"}`},
		{"$default stage", "/a/b", "", `{"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/GET/a/b"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got events.APIGatewayCustomAuthorizerRequest
			inv := newInvoker(func(_ context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				got = e
				return policy("u", "Allow", e.MethodArn), nil
			})
			a := mustNew(t, with(baseSettings(), func(s *Settings) { s.Stage = c.stage }), inv, Options{})
			if d := a.Authorize(context.Background(), get(c.target, "Authorization", "Bearer abc")); !d.Allow {
				t.Fatalf("denied: %+v", d)
			}
			if string(inv.lastEvent()) != c.want {
				t.Errorf("event\n got %s\nwant %s", inv.lastEvent(), c.want)
			}
			if got.AuthorizationToken != "Bearer abc" {
				t.Errorf("handler saw token %q", got.AuthorizationToken)
			}
		})
	}
}

func TestRequestEventV1(t *testing.T) {
	// A REST REQUEST authorizer reads the 1.0 event through its own type.
	var rest events.APIGatewayCustomAuthorizerRequestTypeRequest
	var v1 events.APIGatewayV2CustomAuthorizerV1Request
	var mu sync.Mutex
	inv := newInvoker(func(_ context.Context, e events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		mu.Lock()
		rest = e
		mu.Unlock()
		return policy("u", "Allow", e.MethodArn), nil
	})
	s := with(baseSettings(), func(s *Settings) {
		s.EventType = "REQUEST"
		s.IdentitySources = []string{"method.request.header.Authorization", "method.request.querystring.name", "stageVariables.env", "context.requestId"}
		s.StageVariables = map[string]string{"env": "dev"}
	})
	a := mustNew(t, s, inv, Options{})
	if d := a.Authorize(context.Background(), realRequest()); !d.Allow {
		t.Fatalf("denied: %+v", d)
	}
	raw := inv.lastEvent()
	m := decodeMap(t, raw)
	if strings.Count(string(raw), `"requestContext"`) != 1 {
		t.Errorf("requestContext appears more than once: %s", raw)
	}
	// The typed HTTP API 1.0 view of the same bytes.
	if err := json.Unmarshal(raw, &v1); err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		field string
		got   any
		want  any
	}{
		{"version", m["version"], "1.0"},
		{"type", rest.Type, "REQUEST"},
		{"methodArn", rest.MethodArn, wantARN},
		{"resource", rest.Resource, "/pets/{id}"},
		{"path", rest.Path, "/pets/42"},
		{"httpMethod", rest.HTTPMethod, "GET"},
		{"identitySource", v1.IdentitySource, "Bearer abc,a b,dev,req-42"},
		{"authorizationToken", v1.AuthorizationToken, "Bearer abc,a b,dev,req-42"},
		// Header names are lower case, as HTTP APIs send them in 1.0 too.
		{"headers", rest.Headers, map[string]string{
			"authorization": "Bearer abc", "user-agent": "curl/8.0", "x-multi": "two", "cookie": "c=3", "host": "api.example.com:8443",
		}},
		{"multiValueHeaders", rest.MultiValueHeaders, map[string][]string{
			"authorization": {"Bearer abc"}, "user-agent": {"curl/8.0"}, "x-multi": {"one", "two"}, "cookie": {"a=1; b=2", "c=3"},
			"host": {"api.example.com:8443"},
		}},
		{"queryStringParameters last", rest.QueryStringParameters["q"], "2"},
		{"queryStringParameters decoded", rest.QueryStringParameters["name"], "a b"},
		{"multiValueQueryStringParameters", rest.MultiValueQueryStringParameters["q"], []string{"1", "2"}},
		{"pathParameters", rest.PathParameters, map[string]string{"id": "42"}},
		{"stageVariables", rest.StageVariables, map[string]string{"env": "dev"}},
		{"rc.accountId", rest.RequestContext.AccountID, "123456789012"},
		{"rc.apiId", rest.RequestContext.APIID, "abc123"},
		{"rc.stage", rest.RequestContext.Stage, "prod"},
		{"rc.requestId", rest.RequestContext.RequestID, "req-42"},
		{"rc.resourcePath", rest.RequestContext.ResourcePath, "/pets/{id}"},
		{"rc.httpMethod", rest.RequestContext.HTTPMethod, "GET"},
		{"rc.path", rest.RequestContext.Path, "/pets/42"},
		{"rc.identity.sourceIp", rest.RequestContext.Identity.SourceIP, "203.0.113.9"},
		{"rc.identity.userAgent", path(m, "requestContext", "identity", "userAgent"), "curl/8.0"},
		{"rc.requestTime", path(m, "requestContext", "requestTime"), "24/Nov/2026:23:15:31 +0000"},
		{"rc.requestTimeEpoch", path(m, "requestContext", "requestTimeEpoch"), float64(1795562131250)},
		{"rc.domainName", path(m, "requestContext", "domainName"), "api.example.com"},
		{"rc.domainPrefix", path(m, "requestContext", "domainPrefix"), "api"},
		{"rc.protocol", path(m, "requestContext", "protocol"), "HTTP/1.1"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.field, c.got, c.want)
		}
	}
}

func TestRequestEventV2(t *testing.T) {
	var got events.APIGatewayV2CustomAuthorizerV2Request
	inv := newInvoker(func(_ context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		got = e
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	})
	s := with(baseSettings(), func(s *Settings) {
		s.PayloadFormatVersion, s.EventType, s.EnableSimpleResponses, s.Stage = "2.0", "", true, ""
		s.IdentitySources = []string{"$request.header.Authorization", "$request.querystring.name"}
		s.StageVariables = map[string]string{"env": "dev"}
	})
	a := mustNew(t, s, inv, Options{})
	if d := a.Authorize(context.Background(), realRequest()); !d.Allow {
		t.Fatalf("denied: %+v", d)
	}
	raw := inv.lastEvent()
	m := decodeMap(t, raw)
	if _, ok := m["requestContext"].(map[string]any)["authentication"]; ok {
		t.Errorf("authentication present without mTLS: %s", raw)
	}
	checks := []struct {
		field string
		got   any
		want  any
	}{
		{"version", got.Version, "2.0"},
		{"type", got.Type, "REQUEST"},
		{"routeArn", got.RouteArn, "arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/GET/pets/42"},
		{"identitySource", got.IdentitySource, []string{"Bearer abc", "a b"}},
		{"routeKey", got.RouteKey, "GET /pets/{id}"},
		{"rawPath", got.RawPath, "/pets/42"},
		{"rawQueryString", got.RawQueryString, "q=1&q=2&name=a%20b"},
		{"cookies", got.Cookies, []string{"a=1", "b=2", "c=3"}},
		{"headers", got.Headers, map[string]string{
			"authorization": "Bearer abc", "user-agent": "curl/8.0", "x-multi": "one,two", "host": "api.example.com:8443",
		}},
		{"queryStringParameters", got.QueryStringParameters, map[string]string{"q": "1,2", "name": "a b"}},
		{"pathParameters", got.PathParameters, map[string]string{"id": "42"}},
		{"stageVariables", got.StageVariables, map[string]string{"env": "dev"}},
		{"rc.accountId", got.RequestContext.AccountID, "123456789012"},
		{"rc.apiId", got.RequestContext.APIID, "abc123"},
		{"rc.domainName", got.RequestContext.DomainName, "api.example.com"},
		{"rc.domainPrefix", got.RequestContext.DomainPrefix, "api"},
		{"rc.http", got.RequestContext.HTTP, events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: "GET", Path: "/pets/42", Protocol: "HTTP/1.1", SourceIP: "203.0.113.9", UserAgent: "curl/8.0"}},
		{"rc.requestId", got.RequestContext.RequestID, "req-42"},
		{"rc.routeKey", got.RequestContext.RouteKey, "GET /pets/{id}"},
		{"rc.stage", got.RequestContext.Stage, "$default"},
		{"rc.time", got.RequestContext.Time, "24/Nov/2026:23:15:31 +0000"},
		{"rc.timeEpoch", got.RequestContext.TimeEpoch, int64(1795562131250)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.field, c.got, c.want)
		}
	}
}

// TestEventDefaults covers what the gateway may leave out of Request.
func TestEventDefaults(t *testing.T) {
	clock := newFakeClock()
	inv := newInvoker(func(_ context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
	})
	s := with(baseSettings(), func(s *Settings) {
		s.PayloadFormatVersion, s.EventType, s.EnableSimpleResponses = "2.0", "", true
		s.IdentitySources = nil
		s.Region, s.AccountID, s.APIID, s.Stage = "", "", "", ""
	})
	a := mustNew(t, s, inv, Options{Now: clock.Now})
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if d := a.Authorize(context.Background(), &Request{HTTP: r}); !d.Allow {
		t.Fatalf("denied: %+v", d)
	}
	m := decodeMap(t, inv.lastEvent())
	for field, want := range map[string]any{
		"routeArn":         "arn:aws:execute-api:us-east-1:000000000000:portcullis/$default/POST/",
		"routeKey":         "$default",
		"rc.time":          "24/Nov/2026:23:15:31 +0000",
		"rc.http.sourceIp": "192.0.2.1", // httptest's RemoteAddr
	} {
		var got any
		switch field {
		case "rc.time":
			got = path(m, "requestContext", "time")
		case "rc.http.sourceIp":
			got = path(m, "requestContext", "http", "sourceIp")
		default:
			got = m[field]
		}
		if got != want {
			t.Errorf("%s = %v, want %v", field, got, want)
		}
	}
}

func TestIdentitySources(t *testing.T) {
	cases := []struct {
		name    string
		sources []string
		stage   map[string]string
		req     *Request
		ok      bool
	}{
		{"header any case", []string{"$request.header.x-api-key"}, nil, get("/", "X-Api-Key", "k"), true},
		{"header missing", []string{"$request.header.x-api-key"}, nil, get("/"), false},
		{"header repeated is ambiguous", []string{"$request.header.x-api-key"}, nil, get("/", "X-Api-Key", "a", "X-Api-Key", "b"), false},
		{"query", []string{"method.request.querystring.t"}, nil, get("/?t=1"), true},
		{"query case-sensitive", []string{"method.request.querystring.t"}, nil, get("/?T=1"), false},
		{"query empty", []string{"method.request.querystring.t"}, nil, get("/?t="), false},
		{"cookie", []string{"$request.cookie.sid"}, nil, get("/", "Cookie", "sid=s1"), true},
		{"stage variable", []string{"$stageVariables.k"}, map[string]string{"k": "v"}, get("/"), true},
		{"empty stage variable", []string{"stageVariables.k"}, map[string]string{"k": ""}, get("/"), false},
		{"context", []string{"$context.requestId"}, nil, get("/"), true},
		{"context empty", []string{"context.requestId"}, nil, &Request{HTTP: httptest.NewRequest("GET", "/", nil)}, false},
		{"one of two missing", []string{"$request.header.A", "$request.header.B"}, nil, get("/", "A", "1"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := newInvoker(func(_ context.Context, e events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				return policy("u", "Allow", "*"), nil
			})
			s := with(baseSettings(), func(s *Settings) {
				s.EventType, s.IdentitySources, s.StageVariables = "REQUEST", c.sources, c.stage
			})
			a := mustNew(t, s, inv, Options{})
			d := a.Authorize(context.Background(), c.req)
			if d.Allow != c.ok {
				t.Fatalf("allow %v, want %v (%+v)", d.Allow, c.ok, d)
			}
			if !c.ok && (d.Status != 401 || d.Body != bodyUnauthorized || inv.calls.Load() != 0) {
				t.Errorf("got %d %s after %d invocations, want 401 without invoking", d.Status, d.Body, inv.calls.Load())
			}
		})
	}
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
