package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary builds the real portcullis command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "portcullis")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestCheck(t *testing.T) {
	bin := binary(t)
	if out, errOut, code := run(t, bin, "check", "-c", "../../examples/local.yaml"); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("check example: code %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: "https://i", audience: [a], jwks_urii: x}
routes:
  - route: GET /orders/{id
    integration: {type: mock}
  - route: GET /b
    authorizer: nobody
    integration: {type: http_proxy, uri: "not a url"}
`), 0o644)
	_, errOut, code := run(t, bin, "check", "-c", bad)
	if code == 0 {
		t.Fatal("check accepted a broken file")
	}
	for _, want := range []string{bad + `:3:58: authorizers.users: unknown key "jwks_urii" (did you mean "jwks_uri"?)`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	// Once the keys are right, every remaining problem is listed with its place.
	os.WriteFile(bad, bytes.Replace(mustRead(t, bad), []byte("jwks_urii"), []byte("jwks_uri"), 1), 0o644)
	_, errOut, code = run(t, bin, "check", "-c", bad)
	for _, want := range []string{bad + ":5:12: routes[0].route:", bad + ":8:17: routes[1].authorizer: unknown authorizer", bad + ":9:42: routes[1].integration.uri:", "jwks_uri: must be an absolute", bad + ": 4 problems\n"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if _, errOut, code := run(t, bin, "serve", "-c", bad); code != 1 || !strings.Contains(errOut, "portcullis serve: 4 problems in "+bad+"; not serving\n") {
		t.Errorf("serve: exit %d, want 1 and the 4 problems counted:\n%s", code, errOut)
	}
	// What serve would refuse, check refuses.
	os.WriteFile(bad, []byte("listen: 8080\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n"), 0o644)
	if _, errOut, code := run(t, bin, "check", "-c", bad); code != 1 || !strings.Contains(errOut, bad+`:1:9: listen: "8080" has no host`) || !strings.Contains(errOut, bad+": 1 problem\n") {
		t.Errorf("listen: 8080: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run(t, bin, "serve", "-c", bad); code != 1 || !strings.Contains(errOut, "portcullis serve: 1 problem in "+bad+"; not serving\n") {
		t.Errorf("serve, listen: 8080: exit %d, want 1 and the problem counted:\n%s", code, errOut)
	}
	// A YAML syntax error: the line and column of the mistake, with words.
	os.WriteFile(bad, []byte("listen: 127.0.0.1:8080\nauthorizers:\n  users:\n    type: jwt\n    issuer: https://i\n   audience: [a]\n"), 0o644)
	if _, errOut, code := run(t, bin, "check", "-c", bad); code != 1 || !strings.Contains(errOut, bad+":6:4: authorizers.users.audience: this line is indented 3 spaces") {
		t.Errorf("mis-indented line: exit %d\n%s", code, errOut)
	}
	if _, _, code := run(t, bin, "check", "-c", filepath.Join(t.TempDir(), "missing.yaml")); code == 0 {
		t.Error("check of a missing file succeeded")
	}
	if _, _, code := run(t, bin, "frobnicate"); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"check", "-h"}, {"token", "mint", "--help"}} {
		if out, errOut, code := run(t, bin, args...); code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, want 0 with the usage on stdout\n%s%s", args, code, out, errOut)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// served is a running `portcullis serve` and its JSON log lines.
type served struct {
	t     *testing.T
	cmd   *exec.Cmd
	base  string
	admin string // the admin listener's address, "" without one
	logs  chan map[string]any
}

func startServe(t *testing.T, bin, cfg string) *served {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-c", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &served{t: t, cmd: cmd, logs: make(chan map[string]any, 100)}
	// Lines queue without bound between the reader and the channel, so a
	// test that reads no log never blocks the process on a full pipe.
	var (
		mu     sync.Mutex
		queue  []map[string]any
		ended  bool
		signal = make(chan struct{}, 1)
	)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				mu.Lock()
				queue = append(queue, m)
				mu.Unlock()
				select {
				case signal <- struct{}{}:
				default:
				}
			}
		}
		mu.Lock()
		ended = true
		mu.Unlock()
		select {
		case signal <- struct{}{}:
		default:
		}
	}()
	go func() {
		for {
			mu.Lock()
			next, done := queue, ended
			queue = nil
			mu.Unlock()
			for _, m := range next {
				p.logs <- m
			}
			if done && len(next) == 0 {
				close(p.logs)
				return
			}
			if len(next) == 0 {
				<-signal
			}
		}
	}()
	serving := p.waitLog("serving")
	p.base = "http://" + serving["listen"].(string)
	p.admin, _ = serving["admin"].(string)
	return p
}

func (p *served) waitLog(msg string) map[string]any {
	p.t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case m, ok := <-p.logs:
			if !ok {
				p.t.Fatalf("process ended before logging %q", msg)
			}
			if m["msg"] == msg {
				return m
			}
		case <-timeout:
			p.t.Fatalf("no %q log line", msg)
		}
	}
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestExampleFlow runs the README's example as a user would: serve the
// shipped config, mint a token with the shipped key, call the API, reload
// with SIGHUP and stop with SIGTERM.
func TestExampleFlow(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
	for _, f := range []string{"keys/dev-private.pem", "keys/dev-public.pem"} {
		os.WriteFile(filepath.Join(dir, f), mustRead(t, "../../examples/"+f), 0o600)
	}
	example := string(mustRead(t, "../../examples/local.yaml"))
	example = strings.Replace(example, "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1)
	example = strings.Replace(example, "admin_listen: 127.0.0.1:9901", "admin_listen: 127.0.0.1:0", 1)
	cfg := filepath.Join(dir, "local.yaml")
	os.WriteFile(cfg, []byte(example), 0o644)

	p := startServe(t, bin, cfg)
	base := p.base

	tok, errOut, code := run(t, bin, "token", "mint", "--key", filepath.Join(dir, "keys/dev-private.pem"),
		"--iss", "https://dev.portcullis.local", "--aud", "local-api", "--sub", "alice", "--scope", "orders:read")
	if code != 0 {
		t.Fatalf("mint: %s", errOut)
	}
	tok = strings.TrimSpace(tok)
	call := func(path, token string) (int, string) { return get(t, base+path, token) }
	if code, body := call("/orders/42", tok); code != 200 || !strings.Contains(body, "demo") {
		t.Errorf("with token: %d %s", code, body)
	}
	if code, body := call("/orders/42", ""); code != 401 || body != `{"message":"Unauthorized"}` {
		t.Errorf("without token: %d %s", code, body)
	}
	if code, body := call("/admin/users", tok); code != 403 || body != `{"message":"Forbidden"}` {
		t.Errorf("without scope: %d %s", code, body)
	}
	if code, _ := call("/status", ""); code != 200 {
		t.Errorf("status: %d", code)
	}

	// SIGHUP reloads; a broken file keeps the old config serving.
	os.WriteFile(cfg, []byte(strings.Replace(example, "you passed the JWT authorizer", "reloaded", 1)), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog("configuration reloaded")
	if _, body := call("/orders/42", tok); !strings.Contains(body, "reloaded") {
		t.Errorf("after SIGHUP: %s", body)
	}
	os.WriteFile(cfg, []byte("routes: [\n"), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog("reload refused; the running configuration keeps serving")
	if code, _ := call("/orders/42", tok); code != 200 {
		t.Errorf("after broken reload: %d", code)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog("stopped")
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// TestKeygenAndJWKSFile mints with a generated key and verifies through a
// jwks_file config, kid and all.
func TestKeygenAndJWKSFile(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	for _, kind := range []string{"rsa", "ec", "ed25519"} {
		out := filepath.Join(dir, kind)
		if _, errOut, code := run(t, bin, "token", "keygen", "--out", out, "--type", kind, "--kid", kind+"-1"); code != 0 {
			t.Fatalf("keygen %s: %s", kind, errOut)
		}
		if _, _, code := run(t, bin, "token", "keygen", "--out", out); code == 0 {
			t.Errorf("keygen overwrote %s", out)
		}
		if info, _ := os.Stat(filepath.Join(out, "private.pem")); info == nil || info.Mode().Perm() != 0o600 {
			t.Errorf("private key mode: %v", info)
		}
		cfg := filepath.Join(out, "p.yaml")
		os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nauthorizers:\n  a: {type: jwt, issuer: 'https://i', audience: [x], jwks_file: jwks.json}\nroutes:\n  - route: GET /a\n    authorizer: a\n    integration: {type: mock}\n"), 0o644)
		if out, errOut, code := run(t, bin, "check", "-c", cfg); code != 0 {
			t.Errorf("check %s: %s%s", kind, out, errOut)
		}
		tok, errOut, code := run(t, bin, "token", "mint", "--key", filepath.Join(out, "private.pem"), "--kid", kind+"-1", "--iss", "https://i", "--aud", "x", "--sub", "s", "--ttl", "5m")
		if code != 0 || strings.Count(tok, ".") != 2 {
			t.Fatalf("mint %s: %q %s", kind, tok, errOut)
		}
		p := startServe(t, bin, cfg)
		if code, body := get(t, p.base+"/a", strings.TrimSpace(tok)); code != 200 {
			t.Errorf("%s token through jwks_file: %d %s", kind, code, body)
		}
		other, _, _ := run(t, bin, "token", "mint", "--key", filepath.Join(out, "private.pem"), "--kid", "other", "--iss", "https://i", "--aud", "x")
		if code, _ := get(t, p.base+"/a", strings.TrimSpace(other)); code != 401 {
			t.Errorf("%s token with an unknown kid: %d, want 401", kind, code)
		}
	}
	if _, errOut, code := run(t, bin, "token", "mint", "--key", filepath.Join(dir, "ec", "private.pem"), "--alg", "RS256", "--iss", "i"); code == 0 || !strings.Contains(errOut, "does not fit") {
		t.Errorf("mint with a mismatched --alg: code %d %s", code, errOut)
	}
}

func TestTokenInspectAndVerify(t *testing.T) {
	bin := binary(t)
	mint := func(extra ...string) string {
		t.Helper()
		args := append([]string{"token", "mint", "--key", "../../examples/keys/dev-private.pem",
			"--iss", "https://dev.portcullis.local", "--aud", "local-api", "--sub", "alice"}, extra...)
		out, errOut, code := run(t, bin, args...)
		if code != 0 {
			t.Fatalf("mint: %s", errOut)
		}
		return strings.TrimSpace(out)
	}
	tok := mint("--scope", "orders:read", "--claim", "tenant=acme")

	out, _, code := run(t, bin, "token", "inspect", tok)
	for _, want := range []string{"NOT VERIFIED", `"sub": "alice"`, `"tenant": "acme"`, "exp", "(in "} { // "in 59m59s" or "in 1h0m0s"
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("inspect exit %d", code)
	}
	if _, _, code := run(t, bin, "token", "inspect", "not-a-token"); code == 0 {
		t.Error("inspect accepted junk")
	}

	cfg := "../../examples/local.yaml"
	cases := []struct {
		name, route, token string
		code               int
		want               []string
	}{
		{"allowed", "GET /orders/7", tok, 0, []string{"GET /orders/{id}", "RSA 2048-bit public key", "valid RS256 signature", `principal "alice"`, "ALLOW", "mock integration answers 200"}},
		{"scope", "GET /admin/x", tok, 1, []string{"ANY /admin/{proxy+}", "needs one of [admin]", `DENY: 403 {"message":"Forbidden"}`}},
		{"expired", "GET /orders/7", mint("--scope", "orders:read", "--ttl", "-1m"), 1, []string{"claims     ✗ expired", `DENY: 401 {"message":"Unauthorized"}`}},
		{"wrong audience", "GET /orders/7", strings.TrimSpace(func() string {
			o, _, _ := run(t, bin, "token", "mint", "--key", "../../examples/keys/dev-private.pem", "--iss", "https://dev.portcullis.local", "--aud", "other", "--sub", "x")
			return o
		}()), 1, []string{"bad_audience"}},
		{"no route", "GET /nowhere", tok, 1, []string{"matches no route"}},
		{"public", "GET /status", tok, 0, []string{"public route", "ALLOW"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, bin, "token", "verify", "-c", cfg, "--route", c.route, c.token)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, strings.Split(c.token, ".")[2]) {
				t.Error("verify printed the token's signature")
			}
		})
	}
}

// TestLambdaExample runs examples/lambda.yaml as the README says: build the
// unchanged aws-lambda-go authorizer, serve, call.
func TestLambdaExample(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "authorizer"), "../../examples/authorizer").CombinedOutput(); err != nil {
		t.Fatalf("go build authorizer: %v\n%s", err, out)
	}
	example := string(mustRead(t, "../../examples/lambda.yaml"))
	example = strings.Replace(example, "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1)
	example = strings.Replace(example, "admin_listen: 127.0.0.1:9901", "admin_listen: 127.0.0.1:0", 1)
	cfg := filepath.Join(dir, "lambda.yaml")
	os.WriteFile(cfg, []byte(example), 0o644)
	p := startServe(t, bin, cfg)

	cases := []struct {
		token  string
		status int
		body   string
	}{
		{"allow-alice", 200, `{"pet":"rex","note":"the Lambda authorizer allowed you"}`},
		{"deny-bob", 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{"nobody", 401, `{"message":"Unauthorized"}`},
		{"fail", 500, `{"message":null}`},
		{"", 401, `{"message":"Unauthorized"}`},
	}
	for _, c := range cases {
		if code, body := get(t, p.base+"/pets/1", c.token); code != c.status || body != c.body {
			t.Errorf("token %q: %d %s, want %d %s", c.token, code, body, c.status, c.body)
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog("stopped")
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	// The authorizer processes stopped with the gateway.
	if pids := running(t, filepath.Join(dir, "bin", "authorizer")); len(pids) > 0 {
		t.Errorf("authorizer processes left running: %v", pids)
	}
}

// running lists the processes whose command line starts with path.
func running(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(cmdline), path) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// TestLambdaBackendExample runs examples/lambda-backend.yaml as the README
// says: a Lambda function behind the JWT authorizer.
func TestLambdaBackendExample(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "lambda-backend"), "../../examples/lambda-backend").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
	os.WriteFile(filepath.Join(dir, "keys", "dev-public.pem"), mustRead(t, "../../examples/keys/dev-public.pem"), 0o644)
	example := string(mustRead(t, "../../examples/lambda-backend.yaml"))
	example = strings.Replace(example, "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1)
	example = strings.Replace(example, "admin_listen: 127.0.0.1:9901", "admin_listen: 127.0.0.1:0", 1)
	cfg := filepath.Join(dir, "lambda-backend.yaml")
	os.WriteFile(cfg, []byte(example), 0o644)
	p := startServe(t, bin, cfg)

	tok, _, _ := run(t, bin, "token", "mint", "--key", "../../examples/keys/dev-private.pem", "--iss", "https://dev.portcullis.local",
		"--aud", "local-api", "--sub", "alice", "--scope", "orders:read", "--claim", "tenant=acme")
	tok = strings.TrimSpace(tok)
	if code, body := get(t, p.base+"/orders/42", tok); code != 200 || body != `{"order":"42","owner":"alice","route":"ANY /orders/{proxy+}","scopes":["orders:read"],"tenant":"acme"}` {
		t.Errorf("GET: %d %s", code, body)
	}
	post := func(body io.Reader) (*http.Response, string) {
		req, _ := http.NewRequest("POST", p.base+"/orders/new", body)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := post(strings.NewReader(`{"item":"book"}`))
	if resp.StatusCode != 201 || body != `{"created_by":"alice","item":"book"}` || !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "last-order=") {
		t.Errorf("POST: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = post(strings.NewReader(`{"item":"` + strings.Repeat("x", 7<<20) + `"}`))
	if resp.StatusCode != 413 || body != `{"message":"Request Entity Too Large"}` {
		t.Errorf("7 MiB body: %d %s", resp.StatusCode, body)
	}
	if code, _ := get(t, p.base+"/orders/42", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
}
