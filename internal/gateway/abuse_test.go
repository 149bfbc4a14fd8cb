package gateway

// Client abuse aimed at routing and forwarding: path tricks against route
// matching and {proxy+} substitution, and spoofing of every header the
// gateway sets. Uses the harness of gateway_test.go (real issuer, real
// backend).

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/testissuer"
)

// rawDo sends one raw request and returns the status and the backend's view
// (nil when the backend saw nothing).
func (h *harness) rawDo(t *testing.T, req string) (int, *seen) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) // a bound on hanging, not on speed
	io.WriteString(c, req)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	select {
	case s := <-h.backend:
		return resp.StatusCode, &s
	default:
		return resp.StatusCode, nil
	}
}

// TestAbusePathTricks: whatever the path, the backend of ANY /files/{path+}
// (uri .../store/{path}) only ever receives a path under /store/, with no dot
// segments, encoded separators or backslashes once decoded; tricks that
// could mean something else to a backend are refused with 400.
func TestAbusePathTricks(t *testing.T) {
	h := newHarness(t)
	tok := h.iss.Mint(t, "k1", nil)
	paths := []string{
		"/files/a/../../status", "/files/..", "/files/a/..", "/files/%2e%2e/x", "/files/%2E%2E/%2E%2E/etc/passwd",
		"/files/.%2e/x", "/files/%2e/x", "/files/a%2Fb", "/files/a%2f..%2f..%2fx", "/files/..%2F..%2Fx",
		"/files/a%5C..%5Cx", "/files/a\\..\\x", "/files//etc/passwd", "/files/a//b", "/files/./x", "/files/a/./b",
		"/files/%c0%ae%c0%ae/x", "/files/%c0%af..%c0%afx", "/files/%e0%80%ae%e0%80%ae/x", "/files/%252e%252e/x",
		"/files/%252F/x", "/files/a%00b", "/files/a%0d%0aX-Injected:%201", "/files/a%09b", "/files/%ff%fe",
		"/files/a;/../b", "/files/a?x=/../../etc", "/files/a#/../../x", "//files/x", "/./files/x", "/files%2Fx",
		"/FILES/x", "/files/" + strings.Repeat("../", 20) + "etc", "/files/a/b/c/../../../../x",
		"/files/%u002e%u002e/x", "/files/.../x", "/files/..;/x", "/files/ /x",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			status, s := h.rawDo(t, "GET "+p+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
			if s == nil {
				if status == 200 {
					t.Errorf("200 without reaching the backend")
				}
				if status != 400 && status != 404 && !(status == 307 && strings.Contains(p, "//")) {
					// (307: the test backend's ServeMux redirects to the
					// cleaned path without recording the request.)
					t.Errorf("status %d, want 200 (forwarded), 400 or 404", status)
				}
				return
			}
			t.Logf("%d → backend %q (raw %q)", status, s.Path, s.RawPath)
			if !strings.HasPrefix(s.Path, "/store/") {
				t.Errorf("backend path %q is outside /store/", s.Path)
			}
			if !utf8.ValidString(s.Path) {
				t.Errorf("backend path %q is not UTF-8 (overlong encodings decode to '.' or '/' in old decoders)", s.Path)
			}
			for seg := range strings.SplitSeq(s.Path, "/") {
				if i := strings.IndexByte(seg, ';'); i >= 0 {
					seg = seg[:i] // servlet containers drop ;parameters before dot segments
				}
				if seg == "." || seg == ".." {
					t.Errorf("backend path %q has a dot segment", s.Path)
				}
			}
			if strings.ContainsAny(s.Path, "\\\r\n\x00") {
				t.Errorf("backend path %q has a backslash or control character", s.Path)
			}
			if raw := strings.ToLower(s.RawPath); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
				t.Errorf("backend raw path %q has an encoded separator", s.RawPath)
			}
			// What a backend that decodes once more would see is still under /store/.
			if again, err := url.PathUnescape(s.Path); err == nil {
				for seg := range strings.SplitSeq(again, "/") {
					if seg == ".." {
						t.Logf("note: %q decodes twice to %q (the backend must not decode twice)", s.Path, again)
					}
				}
			}
		})
	}
}

// TestAbuseHeaderSpoofing: every header the gateway sets or maps carries the
// gateway's value whatever the client sends: repeated, in other cases, with
// underscores, or named in Connection so that a hop-by-hop strip would
// remove the gateway's own value. TestForwardedRequest covers the plain
// cases; this adds the tricks.
func TestAbuseHeaderSpoofing(t *testing.T) {
	h := newHarness(t)
	tok := h.iss.Mint(t, "k1", map[string]any{"sub": "user-7", "scope": "orders:read", "tenant": "acme"})
	gwHost := strings.TrimPrefix(h.gw.URL, "http://")
	spoofed := []string{
		"X-Forwarded-For: 6.6.6.6", "X-Forwarded-For: 7.7.7.7, 8.8.8.8", "x-forwarded-for: 9.9.9.9",
		"X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https", "X-Forwarded-Port: 443",
		"Forwarded: for=6.6.6.6;proto=https;host=evil.example", "Forwarded: for=1.1.1.1",
		"X-Request-Id: spoofed", "x-request-id: spoofed2", "X-User-Id: admin", "x-user-id: root",
		"X-Tenant: root", "X-Debug: 1",
		"X_Forwarded_For: 6.6.6.6", "X_User_Id: admin", "X_Tenant: root", "X_Request_Id: spoofed",
		"X-Forwarded_For: 6.6.6.6", "X_forwarded_host: evil.example",
		"X-Real-IP: 6.6.6.6", "x-real-ip: 7.7.7.7", "X_Real_IP: 6.6.6.6", "X-HTTP-Method-Override: DELETE",
		"X_HTTP_Method_Override: DELETE", "X_Forwarded_Port: 443",
	}
	connections := []string{
		"",
		"Connection: X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Request-Id\r\n",
		"Connection: x-user-id, x-tenant, forwarded\r\nConnection: keep-alive, X-Forwarded-For\r\n",
		"Connection: close, X-User-Id, X-Real-IP\r\n",
	}
	for i, conn := range connections {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			req := "GET /orders/42 HTTP/1.1\r\nHost: " + gwHost + "\r\nAuthorization: Bearer " + tok + "\r\n" +
				strings.Join(spoofed, "\r\n") + "\r\n" + conn + "\r\n"
			status, s := h.rawDo(t, req)
			if status != 200 || s == nil {
				t.Fatalf("status %d, backend saw %v", status, s)
			}
			want := map[string]string{
				"X-Forwarded-For":        "127.0.0.1",
				"X-Forwarded-Host":       gwHost,
				"X-Forwarded-Proto":      "http",
				"X-User-Id":              "user-7",
				"X-Tenant":               "t-acme",
				"Forwarded":              "",
				"X-Debug":                "",
				"X-Real-Ip":              "127.0.0.1",
				"X-Forwarded-Port":       "",
				"X-Http-Method-Override": "",
			}
			for k, v := range want {
				if got := strings.Join(s.Header.Values(k), ","); got != v {
					t.Errorf("backend header %s = %q, want %q", k, got, v)
				}
			}
			if ids := s.Header.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "spoofed" || len(ids[0]) != 16 {
				t.Errorf("X-Request-Id = %q", ids)
			}
			// A header that differs from a gateway-set one only by '_' for '-'
			// is the same header to CGI-style backends (PHP, WSGI, Rack map
			// both to HTTP_X_USER_ID): it must not reach the backend.
			for name := range s.Header {
				if strings.Contains(name, "_") {
					t.Errorf("backend received %s: %q, which CGI-style backends read as %s", name, s.Header[name], strings.ReplaceAll(name, "_", "-"))
				}
			}
		})
	}
}

// TestAbuseLooseSlashes: an empty segment ("//") or a trailing slash must
// not carry a request past a more specific route's authorizer to a public
// one. nginx (merge_slashes), Apache (MergeSlashes) and Express (non-strict
// routing) read /site/admin//1 and /site/admin/1/ as /site/admin/1, which
// here is GET /site/admin/{id} behind an authorizer; without the check the
// public ANY /site/{proxy+} (or $default) took them to the backend. Paths
// whose slashes change nothing about the route chosen still pass.
func TestAbuseLooseSlashes(t *testing.T) {
	iss := testissuer.New(t)
	got := make(chan string, 16)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Path // no ServeMux: it would redirect "//" itself
	}))
	t.Cleanup(be.Close)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %[1]s, audience: [test-api]}
routes:
  - route: GET /site/admin/{id}
    authorizer: users
    integration: {type: http_proxy, uri: "%[2]s/site/admin/{id}"}
  - route: GET /secret/{id}
    authorizer: users
    integration: {type: http_proxy, uri: "%[2]s/secret/{id}"}
  - route: ANY /site/{proxy+}
    integration: {type: http_proxy, uri: "%[2]s/site/{proxy}"}
  - route: $default
    integration: {type: http_proxy, uri: "%[2]s/default"}
`, iss.URL, be.URL), Deps{})
	tests := []struct {
		path    string
		status  int
		backend string // the path the backend saw; "" when it saw nothing
	}{
		{"/site/admin/1", 401, ""}, // the protected route itself
		{"/site/admin//1", 400, ""},
		{"/site/admin/1/", 400, ""},
		{"/site//admin/1", 400, ""},
		{"/site/admin/1//", 400, ""},
		{"//secret/1", 400, ""},
		{"/secret//1", 400, ""},
		{"/secret/1/", 400, ""},
		// The same route whatever the slashes: served as before.
		{"/site/docs//a", 200, "/site/docs//a"},
		{"/site/docs/", 200, "/site/docs/"},
		{"/site/img/https://example.com/a.png", 200, "/site/img/https://example.com/a.png"},
		{"/other//x/", 200, "/default"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET "+tt.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			seen := ""
			select {
			case seen = <-got:
			default:
			}
			if resp.StatusCode != tt.status || seen != tt.backend {
				t.Errorf("status %d, backend saw %q; want %d, %q", resp.StatusCode, seen, tt.status, tt.backend)
			}
		})
	}
}
