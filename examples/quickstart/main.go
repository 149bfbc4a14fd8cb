// Command quickstart runs the whole flow on one machine with nothing else
// installed: the development issuer and the gateway (from
// examples/quickstart.yaml) and the demo backend, which verifies every token
// again. It prints the curl lines to try, each of which works as printed.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/examples/backend/orders"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/verify"
)

const (
	backendAddr = "127.0.0.1:9000" // where examples/quickstart.yaml routes to
	issuerURL   = "http://127.0.0.1:8099"
)

func main() {
	cfg := flag.String("c", "examples/quickstart.yaml", "the quickstart configuration")
	verbose := flag.Bool("v", false, "also log info messages such as tokens issued and keys fetched (the access log is on stderr either way)")
	flag.Parse()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	started := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{ConfigPath: *cfg, Logger: log,
			Started: func(listen, _ net.Addr) { started <- listen }})
	}()
	var gateway net.Addr
	select {
	case gateway = <-started:
	case err := <-done:
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}

	// The backend trusts exactly what the gateway's authorizer trusts.
	v, err := verify.FromGatewayConfig(ctx, *cfg, "users")
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", backendAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart: demo backend:", err)
		os.Exit(1)
	}
	backend := &http.Server{Handler: orders.Handler(v), ReadHeaderTimeout: 10 * time.Second}
	go backend.Serve(ln)
	defer backend.Close()
	if !waitReady(ctx, v, "http://127.0.0.1:9901/readyz") {
		fmt.Fprintln(os.Stderr, "quickstart: the gateway or the backend did not get the issuer's keys in time")
		os.Exit(1)
	}
	printLines(os.Stdout, "http://"+gateway.String())

	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// waitReady waits until both the gateway (its /readyz) and the backend's
// verifier hold the issuer's keys, so the printed lines work at once.
func waitReady(ctx context.Context, v *verify.Verifier, readyz string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := http.Get(readyz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && v.Ready() {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func printLines(w io.Writer, gateway string) {
	fmt.Fprintf(w, `Portcullis quickstart is running:
  gateway             %[1]s  (examples/quickstart.yaml)
  development issuer  %[2]s  (for development only, not a production identity provider)
  demo backend        http://%[3]s  (verifies every token again with package verify)

Get a token for alice (password grant), then call the API:

TOKEN=$(curl -s %[2]s/oauth2/token -d grant_type=password -d client_id=quickstart -d username=alice -d password=alice-password | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# allowed: alice has orders:read; the backend shows who it verified
curl -i %[1]s/orders/42 -H "Authorization: Bearer $TOKEN"

# denied for scope: deleting needs orders:admin (403)
curl -i -X DELETE %[1]s/orders/42 -H "Authorization: Bearer $TOKEN"

# denied without a token (401)
curl -i %[1]s/orders/42

Stop with Ctrl-C.
`, gateway, issuerURL, backendAddr)
}
