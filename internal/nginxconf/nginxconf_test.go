package nginxconf

import (
	"os"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path, err := Write(dir, 64, "  server { listen 127.0.0.1:1; }\n")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"pid " + dir + "/nginx.pid;",
		"error_log " + dir + "/error.log warn;",
		"events { worker_connections 64; }",
		"proxy_temp_path " + dir + "/proxy;",
		"  server { listen 127.0.0.1:1; }\n}\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, text)
		}
	}
}
