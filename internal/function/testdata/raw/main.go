// Command raw speaks the Runtime API directly to exercise what aws-lambda-go
// never does. RAW_MODE=initerr reports an init error and waits to be killed;
// RAW_MODE=hang never asks for an invocation;
// otherwise each invocation first answers a made-up request id and then
// reports, as its response, the status it got for that. With
// RAW_IGNORE_TERM=1 it ignores SIGTERM.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime"
	if os.Getenv("RAW_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	if os.Getenv("RAW_MODE") == "hang" {
		time.Sleep(time.Hour)
		return
	}
	if os.Getenv("RAW_MODE") == "initerr" {
		resp, err := http.Post(base+"/init/error", "application/json",
			strings.NewReader(`{"errorMessage":"bad config","errorType":"InitError"}`))
		if err == nil {
			resp.Body.Close()
		}
		time.Sleep(time.Hour)
		return
	}
	for {
		resp, err := http.Get(base + "/invocation/next")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")

		stale, err := http.Post(base+"/invocation/00000000-0000-4000-8000-000000000000/response",
			"application/json", strings.NewReader(`"hijack"`))
		if err != nil {
			os.Exit(1)
		}
		stale.Body.Close()
		ok, err := http.Post(base+"/invocation/"+id+"/response", "application/json",
			strings.NewReader(fmt.Sprintf(`{"stale_status":%d}`, stale.StatusCode)))
		if err != nil {
			os.Exit(1)
		}
		ok.Body.Close()
	}
}
