package decision

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
)

// nginxConfig puts nginx in front of the backend with Portcullis as its
// auth_request service, as examples/decision-api/nginx.conf does (the
// inside of its http block): %[1]s nginx's port, %[2]s the decision API's
// host:port, %[3]s the backend's host:port.
const nginxConfig = `  server {
    listen 127.0.0.1:%[1]s;
    location / {
      auth_request /_portcullis;
      auth_request_set $portcullis_user $upstream_http_x_user;
      auth_request_set $portcullis_tenant $upstream_http_x_tenant;
      auth_request_set $portcullis_principal $upstream_http_x_principal;
      proxy_set_header X-User $portcullis_user;
      proxy_set_header X-Tenant $portcullis_tenant;
      proxy_set_header X-Principal $portcullis_principal;
      proxy_pass http://%[3]s;
    }
    location = /_portcullis {
      internal;
      proxy_pass http://%[2]s/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
`

// TestNginxAuthRequest runs a real nginx with auth_request in front of a
// backend, with the decision API deciding: allowed requests reach the
// backend with the identity header nginx copied (auth_request_set) in place
// of the client's spoofed one; denied ones never reach it and get the
// gateway's status and challenge.
func TestNginxAuthRequest(t *testing.T) {
	h := newHarness(t)
	port := freePort(t)
	hostOf := func(u string) string { return strings.TrimPrefix(u, "http://") }
	testbin.Nginx(t, fmt.Sprintf(nginxConfig, port, hostOf(h.decision), hostOf(h.backendURL)))
	front := "http://127.0.0.1:" + port
	waitListening(t, "127.0.0.1:"+port)

	good := "Bearer " + h.token(t, nil)
	noScope := "Bearer " + h.token(t, map[string]any{"scope": "pets:read"})
	for _, c := range []struct {
		name      string
		method    string
		target    string
		header    http.Header
		status    int
		challenge string
		seen      map[string]string // what the backend must see ("" = absent)
	}{
		{"allowed, spoofed identity replaced", "GET", "/orders/1", http.Header{"Authorization": {good}, "X-User": {"mallory"}, "X-Tenant": {"evil"}},
			200, "", map[string]string{"X-User": "alice", "X-Tenant": ""}},
		{"missing token", "GET", "/orders/1", http.Header{"X-User": {"mallory"}}, 401, "Bearer", nil},
		{"insufficient scope", "GET", "/orders/1", http.Header{"Authorization": {noScope}}, 403, "", nil},
		{"original method decides", "DELETE", "/orders/1", http.Header{"Authorization": {good}}, 500, "", nil}, // nginx turns the 404 into 500
		{"public", "GET", "/public", http.Header{"X-User": {"mallory"}}, 200, "", map[string]string{"X-User": ""}},
		{"lambda request authorizer with the query", "GET", "/pets/7?tenant=t1", http.Header{"X-Api-Key": {"let-me-in"}, "X-Principal": {"spoofed"}},
			200, "", map[string]string{"X-Principal": "api-client-t1"}},
		{"lambda request authorizer without the query", "GET", "/pets/7", http.Header{"X-Api-Key": {"let-me-in"}}, 401, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			hits := h.backend.count()
			req, _ := http.NewRequest(c.method, front+c.target, nil)
			req.Header = c.header.Clone()
			got := do(t, req)
			if got.status != c.status {
				t.Fatalf("status %d, want %d (%s)", got.status, c.status, got.body)
			}
			if c.status != 200 {
				if h.backend.count() != hits {
					t.Error("a denied request reached the backend")
				}
				if ch := got.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, c.challenge) || (c.challenge == "") != (ch == "") {
					t.Errorf("WWW-Authenticate %q, want %q...", ch, c.challenge)
				}
				return
			}
			if h.backend.count() != hits+1 {
				t.Fatal("the allowed request did not reach the backend once")
			}
			var seen http.Header
			if err := json.Unmarshal([]byte(got.body), &seen); err != nil {
				t.Fatalf("backend echo %q: %v", got.body, err)
			}
			for name, want := range c.seen {
				if v := strings.Join(seen.Values(name), ","); v != want {
					t.Errorf("backend saw %s = %q, want %q", name, v, want)
				}
			}
		})
	}
	// nginx's subrequests were decided (and counted) as forward_auth.
	if n := metric(t, h, "portcullis_requests_total", map[string]string{"mode": "forward_auth", "route": "GET /orders/{id}", "status": "200"}); n != 1 {
		t.Errorf("forward_auth 200s on GET /orders/{id} = %v, want 1", n)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// waitListening waits until addr accepts connections. The minute is a
// hang guard, not a speed limit.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not start listening")
		}
	}
}
