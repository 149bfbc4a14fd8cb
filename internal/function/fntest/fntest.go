// Package fntest runs functions of a registry runtime in tests: it writes
// a function's code to a temporary folder, builds the function from a YAML
// block as the gateway would, starts it and reads its log. It is test
// support, used from _test.go files only.
package fntest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/registry"
	"github.com/portcullis/portcullis/internal/testlog"
)

// WriteCode writes files (name relative to the folder, content) into a new
// temporary folder and returns it.
func WriteCode(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		WriteFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

// WriteFile writes content to path, making its folder.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Build builds the function "f" of block (the YAML mapping of one
// `functions:` entry, in a config file in dir) with rt, starting nothing.
func Build(t testing.TB, rt registry.Runtime, dir, block string) (function.Function, error) {
	t.Helper()
	return rt.Build(parse(t, dir, block, nil))
}

func parse(t testing.TB, dir, block string, logger *slog.Logger) *registry.Block {
	t.Helper()
	path := filepath.Join(dir, "portcullis.yaml")
	f, err := config.Parse(path, []byte("functions:\n  f: "+block+"\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return &registry.Block{File: f, At: "functions.f", Name: "f", Conf: f.Config.Functions["f"], Dir: dir,
		Region: "eu-west-1", AccountID: "123456789012", Logger: logger, Metrics: function.NewMetrics(nil)}
}

// Start builds block with rt (see Build), starts it and closes it when the
// test ends. It returns the function and its log.
func Start(t testing.TB, rt registry.Runtime, dir, block string) (*function.Process, *testlog.Buffer) {
	t.Helper()
	logger, logs := testlog.New()
	fn, err := rt.Build(parse(t, dir, block, logger))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	p, ok := fn.(*function.Process)
	if !ok {
		t.Fatalf("build returned %T, not a process", fn)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, logs
}

// Invoke invokes f with event, bounded by a generous deadline (a loaded
// machine must pass; the function's own timeout is what tests exercise).
func Invoke(t testing.TB, f function.Function, event string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.Invoke(ctx, []byte(event))
}

// FindRecord returns the first log record whose attributes include all of
// want (values compared as fmt.Sprint).
func FindRecord(logs *testlog.Buffer, want map[string]string) map[string]any {
	for _, r := range logs.Records() {
		ok := true
		for k, v := range want {
			if fmt.Sprint(r[k]) != v {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

// Eventually polls cond until it holds or d passes.
func Eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RoundTrip invokes f b.N times with event, one at a time, and reports
// the median round trip as "p50-µs" beside the mean.
func RoundTrip(b *testing.B, f function.Function, event []byte) {
	b.Helper()
	ctx := context.Background()
	for range 100 { // warm
		if _, err := f.Invoke(ctx, event); err != nil {
			b.Fatal(err)
		}
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := f.Invoke(ctx, event); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e3, "p50-µs")
}

// BenchEvent is an HTTP API 2.0 lambda_proxy event of a typical size,
// for round-trip benchmarks.
var BenchEvent = []byte(`{"version":"2.0","routeKey":"GET /fn/x","rawPath":"/fn/x","rawQueryString":"","headers":{"host":"127.0.0.1:18080","user-agent":"wrk"},"requestContext":{"accountId":"000000000000","apiId":"local","domainName":"127.0.0.1","http":{"method":"GET","path":"/fn/x","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"wrk"},"requestId":"abc","routeKey":"GET /fn/x","stage":"$default","time":"06/Dec/2026:08:45:15 +0000","timeEpoch":1796546715000},"isBase64Encoded":false}`)
