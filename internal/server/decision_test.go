package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis/portcullis/internal/decision"
)

const decisionTemplate = `listen: 127.0.0.1:0
decision_api: {listen: %q, grpc_listen: %q}
authorizers:
  users: {type: jwt, issuer: http://127.0.0.1:1, audience: [test-api]}
routes:
  - route: GET /closed
    authorizer: users
    integration: {type: mock}
  - route: GET /open
    %s
    integration: {type: mock}
`

// TestDecisionAPIServed: serve answers on decision_api's two listeners with
// the gateway serving now, a reloaded one included.
func TestDecisionAPIServed(t *testing.T) {
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	r := start(t, fmt.Sprintf(decisionTemplate, httpAddr, grpcAddr, ""))
	conn, err := grpc.NewClient("passthrough:///"+grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	authz := authv3.NewAuthorizationClient(conn)
	decide := func(path string) (int, codes.Code) {
		code, _ := get(t, "http://"+httpAddr+decision.PathTraefik, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", path)
		resp, err := authz.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: path, Host: "api"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return code, codes.Code(resp.GetStatus().GetCode())
	}
	if h, g := decide("/open"); h != http.StatusOK || g != codes.OK {
		t.Errorf("/open: HTTP %d, gRPC %v; want 200, OK", h, g)
	}
	if h, g := decide("/closed"); h != http.StatusUnauthorized || g != codes.Unauthenticated {
		t.Errorf("/closed: HTTP %d, gRPC %v; want 401, Unauthenticated", h, g)
	}
	// A reload that closes /open is what both listeners decide with.
	if err := os.WriteFile(r.cfg, fmt.Appendf(nil, decisionTemplate, httpAddr, grpcAddr, "authorizer: users"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.reload <- struct{}{}
	eventually(t, "the reload", func() bool { h, g := decide("/open"); return h == 401 && g == codes.Unauthenticated })
}

// TestDecisionAPIDraining: while serve drains (SIGTERM, shutdown_delay),
// the decision API still decides and, as the gateway listener, asks the
// proxy to close the connection after the answer, so its kept-alive
// connections move to another replica.
func TestDecisionAPIDraining(t *testing.T) {
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	hurry := make(chan struct{})
	r := startWith(t, "server: {shutdown_delay: 10m}\n"+fmt.Sprintf(decisionTemplate, httpAddr, grpcAddr, ""),
		func(o *Options) { o.Hurry = hurry })
	defer close(hurry) // before startWith's cleanup waits for Run
	r.stop()
	eventually(t, "the drain", func() bool { return strings.Contains(r.logs.String(), "draining") })
	req, _ := http.NewRequest("GET", "http://"+httpAddr+decision.PathTraefik, nil)
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Uri", "/open")
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("decision while draining: %d, Connection: close %v; want 200, true", resp.StatusCode, resp.Close)
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
