//go:build unix

package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// browserResult is what a test page saw of one fetch().
type browserResult struct {
	Status    int    `json:"status"`
	Body      string `json:"body"`
	RequestID string `json:"requestId"` // an exposed header (exposeHeaders)
	Backend   string `json:"backend"`   // a header that is not exposed: must read as ""
	Error     string `json:"error"`     // set when fetch() failed: a CORS failure
}

// browserPage is a page served from its own loopback origin: it calls the
// gateway (another origin) with fetch() and POSTs what it saw back to its
// own server, which hands it to the test.
type browserPage struct {
	URL     string // its origin
	Script  string // the page's script; set before Start
	srv     *httptest.Server
	reports chan map[string]browserResult
}

// newBrowserPage makes a page server with its address; call Start once
// Script is set.
func newBrowserPage(t *testing.T) *browserPage {
	t.Helper()
	p := &browserPage{reports: make(chan map[string]browserResult, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r) // favicon.ico and the like
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>cors test</title><script>%s</script>", p.Script)
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var got map[string]browserResult
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&got); err != nil {
			t.Errorf("page report: %v", err)
		}
		select {
		case p.reports <- got:
		default:
			t.Error("the page reported twice")
		}
	})
	p.srv = httptest.NewUnstartedServer(mux)
	t.Cleanup(p.srv.Close)
	p.URL = "http://" + p.srv.Listener.Addr().String()
	return p
}

// Start serves the page.
func (p *browserPage) Start() { p.srv.Start() }

// pageScript runs calls (name → path and token) against the gateway, in
// order, then reports, then goes to next (if not "").
func pageScript(gateway, next string, calls [][3]string) string {
	js, _ := json.Marshal(map[string]any{"gateway": gateway, "next": next, "calls": calls})
	return `const cfg = ` + string(js) + `;
(async () => {
  const results = {};
  for (const [name, path, token] of cfg.calls) {
    try {
      const r = await fetch(cfg.gateway + path, {credentials: "include", headers: {Authorization: "Bearer " + token}});
      results[name] = {status: r.status, body: await r.text(),
        requestId: r.headers.get("apigw-requestid") || "", backend: r.headers.get("x-backend") || ""};
    } catch (e) {
      results[name] = {error: String(e) || "fetch failed"};
    }
  }
  await fetch("/report", {method: "POST", body: JSON.stringify(results)});
  if (cfg.next) location.href = cfg.next;
})();`
}

// TestCORSInChromium loads pages in a real headless Chromium. A page from
// an allowed origin calls an authorized route with a bearer token and a
// route the token's scopes do not open: it must read the 200 and the 403
// with their bodies (and a 401), not a CORS error, the gateway answering
// the preflights. A page from an origin not allowed must get a CORS
// failure for the same call.
func TestCORSInChromium(t *testing.T) {
	chromium := testbin.Tool(t, "PORTCULLIS_CHROMIUM", "chromium", "apt-get install chromium")
	iss := testissuer.New(t)
	var mu sync.Mutex
	var backendMethods []string
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		backendMethods = append(backendMethods, r.Method)
		mu.Unlock()
		w.Header().Set("X-Backend", "yes")
		w.Header().Set("Access-Control-Allow-Origin", "*") // replaced by the gateway's
		fmt.Fprintf(w, `{"order":%q}`, strings.TrimPrefix(r.URL.Path, "/orders/"))
	}))
	t.Cleanup(be.Close)

	// Two page origins: both on 127.0.0.1, told apart by their ports.
	allowed, other := newBrowserPage(t), newBrowserPage(t)
	gw, _ := corsGateway(t, `listen: 127.0.0.1:0
authorizers:
  users: {type: jwt, issuer: %[1]q, audience: [test-api]}
cors:
  allowOrigins: [%[3]q]
  allowMethods: [GET]
  allowHeaders: [authorization]
  exposeHeaders: [apigw-requestid]
  maxAge: 60
  allowCredentials: true
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration: {type: http_proxy, uri: "%[2]s/orders/{id}"}
  - route: GET /admin
    authorizer: users
    authorization_scopes: [orders:admin]
    integration: {type: http_proxy, uri: "%[2]s/admin"}
`, iss.URL, be.URL, allowed.URL)
	tok := iss.Mint(t, "k1", map[string]any{"scope": "orders:read"})
	calls := [][3]string{
		{"ok", "/orders/7", tok},
		{"forbidden", "/admin", tok},
		{"unauthorized", "/orders/7", "not-a-token"},
	}
	allowed.Script = pageScript(gw.URL, other.URL+"/", calls)
	other.Script = pageScript(gw.URL, "", calls[:1])
	allowed.Start()
	other.Start()

	var out lockedBuffer
	cmd := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
		"--disable-extensions", "--disable-background-networking", "--disable-component-update",
		"--user-data-dir="+t.TempDir(), allowed.URL+"/")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers are ended with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})

	// A guard against hanging forever, not a speed limit: a loaded machine
	// starts Chromium in seconds.
	guard := time.After(3 * time.Minute)
	wait := func(p *browserPage, what string) map[string]browserResult {
		select {
		case got := <-p.reports:
			return got
		case err := <-done:
			t.Fatalf("chromium exited (%v) before the %s page reported:\n%s", err, what, out.String())
		case <-guard:
			t.Fatalf("no report from the %s page after 3 minutes; chromium said:\n%s", what, out.String())
		}
		return nil
	}

	got := wait(allowed, "allowed origin's")
	for name, want := range map[string]browserResult{
		"ok":           {Status: 200, Body: `{"order":"7"}`},
		"forbidden":    {Status: 403, Body: `{"message":"Forbidden"}`},
		"unauthorized": {Status: 401, Body: `{"message":"Unauthorized"}`},
	} {
		r := got[name]
		if r.Error != "" || r.Status != want.Status || r.Body != want.Body {
			t.Errorf("%s: the page saw %+v, want status %d and body %s", name, r, want.Status, want.Body)
		}
		if len(r.RequestID) != 16 {
			t.Errorf("%s: the page read Apigw-Requestid %q: exposeHeaders did not expose it", name, r.RequestID)
		}
		if r.Backend != "" {
			t.Errorf("%s: the page read X-Backend %q, which is not exposed", name, r.Backend)
		}
	}

	got = wait(other, "other origin's")
	if r := got["ok"]; r.Error == "" || r.Status != 0 {
		t.Errorf("a page from an origin not allowed read the answer: %+v; want a CORS failure", r)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range backendMethods {
		if m != "GET" {
			t.Errorf("the backend got a %s: preflights must be answered by the gateway", m)
		}
	}
	if len(backendMethods) == 0 {
		t.Error("the backend was never called")
	}
}

// lockedBuffer is Chromium's output, read by the test while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
