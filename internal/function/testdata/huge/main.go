// Command huge returns a 7 MiB JSON string, over Lambda's 6 MiB limit.
package main

import (
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func() (string, error) {
		return strings.Repeat("x", 7<<20), nil
	})
}
