package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
)

// TestRollingRestart is the deployment story end to end: two gateway
// processes behind a real nginx, under a steady load of GET requests that
// each take a while at the backend, are restarted one after the other as
// an orchestrator would (SIGTERM, wait for the exit, start the new one,
// wait until /readyz says 200, next). No request may fail, and each old
// process must have kept serving during its shutdown delay.
//
// nginx has no active health checks: it moves off a stopping gateway
// when the connection is refused or closed, and retries idempotent
// requests on the other one (proxy_next_upstream). A Kubernetes Service
// instead drops the pod when /readyz answers 503 (TestShutdownDelay).
func TestRollingRestart(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // requests are in flight when a gateway stops
		io.WriteString(w, "done")
	}))
	defer backend.Close()

	ports := []string{freePortNumber(t), freePortNumber(t)}
	gatewayCfg := func(port string) string {
		p := filepath.Join(dir, "gateway-"+port+".yaml")
		os.WriteFile(p, []byte(fmt.Sprintf(`listen: 127.0.0.1:%s
admin_listen: 127.0.0.1:0
server: {shutdown_delay: 1s, shutdown_timeout: 10s}
routes:
  - route: GET /work
    integration: {type: http_proxy, uri: %q}
`, port, backend.URL+"/work")), 0o644)
		return p
	}
	gateways := make([]*served, 2)
	for i, port := range ports {
		gateways[i] = startServe(t, bin, gatewayCfg(port))
	}

	lbPort := freePortNumber(t)
	testbin.Nginx(t, fmt.Sprintf(`  upstream gateways {
    server 127.0.0.1:%[1]s max_fails=0;
    server 127.0.0.1:%[2]s max_fails=0;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:%[3]s;
    location / {
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502;
      proxy_next_upstream_tries 3;
    }
  }
`, ports[0], ports[1], lbPort))
	front := "http://127.0.0.1:" + lbPort + "/work"
	waitFor(t, "nginx", func() bool {
		resp, err := http.Get(front)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	// The load: 4 clients, each request through nginx, bounded in count.
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for range 5000 {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(front)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 && string(body) == "done" {
						ok.Add(1)
						continue
					}
					err = fmt.Errorf("%d %q", resp.StatusCode, body)
				}
				failed.Add(1)
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
			}
		})
	}

	for i, port := range ports {
		old := gateways[i]
		before := ok.Load()
		old.cmd.Process.Signal(syscall.SIGTERM)
		old.waitLog("draining: /readyz answers 503, still serving until the delay ends")
		// The old process keeps serving its share during the delay.
		servedDuringDelay := 0
		for {
			m := old.waitLogAny("request", "shutting down")
			if m["msg"] == "shutting down" {
				break
			}
			servedDuringDelay++
		}
		if servedDuringDelay == 0 {
			t.Errorf("gateway %d served nothing during its shutdown delay", i)
		}
		old.waitLog("stopped")
		if err := old.cmd.Wait(); err != nil {
			t.Errorf("gateway %d exit: %v", i, err)
		}
		gateways[i] = startServe(t, bin, gatewayCfg(port))
		waitFor(t, "new gateway ready", func() bool {
			code, _ := get(t, "http://"+gateways[i].adminAddr()+"/readyz", "")
			return code == 200
		})
		if ok.Load() == before {
			t.Errorf("no request completed while gateway %d restarted: the load stalled", i)
		}
	}
	// Both new processes take traffic.
	for i, g := range gateways {
		waitFor(t, fmt.Sprintf("new gateway %d serving", i), func() bool {
			_, body := get(t, "http://"+g.adminAddr()+"/metrics", "")
			return strings.Contains(body, `portcullis_requests_total{mode="gateway",route="GET /work",status="200"}`)
		})
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests through nginx during the rolling restart, %d failed", ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during the rolling restart: %q", failed.Load(), failures)
	}
}

// freePortNumber is the port of a free loopback address (freePort).
func freePortNumber(t *testing.T) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(freePort(t))
	return port
}

// waitFor polls cond until it holds; the bound is only against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// waitLogAny returns the next log line whose msg is one of msgs.
func (p *served) waitLogAny(msgs ...string) map[string]any {
	p.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m, ok := <-p.logs:
			if !ok {
				p.t.Fatalf("process ended before logging any of %q", msgs)
			}
			for _, msg := range msgs {
				if m["msg"] == msg {
					return m
				}
			}
		case <-timeout:
			p.t.Fatalf("no %q log line", msgs)
		}
	}
}
