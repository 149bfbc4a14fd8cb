package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// TestServeTracedServesAlike: a request explained (ServeTraced) gets the
// same status, headers and body as the request served (ServeHTTP), and the
// trace names the route, the reason and the jwt checks the answer came from.
func TestServeTracedServesAlike(t *testing.T) {
	iss := testissuer.New(t)
	be, _ := backend(t)
	f, err := config.Parse("test.yaml", []byte(fmt.Sprintf(testConfig, iss.URL, be.URL)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(f, Deps{Logger: slogJSON(discard{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)

	good := iss.Mint(t, "k1", map[string]any{"scope": "orders:read", "tenant": "acme"})
	noScope := iss.Mint(t, "k1", nil)
	for _, c := range []struct {
		name, method, target, token string
		route, reason               string
		steps                       bool
		response                    string // the gateway response type; "" when the integration answered
	}{
		{"allowed", "GET", "/orders/1", good, "GET /orders/{id}", "", true, ""},
		{"no token", "GET", "/orders/1", "", "GET /orders/{id}", "missing_identity", false, "UNAUTHORIZED"},
		{"bad token", "GET", "/orders/1", "x.y.z", "GET /orders/{id}", "malformed", true, "UNAUTHORIZED"},
		{"scope", "GET", "/orders/1", noScope, "GET /orders/{id}", "insufficient_scope", true, "ACCESS_DENIED"},
		{"public mock", "GET", "/status", "", "GET /status", "", false, ""},
		{"greedy", "PUT", "/files/a/b", good, "ANY /files/{path+}", "", true, ""},
		{"no route", "GET", "/nowhere", "", "", "no_route", false, "MISSING_AUTHENTICATION_TOKEN"},
		{"bad path", "GET", "/orders/%2e%2e/x", "", "", "bad_path", false, "BAD_REQUEST_PARAMETERS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			newReq := func() *http.Request {
				r := httptest.NewRequest(c.method, c.target, nil)
				if c.token != "" {
					r.Header.Set("Authorization", "Bearer "+c.token)
				}
				return r
			}
			served := httptest.NewRecorder()
			g.ServeHTTP(served, newReq())
			explained := httptest.NewRecorder()
			tr := &Trace{}
			g.ServeTraced(explained, newReq(), tr)

			// The backend echoes the request id, the one thing that differs.
			sb := strings.ReplaceAll(served.Body.String(), served.Header().Get(RequestIDResponseHeader), "ID")
			eb := strings.ReplaceAll(explained.Body.String(), explained.Header().Get(RequestIDResponseHeader), "ID")
			if served.Code != explained.Code || sb != eb {
				t.Errorf("served %d %s, explained %d %s", served.Code, sb, explained.Code, eb)
			}
			sh, eh := served.Header().Clone(), explained.Header().Clone()
			sh.Del(RequestIDResponseHeader)
			eh.Del(RequestIDResponseHeader)
			if fmt.Sprint(sh) != fmt.Sprint(eh) {
				t.Errorf("headers: served %v, explained %v", sh, eh)
			}
			key := ""
			if tr.Route != nil {
				key = tr.Route.Key
			}
			if key != c.route || tr.Reason != c.reason || (len(tr.JWT.stepsOrNil()) > 0) != c.steps {
				t.Errorf("trace: route %q reason %q jwt %+v; want %q %q steps %v", key, tr.Reason, tr.JWT, c.route, c.reason, c.steps)
			}
			response := ""
			if tr.Response != nil {
				response = tr.Response.Type
			}
			if response != c.response {
				t.Errorf("gateway response %q, want %q", response, c.response)
			}
			if c.name == "bad path" && !tr.BadPath {
				t.Error("trace does not say the path was refused")
			}
		})
	}
}

func (j *JWTTrace) stepsOrNil() []any {
	if j == nil {
		return nil
	}
	out := make([]any, len(j.Steps))
	for i := range j.Steps {
		out[i] = j.Steps[i]
	}
	return out
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
