package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The shutdown timeout is far longer than a request in flight takes, even on
// a loaded machine: it is not what the test is about.
const zeroDropConfig = `listen: 127.0.0.1:0
server: {shutdown_timeout: 1m, idle_timeout: 30s}
authorizers:
  dev: {type: jwt, issuer: https://dev.portcullis.local, audience: [local-api], jwks_file: keys/dev-public.pem}
routes:
  - route: GET /version
    integration: {type: mock, body: %[1]q}
  - route: GET /orders/{id}
    authorizer: dev
    integration: {type: http_proxy, uri: "%[2]s/orders/{id}"}
  - route: GET /slow
    integration: {type: http_proxy, uri: "%[2]s/slow"}
`

// TestFaultZeroDropReloadAndStop: under steady load from 8 clients, 20
// SIGHUP reloads (alternating two valid configurations) and then SIGTERM.
// Every request gets the right answer for its route, or, once the listener
// has closed, a refused connection: no wrong answer, no reset or cut
// response for a request already accepted. The clients run until the
// listener is gone, and each reload (and the SIGTERM) comes only once
// requests have completed since the one before, so traffic flows across
// every reload however slow the machine is; no clock paces anything.
func TestFaultZeroDropReloadAndStop(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
	os.WriteFile(filepath.Join(dir, "keys", "dev-public.pem"), mustRead(t, "../../examples/keys/dev-public.pem"), 0o644)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
			io.WriteString(w, "slow")
			return
		}
		io.WriteString(w, "order "+strings.TrimPrefix(r.URL.Path, "/orders/"))
	}))
	defer be.Close()
	cfg := filepath.Join(dir, "p.yaml")
	write := func(version string) {
		// Write then rename, as config management does, so a reload never
		// reads half a file.
		tmp := cfg + ".tmp"
		os.WriteFile(tmp, []byte(fmt.Sprintf(zeroDropConfig, version, be.URL)), 0o644)
		os.Rename(tmp, cfg)
	}
	write("A")
	p := startDraining(t, bin, cfg)
	tok, errOut, code := run(t, bin, "token", "mint", "--key", "../../examples/keys/dev-private.pem",
		"--iss", "https://dev.portcullis.local", "--aud", "local-api", "--sub", "alice", "--ttl", "5m")
	if code != 0 {
		t.Fatalf("mint: %s", errOut)
	}
	tok = strings.TrimSpace(tok)

	var stopping atomic.Bool // SIGTERM sent
	var ok, wrong, refused, failed, refusedEarly atomic.Int64
	var mu sync.Mutex
	var failures []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	const clients = 8
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}, Timeout: hangGuard}
			defer client.Transport.(*http.Transport).CloseIdleConnections()
			for i := 0; ; i++ {
				var path, want, auth string
				wantStatus := 200
				switch (w + i) % 4 {
				case 0:
					path = "/version"
				case 1:
					path, want, auth = fmt.Sprintf("/orders/%d", i), fmt.Sprintf("order %d", i), "Bearer "+tok
				case 2:
					path, want, wantStatus = "/orders/1", `{"message":"Unauthorized"}`, 401
				case 3:
					path, want = "/slow", "slow"
				}
				req, _ := http.NewRequest("GET", p.base+path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := client.Do(req)
				if err != nil {
					// After SIGTERM the listener closes: a connection then
					// is refused, or, if it was still in the kernel's
					// accept queue, reset; either way its request never
					// reached the gateway.
					if errors.Is(err, syscall.ECONNREFUSED) || stopping.Load() && errors.Is(err, syscall.ECONNRESET) {
						if !stopping.Load() {
							refusedEarly.Add(1)
							note("refused before SIGTERM: %s", path)
						}
						refused.Add(1)
						return // the listener is gone; this client is done
					}
					failed.Add(1)
					when := "before SIGTERM"
					if stopping.Load() {
						when = "after SIGTERM"
					}
					note("%s (%s): %v", path, when, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					failed.Add(1)
					note("%s: reading the body: %v", path, err)
				case resp.StatusCode != wantStatus,
					path == "/version" && string(body) != "A" && string(body) != "B",
					path != "/version" && string(body) != want:
					wrong.Add(1)
					note("%s: %d %q", path, resp.StatusCode, body)
				default:
					ok.Add(1)
				}
			}
		})
	}

	// flowing waits until as many more requests as there are clients have
	// completed correctly.
	flowing := func(when string) {
		t.Helper()
		want := ok.Load() + clients
		deadline := time.Now().Add(hangGuard) // a bound on waiting, not on speed
		for ok.Load() < want {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s: only %d of %d requests completed within %v (wrong %d, failed %d):\n%s",
					when, ok.Load()-want+clients, clients, hangGuard, wrong.Load(), failed.Load(), strings.Join(failures, "\n"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// 20 reloads, alternating the two configurations.
	flowing("before the first reload")
	for i := range 20 {
		write([]string{"B", "A"}[i%2])
		p.cmd.Process.Signal(syscall.SIGHUP)
		p.wait(t, "configuration reloaded")
		flowing(fmt.Sprintf("after reload %d", i+1))
	}
	stopping.Store(true)
	p.cmd.Process.Signal(syscall.SIGTERM)
	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	select {
	case <-ended: // every client saw the listener close
	case <-time.After(hangGuard):
		t.Fatalf("clients still served %v after SIGTERM", hangGuard)
	}
	p.wait(t, "stopped")
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}

	t.Logf("correct %d, wrong %d, failed or cut %d, refused after SIGTERM %d, refused before %d",
		ok.Load(), wrong.Load(), failed.Load(), refused.Load()-refusedEarly.Load(), refusedEarly.Load())
	if wrong.Load() > 0 || failed.Load() > 0 || refusedEarly.Load() > 0 {
		t.Errorf("dropped or wrong requests:\n%s", strings.Join(failures, "\n"))
	}
	if n := refused.Load(); n != clients {
		t.Errorf("%d clients saw the listener close, want all %d", n, clients)
	}
}

// hangGuard bounds waiting for what must happen however loaded the machine
// is: a bound on hanging, never on speed.
const hangGuard = 30 * time.Second

// draining is a running `portcullis serve` whose log is read as fast as it
// is written (one line per request would otherwise fill the pipe and stall
// the gateway), keeping only the lines that mark its life cycle.
type draining struct {
	cmd    *exec.Cmd
	base   string
	events chan string

	mu      sync.Mutex
	unusual []string // 5xx and cut requests, warnings and errors: printed if the test fails
}

func startDraining(t *testing.T, bin, cfg string) *draining {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-c", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	d := &draining{cmd: cmd, events: make(chan string, 1000)}
	t.Cleanup(func() {
		if t.Failed() {
			d.mu.Lock()
			defer d.mu.Unlock()
			t.Logf("the gateway's unusual log lines:\n%s", strings.Join(d.unusual, "\n"))
		}
	})
	listen := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			if m["msg"] == "request" {
				// Only the unusual requests are kept, for the failure
				// report: a 5xx, or a reason other than a denial.
				if st, _ := m["status"].(float64); st >= 500 || (m["reason"] != nil && st != 401) {
					d.keep(sc.Text())
				}
				continue
			}
			if m["level"] != "INFO" {
				d.keep(sc.Text())
			}
			if m["msg"] == "serving" {
				listen <- m["listen"].(string)
			}
			select {
			case d.events <- fmt.Sprint(m["msg"]):
			default:
			}
		}
		close(d.events)
	}()
	select {
	case l := <-listen:
		d.base = "http://" + l
	case <-time.After(hangGuard):
		t.Fatalf("portcullis serve did not start within %v", hangGuard)
	}
	return d
}

// keep records one of the gateway's unusual log lines (at most 50).
func (d *draining) keep(line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.unusual) < 50 {
		d.unusual = append(d.unusual, line)
	}
}

func (d *draining) wait(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case m, ok := <-d.events:
			if !ok {
				t.Fatalf("process ended before logging %q", msg)
			}
			if m == msg {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within %v", msg, hangGuard)
		}
	}
}
