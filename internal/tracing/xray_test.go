package tracing

import (
	"context"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Headers of the shapes AWS documents, with our own ids: X-Ray's tracing
// header, Elastic Load Balancing's request tracing (Self, CalledFrom),
// Lambda's recursion detection (Lineage), and what XRayHeader writes.
func TestParseXRayHeader(t *testing.T) {
	const (
		docTrace = "6a1f3c207d4e9b0c2f18a3e5b6c7d8e9"
		docSpan  = "4f2a9c7e1b3d5a60"
	)
	for _, c := range []struct {
		name, in    string
		trace, span string // "" when the header is to be ignored
		wantSampled bool
	}{
		{"guide, with parent", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1", docTrace, docSpan, true},
		{"guide, root only", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Sampled=1", "", "", false},
		{"not sampled", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=0", docTrace, docSpan, false},
		{"sampling requested", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=?", docTrace, docSpan, false},
		{"no sampling decision", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60", docTrace, docSpan, false},
		{"fields in any order", "Sampled=1;Parent=4f2a9c7e1b3d5a60;Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9", docTrace, docSpan, true},
		{"spaces and a trailing separator", " Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9 ;\tParent=4f2a9c7e1b3d5a60; Sampled=1;", docTrace, docSpan, true},
		{"load balancer's Self and CalledFrom", "Self=1-6a1f3c21-0123456789abcdef01234567;Root=1-5b2e8d41-90c1d2e3f4a5b6c7d8e9f0a1;Parent=4f2a9c7e1b3d5a60;CalledFrom=app", "5b2e8d4190c1d2e3f4a5b6c7d8e9f0a1", docSpan, false},
		{"load balancer's, no parent", "Self=1-6a1f3c21-0123456789abcdef01234567;Root=1-5b2e8d41-90c1d2e3f4a5b6c7d8e9f0a1", "", "", false},
		{"Lambda's Lineage", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=3c8e1f5a9b2d7e40;Sampled=1;Lineage=1:1f4b9c2e:0", docTrace, "3c8e1f5a9b2d7e40", true},
		{"a field without =", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;junk;Parent=4f2a9c7e1b3d5a60;Sampled=1", docTrace, docSpan, true},
		{"repeated field: the last", "Parent=0000000000000001;Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60", docTrace, docSpan, false},

		{"empty", "", "", "", false},
		{"version 2", "Root=2-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1", "", "", false},
		{"no dashes", "Root=1x6a1f3c20x7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1", "", "", false},
		{"short root", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e;Parent=4f2a9c7e1b3d5a60;Sampled=1", "", "", false},
		{"long root", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e90;Parent=4f2a9c7e1b3d5a60;Sampled=1", "", "", false},
		{"upper-case hex", "Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=4f2a9c7e1b3d5a60;Sampled=1", "", "", false},
		{"not hex", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8eg;Parent=4f2a9c7e1b3d5a60;Sampled=1", "", "", false},
		{"zero trace", "Root=1-00000000-000000000000000000000000;Parent=4f2a9c7e1b3d5a60;Sampled=1", "", "", false},
		{"zero parent", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=0000000000000000;Sampled=1", "", "", false},
		{"short parent", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=53995c3f42cd8ad;Sampled=1", "", "", false},
		{"lower-case names", "root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;parent=4f2a9c7e1b3d5a60;sampled=1", "", "", false},
		{"space around =", "Root = 1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent = 4f2a9c7e1b3d5a60", "", "", false},
		{"a name that starts as Root", "RootX=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60", "", "", false},
		{"comma separated", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9,Parent=4f2a9c7e1b3d5a60", "", "", false},
		{"too long", "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1;Pad=" + strings.Repeat("x", MaxXRayHeaderLength), "", "", false},
	} {
		sc, ok := ParseXRayHeader(c.in)
		if ok != (c.trace != "") {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.trace != "")
			continue
		}
		if !ok {
			if sc.IsValid() {
				t.Errorf("%s: not ok, yet a span context %v", c.name, sc)
			}
			continue
		}
		if sc.TraceID().String() != c.trace || sc.SpanID().String() != c.span || sc.IsSampled() != c.wantSampled || !sc.IsRemote() {
			t.Errorf("%s: trace %s span %s sampled %v remote %v; want %s %s %v remote", c.name,
				sc.TraceID(), sc.SpanID(), sc.IsSampled(), sc.IsRemote(), c.trace, c.span, c.wantSampled)
		}
	}
	// The bound is on the whole value: one at the limit still counts.
	atLimit := "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Pad="
	atLimit += strings.Repeat("x", MaxXRayHeaderLength-len(atLimit))
	if _, ok := ParseXRayHeader(atLimit); !ok {
		t.Errorf("a header of exactly %d bytes was ignored", MaxXRayHeaderLength)
	}
}

func TestXRayHeader(t *testing.T) {
	if got := XRayHeader(context.Background()); got != "" {
		t.Errorf("no span: %q", got)
	}
	tid, _ := trace.TraceIDFromHex("6a1f3c207d4e9b0c2f18a3e5b6c7d8e9")
	sid, _ := trace.SpanIDFromHex("4f2a9c7e1b3d5a60")
	for _, c := range []struct {
		flags trace.TraceFlags
		want  string
	}{
		{trace.FlagsSampled, "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1"},
		{0, "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=0"},
	} {
		ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: c.flags}))
		if got := XRayHeader(ctx); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// What the gateway writes for its backends, it reads back unchanged.
func TestParseXRayHeaderReadsXRayHeader(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled} {
		want := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
		got, ok := ParseXRayHeader(XRayHeader(trace.ContextWithSpanContext(context.Background(), want)))
		if !ok || !got.Equal(want) {
			t.Errorf("flags %v: read back %v %v, want %v", flags, got, ok, want)
		}
	}
}

func TestParseXRayHeaderAllocations(t *testing.T) {
	const h = "Self=1-6a1f3c21-0123456789abcdef01234567;Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1"
	if n := testing.AllocsPerRun(100, func() { ParseXRayHeader(h) }); n != 0 {
		t.Errorf("ParseXRayHeader allocates %v times, want 0", n)
	}
}

// FuzzParseXRayHeader: any value is read without panic; what is accepted is
// within the bound, has a valid context, its trace id is Root's digits, and
// XRayHeader of it reads back the same.
func FuzzParseXRayHeader(f *testing.F) {
	for _, s := range []string{
		"Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1",
		"Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Sampled=1",
		"Self=1-6a1f3c21-0123456789abcdef01234567;Root=1-5b2e8d41-90c1d2e3f4a5b6c7d8e9f0a1;CalledFrom=app",
		"Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=3c8e1f5a9b2d7e40;Sampled=?;Lineage=1:1f4b9c2e:0",
		"Root=1-;Parent=;Sampled=",
		";;=;==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sc, ok := ParseXRayHeader(in)
		if !ok {
			if sc.IsValid() {
				t.Fatalf("%q: not ok, yet %v", in, sc)
			}
			return
		}
		if len(in) > MaxXRayHeaderLength || !sc.IsValid() || !sc.IsRemote() {
			t.Fatalf("%q: accepted %v", in, sc)
		}
		tid := sc.TraceID().String()
		if !strings.Contains(in, "Root=1-"+tid[:8]+"-"+tid[8:]) || !strings.Contains(in, "Parent="+sc.SpanID().String()) {
			t.Fatalf("%q: trace %s span %s are not its Root and Parent", in, tid, sc.SpanID())
		}
		back, ok := ParseXRayHeader(XRayHeader(trace.ContextWithSpanContext(context.Background(), sc)))
		if !ok || !back.Equal(sc) {
			t.Fatalf("%q: %v reads back as %v %v", in, sc, back, ok)
		}
	})
}

// StartRequest continues the client's trace: traceparent when it has one,
// else X-Amzn-Trace-Id; nothing usable starts a new trace.
func TestStartRequestContinues(t *testing.T) {
	const (
		w3cTrace, w3cSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		traceparent       = "00-" + w3cTrace + "-" + w3cSpan + "-01"
		xrayTrace         = "6a1f3c207d4e9b0c2f18a3e5b6c7d8e9"
		xraySpan          = "4f2a9c7e1b3d5a60"
		xray              = "Root=1-6a1f3c20-7d4e9b0c2f18a3e5b6c7d8e9;Parent=4f2a9c7e1b3d5a60;Sampled=1"
	)
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	tr := &Tracer{provider: tp, tracer: tp.Tracer("test")}
	for _, c := range []struct {
		name                string
		header              http.Header
		wantTrace, wantSpan string // "" for a new trace
	}{
		{"x-ray only", http.Header{"X-Amzn-Trace-Id": {xray}}, xrayTrace, xraySpan},
		{"traceparent only", http.Header{"Traceparent": {traceparent}}, w3cTrace, w3cSpan},
		{"both: traceparent wins", http.Header{"Traceparent": {traceparent}, "X-Amzn-Trace-Id": {xray}}, w3cTrace, w3cSpan},
		{"malformed traceparent: x-ray", http.Header{"Traceparent": {"00-zz-zz-01"}, "X-Amzn-Trace-Id": {xray}}, xrayTrace, xraySpan},
		{"malformed x-ray", http.Header{"X-Amzn-Trace-Id": {"Root=1-6a1f3c20;Parent=4f2a9c7e1b3d5a60"}}, "", ""},
		{"none", http.Header{}, "", ""},
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://gateway/", nil)
		r.Header = c.header
		_, span := tr.StartRequest(r)
		span.End()
		ro := span.(sdktrace.ReadOnlySpan)
		gotTrace, parent := ro.SpanContext().TraceID().String(), ro.Parent()
		if c.wantTrace == "" {
			if parent.IsValid() || gotTrace == xrayTrace || gotTrace == w3cTrace {
				t.Errorf("%s: trace %s parent %v, want a new trace", c.name, gotTrace, parent)
			}
			continue
		}
		if gotTrace != c.wantTrace || parent.SpanID().String() != c.wantSpan || !parent.IsRemote() || !ro.SpanContext().IsSampled() {
			t.Errorf("%s: trace %s parent %s (remote %v, sampled %v), want %s %s", c.name,
				gotTrace, parent.SpanID(), parent.IsRemote(), ro.SpanContext().IsSampled(), c.wantTrace, c.wantSpan)
		}
	}
}
