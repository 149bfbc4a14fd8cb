package gateway

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis/portcullis/internal/tracing"
)

// The request path's tracing hooks. Each returns at once when tracing is
// off (g.tracer nil), before anything that could allocate; the traced
// versions live apart so that the untraced path stays as it was.

// traceStart starts the request's span; ex.r carries it from here on.
func (ex *exchange) traceStart() {
	if t := ex.g.tracer; t != nil {
		ctx, span := t.StartRequest(ex.r)
		ex.span = span
		ex.r = ex.r.WithContext(ctx)
	}
}

// match selects the route, in a "route match" span when tracing.
func (ex *exchange) match() int {
	r := ex.r
	if ex.g.tracer == nil {
		return ex.g.table.Match(r.Method, r.URL.Path, &ex.params)
	}
	_, span := ex.g.tracer.Start(r.Context(), "route match", trace.SpanKindInternal)
	i := ex.g.table.Match(r.Method, r.URL.Path, &ex.params)
	if i >= 0 {
		span.SetAttributes(semconv.HTTPRoute(ex.g.routes[i].label))
	}
	span.End()
	return i
}

// authorize runs the route's authorizer, in an "authorize NAME" span when
// tracing. A Lambda authorizer's event then carries that span's trace
// context (traceparent, X-Amzn-Trace-Id), as AWS passes X-Amzn-Trace-Id.
func (ex *exchange) authorize(rt *Route) bool {
	if ex.g.tracer == nil {
		return rt.auth.authorize(ex, rt)
	}
	return ex.tracedAuthorize(rt)
}

func (ex *exchange) tracedAuthorize(rt *Route) bool {
	t, parent := ex.g.tracer, ex.r
	kind := "jwt"
	ctx, span := t.Start(parent.Context(), "authorize "+rt.auth.name(), trace.SpanKindInternal)
	ex.r = parent.WithContext(ctx)
	if _, ok := rt.auth.(*lambdaAuthorizer); ok {
		kind = "lambda"
		t.Inject(ctx, ex.r.Header)
	}
	allow := rt.auth.authorize(ex, rt)
	attrs := []attribute.KeyValue{
		attribute.String("portcullis.authorizer", rt.auth.name()),
		attribute.String("portcullis.authorizer.type", kind),
		attribute.Bool("portcullis.authorizer.allow", allow),
	}
	if ex.reason != "" {
		attrs = append(attrs, attribute.String("portcullis.reason", ex.reason))
	}
	if ex.lambda != nil {
		cache := "miss"
		if ex.lambda.Cached {
			cache = "hit"
		}
		attrs = append(attrs, attribute.String("portcullis.authorizer.cache", cache))
	}
	span.SetAttributes(attrs...)
	span.End()
	ex.r = parent
	return allow
}

// integrate hands the request to the route's integration, in a span when
// tracing: "http_proxy" (the backend request carries its trace context),
// "invoke FUNCTION" for lambda_proxy (the event's headers carry it, and the
// process runtime's Lambda-Runtime-Trace-Id) or "mock".
func (ex *exchange) integrate(rt *Route) {
	if ex.g.tracer == nil {
		rt.integration.serve(&ex.w, ex.r, ex)
		return
	}
	ex.tracedIntegrate(rt)
}

func (ex *exchange) tracedIntegrate(rt *Route) {
	t, parent := ex.g.tracer, ex.r
	ctx := parent.Context()
	var span trace.Span
	switch in := rt.integration.(type) {
	case *proxyIntegration:
		ctx, span = t.Start(ctx, "http_proxy", trace.SpanKindClient)
		span.SetAttributes(attribute.String("portcullis.integration", "http_proxy"), semconv.ServerAddress(in.host))
	case *lambdaProxyIntegration:
		ctx, span = t.StartFunction(ctx, in.function)
		span.SetAttributes(attribute.String("portcullis.integration", "lambda_proxy"))
		t.Inject(ctx, parent.Header) // into the event
	default:
		ctx, span = t.Start(ctx, "mock", trace.SpanKindInternal)
		span.SetAttributes(attribute.String("portcullis.integration", "mock"))
	}
	ex.r = parent.WithContext(ctx)
	rt.integration.serve(&ex.w, ex.r, ex)
	status := ex.w.status
	if status == 0 {
		status = http.StatusOK
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		span.SetStatus(codes.Error, ex.reason)
	}
	span.End()
	ex.r = parent
}

// traceEnd ends the request's span with its route, status and reason.
func (ex *exchange) traceEnd(rt *Route, status int) {
	span := ex.span
	if span == nil {
		return
	}
	r := ex.r
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(tracing.Method(r.Method)),
		semconv.HTTPResponseStatusCode(status),
		attribute.String("portcullis.request_id", ex.id),
		semconv.ClientAddress(ex.clientIP),
	}
	if rt != ex.g.unmatched {
		path := rt.key.Path
		if rt.key.IsDefault() {
			path = "$default"
		}
		span.SetName(tracing.Method(r.Method) + " " + path)
		attrs = append(attrs, semconv.HTTPRoute(rt.label))
	}
	if ex.reason != "" {
		attrs = append(attrs, attribute.String("portcullis.reason", ex.reason))
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}
