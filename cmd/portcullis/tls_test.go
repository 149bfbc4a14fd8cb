package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testbin"
)

// TestMutualTLSExample follows the README's "Mutual TLS in one minute":
// cert dev, examples/mtls.yaml, curl with and without the client
// certificate.
func TestMutualTLSExample(t *testing.T) {
	curl := testbin.Tool(t, "", "curl", "apt-get install curl")
	bin := binary(t)
	dir := t.TempDir()
	out, errOut, code := run(t, bin, "cert", "dev", "--out", filepath.Join(dir, "certs"))
	if code != 0 || !strings.Contains(out, "client-key.pem") {
		t.Fatalf("cert dev: %d %s %s", code, out, errOut)
	}
	if _, _, code := run(t, bin, "cert", "dev", "--out", filepath.Join(dir, "certs")); code == 0 {
		t.Error("cert dev replaced existing files")
	}
	for name, perm := range map[string]os.FileMode{"ca-key.pem": 0o600, "server-key.pem": 0o600, "client-key.pem": 0o600, "ca.pem": 0o644} {
		if fi, err := os.Stat(filepath.Join(dir, "certs", name)); err != nil || fi.Mode().Perm() != perm {
			t.Errorf("%s: %v %v, want mode %v", name, fi.Mode(), err, perm)
		}
	}
	addr := freePort(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	example := strings.Replace(string(mustRead(t, "../../examples/mtls.yaml")), "127.0.0.1:8443", addr, 1)
	cfg := filepath.Join(dir, "mtls.yaml")
	if err := os.WriteFile(cfg, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, bin, "check", "-c", cfg); code != 0 {
		t.Fatalf("check: %s %s", out, errOut)
	}
	p := startServe(t, bin, cfg)
	go func() {
		for range p.logs {
		}
	}()
	curlOut := func(args ...string) (string, error) {
		cmd := exec.Command(curl, append([]string{"-sS", "--max-time", "60"}, args...)...)
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	url := "https://localhost:" + port + "/hello"
	if got, err := curlOut("--cacert", "certs/ca.pem", "--cert", "certs/client.pem", "--key", "certs/client-key.pem", url); err != nil || got != `{"message":"hello, certified client"}` {
		t.Errorf("with the client certificate: %q %v", got, err)
	}
	if got, err := curlOut("--cacert", "certs/ca.pem", url); err == nil {
		t.Errorf("without a client certificate: %q, want the handshake refused", got)
	}
}
