package decision

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// lambdaFunctions are the gateway's aws-lambda-go test programs; the REQUEST
// authorizer reads a header and the query string.
var lambdaFunctions = testbin.New("../gateway/testdata/lambda", "requestauth")

// harnessConfig: a JWT route whose mapping copies the subject (and a claim
// most tokens lack, so its spoofed copy must be removed), a public route, and
// a Lambda REQUEST authorizer route reading a header and the query string.
const harnessConfig = `listen: 127.0.0.1:0
api: {id: petsapi, stage: prod, region: eu-west-1, account_id: "123456789012"}
functions:
  requestauth: {runtime: process, command: [%[1]s/requestauth]}
authorizers:
  users: {type: jwt, issuer: %[2]q, audience: [test-api]}
  request:
    type: lambda
    function: requestauth
    payload_format_version: "1.0"
    identity_source: [$request.header.X-Api-Key, $request.querystring.tenant]
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration:
      type: http_proxy
      uri: %[3]s/orders/{id}
      request_parameters:
        "overwrite:header.x-user": $context.authorizer.claims.sub
        "overwrite:header.x-tenant": $context.authorizer.claims.tenant
  - route: GET /public
    integration: {type: http_proxy, uri: %[3]s/public}
  - route: ANY /pets/{id}
    authorizer: request
    integration:
      type: http_proxy
      uri: %[3]s/pets/{id}
      request_parameters:
        "overwrite:header.x-principal": $context.authorizer.principalId
        "overwrite:header.x-quota": $context.authorizer.quota
`

// harness is one gateway served three ways on loopback: as the gateway
// (to a backend that echoes the headers it received), as the HTTP decision
// API and as the ext_authz gRPC service.
type harness struct {
	iss        *testissuer.Issuer
	reg        *prometheus.Registry
	log        *syncBuffer
	gw         *gateway.Gateway
	gateway    string // the gateway's base URL
	decision   string // the HTTP decision API's base URL
	grpcAddr   string
	authz      authv3.AuthorizationClient
	backend    *echoBackend
	backendURL string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{iss: testissuer.New(t), reg: prometheus.NewRegistry(), log: &syncBuffer{}, backend: &echoBackend{}}
	be := httptest.NewServer(h.backend)
	t.Cleanup(be.Close)
	h.backendURL = be.URL
	f, err := config.Parse("decision.yaml", fmt.Appendf(nil, harnessConfig, lambdaFunctions.Dir(t), h.iss.URL, be.URL), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	h.gw, err = gateway.Build(f, gateway.Deps{Metrics: gateway.NewMetrics(h.reg), Logger: slog.New(slog.NewJSONHandler(h.log, nil)), AccessLog: h.log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.gw.Start(ctx)
	t.Cleanup(func() { cancel(); h.gw.Close(nil) })
	current := func() *gateway.Gateway { return h.gw }

	gs := httptest.NewServer(h.gw)
	t.Cleanup(gs.Close)
	h.gateway = gs.URL
	ds := httptest.NewServer(NewHTTP(current, nil))
	t.Cleanup(ds.Close)
	h.decision = ds.URL

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(MaxCheckRequestBytes))
	NewExtAuthz(current).Register(srv)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	h.grpcAddr = ln.Addr().String()
	conn, err := grpc.NewClient("passthrough:///"+h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h.authz = authv3.NewAuthorizationClient(conn)
	return h
}

// token is a valid token for the orders route (scope orders:read) unless
// scopes say otherwise.
func (h *harness) token(t *testing.T, claims map[string]any) string {
	t.Helper()
	if claims == nil {
		claims = map[string]any{"scope": "orders:read"}
	}
	return h.iss.Mint(t, "k1", claims)
}

// reply is what an HTTP exchange came to.
type reply struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// echoBackend answers every request with the headers it received, as JSON,
// and counts the requests.
type echoBackend struct {
	mu   sync.Mutex
	hits int
}

func (b *echoBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.hits++
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(r.Header)
}

func (b *echoBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// metric is the value of the counter name with exactly labels, 0 if none.
func metric(t *testing.T, h *harness, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
