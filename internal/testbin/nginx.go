package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Nginx runs a real nginx (found as Tool finds it, else the test is skipped
// or fails) in its own temporary prefix directory, with httpBlock as the
// inside of its http block (after access_log off and the prefix's temp
// paths). nginx stops gracefully (SIGQUIT) when the test ends; if the test
// failed, its stderr and error.log are logged. Nginx returns once nginx has
// started, not once it listens: the caller waits for its listener.
func Nginx(t testing.TB, httpBlock string) {
	t.Helper()
	nginx := Tool(t, "", "nginx", "apt-get install -y nginx")
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	text := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s}
`, dir, httpBlock)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", conf)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx: %s\n%s", stderr.String(), b)
		}
	})
}
