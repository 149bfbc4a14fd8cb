// Command echo returns the event byte for byte; with {"report": true} it
// instead describes what it sees (pid, environment, Lambda context, timing)
// and with {"log": "text"} it also prints text to stdout and stderr.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Report bool   `json:"report"`
	MS     int    `json:"ms"`
	Log    string `json:"log"`
}

type echo struct{}

// Invoke receives the raw payload, so the echo is exact.
func (echo) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var req request
	_ = json.Unmarshal(payload, &req) // non-object events are echoed
	if req.Log != "" {
		fmt.Println(req.Log)
		fmt.Fprintln(os.Stderr, "stderr: "+req.Log)
	}
	if !req.Report {
		return payload, nil
	}
	start := time.Now()
	time.Sleep(time.Duration(req.MS) * time.Millisecond)
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	wd, _ := os.Getwd()
	return json.Marshal(map[string]any{
		"pid":         os.Getpid(),
		"env":         os.Environ(),
		"cwd":         wd,
		"request_id":  lc.AwsRequestID,
		"arn":         lc.InvokedFunctionArn,
		"deadline_ms": deadline.UnixMilli(),
		"start":       start.UnixNano(),
		"end":         time.Now().UnixNano(),
	})
}

func main() { lambda.StartHandler(echo{}) }
