package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/portcullis/portcullis/internal/nginxconf"
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
	conf, err := nginxconf.Write(dir, 256, httpBlock)
	if err != nil {
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
