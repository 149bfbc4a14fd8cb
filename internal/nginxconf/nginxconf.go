// Package nginxconf writes the configuration of an nginx that keeps
// everything in a prefix directory of its own (pid file, error log, temp
// paths), as the tests and the benchmarks run nginx beside the gateway.
package nginxconf

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write writes dir/nginx.conf and returns its path: nginx in the
// foreground, one worker with workerConnections connections, its pid file,
// error log (level warn) and temp paths in dir, no access log, and http as
// the rest of the http block (upstreams and servers). Run it with
// `nginx -p dir -c path`.
func Write(dir string, workerConnections int, http string) (string, error) {
	text := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections %[2]d; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[3]s}
`, dir, workerConnections, http)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("nginx configuration: %w", err)
	}
	return path, nil
}
