// faulty misbehaves on request, as a Lambda authorizer (TOKEN events: the
// token after "Bearer " picks the fault) or as a lambda_proxy backend
// (payload 2.0: the last path segment picks it): "ok" answers, "crash" exits
// mid-invocation, "hang" sleeps past any timeout, "huge" answers 7 MiB,
// "junk" answers bytes that are not JSON, "error" returns a function error,
// "len" (proxy only) answers the body's length. FAULTY_MODE=crashstart exits
// before reaching the Runtime API; FAULTY_MODE=slowstart initialises for
// FAULTY_DELAY (default 1s) first.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
	RawPath            string `json:"rawPath"`
	Body               string `json:"body"`
}

type faulty struct{}

func (faulty) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	authorizer := ev.MethodArn != ""
	fault := strings.TrimPrefix(ev.AuthorizationToken, "Bearer ")
	if !authorizer {
		fault = ev.RawPath[strings.LastIndex(ev.RawPath, "/")+1:]
	}
	switch fault {
	case "crash":
		os.Exit(2)
	case "hang":
		time.Sleep(time.Minute)
	case "huge":
		return json.Marshal(strings.Repeat("x", 7<<20))
	case "junk":
		return []byte("\xff\xfe{not json"), nil
	case "error":
		return nil, errors.New("it failed")
	case "len":
		return json.Marshal(map[string]any{"statusCode": 200, "body": fmt.Sprint(len(ev.Body))})
	}
	if authorizer {
		return json.Marshal(map[string]any{
			"principalId": "faulty",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
			}},
		})
	}
	return json.Marshal(map[string]any{"statusCode": 200, "body": "ok"})
}

func main() {
	switch os.Getenv("FAULTY_MODE") {
	case "crashstart":
		fmt.Fprintln(os.Stderr, "faulty: cannot start")
		os.Exit(1)
	case "slowstart":
		d, err := time.ParseDuration(os.Getenv("FAULTY_DELAY"))
		if err != nil {
			d = time.Second
		}
		time.Sleep(d)
	}
	lambda.StartHandler(faulty{})
}
