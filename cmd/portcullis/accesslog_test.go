package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/portcullis/portcullis/internal/testlog"
)

// TestAccessLogRotation runs the real binary at --log-level warn with a
// CLF access log in a file, renames the file as logrotate does, and sends
// the reopen signal (SIGUSR2, then SIGHUP): the next lines go to a new file
// of the old name, the earlier ones stay in the renamed file. Waits are
// bounded only against a hang.
func TestAccessLogRotation(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	addr := freePort(t)
	cfg := filepath.Join(dir, "portcullis.yaml")
	os.WriteFile(cfg, []byte(`listen: `+addr+`
access_log:
  format: '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength $context.requestId'
  output: access.log
routes:
  - route: GET /hello
    integration: {type: mock, body: hi}
`), 0o644)
	cmd := exec.Command(bin, "serve", "-c", cfg, "--log-level", "warn")
	stderr := &testlog.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	logPath := filepath.Join(dir, "access.log")
	call := func() string {
		resp, err := http.Get("http://" + addr + "/hello")
		if err != nil {
			return ""
		}
		resp.Body.Close()
		return resp.Header.Get("Apigw-Requestid")
	}
	var first string
	waitFor(t, "the gateway to serve", func() bool { first = call(); return first != "" })
	contains := func(path, id string) bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), id)
	}
	waitFor(t, "the first line", func() bool { return contains(logPath, first) })

	for i, sig := range []syscall.Signal{syscall.SIGUSR2, syscall.SIGHUP} {
		rotated := logPath + "." + string(rune('1'+i))
		if err := os.Rename(logPath, rotated); err != nil {
			t.Fatal(err)
		}
		cmd.Process.Signal(sig)
		waitFor(t, "a new access.log after "+sig.String(), func() bool { _, err := os.Stat(logPath); return err == nil })
		id := call()
		if id == "" {
			t.Fatal("request failed after the reopen")
		}
		waitFor(t, "the line in the new file", func() bool { return contains(logPath, id) })
		if contains(rotated, id) {
			t.Errorf("after %v the line went to the renamed file too", sig)
		}
		if i == 0 && !contains(rotated, first) {
			t.Errorf("the renamed file lost the first line")
		}
	}
	b, _ := os.ReadFile(logPath)
	line := strings.TrimSpace(string(b))
	if !strings.HasPrefix(line, `127.0.0.1 - - [`) || !strings.Contains(line, `] "GET GET /hello HTTP/1.1" 200 2 `) {
		t.Errorf("CLF line: %s", line)
	}
	if strings.Contains(stderr.String(), `"msg":"request"`) {
		t.Errorf("request lines on stderr:\n%s", stderr)
	}
}
