package function

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testlog"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// secretEnv is set in the test process; no function may see it.
const secretEnv = "PORTCULLIS_TEST_GATEWAY_SECRET"

var testFunctions = testbin.New("testdata", "echo", "fail", "panic", "sleep", "junk", "huge", "crashstart", "crashmid", "slowstart", "raw")

func TestMain(m *testing.M) {
	os.Setenv(secretEnv, "do-not-leak")
	code := m.Run()
	testFunctions.Remove()
	os.Exit(code)
}

// bin returns the path of a testdata function, built once per test run.
func bin(t testing.TB, name string) string { return testFunctions.Path(t, name) }

// findRecord returns the first log record whose attributes include all of want.
func findRecord(logs *testlog.Buffer, want map[string]string) map[string]any {
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

// startProcess builds, starts and (at cleanup) closes a Process running the
// named testdata function. Without a Timeout it gets 30 s rather than the
// 3 s default: a test that is not about timeouts must not fail because a
// loaded machine (race detector, parallel tests) took a few seconds.
func startProcess(t testing.TB, fn string, s ProcessSettings) *Process {
	t.Helper()
	if s.Name == "" {
		s.Name = "fn-" + fn
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	s.Command = append([]string{bin(t, fn)}, s.Command...)
	p, err := NewProcess(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func invoke(t testing.TB, f Function, event string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	return f.Invoke(ctx, []byte(event))
}

// invokeJSON invokes f and decodes the result into a map, failing on error.
func invokeJSON(t testing.TB, f Function, event string) map[string]any {
	t.Helper()
	b, err := invoke(t, f, event)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	return m
}

// invokePID invokes f and returns the pid the function reports.
func invokePID(t testing.TB, f Function, event string) int {
	t.Helper()
	m := invokeJSON(t, f, event)
	pid, ok := m["pid"].(float64)
	if !ok || pid <= 0 {
		t.Fatalf("no pid in %v", m)
	}
	return int(pid)
}

// counterValue reads one labelled counter of a Metrics.
func counterValue(t testing.TB, vec *prometheus.CounterVec, labels ...string) float64 {
	t.Helper()
	var m dto.Metric
	if err := vec.WithLabelValues(labels...).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// hangGuard bounds waiting for what must happen however loaded the machine
// is: a bound on hanging, never on speed.
const hangGuard = 30 * time.Second

// eventually polls cond until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
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
