package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// untrustedSent are client headers that backends and their frameworks
// trust, with the spellings a client would use, underscores included.
var untrustedSent = map[string]string{
	"X-HTTP-Method-Override": "DELETE", "X-HTTP-Method": "DELETE", "X-Method-Override": "DELETE",
	"X-Original-URL": "/admin", "X-Rewrite-URL": "/admin",
	"X-Real-IP": "6.6.6.6", "True-Client-IP": "6.6.6.6",
	"X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/evil",
	"X_HTTP_Method_Override": "DELETE", "x_original_url": "/admin", "X_Real_IP": "6.6.6.6", "True_Client_IP": "6.6.6.6",
	"X-Forwarded_Port": "8443",
}

// untrustedNames are the same names, lower case with '-' for '_' (as a
// CGI-style backend reads them).
var untrustedNames = []string{
	"x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url",
	"x-real-ip", "true-client-ip", "x-forwarded-port", "x-forwarded-prefix",
}

// asCGI groups header values by name as CGI-style backends (PHP, WSGI,
// Rack) read names: case-insensitive, '_' the same as '-'.
func asCGI(h map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, vs := range h {
		n := strings.ReplaceAll(strings.ToLower(k), "_", "-")
		out[n] = append(out[n], vs...)
	}
	return out
}

// TestUntrustedClientHeadersRemoved: method overrides, URL rewrites and
// address or prefix claims from the client reach neither an http_proxy
// backend nor a lambda_proxy function (event headers, both payload
// versions), in any spelling; http_proxy backends get X-Real-IP set to the
// client's address. A route's pass_client_headers lets named ones through.
func TestUntrustedClientHeadersRemoved(t *testing.T) {
	be, seenByBackend := backend(t)
	events := make(chan map[string]any, 8)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		json.NewDecoder(r.Body).Decode(&e)
		events <- e
		io.WriteString(w, `{"statusCode": 200, "body": "ok"}`)
	}))
	t.Cleanup(fn.Close)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  echo: {runtime: http, url: %[2]q}
routes:
  - {route: GET /proxy, integration: {type: http_proxy, uri: "%[1]s/proxy"}}
  - route: GET /proxy-pass
    integration:
      type: http_proxy
      uri: "%[1]s/proxy-pass"
      pass_client_headers: [X-HTTP-Method-Override, true-client-ip]
  - {route: GET /fn2, integration: {type: lambda_proxy, function: echo}}
  - {route: GET /fn1, integration: {type: lambda_proxy, function: echo, payload_format_version: "1.0"}}
  - {route: GET /fn-pass, integration: {type: lambda_proxy, function: echo, pass_client_headers: [X-HTTP-Method-Override, True-Client-IP]}}
`, be.URL, fn.URL), Deps{})

	// eventHeaders reads the headers of a lambda_proxy event: headers (and
	// for 1.0 multiValueHeaders, which must agree).
	eventHeaders := func(t *testing.T, e map[string]any) map[string][]string {
		out := map[string][]string{}
		single, _ := e["headers"].(map[string]any)
		for k, v := range single {
			out[k] = append(out[k], fmt.Sprint(v))
		}
		multi, _ := e["multiValueHeaders"].(map[string]any)
		for k, vs := range multi {
			for _, v := range vs.([]any) {
				out["multi:"+k] = append(out["multi:"+k], fmt.Sprint(v))
			}
		}
		return out
	}

	for _, tc := range []struct {
		path   string
		passed []string // untrustedNames let through
		realIP bool     // X-Real-IP set to the client's address
	}{
		{"/proxy", nil, true},
		{"/proxy-pass", []string{"x-http-method-override", "true-client-ip"}, true},
		{"/fn2", nil, false},
		{"/fn1", nil, false},
		{"/fn-pass", []string{"x-http-method-override", "true-client-ip"}, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
			for k, v := range untrustedSent {
				if tc.passed != nil && strings.Contains(k, "_") {
					continue // a passed header's underscore spelling would be passed too
				}
				req.Header[k] = []string{v}
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var got map[string][]string
			if strings.HasPrefix(tc.path, "/proxy") {
				got = asCGI((<-seenByBackend).Header)
			} else {
				raw := eventHeaders(t, <-events)
				single, multi := map[string][]string{}, map[string][]string{}
				for k, vs := range raw {
					if m, ok := strings.CutPrefix(k, "multi:"); ok {
						multi[m] = vs
					} else {
						single[k] = vs
					}
				}
				got = asCGI(single)
				if tc.path == "/fn1" {
					for k, vs := range asCGI(multi) {
						if len(got[k]) == 0 {
							t.Errorf("multiValueHeaders has %s %q, headers does not", k, vs)
						}
					}
				}
			}
			for _, name := range untrustedNames {
				var want []string
				switch {
				case name == "x-real-ip" && tc.realIP:
					want = []string{"127.0.0.1"}
				case slices.Contains(tc.passed, name):
					want = []string{untrustedSent[canonicalSent(name)]}
				}
				if strings.Join(got[name], "|") != strings.Join(want, "|") {
					t.Errorf("%s reached the backend as %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

// canonicalSent finds the key of untrustedSent spelled with dashes for
// the lower-case name.
func canonicalSent(name string) string {
	for k := range untrustedSent {
		if strings.ToLower(k) == name {
			return k
		}
	}
	return ""
}
