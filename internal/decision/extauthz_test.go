package decision

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// envoyCheck is the CheckRequest Envoy's ext_authz filter sends for the
// original request method target with the client's headers: header names
// in lower case, the pseudo-headers among them, the path with its query
// string, the host and the client's address.
func envoyCheck(method, target string, h http.Header) *authv3.CheckRequest {
	headers := map[string]string{
		":authority":        "api.example.com",
		":method":           method,
		":path":             target,
		":scheme":           "https",
		"x-forwarded-proto": "https",
		"x-request-id":      "5f6e2c1a-envoy",
	}
	for name, vals := range h {
		headers[strings.ToLower(name)] = strings.Join(vals, ",")
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "198.51.100.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 52341}},
		}}},
		Destination: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "10.0.0.5", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 8443}},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id:       "5f6e2c1a-envoy",
			Method:   method,
			Headers:  headers,
			Path:     target,
			Host:     "api.example.com",
			Scheme:   "https",
			Protocol: "HTTP/1.1",
		}},
	}}
}

// TestExtAuthzCheck sends Envoy's CheckRequests over gRPC for every case
// and compares the answers with the gateway's for the same request.
func TestExtAuthzCheck(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for _, c := range decisionCases(t, h) {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, h.gateway+c.target, nil)
			req.Header = c.header.Clone()
			gw := do(t, req)
			if gw.status != c.status {
				t.Fatalf("gateway answered %d, want %d (%s)", gw.status, c.status, gw.body)
			}
			hits := h.backend.count()
			resp, err := h.authz.Check(ctx, envoyCheck(c.method, c.target, c.header))
			if err != nil {
				t.Fatal(err)
			}
			if h.backend.count() != hits {
				t.Error("the decision reached the backend")
			}
			if c.status != 200 {
				d := resp.GetDeniedResponse()
				if codes.Code(resp.GetStatus().GetCode()) == codes.OK || d == nil {
					t.Fatalf("not denied: %v", resp)
				}
				wantCode := codes.PermissionDenied
				if c.status == 401 {
					wantCode = codes.Unauthenticated
				}
				if codes.Code(resp.GetStatus().GetCode()) != wantCode {
					t.Errorf("code %v, want %v", codes.Code(resp.GetStatus().GetCode()), wantCode)
				}
				if int(d.GetStatus().GetCode()) != c.status {
					t.Errorf("HTTP status %d, want %d", d.GetStatus().GetCode(), c.status)
				}
				if d.GetBody() != gw.body || d.GetBody() != c.body {
					t.Errorf("body %q, gateway's %q, want %q", d.GetBody(), gw.body, c.body)
				}
				got := headerOptions(d.GetHeaders())
				if ch := got.Get("WWW-Authenticate"); ch != gw.header.Get("WWW-Authenticate") || !strings.HasPrefix(ch, c.challenge) || (c.challenge == "") != (ch == "") {
					t.Errorf("www-authenticate %q, gateway's %q", ch, gw.header.Get("WWW-Authenticate"))
				}
				if got.Get("Content-Type") != "application/json" || got.Get("Apigw-Requestid") == "" {
					t.Errorf("denial headers %v", got)
				}
				return
			}
			ok := resp.GetOkResponse()
			if codes.Code(resp.GetStatus().GetCode()) != codes.OK || ok == nil {
				t.Fatalf("not allowed: %v", resp)
			}
			var seen http.Header
			if err := json.Unmarshal([]byte(gw.body), &seen); err != nil {
				t.Fatal(err)
			}
			set := headerOptions(ok.GetHeaders())
			for _, o := range ok.GetHeaders() {
				if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
					t.Errorf("%s is not overwritten: the client's copy would stay", o.GetHeader().GetKey())
				}
			}
			for name, want := range c.identity {
				if v := set.Get(name); v != want || v != seen.Get(name) {
					t.Errorf("%s = %q, gateway's backend saw %q, want %q", name, v, seen.Get(name), want)
				}
			}
			if got := strings.Join(ok.GetHeadersToRemove(), ","); got != c.removeSpoofed {
				t.Errorf("headers_to_remove %q, want %q", got, c.removeSpoofed)
			}
		})
	}
	if n := metric(t, h, "portcullis_requests_total", map[string]string{"mode": "ext_authz", "route": "ANY /pets/{id}", "status": "200"}); n != 1 {
		t.Errorf("ext_authz 200s on ANY /pets/{id} = %v, want 1", n)
	}
	if n := metric(t, h, "portcullis_authorizer_decisions_total", map[string]string{"authorizer": "users", "outcome": "deny", "reason": "insufficient_scope", "mode": "ext_authz"}); n != 1 {
		t.Errorf("ext_authz insufficient_scope denials = %v, want 1", n)
	}
	if !strings.Contains(h.log.String(), `"mode":"ext_authz","method":"GET","path":"/pets/7","route":"ANY /pets/{id}","status":200`) {
		t.Errorf("no ext_authz access-log line for /pets/7:\n%s", h.log.String())
	}
}

// TestExtAuthzRefusesBadChecks: a CheckRequest that does not describe a
// request is denied (an RPC error would leave the answer to Envoy's
// failure_mode_allow).
func TestExtAuthzRefusesBadChecks(t *testing.T) {
	h := newHarness(t)
	for name, req := range map[string]*authv3.CheckRequest{
		"empty":          {},
		"no path":        envoyCheck("GET", "", nil),
		"absolute URI":   envoyCheck("GET", "http://evil/public", nil),
		"bad method":     envoyCheck("GET /public", "/public", nil),
		"encoded slash":  envoyCheck("GET", "/public%2f..%2forders/1", nil),
		"raw header map": withHeaderMap(envoyCheck("GET", "/orders/1", nil), "authorization", "Bearer not.a.token"),
		// Left out, the client's x-tenant would be missing from
		// headers_to_remove while the token (no tenant claim) is allowed.
		"header value with a line break": envoyCheck("GET", "/orders/1", http.Header{
			"Authorization": {"Bearer " + h.token(t, nil)}, "X-Tenant": {"evil\r\nx-other: 1"}}),
		// net/http's server answers 400 to these: the gateway never
		// decides such a request.
		"header value with a control byte": envoyCheck("GET", "/orders/1", http.Header{
			"Authorization": {"Bearer " + h.token(t, nil)}, "X-Tenant": {"evil\x01"}}),
		"header value with DEL": envoyCheck("GET", "/orders/1", http.Header{
			"Authorization": {"Bearer " + h.token(t, nil)}, "X-Tenant": {"evil\x7f"}}),
		"raw header value with an escape": withHeaderMap(envoyCheck("GET", "/orders/1", http.Header{
			"Authorization": {"Bearer " + h.token(t, nil)}}), "x-tenant", "\x1b[31mevil"),
		"header name that is not a token": withHeaderMap(envoyCheck("GET", "/orders/1", http.Header{
			"Authorization": {"Bearer " + h.token(t, nil)}}), "x tenant", "evil"),
		"header name with a delimiter": withHeaderMap(envoyCheck("GET", "/orders/1", http.Header{
			"Authorization": {"Bearer " + h.token(t, nil)}}), "x-tenant(1)", "evil"),
		"header name in UTF-8": withHeaderMap(envoyCheck("GET", "/orders/1", http.Header{
			"Authorization": {"Bearer " + h.token(t, nil)}}), "x-ténant", "evil"),
		"method with a delimiter": envoyCheck("GET,POST", "/public", nil),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := h.authz.Check(context.Background(), req)
			if err != nil {
				t.Fatalf("RPC error %v: a denial was due", err)
			}
			if codes.Code(resp.GetStatus().GetCode()) == codes.OK || resp.GetDeniedResponse() == nil {
				t.Errorf("allowed: %v", resp)
			}
		})
	}
}

// TestExtAuthzLongHeaderNames: a header name is a token of any length, as
// it is to the gateway (a method's 32 bytes at most are not a name's
// limit): a request with Chrome's Access-Control-Request-Private-Network
// or Envoy's x-envoy-downstream-service-cluster is decided, not refused
// with a 500; its tab and obs-text in a value pass too.
func TestExtAuthzLongHeaderNames(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{
		"access-control-request-private-network",
		"x-envoy-downstream-service-cluster",
		strings.Repeat("x", 33),
		strings.Repeat("x-long", 100),
	} {
		for _, raw := range []bool{false, true} {
			req := envoyCheck("GET", "/orders/1", http.Header{"Authorization": {"Bearer " + h.token(t, nil)}, name: {"a\tb"}})
			if raw {
				req = withHeaderMap(envoyCheck("GET", "/orders/1", http.Header{"Authorization": {"Bearer " + h.token(t, nil)}}), name, "caf\xc3\xa9\x80")
			}
			resp, err := h.authz.Check(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if set := headerOptions(resp.GetOkResponse().GetHeaders()); set.Get("X-User") != "alice" {
				t.Errorf("%s (header_map %v): not allowed as alice: %v", name, raw, resp)
			}
		}
	}
}

// TestExtAuthzHeaderMap: Envoy's encode_raw_headers sends header_map with
// raw values instead of the headers map; a token there is used as well.
func TestExtAuthzHeaderMap(t *testing.T) {
	h := newHarness(t)
	req := withHeaderMap(envoyCheck("GET", "/orders/1?"+url.Values{"x": {"1"}}.Encode(), nil), "authorization", "Bearer "+h.token(t, nil))
	resp, err := h.authz.Check(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if set := headerOptions(resp.GetOkResponse().GetHeaders()); set.Get("X-User") != "alice" {
		t.Errorf("not allowed as alice: %v", resp)
	}
}

func withHeaderMap(req *authv3.CheckRequest, name, value string) *authv3.CheckRequest {
	hr := req.GetAttributes().GetRequest().GetHttp()
	hm := &corev3.HeaderMap{}
	for k, v := range hr.GetHeaders() {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: k, RawValue: []byte(v)})
	}
	hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: name, RawValue: []byte(value)})
	hr.Headers = nil
	hr.HeaderMap = hm
	return req
}

func headerOptions(opts []*corev3.HeaderValueOption) http.Header {
	h := http.Header{}
	for _, o := range opts {
		h.Add(o.GetHeader().GetKey(), o.GetHeader().GetValue())
	}
	return h
}
