package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// MaxXRayHeaderLength bounds the client's X-Amzn-Trace-Id that StartRequest
// reads: a longer value is ignored (the request starts a new trace). The
// headers of X-Ray's SDKs, load balancers and Lambda (Self, Root, Parent,
// Sampled, Lineage) are well under 200 bytes.
const MaxXRayHeaderLength = 512

// XRayHeader is ctx's span context in X-Ray's trace header form
// ("Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1"),
// which is the W3C trace id split after its first 8 hex digits; "" when ctx
// has no span. The Lambda Runtime API passes it as Lambda-Runtime-Trace-Id.
func XRayHeader(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	tid, sid := sc.TraceID().String(), sc.SpanID().String()
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	return "Root=1-" + tid[:8] + "-" + tid[8:] + ";Parent=" + sid + ";Sampled=" + sampled
}

// ParseXRayHeader reads the remote span context of an X-Amzn-Trace-Id value
// as AWS clients, load balancers and X-Ray's SDKs send it
// ("Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1"):
// the trace id is Root's 8 and 24 hex digits joined, the parent span is
// Parent, and the context is sampled when Sampled is 1 (0, "?" and none are
// not sampled, as an unset W3C flag).
//
// Fields are separated by ';', each trimmed of spaces and tabs; names are
// case-sensitive, other fields (Self, Lineage, an application's own) are
// skipped, and a repeated field counts with its last value. ok is false, and
// the header is to be ignored, when the value is longer than
// MaxXRayHeaderLength or Root or Parent is missing or malformed (digits are
// lower-case hex, as X-Ray writes them, and not all zero). It never fails
// otherwise: a malformed header means a new trace, not an error.
func ParseXRayHeader(v string) (sc trace.SpanContext, ok bool) {
	if len(v) > MaxXRayHeaderLength {
		return trace.SpanContext{}, false
	}
	var root, parent, sampled string
	for v != "" {
		var field string
		field, v, _ = strings.Cut(v, ";")
		name, value, found := strings.Cut(strings.Trim(field, " \t"), "=")
		if !found {
			continue
		}
		switch name {
		case "Root":
			root = value
		case "Parent":
			parent = value
		case "Sampled":
			sampled = value
		}
	}
	// Root is "1-" (the format's version), 8 hex digits, "-", 24 hex digits.
	if len(root) != 35 || root[:2] != "1-" || root[10] != '-' {
		return trace.SpanContext{}, false
	}
	var digits [32]byte
	copy(digits[:8], root[2:10])
	copy(digits[8:], root[11:])
	tid, err := trace.TraceIDFromHex(string(digits[:]))
	if err != nil {
		return trace.SpanContext{}, false
	}
	sid, err := trace.SpanIDFromHex(parent)
	if err != nil {
		return trace.SpanContext{}, false
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}
	if sampled == "1" {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.NewSpanContext(cfg), true
}
