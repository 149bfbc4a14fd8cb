package tracing

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

func TestValidate(t *testing.T) {
	ratio := func(f float64) *float64 { return &f }
	for _, c := range []struct {
		in   config.Tracing
		want string // "" for valid
	}{
		{config.Tracing{Enabled: true}, ""},
		{config.Tracing{Protocol: "grpc", Endpoint: "http://collector:4317", SampleRatio: ratio(0.25)}, ""},
		{config.Tracing{Protocol: "zipkin"}, `protocol "zipkin"`},
		{config.Tracing{Endpoint: "collector:4318"}, "endpoint"},
		{config.Tracing{SampleRatio: ratio(1.5)}, "sample_ratio"},
		{config.Tracing{SampleRatio: ratio(-0.1)}, "sample_ratio"},
	} {
		err := Validate(c.in)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.in, err, c.want)
		}
	}
}

func TestOffIsNil(t *testing.T) {
	tr, err := New(context.Background(), config.Tracing{Endpoint: "http://127.0.0.1:1"}, "v")
	if tr != nil || err != nil {
		t.Fatalf("tracing not enabled: %v %v", tr, err)
	}
	// Every hook of a nil Tracer is safe and does nothing.
	h := http.Header{"Traceparent": {"client"}}
	tr.Inject(context.Background(), h)
	if h.Get("Traceparent") != "client" {
		t.Error("a nil tracer touched the headers")
	}
	var f Invoker = invokerFunc(func(context.Context, []byte) ([]byte, error) { return nil, nil })
	if got := tr.Function("f", f); got == nil {
		t.Error("Function of a nil tracer lost the function")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

type invokerFunc func(context.Context, []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, e []byte) ([]byte, error) { return f(ctx, e) }

func TestMethod(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "get": "_OTHER", "FROBNICATE": "_OTHER", strings.Repeat("X", 1000): "_OTHER"} {
		if got := Method(in); got != want {
			t.Errorf("Method(%.10q) = %q, want %q", in, got, want)
		}
	}
}
