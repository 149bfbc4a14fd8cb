package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// Closed-loop load on the decision API's gRPC listener (Envoy ext_authz v3):
// wrk cannot speak gRPC, so this binary does, in a child process (-check)
// pinned to the load core like wrk, with as many concurrent callers as
// wrk's connections over one HTTP/2 connection, as Envoy multiplexes its
// checks. Each call is the CheckRequest Envoy sends for GET PATH with the
// token.

var (
	flagCheck      = flag.String("check", "", "internal: run closed-loop ext_authz Checks against this gRPC address and print WRKJSON")
	flagCheckPath  = flag.String("check-path", "/", "internal: the original path -check asks about")
	flagCheckConns = flag.Int("check-conns", 50, "internal: concurrent callers for -check")
)

// grpcLoad runs -check in a pinned child process and returns its figures in
// wrk's shape.
func (e *env) grpcLoad(addr string, l load) (*wrkOut, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	auth, ok := strings.CutPrefix(l.auth, "fixed:")
	if !ok && l.auth != "-" {
		return nil, fmt.Errorf("ext_authz runs take no token file")
	}
	return runChild(l.dur, "ext_authz load", self, "-check", addr, "-check-path", l.path, "-check-conns", strconv.Itoa(l.conns),
		"-attack-dur", l.dur.String(), "-attack-auth", auth)
}

// checkLoad is the child's side. A denial counts as a status error, an RPC
// failure as a read error, as wrk counts them.
func checkLoad() int {
	conn, err := grpc.NewClient("passthrough:///"+*flagCheck, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	client := authv3.NewAuthorizationClient(conn)
	headers := map[string]string{":authority": "api.example.com", ":method": "GET", ":path": *flagCheckPath, ":scheme": "http"}
	if *flagAttackAuth != "" {
		headers["authorization"] = *flagAttackAuth
	}
	req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "192.0.2.10", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 40000}},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: *flagCheckPath, Host: "api.example.com", Scheme: "http", Protocol: "HTTP/1.1", Headers: headers,
		}},
	}}
	var (
		mu  sync.Mutex
		lat []time.Duration
		w   wrkOut
		wg  sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(*flagAttackDur)
	for range max(*flagCheckConns, 1) {
		wg.Go(func() {
			var mine []time.Duration
			var denied, failed int64
			for time.Now().Before(end) {
				t0 := time.Now()
				resp, err := client.Check(context.Background(), req)
				mine = append(mine, time.Since(t0))
				switch {
				case err != nil:
					failed++
				case codes.Code(resp.GetStatus().GetCode()) != codes.OK:
					denied++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			w.ErrRead += failed
			w.ErrStatus += denied
			mu.Unlock()
		})
	}
	wg.Wait()
	w.report(time.Since(start), lat)
	return 0
}
