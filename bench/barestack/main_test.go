package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestModesProxyTheBackend sends a request through every mode to a real
// loopback backend and checks the backend's answer comes back whole, that
// the proxying modes reached it with the client's path, query and headers,
// and that no hop-by-hop header crossed either way.
func TestModesProxyTheBackend(t *testing.T) {
	seen := make(chan *http.Request, 16)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Clone(r.Context())
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Backend", "yes")
		w.Header().Set("Keep-Alive", "timeout=5")
		_, _ = io.WriteString(w, "hello from the bench backend\n")
	}))
	defer backend.Close()
	host := strings.TrimPrefix(backend.URL, "http://")

	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = serveOn(ln, mode, host, "/hello", 4) }()
			defer ln.Close()
			get := func() (*http.Response, []byte) {
				req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/hello?x=1", nil)
				req.Header.Set("X-Client", "c")
				req.Header.Set("Proxy-Authorization", "secret") // hop-by-hop: must not reach the backend
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp, body
			}
			get()       // floor fetches its answer from the backend before it serves
			drain(seen) // so only the second request counts
			resp, body := get()
			if resp.StatusCode != 200 || string(body) != "hello from the bench backend\n" || resp.Header.Get("Content-Type") != "text/plain" {
				t.Fatalf("got %d %q %q, want the backend's answer", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if mode == "floor" {
				if len(seen) != 0 {
					t.Error("floor called the backend per request")
				}
				return
			}
			if resp.Header.Get("X-Backend") != "yes" || resp.Header.Get("Keep-Alive") != "" {
				t.Errorf("response headers %v: want X-Backend and no Keep-Alive", resp.Header)
			}
			select {
			case r := <-seen:
				if r.URL.RequestURI() != "/hello?x=1" || r.Header.Get("X-Client") != "c" || r.Header.Get("Proxy-Authorization") != "" {
					t.Errorf("backend got %s with headers %v", r.URL.RequestURI(), r.Header)
				}
			default:
				t.Error("the backend was not called")
			}
		})
	}
}

func drain(c chan *http.Request) {
	for len(c) > 0 {
		<-c
	}
}

func TestUnknownMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := serveOn(ln, "nginx", "127.0.0.1:1", "/", 1); err == nil {
		t.Error("no error for an unknown mode")
	}
}
