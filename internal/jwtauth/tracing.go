package jwtauth

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing hooks: when the caller's context carries a recording span (the
// gateway's "authorize" span), the verification notes on it whether the
// verified-token cache answered, and a request that waits for a key fetch
// gets a "jwks fetch" child span. Without a recording span they cost a
// context lookup and allocate nothing.

func traceCache(ctx context.Context, result string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.String("portcullis.authorizer.cache", result))
	}
}

func traceKeyFetch(ctx context.Context) trace.Span {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return nil
	}
	_, span := parent.TracerProvider().Tracer("github.com/portcullis/portcullis/internal/jwtauth").Start(ctx, "jwks fetch")
	return span
}

func endKeyFetch(span trace.Span, result string) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.String("portcullis.jwks.result", result))
	if result != "ok" {
		span.SetStatus(codes.Error, result)
	}
	span.End()
}
