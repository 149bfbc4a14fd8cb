package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// InvokeSettings configures a function called through the AWS Lambda Invoke
// API (real Lambda, or anything speaking its protocol such as the Runtime
// Interface Emulator).
type InvokeSettings struct {
	Name             string        // for metrics and errors; default FunctionName
	FunctionName     string        // name, ARN or partial ARN; required
	Region           string        // default: from the standard AWS configuration
	Endpoint         string        // BaseEndpoint override (emulator, VPC endpoint); default: the regional Lambda endpoint
	Qualifier        string        // version or alias; default: unqualified ($LATEST)
	Timeout          time.Duration // whole call including retries of throttling; default DefaultRemoteTimeout
	MaxResponseBytes int64         // default DefaultMaxResponseBytes
	Metrics          *Metrics      // optional
}

// Invoke calls a function with the Lambda Invoke API (RequestResponse),
// signing with credentials from the standard AWS chain. A response marked
// with X-Amz-Function-Error, or a payload that is exactly an error report
// (the emulator drops the header), is a *Error. Only throttling is retried:
// retrying a 5xx or a dropped connection could run a non-idempotent backend
// twice. Safe for concurrent use.
type Invoke struct {
	name      string
	function  string
	qualifier string
	timeout   time.Duration
	max       int64
	client    *lambda.Client
	metrics   *Metrics
}

// NewInvoke loads the AWS configuration (config.LoadDefaultConfig) and
// validates s. ctx bounds only the configuration loading.
func NewInvoke(ctx context.Context, s InvokeSettings) (*Invoke, error) {
	return newInvoke(ctx, s)
}

// newInvoke lets tests add load options such as static credentials without
// widening the exported API.
func newInvoke(ctx context.Context, s InvokeSettings, opts ...func(*config.LoadOptions) error) (*Invoke, error) {
	if s.FunctionName == "" {
		return nil, errors.New("invoke function: FunctionName is required")
	}
	if s.Timeout < 0 || s.MaxResponseBytes < 0 {
		return nil, errors.New("invoke function: Timeout and MaxResponseBytes must not be negative")
	}
	max := orDefault(s.MaxResponseBytes, DefaultMaxResponseBytes)
	load := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Retryables = []retry.IsErrorRetryable{
					retry.NoRetryCanceledError{},
					retry.RetryableErrorCode{Codes: map[string]struct{}{
						"TooManyRequestsException": {},
						"ThrottlingException":      {},
					}},
				}
			})
		}),
	}
	if s.Region != "" {
		load = append(load, config.WithRegion(s.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(load, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("invoke function %s: loading AWS configuration: %w", s.FunctionName, err)
	}
	// Wrapped after loading so that the loaded client keeps what the
	// configuration put into it (custom CA bundle, proxy settings).
	cfg.HTTPClient = &limitedHTTPClient{inner: cfg.HTTPClient, max: max}
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
		}
	})
	return &Invoke{
		name:      orDefault(s.Name, s.FunctionName),
		function:  s.FunctionName,
		qualifier: s.Qualifier,
		timeout:   orDefault(s.Timeout, DefaultRemoteTimeout),
		max:       max,
		client:    client,
		metrics:   s.Metrics,
	}, nil
}

// Invoke implements Function.
func (f *Invoke) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	start := time.Now()
	b, err := f.invoke(ctx, event)
	f.metrics.observe(f.name, start, err)
	return b, err
}

func (f *Invoke) invoke(ctx context.Context, event []byte) ([]byte, error) {
	tctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var overflow atomic.Bool
	in := &lambda.InvokeInput{
		FunctionName:   aws.String(f.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        event,
	}
	if f.qualifier != "" {
		in.Qualifier = aws.String(f.qualifier)
	}
	out, err := f.client.Invoke(context.WithValue(tctx, overflowKey{}, &overflow), in)
	switch {
	case overflow.Load() || (err == nil && int64(len(out.Payload)) > f.max):
		return nil, fmt.Errorf("function %s: response over %d bytes: %w", f.name, f.max, ErrTooLarge)
	case err != nil && ctx.Err() != nil:
		return nil, contextError(f.name, ctx.Err())
	case err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("function %s: no response within %s: %w", f.name, f.timeout, ErrTimeout)
	case err != nil:
		var refused apiError
		if errors.As(err, &refused) {
			// Lambda answered the Invoke call with an error of its own
			// (throttling once retries are spent, no such function, access
			// denied, a service fault): the function did not run.
			return nil, fmt.Errorf("function %s: Lambda refused the invocation: %w: %w", f.name, ErrUnavailable, err)
		}
		return nil, fmt.Errorf("function %s: %w", f.name, err)
	}
	if out.FunctionError != nil {
		fe, err := decodeErrorReport(out.Payload, *out.FunctionError)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", f.name, err)
		}
		// Lambda's request id, which labels the function's CloudWatch logs.
		fe.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		return nil, fe
	}
	if fe, ok := parseErrorPayload(out.Payload); ok {
		fe.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		return nil, fe
	}
	if !json.Valid(out.Payload) {
		return nil, fmt.Errorf("function %s: %w", f.name, ErrInvalidResponse)
	}
	return out.Payload, nil
}

// apiError is the method set of smithy.APIError, an error response from the
// Lambda service itself, matched without importing smithy-go directly.
type apiError interface {
	error
	ErrorCode() string
}

// overflowKey marks, in a request's context, the flag limitedHTTPClient sets
// when it cut a response short. A flag rather than the read error because
// the SDK's deserializers do not promise to wrap body read errors with %w.
type overflowKey struct{}

// limitedHTTPClient stops reading a response after max bytes so that a
// misbehaving endpoint cannot make the SDK buffer an unbounded payload.
type limitedHTTPClient struct {
	inner aws.HTTPClient
	max   int64
}

func (c *limitedHTTPClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.Do(req)
	if err != nil {
		return resp, err
	}
	flag, _ := req.Context().Value(overflowKey{}).(*atomic.Bool)
	resp.Body = &limitedBody{rc: resp.Body, left: c.max, flag: flag}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
	flag *atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrTooLarge
	}
	// Read one byte past the limit to tell "exactly max" from "more".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		if b.flag != nil {
			b.flag.Store(true)
		}
		return 0, ErrTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
