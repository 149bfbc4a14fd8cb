package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/portcullis/portcullis/internal/testbin"
)

// rie finds the Lambda Runtime Interface Emulator (.ci/run installs it and
// sets PORTCULLIS_RIE). Outside CI a missing emulator skips the test.
func rie(t *testing.T) string {
	t.Helper()
	return testbin.Tool(t, "PORTCULLIS_RIE", "aws-lambda-rie",
		"go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest, outside this module")
}

// startEmulator runs the emulator with one of the testdata authorizers.
func startEmulator(t *testing.T, binary string) string {
	t.Helper()
	addr, api := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie(t), "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, binary)
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not on speed
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRemoteRuntimes runs Lambda authorizers through the `http` runtime (a
// plain endpoint) and the `invoke` runtime (the Lambda Invoke API, served by
// the Runtime Interface Emulator around an unchanged aws-lambda-go binary).
func TestRemoteRuntimes(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, "bad event", 400)
			return
		}
		json.NewEncoder(w).Encode(events.APIGatewayV2CustomAuthorizerSimpleResponse{
			IsAuthorized: ev.Headers["authorization"] == "secret", // as testdata/lambda/simpleauth
			Context:      map[string]any{"via": "http", "route": ev.RouteKey},
		})
	}))
	defer plain.Close()

	runtimes := map[string]string{"http": fmt.Sprintf("{runtime: http, url: %q}", plain.URL)}
	if os.Getenv("PORTCULLIS_RIE") != "" || os.Getenv("CI") != "" || lookPath("aws-lambda-rie") {
		// The emulator serves one function, always named "function"; it
		// needs AWS credentials to be present, not valid.
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		url := startEmulator(t, filepath.Join(lambdaBinaries(t), "simpleauth"))
		runtimes["invoke"] = fmt.Sprintf("{runtime: invoke, endpoint: %q, function_name: function, region: us-east-1}", url)
	} else {
		t.Log("invoke runtime not tested: no emulator (see rie)")
	}
	be, got := backend(t)
	for name, fn := range runtimes {
		t.Run(name, func(t *testing.T) {
			srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  authz: %s
authorizers:
  a: {type: lambda, function: authz, payload_format_version: "2.0", enable_simple_responses: true, identity_source: [$request.header.Authorization], result_ttl: 0s}
routes:
  - route: GET /things/{id}
    authorizer: a
    integration:
      type: http_proxy
      uri: %s/things/{id}
      request_parameters: {"overwrite:header.x-route": $context.authorizer.route}
`, fn, be.URL), Deps{})
			h := &harness{gw: srv}
			if resp, body := h.do(t, "GET", "/things/1", http.Header{"Authorization": {"secret"}}, nil); resp.StatusCode != 200 {
				t.Fatalf("allowed: %d %s", resp.StatusCode, body)
			}
			if s := <-got; s.Header.Get("X-Route") != "GET /things/{id}" {
				t.Errorf("context from the %s authorizer: x-route %q", name, s.Header.Get("X-Route"))
			}
			if resp, body := h.do(t, "GET", "/things/1", http.Header{"Authorization": {"no"}}, nil); resp.StatusCode != 403 || body != `{"message":"Forbidden"}` {
				t.Errorf("denied: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func lookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
