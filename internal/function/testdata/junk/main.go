// Command junk answers with bytes that are not JSON: aws-lambda-go passes
// an io.Reader response through unmarshalled.
package main

import (
	"io"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func() (io.Reader, error) {
		return strings.NewReader("\xff\xfe{not json"), nil
	})
}
