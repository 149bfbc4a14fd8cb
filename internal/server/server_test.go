package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testlog"
)

type running struct {
	base, admin string
	reload      chan struct{}
	rotate      chan struct{}
	stop        context.CancelFunc
	done        chan error
	logs        *testlog.Buffer
	cfg         string
}

func start(t *testing.T, yaml string) *running {
	t.Helper()
	return startWith(t, yaml, nil)
}

// startWith is start with a last say on the options.
func startWith(t *testing.T, yaml string, adjust func(*Options)) *running {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &running{reload: make(chan struct{}), rotate: make(chan struct{}), done: make(chan error, 1), logs: &testlog.Buffer{}, cfg: cfg}
	// After the server stops (cleanups run last first): no log line of a
	// whole run names a key twice.
	t.Cleanup(func() {
		if lines := r.logs.RepeatedKeys(); len(lines) > 0 {
			t.Errorf("log lines with a key given twice:\n%s", strings.Join(lines, "\n"))
		}
	})
	hurry := make(chan struct{})
	close(hurry) // tests stop at once; TestShutdownDelay tests the delay
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	started := make(chan struct{})
	o := Options{
		ConfigPath: cfg,
		Logger:     slog.New(slog.NewJSONHandler(r.logs, nil)),
		Stderr:     r.logs, // the access log's stream, as the process log's
		Reload:     r.reload,
		Rotate:     r.rotate,
		Hurry:      hurry,
		Started: func(l, a net.Addr) {
			r.base = "http://" + l.String()
			if a != nil {
				r.admin = "http://" + a.String()
			}
			close(started)
		},
	}
	if adjust != nil {
		adjust(&o)
	}
	go func() { r.done <- Run(ctx, o) }()
	select {
	case <-started:
	case err := <-r.done:
		t.Fatalf("Run returned before serving: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const cfgTemplate = `listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %q, audience: [test-api]}
routes:
  - route: GET /hello
    authorizer: users
    integration: {type: mock, body: %q}
  - route: GET /slow
    integration: {type: http_proxy, uri: %q}
`

func TestAdminReadinessAndReload(t *testing.T) {
	iss := testissuer.New(t)
	iss.Down.Store(true) // not ready until the issuer answers
	r := start(t, fmt.Sprintf(cfgTemplate, iss.URL, "v1", "http://127.0.0.1:1/"))

	if code, _ := get(t, r.admin+"/healthz"); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.logs.String())
		}
	})
	if code, body := get(t, r.admin+"/readyz"); code != 503 || !strings.Contains(body, "users") {
		t.Errorf("readyz before keys = %d %s", code, body)
	}
	iss.Down.Store(false)
	eventually(t, "readyz 200", func() bool { code, _ := get(t, r.admin+"/readyz"); return code == 200 })

	tok := iss.Mint(t, "k1", nil)
	if code, body := get(t, r.base+"/hello", "Authorization", "Bearer "+tok); code != 200 || body != "v1" {
		t.Fatalf("GET /hello = %d %q", code, body)
	}
	fetches := iss.JWKSFetches.Load()

	// A good reload takes effect and keeps the keys (no refetch needed).
	os.WriteFile(r.cfg, []byte(fmt.Sprintf(cfgTemplate, iss.URL, "v2", "http://127.0.0.1:1/")), 0o644)
	r.reload <- struct{}{}
	eventually(t, "v2", func() bool {
		_, body := get(t, r.base+"/hello", "Authorization", "Bearer "+tok)
		return body == "v2"
	})
	if code, _ := get(t, r.admin+"/readyz"); code != 200 {
		t.Errorf("readyz after reload = %d", code)
	}
	if n := iss.JWKSFetches.Load(); n != fetches {
		t.Errorf("reload refetched keys: %d fetches, had %d", n, fetches)
	}

	// A broken file is reported and the running configuration keeps serving.
	os.WriteFile(r.cfg, []byte("listen: 127.0.0.1:0\nroutes:\n  - route: nonsense\n"), 0o644)
	r.reload <- struct{}{}
	eventually(t, "reload refusal logged", func() bool { return strings.Contains(r.logs.String(), "reload refused") })
	if !strings.Contains(r.logs.String(), "portcullis.yaml:3:12") {
		t.Errorf("refusal does not locate the problem:\n%s", r.logs)
	}
	if code, body := get(t, r.base+"/hello", "Authorization", "Bearer "+tok); code != 200 || body != "v2" {
		t.Errorf("after broken reload: %d %q", code, body)
	}
	if code, body := get(t, r.admin+"/metrics"); code != 200 || !strings.Contains(body, `portcullis_requests_total{mode="gateway",route="GET /hello",status="200"}`) {
		t.Errorf("metrics = %d, lacks request counter", code)
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}))
	defer slow.Close()
	iss := testissuer.New(t)
	r := start(t, fmt.Sprintf(cfgTemplate, iss.URL, "v1", slow.URL))

	type result struct {
		code int
		body string
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(r.base + "/slow")
		if err != nil {
			got <- result{0, err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{resp.StatusCode, string(b)}
	}()
	<-entered
	r.stop()
	// New connections are refused once shutdown began...
	eventually(t, "listener closed", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(r.base, "http://"), hangGuard)
		if err == nil {
			c.Close() // an unused open connection would hold Shutdown for 5s
		}
		return err != nil && !isTimeoutErr(err) // refused, not merely slow
	})
	// ...while the request in flight still completes.
	close(release)
	res := <-got
	if res.code != 200 || res.body != "finished" {
		t.Fatalf("in-flight request: %d %q", res.code, res.body)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
		r.done <- nil // for Cleanup
	case <-time.After(hangGuard):
		t.Fatalf("Run has not returned %v after shutdown", hangGuard)
	}
}

func TestConfigErrorsBeforeListening(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nroutes:\n  - route: GET /a\n    authorizer: ghost\n    integration: {type: mock}\n"), 0o644)
	err := Run(context.Background(), Options{ConfigPath: cfg})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4:17: routes[0].authorizer") {
		t.Fatalf("Run = %v", err)
	}
}

func jsonB64(seg string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(seg) }
