package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// functionPIDs lists the running processes of the function called name.
func functionPIDs(t *testing.T, name string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range entries {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		if slices.Contains(strings.Split(string(env), "\x00"), "AWS_LAMBDA_FUNCTION_NAME="+name) {
			pids = append(pids, e.Name())
		}
	}
	slices.Sort(pids)
	return pids
}

// TestReloadKeepsUnchangedFunctions: a reload leaves the processes of an
// unchanged function running, replaces a changed one's after the grace
// period, and shutdown stops them all.
func TestReloadKeepsUnchangedFunctions(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "authorizer")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/authorizer").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Names unique to this test run, so other tests' functions don't count.
	keep, change := fmt.Sprintf("keep%d", os.Getpid()), fmt.Sprintf("change%d", os.Getpid())
	config := func(version string) string {
		return fmt.Sprintf(`listen: 127.0.0.1:0
server: {shutdown_timeout: 500ms}
functions:
  %[1]s: {runtime: process, command: [%[3]s], concurrency: 2}
  %[2]s: {runtime: process, command: [%[3]s], env: {VERSION: %[4]q}}
authorizers:
  a: {type: lambda, function: %[1]s, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization]}
  b: {type: lambda, function: %[2]s, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization]}
routes:
  - {route: GET /a, authorizer: a, integration: {type: mock, body: a}}
  - {route: GET /b, authorizer: b, integration: {type: mock, body: %[4]q}}
`, keep, change, bin, version)
	}
	r := start(t, config("v1"))
	eventually(t, "processes started", func() bool {
		return len(functionPIDs(t, keep)) == 2 && len(functionPIDs(t, change)) == 1
	})
	if code, body := get(t, r.base+"/b", "Authorization", "Bearer allow-x"); code != 200 || body != "v1" {
		t.Fatalf("GET /b = %d %q", code, body)
	}
	kept, changed := functionPIDs(t, keep), functionPIDs(t, change)

	os.WriteFile(r.cfg, []byte(config("v2")), 0o644)
	r.reload <- struct{}{}
	eventually(t, "v2 served", func() bool {
		_, body := get(t, r.base+"/b", "Authorization", "Bearer allow-y")
		return body == "v2"
	})
	eventually(t, "the changed function's old process retired", func() bool {
		now := functionPIDs(t, change)
		return len(now) == 1 && now[0] != changed[0]
	})
	if now := functionPIDs(t, keep); !slices.Equal(now, kept) {
		t.Errorf("unchanged function restarted on reload: %v, were %v", now, kept)
	}
	if code, _ := get(t, r.base+"/a", "Authorization", "Bearer allow-z"); code != 200 {
		t.Errorf("GET /a after reload = %d", code)
	}

	r.stop()
	<-r.done
	r.done <- nil // for the Cleanup in start
	if left := append(functionPIDs(t, keep), functionPIDs(t, change)...); len(left) > 0 {
		t.Errorf("function processes left after shutdown: %v", left)
	}
}

// TestGoFunctionFromSource: a provided.al2023 function whose code folder is
// Go source is built with go build when the gateway starts and served
// through the Runtime API; check accepts it without building, and source
// that does not compile stops serve with the compiler's message at the
// function's code.
func TestGoFunctionFromSource(t *testing.T) {
	code, err := filepath.Abs("../../examples/authorizer")
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  authz: {runtime: provided.al2023, code: %q, handler: bootstrap}
authorizers:
  a: {type: lambda, function: authz, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization]}
routes:
  - {route: GET /a, authorizer: a, integration: {type: mock, body: ok}}
`, code))
	if code, body := get(t, r.base+"/a", "Authorization", "Bearer allow-x"); code != 200 || body != "ok" {
		t.Errorf("allowed: %d %q", code, body)
	}
	if code, body := get(t, r.base+"/a", "Authorization", "Bearer deny-x"); code != 403 {
		t.Errorf("denied: %d %q", code, body)
	}

	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module broken\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	cfg := filepath.Join(t.TempDir(), "portcullis.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  fn: {runtime: provided.al2023, code: %q}
routes:
  - {route: GET /a, integration: {type: lambda_proxy, function: fn}}
`, broken)), 0o644)
	f, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(f); err != nil {
		t.Errorf("check refused Go source it does not build: %v", err)
	}
	err = Run(context.Background(), Options{ConfigPath: cfg})
	if err == nil || !strings.Contains(err.Error(), "functions.fn.code: go build") || !strings.Contains(err.Error(), "undefinedThing") {
		t.Errorf("serve with broken Go source: %v", err)
	}
}
