package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testredis"
)

// A served gateway whose Redis dies stays ready and serving: /readyz is
// 200 "degraded" naming Redis, the gauge drops to 0 and fallbacks are
// counted, and the log says so in JSON lines. Redis back: ready again,
// with no restart.
func TestReadyzDegradedWhileRedisIsDown(t *testing.T) {
	srv := testredis.Start(t)
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
state:
  redis:
    addresses: [%s]
    timeout: 5s
throttling:
  default: {rate: 1000, burst: 1000}
routes:
  - route: GET /a
    integration: {type: mock, body: ok}
`, srv.Addr))
	eventually(t, "ready", func() bool {
		code, body := get(t, r.admin+"/readyz")
		return code == 200 && strings.Contains(body, `"ready"`)
	})
	if code, _ := get(t, r.base+"/a"); code != 200 {
		t.Fatalf("Redis up: %d", code)
	}
	if v := metric(t, r.admin, `portcullis_state_backend_up{backend="redis"}`); v != "1" {
		t.Errorf("backend_up with Redis up = %q", v)
	}

	srv.Kill()
	if code, _ := get(t, r.base+"/a"); code != 200 {
		t.Fatalf("Redis down (fail_open): %d", code)
	}
	code, body := get(t, r.admin+"/readyz")
	var ready map[string]string
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 || ready["status"] != "degraded" || ready["redis"] == "" {
		t.Fatalf("/readyz with Redis down = %d %s; want 200 degraded naming redis", code, body)
	}
	if v := metric(t, r.admin, `portcullis_state_backend_up{backend="redis"}`); v != "0" {
		t.Errorf("backend_up with Redis down = %q", v)
	}
	if v := metric(t, r.admin, `portcullis_state_fallbacks_total`); v == "" || v == "0" {
		t.Errorf("fallbacks with Redis down = %q", v)
	}

	srv.Restart(t)
	eventually(t, "ready again", func() bool { _, body := get(t, r.admin+"/readyz"); return strings.Contains(body, `"ready"`) })
	if v := metric(t, r.admin, `portcullis_state_backend_up{backend="redis"}`); v != "1" {
		t.Errorf("backend_up after recovery = %q", v)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("a log line that is not JSON: %s", line)
		}
	}
	if !strings.Contains(r.logs.String(), "redis is down") || !strings.Contains(r.logs.String(), "redis is back") {
		t.Errorf("the logs do not say Redis went down and came back:\n%s", r.logs.String())
	}
}
