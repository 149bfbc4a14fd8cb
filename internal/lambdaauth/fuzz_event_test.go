package lambdaauth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzBuildEvent: lambdaauth exports no event builder, so random requests
// go through Authorize with each event type, and an Invoker that checks the
// event it is given and answers a fixed Allow. Authorize never panics (its
// recover would turn a panic into bad_response, which is checked for), every
// event is one valid JSON object with the request's method and path in its
// ARN, and the decision is Allow exactly when the identity source is present
// once and non-empty; otherwise a 401 whose body is valid JSON.
func FuzzBuildEvent(f *testing.F) {
	f.Add("GET", "/pets/1", "a=1&a=2&b", "Authorization: Bearer x\nCookie: a=1; b=2\nX-Multi: 1\nX-Multi: 2", "api.example.com", "203.0.113.9:1234", []byte(`{"x":1}`))
	f.Add("POST", "/", "", "authorization: Bearer x", "", "", []byte{})
	f.Add("GET", "/ü/%2F/../x", "%zz=%&;=;", "Authorization: \xff\xfe\nAuthorization: two", "[::1]:80", "bad", []byte{0xff})
	f.Add("DELETE\x00", "", "token=t", "Authorization: a\"b\\c\u2028", "h\x00st", "1.2.3.4", []byte(nil))
	f.Add("", "no-slash", "x=%E2%82", ": empty name\nAuthorization:", "", "[::1", []byte("body"))

	type variant struct {
		name string
		s    Settings
		out  string
	}
	allowPolicy := `{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},"context":{"k":"v","n":1}}`
	variants := []variant{
		{"1.0 TOKEN", baseSettings(), allowPolicy},
		{"1.0 REQUEST", with(baseSettings(), func(s *Settings) {
			s.EventType = "REQUEST"
			s.IdentitySources = []string{"$request.header.Authorization"}
		}), allowPolicy},
		{"2.0 IAM", with(baseSettings(), func(s *Settings) {
			s.PayloadFormatVersion, s.EventType = "2.0", ""
			s.IdentitySources = []string{"$request.header.Authorization"}
		}), allowPolicy},
		{"2.0 simple", with(baseSettings(), func(s *Settings) {
			s.PayloadFormatVersion, s.EventType = "2.0", ""
			s.IdentitySources = []string{"$request.header.Authorization"}
			s.EnableSimpleResponses = true
		}), `{"isAuthorized":true,"context":{"k":"v","o":{"a":[1]}}}`},
	}
	var problem string // set by the invoker, checked after Authorize
	var invoked bool
	authorizers := make([]*Authorizer, len(variants))
	for i, v := range variants {
		out := v.out
		authorizers[i] = mustNew(f, v.s, invokerFunc(func(_ context.Context, event []byte) ([]byte, error) {
			invoked = true
			var m map[string]any
			if !json.Valid(event) {
				problem = "event is not valid JSON"
			} else if err := json.Unmarshal(event, &m); err != nil || m == nil {
				problem = "event is not a JSON object"
			}
			return []byte(out), nil
		}), Options{})
	}

	f.Fuzz(func(t *testing.T, method, path, rawQuery, headers, host, remote string, body []byte) {
		h := http.Header{}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				h[http.CanonicalHeaderKey(k)] = append(h[http.CanonicalHeaderKey(k)], strings.TrimLeft(v, " "))
			}
		}
		vs := h["Authorization"]
		present := len(vs) == 1 && vs[0] != ""
		for i, a := range authorizers {
			r := &http.Request{
				Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery},
				Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: h, Host: host, RemoteAddr: remote,
				Body: io.NopCloser(bytes.NewReader(body)),
			}
			problem, invoked = "", false
			d := a.Authorize(context.Background(), &Request{HTTP: r, RouteKey: method + " " + path, Resource: path, RequestID: "req"})
			if problem != "" {
				t.Fatalf("%s: %s", variants[i].name, problem)
			}
			if invoked != present {
				t.Fatalf("%s: invoked=%v with identity present=%v", variants[i].name, invoked, present)
			}
			if present {
				if !d.Allow || d.Reason != ReasonOK {
					t.Fatalf("%s: identity present and the function allows, got %+v", variants[i].name, d)
				}
				continue
			}
			if d.Allow || d.Status != http.StatusUnauthorized || d.Reason != ReasonMissingIdentity || !json.Valid([]byte(d.Body)) {
				t.Fatalf("%s: no identity, got %+v", variants[i].name, d)
			}
		}
		// The ARN: the method and the decoded path without its leading
		// slash, as the event carries it (strings that are valid UTF-8
		// survive JSON unchanged).
		if present && utf8.ValidString(method) && utf8.ValidString(path) {
			var event struct {
				MethodArn string `json:"methodArn"`
				RouteArn  string `json:"routeArn"`
			}
			var got []byte
			a := mustNew(t, variants[0].s, invokerFunc(func(_ context.Context, e []byte) ([]byte, error) {
				got = e
				return []byte(allowPolicy), nil
			}), Options{})
			r := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: h}
			a.Authorize(context.Background(), &Request{HTTP: r})
			if err := json.Unmarshal(got, &event); err != nil {
				t.Fatal(err)
			}
			want := testARNPrefix + method + "/" + strings.TrimPrefix(path, "/")
			if event.MethodArn != want {
				t.Fatalf("methodArn %q, want %q", event.MethodArn, want)
			}
		}
	})
}
