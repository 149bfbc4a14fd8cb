package main

import (
	"debug/elf"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReleaseBuild builds as `make build` does and checks the result is
// static (no ELF interpreter: it runs on scratch) and reports what -ldflags
// set.
func TestReleaseBuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "portcullis")
	cmd := exec.Command("make", "-s", "-C", "../..", "build", "OUT="+bin, "VERSION=v9.8.7", "COMMIT=0123abc", "DATE=2026-11-01T00:00:00Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the release binary is dynamically linked (has an ELF interpreter)")
		}
	}
	out, _, code := run(t, bin, "version")
	if want := "portcullis v9.8.7 (commit 0123abc, built 2026-11-01T00:00:00Z, go1."; code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("version: exit %d %q, want prefix %q", code, out, want)
	}
}

// TestHealth asks /readyz of a running gateway the ways a probe does.
func TestHealth(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Ready: mock routes only.
	ready := write("ready.yaml", "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n")
	p := startServe(t, bin, ready)
	adminAddr := p.adminAddr()
	readyAt := write("ready-at.yaml", "listen: 127.0.0.1:0\nadmin_listen: "+adminAddr+"\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n")
	if out, errOut, code := run(t, bin, "health", "-c", readyAt); code != 0 || out != "ready\n" {
		t.Errorf("health -c on a ready gateway: exit %d %q %s", code, out, errOut)
	}
	if out, _, code := run(t, bin, "health", "--url", "http://"+adminAddr); code != 0 || out != "ready\n" {
		t.Errorf("health --url on a ready gateway: exit %d %q", code, out)
	}
	// Listening on every interface: asked through loopback.
	_, port, _ := net.SplitHostPort(adminAddr)
	anyAddr := write("any.yaml", "listen: 127.0.0.1:0\nadmin_listen: 0.0.0.0:"+port+"\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n")
	if _, _, code := run(t, bin, "health", "-c", anyAddr); code != 0 {
		t.Errorf("health with admin_listen 0.0.0.0: exit %d", code)
	}

	// Not ready: a JWT authorizer whose keys cannot be fetched.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	waiting := write("waiting.yaml", "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nauthorizers:\n  users: {type: jwt, issuer: 'http://"+deadAddr+"', audience: [a], jwks_uri: 'http://"+deadAddr+"/keys'}\nroutes:\n  - route: GET /a\n    authorizer: users\n    integration: {type: mock}\n")
	q := startServe(t, bin, waiting)
	out, _, code := run(t, bin, "health", "--url", "http://"+q.adminAddr()+"/")
	if code != 1 || !strings.HasPrefix(out, "not ready: 503") || !strings.Contains(out, "users") {
		t.Errorf("health on a gateway without keys: exit %d %q", code, out)
	}
	// Nothing listening.
	if _, _, code := run(t, bin, "health", "--url", "http://"+deadAddr); code != 1 {
		t.Errorf("health with nothing listening: exit %d, want 1", code)
	}
	// No admin listener configured.
	noAdmin := write("noadmin.yaml", "listen: 127.0.0.1:0\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n")
	if _, errOut, code := run(t, bin, "health", "-c", noAdmin); code != 1 || !strings.Contains(errOut, "no admin_listen") {
		t.Errorf("health without admin_listen: exit %d %s", code, errOut)
	}
	if _, _, code := run(t, bin, "health"); code != 2 {
		t.Errorf("health without -c or --url: exit %d, want 2", code)
	}
}

// adminAddr is the admin listener's address from the "serving" log line.
func (p *served) adminAddr() string {
	p.t.Helper()
	if p.admin == "" {
		p.t.Fatal("the gateway logged no admin address")
	}
	return p.admin
}

// TestShutdownDelay stops the real binary as Kubernetes does: after SIGTERM
// /readyz answers 503 at once while the listener still accepts and serves
// new connections, until the delay ends (here: a second SIGTERM, so that
// nothing depends on timing); then the drain and a clean exit.
func TestShutdownDelay(t *testing.T) {
	bin := binary(t)
	cfg := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
server: {shutdown_delay: 10m}
admin_token: 0123456789abcdef-test
routes:
  - route: GET /a
    integration: {type: mock, body: served}
`), 0o644)
	p := startServe(t, bin, cfg)
	adminURL := "http://" + p.adminAddr()
	if code, _ := get(t, adminURL+"/readyz", ""); code != 200 {
		t.Fatalf("readyz before SIGTERM: %d", code)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog("draining: /readyz answers 503, still serving until the delay ends")
	if code, body := get(t, adminURL+"/readyz", ""); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("readyz while draining: %d %s", code, body)
	}
	if code, _ := get(t, adminURL+"/healthz", ""); code != 200 {
		t.Errorf("healthz while draining: %d (a liveness probe must not restart a draining pod)", code)
	}
	// A reload asked while shutting down is refused at once.
	req, _ := http.NewRequest("POST", adminURL+"/reload", nil)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef-test")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 422 || !strings.Contains(string(body), "shutting down") {
			t.Errorf("POST /reload while draining: %d %s", resp.StatusCode, body)
		}
	}
	// A new connection is still accepted and served; its answer asks the
	// client not to reuse the connection.
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get(p.base + "/a")
	if err != nil {
		t.Fatalf("request during the delay: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "served" || !resp.Close {
		t.Errorf("request during the delay: %d %q, Connection: close %v", resp.StatusCode, body, resp.Close)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog("shutdown delay cut short")
	p.waitLog("shutting down")
	p.waitLog("stopped")
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	if _, err := client.Get(p.base + "/a"); err == nil {
		t.Error("the listener still accepts after the process stopped")
	}
}
