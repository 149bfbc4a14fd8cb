// Package tracing is Portcullis's OpenTelemetry tracing: an OTLP exporter
// (HTTP or gRPC) configured by the `tracing:` block and the standard OTEL_*
// environment variables, W3C trace context in and out, and the small hooks
// the request path calls. A nil *Tracer is tracing turned off: every hook
// then returns at once and allocates nothing, so the request path costs
// the same as without tracing.
//
// Span attributes are bounded: route keys, authorizer and function names,
// status codes and reason words from a fixed set, never tokens, claims,
// header values or raw paths.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis/portcullis/internal/config"
)

// Protocols of the OTLP exporter.
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Tracer starts Portcullis's spans and exports them. Safe for concurrent
// use. A nil *Tracer traces nothing.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// Validate checks the `tracing:` block, returning one error per problem
// joined (each line a sentence).
func Validate(c config.Tracing) error { return Problems(c).Err() }

// Problems is what Validate reports, each at the field of the block it is
// about ("endpoint"), for the caller to report at its place.
func Problems(c config.Tracing) config.Problems {
	var ps config.Problems
	if c.Protocol != "" && c.Protocol != ProtocolHTTP && c.Protocol != ProtocolGRPC {
		ps.Addf("protocol", "protocol %q: expected %s or %s", c.Protocol, ProtocolHTTP, ProtocolGRPC)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.Addf("endpoint", "endpoint %q: expected an http or https URL such as http://collector:4318", c.Endpoint)
		}
	}
	if r := c.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		ps.Addf("sample_ratio", "sample_ratio %v: expected a number from 0 to 1", *r)
	}
	return ps
}

// New starts the exporter for c; it returns nil (tracing off) unless
// c.Enabled. Nothing is sent until a span ends; an unreachable collector
// loses spans, it never slows requests (spans are batched in the
// background, and dropped when the queue is full).
func New(ctx context.Context, c config.Tracing, version string) (*Tracer, error) {
	if !c.Enabled {
		return nil, nil
	}
	if err := Validate(c); err != nil {
		return nil, err
	}
	protocol := c.Protocol
	if protocol == "" {
		protocol = firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var client otlptrace.Client
	switch protocol {
	case ProtocolGRPC:
		var opts []otlptracegrpc.Option
		if c.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(c.Endpoint))
		}
		client = otlptracegrpc.NewClient(opts...)
	case "", ProtocolHTTP:
		var opts []otlptracehttp.Option
		if c.Endpoint != "" {
			// The block's endpoint is a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT.
			opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimSuffix(c.Endpoint, "/")+"/v1/traces"))
		}
		client = otlptracehttp.NewClient(opts...)
	default:
		return nil, fmt.Errorf("tracing: protocol %q from the environment: expected %s or %s", protocol, ProtocolHTTP, ProtocolGRPC)
	}
	exp, err := otlptrace.New(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	name := c.ServiceName
	if name == "" {
		name = os.Getenv("OTEL_SERVICE_NAME")
	}
	if name == "" {
		name = "portcullis"
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithAttributes(
		semconv.ServiceName(name), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	if c.SampleRatio != nil {
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*c.SampleRatio))))
	}
	// Without sample_ratio the SDK reads OTEL_TRACES_SAMPLER(_ARG), and
	// samples every trace (parent-based) when that is unset too.
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracer{provider: tp, tracer: tp.Tracer("github.com/portcullis/portcullis")}, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// Shutdown sends the spans still queued and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// StartRequest starts the server span of one request, as a child of the
// caller's trace context when the request carries one: its W3C traceparent
// (and tracestate), else its X-Amzn-Trace-Id (ParseXRayHeader). A malformed
// header is ignored: the request starts a new trace.
func (t *Tracer) StartRequest(r *http.Request) (context.Context, trace.Span) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	if !trace.SpanContextFromContext(ctx).IsValid() {
		if sc, ok := ParseXRayHeader(r.Header.Get(HeaderAmznTraceID)); ok {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	return t.tracer.Start(ctx, Method(r.Method), trace.WithSpanKind(trace.SpanKindServer))
}

// Method bounds a request method for span names and attributes: the
// standard methods, else _OTHER as OpenTelemetry's conventions say.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// Start starts a span named name as a child of ctx's span.
func (t *Tracer) Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind))
}

// Headers the gateway sets for what it calls (backends, functions), after
// removing whatever the client sent under these names.
const (
	HeaderTraceparent = "Traceparent"
	HeaderTracestate  = "Tracestate"
	HeaderAmznTraceID = "X-Amzn-Trace-Id"
)

// Inject replaces h's trace headers with ctx's span context: W3C
// traceparent and tracestate, and X-Amzn-Trace-Id in X-Ray's form, as API
// Gateway passes it to Lambda functions and backends.
func (t *Tracer) Inject(ctx context.Context, h http.Header) {
	if t == nil {
		return
	}
	h.Del(HeaderTraceparent)
	h.Del(HeaderTracestate)
	h.Del(HeaderAmznTraceID)
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
	if x := XRayHeader(ctx); x != "" {
		h.Set(HeaderAmznTraceID, x)
	}
}

// Invoker is a function runtime's shape (function.Function's), so that
// this package needs nothing of the runtimes.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// Function returns f with a client span around each invocation, named
// "invoke NAME". With tracing off it returns f itself.
func (t *Tracer) Function(name string, f Invoker) Invoker {
	if t == nil {
		return f
	}
	return &tracedFunction{t: t, name: name, f: f}
}

type tracedFunction struct {
	t    *Tracer
	name string
	f    Invoker
}

func (tf *tracedFunction) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	ctx, span := tf.t.StartFunction(ctx, tf.name)
	out, err := tf.f.Invoke(ctx, event)
	EndFunction(span, err)
	return out, err
}

// StartFunction starts the span of one invocation of the function name.
func (t *Tracer) StartFunction(ctx context.Context, name string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, "invoke "+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.FaaSInvokedName(name), attribute.String("faas.invoked_provider", "portcullis")))
}

// EndFunction ends an invocation's span; a failed invocation is marked as
// an error, without its message (a function's own words may hold anything).
func EndFunction(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, "function invocation failed")
	}
	span.End()
}
