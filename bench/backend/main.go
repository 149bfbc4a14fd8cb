// Command backend is the benchmark's origin server: every request gets 200
// with a small fixed body, over HTTP/1.1 keep-alive. It does no other work,
// so what the gateway adds on top of it is what the benchmark measures.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"time"
)

var body = []byte("hello from the bench backend\n")

func main() {
	addr := flag.String("listen", "127.0.0.1:18000", "listen address")
	flag.Parse()
	clen := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["Content-Type"] = []string{"text/plain"}
		hd["Content-Length"] = []string{clen}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	s := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(s.ListenAndServe())
}
