// Command slowstart initialises for one second before serving, like a cold
// start, then returns its pid.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	time.Sleep(time.Second)
	lambda.Start(func() (map[string]int, error) {
		return map[string]int{"pid": os.Getpid()}, nil
	})
}
