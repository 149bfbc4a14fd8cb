package lambdaproxy

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const identityNulls = `"accessKey":null,"accountId":null,"caller":null,"cognitoAuthenticationProvider":null,
	"cognitoAuthenticationType":null,"cognitoIdentityId":null,"cognitoIdentityPoolId":null,"principalOrgId":null,
	"user":null,"userArn":null,"clientCert":null`

// wantV1 is the whole 1.0 event for realRequest, with authorizer spliced in.
func wantV1(authorizer string) string {
	return `{
	"version": "1.0",
	"resource": "/pets/{id}",
	"path": "/pets/42",
	"httpMethod": "POST",
	"headers": {"content-type":"application/json","cookie":"c=3","host":"api.example.com:8443","user-agent":"curl/8.0","x-multi":"two"},
	"multiValueHeaders": {"content-type":["application/json"],"cookie":["a=1; b=2","c=3"],"host":["api.example.com:8443"],"user-agent":["curl/8.0"],"x-multi":["one","two"]},
	"queryStringParameters": {"name":"a b","q":"2"},
	"multiValueQueryStringParameters": {"name":["a b"],"q":["1","2"]},
	"pathParameters": {"id":"42"},
	"stageVariables": {"env":"test"},
	"requestContext": {
		"accountId": "123456789012",
		"apiId": "abc123",
		"authorizer": ` + authorizer + `,
		"domainName": "api.example.com",
		"domainPrefix": "api",
		"extendedRequestId": "req-42",
		"httpMethod": "POST",
		"identity": {` + identityNulls + `,"sourceIp":"203.0.113.9","userAgent":"curl/8.0"},
		"path": "/pets/42",
		"protocol": "HTTP/1.1",
		"requestId": "req-42",
		"requestTime": "24/Nov/2026:23:15:31 +0000",
		"requestTimeEpoch": 1795562131250,
		"resourceId": null,
		"resourcePath": "/pets/{id}",
		"stage": "prod"
	},
	"body": "{\"x\":1}",
	"isBase64Encoded": false
}`
}

// wantV2 is the whole 2.0 event for realRequest; authorizer "" means none
// (the key is absent).
func wantV2(authorizer string) string {
	auth := ""
	if authorizer != "" {
		auth = `"authorizer": ` + authorizer + `,`
	}
	return `{
	"version": "2.0",
	"routeKey": "POST /pets/{id}",
	"rawPath": "/pets/42",
	"rawQueryString": "q=1&q=2&name=a%20b",
	"cookies": ["a=1","b=2","c=3"],
	"headers": {"content-type":"application/json","host":"api.example.com:8443","user-agent":"curl/8.0","x-multi":"one,two"},
	"queryStringParameters": {"name":"a b","q":"1,2"},
	"pathParameters": {"id":"42"},
	"stageVariables": {"env":"test"},
	"requestContext": {
		"accountId": "123456789012",
		"apiId": "abc123",
		` + auth + `
		"domainName": "api.example.com",
		"domainPrefix": "api",
		"http": {"method":"POST","path":"/pets/42","protocol":"HTTP/1.1","sourceIp":"203.0.113.9","userAgent":"curl/8.0"},
		"requestId": "req-42",
		"routeKey": "POST /pets/{id}",
		"stage": "prod",
		"time": "24/Nov/2026:23:15:31 +0000",
		"timeEpoch": 1795562131250
	},
	"body": "{\"x\":1}",
	"isBase64Encoded": false
}`
}

var (
	jwtUnscoped = Authorizer{JWT: true, JWTClaims: map[string]string{"sub": "user-1", "groups": "[admin dev]"}}
	jwtScoped   = Authorizer{JWT: true, JWTClaims: map[string]string{"sub": "user-1"}, JWTScopes: []string{"pets:read", "pets:write"}}
	lambdaAuth  = Authorizer{
		Lambda:         true,
		PrincipalID:    "user-7",
		LambdaContext:  map[string]any{"role": "admin", "n": json.Number("7"), "ok": true},
		ContextStrings: map[string]string{"role": "admin", "n": "7", "ok": "true", "principalId": "user-7"},
	}
	lambdaSimple = Authorizer{Lambda: true, LambdaContext: map[string]any{"tier": "gold"}, ContextStrings: map[string]string{"tier": "gold"}}
	lambdaEmpty  = Authorizer{Lambda: true}
)

// TestEventV1 runs real 1.0 requests through the echo1 function and
// compares the event it received with AWS's shape, key by key.
func TestEventV1(t *testing.T) {
	i := mustNew(t, baseSettings("1.0"), startFunction(t, "echo1", 5*time.Second))
	cases := []struct {
		name       string
		auth       Authorizer
		authorizer string
	}{
		// AWS's own 1.0 example for a route without an authorizer.
		{"no authorizer", Authorizer{}, `{"claims":null,"scopes":null}`},
		{"jwt unscoped", jwtUnscoped, `{"claims":{"sub":"user-1","groups":"[admin dev]"},"scopes":null}`},
		{"jwt scoped", jwtScoped, `{"claims":{"sub":"user-1"},"scopes":["pets:read","pets:write"]}`},
		// Context keys at the top, stringified, next to principalId.
		{"lambda", lambdaAuth, `{"principalId":"user-7","role":"admin","n":"7","ok":"true"}`},
		{"lambda simple", lambdaSimple, `{"tier":"gold"}`},
		{"lambda no context", lambdaEmpty, `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := realRequest()
			r.Authorizer = c.auth
			rec, reason := serve(t, i, r)
			if reason != "" {
				t.Fatalf("reason %q", reason)
			}
			assertJSON(t, echoedEvent(t, rec), wantV1(c.authorizer))
			// What a typed aws-lambda-go handler decoded.
			for k, want := range map[string]string{
				"X-Typed-Method": "POST", "X-Typed-Path": "/pets/42",
				"X-Typed-Base64": "false", "X-Typed-Source": "203.0.113.9",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestEventV2 does the same for 2.0 through echo2.
func TestEventV2(t *testing.T) {
	i := mustNew(t, baseSettings("2.0"), startFunction(t, "echo2", 5*time.Second))
	cases := []struct {
		name       string
		auth       Authorizer
		authorizer string
	}{
		{"no authorizer", Authorizer{}, ""},
		{"jwt unscoped", jwtUnscoped, `{"jwt":{"claims":{"sub":"user-1","groups":"[admin dev]"},"scopes":null}}`},
		{"jwt scoped", jwtScoped, `{"jwt":{"claims":{"sub":"user-1"},"scopes":["pets:read","pets:write"]}}`},
		// The context as returned, JSON types kept.
		{"lambda", lambdaAuth, `{"lambda":{"role":"admin","n":7,"ok":true}}`},
		{"lambda no context", lambdaEmpty, `{"lambda":{}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := realRequest()
			r.Authorizer = c.auth
			rec, reason := serve(t, i, r)
			if reason != "" {
				t.Fatalf("reason %q", reason)
			}
			assertJSON(t, echoedEvent(t, rec), wantV2(c.authorizer))
			for k, want := range map[string]string{
				"X-Typed-Method": "POST", "X-Typed-Route": "POST /pets/{id}",
				"X-Typed-Base64": "false", "X-Typed-Cookies": "3",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestEventMinimal: a GET without body, query, path parameters or stage
// variables: null in 1.0, absent in 2.0.
func TestEventMinimal(t *testing.T) {
	s := baseSettings("1.0")
	s.StageVariables = nil
	s.AccountID, s.APIID, s.Stage, s.Region = "", "", "", ""
	r := get("http://10.0.0.5/")
	r.HTTP.RemoteAddr = "10.0.0.9:1"
	got, err := BuildEvent(s, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, got, `{
		"version":"1.0","resource":"$default","path":"/","httpMethod":"GET",
		"headers":{"host":"10.0.0.5"},"multiValueHeaders":{"host":["10.0.0.5"]},
		"queryStringParameters":null,"multiValueQueryStringParameters":null,
		"pathParameters":null,"stageVariables":null,
		"requestContext":{"accountId":"000000000000","apiId":"portcullis","authorizer":{"claims":null,"scopes":null},
			"domainName":"10.0.0.5","domainPrefix":"10.0.0.5","extendedRequestId":"req-1","httpMethod":"GET",
			"identity":{`+identityNulls+`,"sourceIp":"10.0.0.9","userAgent":""},
			"path":"/","protocol":"HTTP/1.1","requestId":"req-1","requestTime":"24/Nov/2026:23:15:31 +0000",
			"requestTimeEpoch":1795562131250,"resourceId":null,"resourcePath":"$default","stage":"$default"},
		"body":null,"isBase64Encoded":false}`)

	s.PayloadFormatVersion = "2.0"
	got, err = BuildEvent(s, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, got, `{
		"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"",
		"headers":{"host":"10.0.0.5"},
		"requestContext":{"accountId":"000000000000","apiId":"portcullis","domainName":"10.0.0.5","domainPrefix":"10.0.0.5",
			"http":{"method":"GET","path":"/","protocol":"HTTP/1.1","sourceIp":"10.0.0.9","userAgent":""},
			"requestId":"req-1","routeKey":"$default","stage":"$default","time":"24/Nov/2026:23:15:31 +0000","timeEpoch":1795562131250},
		"isBase64Encoded":false}`)
}

// TestEventPaths: path is decoded, rawPath is not; SourceIP and an empty
// RouteKey/Resource are handled.
func TestEventPaths(t *testing.T) {
	hr := httptest.NewRequest(http.MethodGet, "http://h.example/files/a%2Fb%20c?x=%26", nil)
	r := &Request{HTTP: hr, SourceIP: "198.51.100.1", Time: testTime}
	for _, v := range []string{"1.0", "2.0"} {
		b, err := BuildEvent(baseSettings(v), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		rc := m["requestContext"].(map[string]any)
		if v == "1.0" {
			check(t, "path", m["path"], "/files/a/b c")
			check(t, "resource", m["resource"], "$default")
			check(t, "qs", m["queryStringParameters"], map[string]any{"x": "&"})
			check(t, "sourceIp", rc["identity"].(map[string]any)["sourceIp"], "198.51.100.1")
		} else {
			check(t, "rawPath", m["rawPath"], "/files/a%2Fb%20c")
			check(t, "http.path", rc["http"].(map[string]any)["path"], "/files/a/b c")
			check(t, "rawQueryString", m["rawQueryString"], "x=%26")
			check(t, "qs", m["queryStringParameters"], map[string]any{"x": "&"})
			check(t, "routeKey", m["routeKey"], "$default")
			check(t, "sourceIp", rc["http"].(map[string]any)["sourceIp"], "198.51.100.1")
		}
	}
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("%s = %s, want %s", what, gb, wb)
	}
}

// TestBodyEncoding covers the text/binary rule.
func TestBodyEncoding(t *testing.T) {
	bin := []byte{0x00, 0xff, 0x10, 'a'}
	invalidUTF8 := []byte("caf\xe9")
	cases := []struct {
		ct     string
		body   []byte
		base64 bool
	}{
		{"application/json", []byte(`{"a":"é"}`), false},
		{"application/json; charset=utf-8", []byte(`[]`), false},
		{"application/vnd.api+json", []byte(`{}`), false},
		{"application/xml", []byte(`<a/>`), false},
		{"application/atom+xml", []byte(`<feed/>`), false},
		{"application/javascript", []byte(`f()`), false},
		{"application/x-www-form-urlencoded", []byte(`a=1&b=2`), false},
		{"text/plain", []byte("hello"), false},
		{"TEXT/HTML; charset=UTF-8", []byte("<p>"), false},
		{"", []byte("plain words"), false},
		{"", bin, true},
		{"text/plain; charset=iso-8859-1", invalidUTF8, true},
		{"application/octet-stream", []byte("looks like text"), true},
		{"image/png", bin, true},
		{"multipart/form-data; boundary=x", []byte("--x--"), true},
		{"application/jsonx", []byte("{}"), true},
		{"not a content type", []byte("x"), true},
	}
	for _, c := range cases {
		for _, v := range []string{"1.0", "2.0"} {
			hr := httptest.NewRequest(http.MethodPost, "/up", nil)
			if c.ct != "" {
				hr.Header.Set("Content-Type", c.ct)
			}
			b, err := BuildEvent(baseSettings(v), &Request{HTTP: hr}, c.body)
			if err != nil {
				t.Fatal(err)
			}
			var e struct {
				Body            string `json:"body"`
				IsBase64Encoded bool   `json:"isBase64Encoded"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			want := string(c.body)
			if c.base64 {
				want = base64.StdEncoding.EncodeToString(c.body)
			}
			if e.IsBase64Encoded != c.base64 || e.Body != want {
				t.Errorf("%s %q %q: body %q base64 %v, want %q %v", v, c.ct, c.body, e.Body, e.IsBase64Encoded, want, c.base64)
			}
		}
	}
}

// TestBinaryBodyThroughFunction: a binary upload reaches a real function
// base64-encoded and flagged.
func TestBinaryBodyThroughFunction(t *testing.T) {
	body := []byte{0x89, 'P', 'N', 'G', 0, 0xff}
	for _, v := range []string{"1.0", "2.0"} {
		fn := startFunction(t, "echo"+strings.TrimSuffix(v, ".0"), 5*time.Second)
		i := mustNew(t, baseSettings(v), fn)
		hr := httptest.NewRequest(http.MethodPut, "/blob", strings.NewReader(string(body)))
		hr.Header.Set("Content-Type", "application/octet-stream")
		rec, reason := serve(t, i, &Request{HTTP: hr, Time: testTime})
		if reason != "" {
			t.Fatalf("%s: reason %q", v, reason)
		}
		var e struct {
			Body            *string `json:"body"`
			IsBase64Encoded bool    `json:"isBase64Encoded"`
		}
		if err := json.Unmarshal(echoedEvent(t, rec), &e); err != nil {
			t.Fatal(err)
		}
		if e.Body == nil || *e.Body != base64.StdEncoding.EncodeToString(body) || !e.IsBase64Encoded {
			t.Errorf("%s: event body %v base64 %v", v, e.Body, e.IsBase64Encoded)
		}
		if got := rec.Header().Get("X-Typed-Base64"); got != "true" {
			t.Errorf("%s: typed handler saw isBase64Encoded %q", v, got)
		}
	}
}

func TestBuildEventErrors(t *testing.T) {
	if _, err := BuildEvent(Settings{PayloadFormatVersion: "3.0"}, get("/"), nil); err == nil {
		t.Error("version 3.0 accepted")
	}
	if _, err := BuildEvent(baseSettings("2.0"), &Request{}, nil); err == nil {
		t.Error("request without HTTP accepted")
	}
}

func BenchmarkBuildEvent(b *testing.B) {
	for _, v := range []string{"1.0", "2.0"} {
		b.Run(v, func(b *testing.B) {
			s := baseSettings(v).withDefaults()
			r := realRequest()
			r.Authorizer = jwtScoped
			body := []byte(`{"name":"rex","kind":"dog","tags":["good","boy"]}`)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := buildEvent(s, r, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
