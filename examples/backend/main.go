// Command backend is the quickstart's demo backend on its own: an orders API
// that verifies the forwarded token again with package verify.
//
//	go run ./examples/backend -issuer http://127.0.0.1:8099 -audience orders-api
//
// or, to trust exactly what a gateway configuration trusts:
//
//	go run ./examples/backend -config examples/quickstart.yaml -authorizer users
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/examples/backend/orders"
	"github.com/portcullis/portcullis/verify"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to serve on")
	issuer := flag.String("issuer", "", "issuer to trust")
	audience := flag.String("audience", "", "audience the tokens must carry")
	cfg := flag.String("config", "", "a Portcullis configuration file to take the issuer from")
	authorizer := flag.String("authorizer", "", "with -config: the jwt authorizer's name")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var v *verify.Verifier
	var err error
	if *cfg != "" {
		v, err = verify.FromGatewayConfig(ctx, *cfg, *authorizer)
	} else {
		v, err = verify.New(ctx, verify.Config{Issuer: *issuer, Audience: []string{*audience}})
	}
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *listen, Handler: orders.Handler(v), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	log.Printf("demo backend on http://%s", *listen)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
