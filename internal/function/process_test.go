package function

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testlog"
)

func TestProcessEchoExactBytes(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "echo", ProcessSettings{})
	for _, event := range []string{
		`{"a": 1}`,
		`{ "spaced" :  [1, 2 ,3] , "unicode": "żółw \u00e9" }`,
		`"a string"`,
		`[]`,
		`null`,
		"{\n\t\"multi\":\n\"line\"\n}",
	} {
		t.Run(event, func(t *testing.T) {
			got, err := invoke(t, p, event)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != event {
				t.Fatalf("got %q, want %q", got, event)
			}
		})
	}
}

func TestProcessEnvironmentAndContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startProcess(t, "echo", ProcessSettings{
		Name:      "env-check",
		Dir:       dir,
		Env:       map[string]string{"CUSTOM_SETTING": "on", "TZ": "Europe/Paris"},
		MemoryMB:  256,
		Region:    "eu-west-3",
		AccountID: "123456789012",
		Timeout:   time.Minute, // far longer than an answer takes on a loaded machine
	})
	before := time.Now()
	m := invokeJSON(t, p, `{"report":true}`)
	env := map[string]string{}
	for _, kv := range m["env"].([]any) {
		k, v, _ := strings.Cut(kv.(string), "=")
		env[k] = v
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "env-check",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_REGION":                      "eu-west-3",
		"AWS_DEFAULT_REGION":              "eu-west-3",
		"_HANDLER":                        "echo",
		"LAMBDA_TASK_ROOT":                dir,
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/env-check",
		"CUSTOM_SETTING":                  "on",
		"TZ":                              "Europe/Paris", // Env overrides the default :UTC
		"PATH":                            os.Getenv("PATH"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env[secretEnv]; ok {
		t.Errorf("the gateway's %s leaked into the function", secretEnv)
	}
	if !strings.HasPrefix(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", env["AWS_LAMBDA_RUNTIME_API"])
	}
	allowed := map[string]bool{"HOME": true, "_X_AMZN_TRACE_ID": true, // set by aws-lambda-go itself
		"AWS_LAMBDA_RUNTIME_API": true, "AWS_LAMBDA_LOG_STREAM_NAME": true}
	for k := range env {
		if _, ok := want[k]; !ok && !allowed[k] {
			t.Errorf("unexpected variable %s in the function's environment", k)
		}
	}
	if cwd, _ := filepath.EvalSymlinks(m["cwd"].(string)); cwd != mustEval(t, dir) {
		t.Errorf("cwd = %s, want %s", m["cwd"], dir)
	}
	if got := m["arn"]; got != "arn:aws:lambda:eu-west-3:123456789012:function:env-check" {
		t.Errorf("arn = %v", got)
	}
	if id, _ := m["request_id"].(string); len(id) != 36 || id[14] != '4' {
		t.Errorf("request id %q is not a UUIDv4", id)
	}
	deadline := time.UnixMilli(int64(m["deadline_ms"].(float64)))
	// Timeout after the event was sent: after before, and before now
	// (less the millisecond the header's precision loses).
	if deadline.Before(before.Add(time.Minute-time.Millisecond)) || deadline.After(time.Now().Add(time.Minute)) {
		t.Errorf("deadline %v not Timeout (1m) after the event was sent, between %v and now", deadline, before)
	}
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProcessFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fn    string
		event string
		check func(t *testing.T, err error)
	}{
		{"fail", `{"message":"Unauthorized"}`, func(t *testing.T, err error) {
			var fe *Error
			if !errors.As(err, &fe) || fe.Message != "Unauthorized" || fe.Type != "errorString" {
				t.Fatalf("got %#v (%v), want *Error{Unauthorized, errorString}", err, err)
			}
		}},
		{"panic", `{}`, func(t *testing.T, err error) {
			var fe *Error
			if !errors.As(err, &fe) || fe.Message != "boom" {
				t.Fatalf("got %v, want *Error with message boom", err)
			}
		}},
		{"junk", `{}`, func(t *testing.T, err error) {
			if !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("got %v, want ErrInvalidResponse", err)
			}
		}},
		{"huge", `{}`, func(t *testing.T, err error) {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
		}},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			t.Parallel()
			p := startProcess(t, tc.fn, ProcessSettings{Metrics: NewMetrics(nil)})
			// Twice: panic and huge make the process exit, so the second
			// call shows the replacement works the same way.
			for i := range 2 {
				b, err := invoke(t, p, tc.event)
				if b != nil {
					t.Fatalf("call %d: payload %q alongside an error", i, b)
				}
				tc.check(t, err)
			}
		})
	}
}

func TestProcessTimeoutReplacesProcess(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	// Long enough for a warm process to answer {"ms":0} and for a new one to
	// start on a loaded machine; far shorter than the 60 s sleep.
	const timeout = 2 * time.Second
	p := startProcess(t, "sleep", ProcessSettings{Name: "sleepy", Timeout: timeout, Metrics: m})
	pid1 := invokePID(t, p, `{"ms":0}`)

	start := time.Now()
	_, err := invoke(t, p, `{"ms":60000}`)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	// ErrTimeout proves the timeout acted, not the function's answer; it
	// must not act early.
	if d := time.Since(start); d < timeout {
		t.Fatalf("timed out after %v, before the %v timeout", d, timeout)
	}
	if !eventually(hangGuard, func() bool { return syscall.Kill(pid1, 0) == syscall.ESRCH }) {
		t.Fatalf("overrunning process %d still alive", pid1)
	}
	pid2 := invokePID(t, p, `{"ms":0}`)
	if pid2 == pid1 {
		t.Fatal("the timed-out process was reused")
	}
	if n := counterValue(t, m.restarts, "sleepy"); n != 1 {
		t.Errorf("restarts = %v, want 1", n)
	}
	if n := counterValue(t, m.invocations, "sleepy", "timeout"); n != 1 {
		t.Errorf("timeouts = %v, want 1", n)
	}
}

// TestProcessCrashMidInvocation: a process that exits while it runs an
// invocation fails that invocation as Lambda does, with a function error of
// type Runtime.ExitError ("RequestId: ID Error: Runtime exited with error:
// exit status 2"), so callers answer it like any other function error.
func TestProcessCrashMidInvocation(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	// The timeout is far longer than any crash takes to be noticed: an
	// answer of ErrTimeout would mean the exit went unnoticed.
	p := startProcess(t, "crashmid", ProcessSettings{Name: "crasher-mid", Timeout: time.Minute, Metrics: m})
	pid1 := invokePID(t, p, `{}`)
	_, err := invoke(t, p, `{"crash":true}`)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *Error (Runtime.ExitError)", err)
	}
	if fe.Type != "Runtime.ExitError" {
		t.Errorf("error type %q, want Runtime.ExitError", fe.Type)
	}
	if !regexp.MustCompile(`^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 2$`).MatchString(fe.Message) {
		t.Errorf("error message %q, want Lambda's %q", fe.Message, "RequestId: ID Error: Runtime exited with error: exit status 2")
	}
	if n := counterValue(t, m.invocations, "crasher-mid", "function_error"); n != 1 {
		t.Errorf("invocations{result=function_error} = %v, want 1", n)
	}
	pid2 := invokePID(t, p, `{}`)
	if pid2 == pid1 {
		t.Fatal("no new process after the crash")
	}
}

// TestProcessPoisonInputRestartsAtOnce: a process that dies on one
// request's input (os.Exit mid-invocation, or a panic that aws-lambda-go
// reports before exiting) is replaced at once, not after the crash-loop
// backoff meant for processes that cannot start. Before, eight poison
// inputs in a row grew the backoff to 12.8 s, so the next client waited
// out its whole queue time and got ErrUnavailable.
func TestProcessPoisonInputRestartsAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fn, poison string
		check      func(t *testing.T, err error)
	}{
		{"crashmid", `{"crash":true}`, func(t *testing.T, err error) {
			var fe *Error
			if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" {
				t.Fatalf("got %v, want Runtime.ExitError", err)
			}
		}},
		{"panic", `{}`, func(t *testing.T, err error) {
			var fe *Error
			if !errors.As(err, &fe) || fe.Message != "boom" {
				t.Fatalf("got %v, want the function error boom", err)
			}
		}},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			t.Parallel()
			logger, logs := testlog.New()
			m := NewMetrics(nil)
			name := "poisoned-" + tc.fn
			// A queue wait of 10 s: far more than a restart takes, and less
			// than the 12.8 s backoff eight crashes used to build up.
			p := startProcess(t, tc.fn, ProcessSettings{Name: name, Timeout: 10 * time.Second, Logger: logger, Metrics: m})
			const poisons = 8
			for i := range poisons {
				_, err := invoke(t, p, tc.poison)
				if errors.Is(err, ErrUnavailable) {
					t.Fatalf("poison input %d: %v: the process was not replaced in time", i, err)
				}
				tc.check(t, err)
				if tc.fn == "crashmid" {
					// Another client, right after the crash, is served.
					invokePID(t, p, `{}`)
				}
			}
			if !eventually(hangGuard, func() bool { return counterValue(t, m.restarts, name) >= poisons }) {
				t.Fatalf("restarts = %v, want %d", counterValue(t, m.restarts, name), poisons)
			}
			exits := 0
			for _, r := range logs.Records() {
				if r["msg"] == "function process exited" {
					exits++
					if r["restart_in"] != float64(0) {
						t.Errorf("a process that crashed on its invocation restarts after %v ns, want at once", r["restart_in"])
					}
				}
			}
			if exits < poisons {
				t.Errorf("%d exits logged, want %d", exits, poisons)
			}
		})
	}
}

// TestProcessCrashAtStartBacksOff: a process that exits before it is ready
// is relaunched after a backoff of 100 ms, doubling with each exit (as the
// supervisor's log says; a restart loop without backoff would say 0).
// Meanwhile an invocation waits its whole Timeout for a process and fails
// with ErrUnavailable.
func TestProcessCrashAtStartBacksOff(t *testing.T) {
	t.Parallel()
	logger, logs := testlog.New()
	p := startProcess(t, "crashstart", ProcessSettings{Name: "crasher", Timeout: time.Second, Logger: logger})
	start := time.Now()
	_, err := invoke(t, p, `{}`)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("failed after %v, before its 1s wait for a process was over", d)
	}
	var delays []time.Duration
	if !eventually(hangGuard, func() bool {
		delays = delays[:0]
		for _, r := range logs.Records() {
			if r["msg"] == "function process exited" {
				delays = append(delays, time.Duration(r["restart_in"].(float64)))
			}
		}
		return len(delays) >= 4
	}) {
		t.Fatalf("%d exits logged, want 4", len(delays))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if !slices.Equal(delays[:4], want) {
		t.Errorf("restart delays %v, want %v", delays[:4], want)
	}
	if findRecord(logs, map[string]string{"function": "crasher", "stream": "stderr", "line": "crashstart: cannot start"}) == nil {
		t.Error("the function's stderr was not logged")
	}
}

// TestProcessInitError: the invocation waiting for a process whose init
// failed gets the init error as a function error (as on Lambda), and the
// process is launched again only when an invocation asks for it, not in a
// loop.
func TestProcessInitError(t *testing.T) {
	t.Parallel()
	logger, logs := testlog.New()
	m := NewMetrics(nil)
	p := startProcess(t, "raw", ProcessSettings{Name: "initfail", Timeout: 5 * time.Second, Logger: logger, Metrics: m,
		Env: map[string]string{"RAW_MODE": "initerr"}})
	if !eventually(hangGuard, func() bool {
		return findRecord(logs, map[string]string{"msg": "function init error", "error_type": "InitError", "error_message": "bad config"}) != nil
	}) {
		t.Fatal("init error not logged")
	}
	// The old behaviour relaunched after 100 ms, 300 ms, 700 ms, ...
	time.Sleep(5 * initialBackoff)
	if n := counterValue(t, m.restarts, "initfail"); n != 0 {
		t.Fatalf("relaunched %v times with nobody asking", n)
	}
	for i := 1; i <= 2; i++ {
		_, err := invoke(t, p, `{}`)
		var fe *Error
		if !errors.As(err, &fe) || fe.Type != "InitError" || fe.Message != "bad config" {
			t.Fatalf("invocation %d: got %v, want the init error", i, err)
		}
		if n := counterValue(t, m.restarts, "initfail"); n != float64(i) {
			t.Fatalf("after invocation %d: %v relaunches, want %d", i, n, i)
		}
	}
}

// TestProcessOutputRequestID: a function's output lines carry the request
// id of the invocation that printed them.
func TestProcessOutputRequestID(t *testing.T) {
	t.Parallel()
	logger, logs := testlog.New()
	p := startProcess(t, "echo", ProcessSettings{Logger: logger})
	for _, line := range []string{"first", "second"} {
		m := invokeJSON(t, p, `{"report":true,"log":"`+line+`"}`)
		id, _ := m["request_id"].(string)
		if id == "" {
			t.Fatalf("no request id in %v", m)
		}
		if !eventually(hangGuard, func() bool {
			return findRecord(logs, map[string]string{"msg": "function output", "line": line, "request_id": id}) != nil
		}) {
			t.Errorf("line %q not logged with request_id %s: %v", line, id, logs.Records())
		}
	}
}

// TestProcessErrorRequestID: a function error names its invocation, the
// id that labels the function's output, so a caller can log it beside its
// own request id; a process that exits mid-invocation and a timeout name
// it too.
func TestProcessErrorRequestID(t *testing.T) {
	t.Parallel()
	logger, logs := testlog.New()
	p := startProcess(t, "fail", ProcessSettings{Logger: logger})
	_, err := invoke(t, p, `{"message":"directory down","log":"looking the user up"}`)
	var fe *Error
	if !errors.As(err, &fe) || fe.RequestID == "" || fe.FunctionRequestID() != fe.RequestID {
		t.Fatalf("got %#v, want a *Error naming its invocation", err)
	}
	if !eventually(hangGuard, func() bool {
		return findRecord(logs, map[string]string{"msg": "function output", "line": "looking the user up", "request_id": fe.RequestID}) != nil
	}) {
		t.Errorf("the error names invocation %s; the output is labelled otherwise: %v", fe.RequestID, logs.Records())
	}

	crash := startProcess(t, "crashmid", ProcessSettings{Timeout: time.Minute})
	_, err = invoke(t, crash, `{"crash":true}`)
	if !errors.As(err, &fe) || fe.RequestID == "" || !strings.HasPrefix(fe.Message, "RequestId: "+fe.RequestID+" ") {
		t.Errorf("exit mid-invocation: got %#v, want a Runtime.ExitError naming its invocation", err)
	}

	slow := startProcess(t, "sleep", ProcessSettings{Timeout: time.Second})
	_, err = invoke(t, slow, `{"ms":60000}`)
	if !errors.Is(err, ErrTimeout) || !regexp.MustCompile(`invocation [0-9a-f]{8}-[0-9a-f-]{27}: no answer within`).MatchString(err.Error()) {
		t.Errorf("timeout: got %v, want ErrTimeout naming the invocation", err)
	}
}

func TestProcessInitTimeout(t *testing.T) {
	t.Parallel()
	m := NewMetrics(nil)
	logger, logs := testlog.New()
	p, err := NewProcess(ProcessSettings{Name: "hanger", Command: []string{bin(t, "raw")}, Timeout: 500 * time.Millisecond,
		Env: map[string]string{"RAW_MODE": "hang"}, Metrics: m, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	p.initTimeout = 200 * time.Millisecond
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pid := p.currentPIDs()[0]
	if _, err := invoke(t, p, `{}`); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if !eventually(hangGuard, func() bool { return counterValue(t, m.restarts, "hanger") >= 1 }) {
		t.Fatal("a process stuck in init was never replaced")
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("stuck process %d still alive", pid)
	}
	if findRecord(logs, map[string]string{"msg": "function process did not become ready; killing it"}) == nil {
		t.Error("init timeout not logged")
	}
}

func TestProcessSlowStart(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "slowstart", ProcessSettings{})
	start := time.Now()
	invokePID(t, p, `{}`)
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("answered after %v, before the function finished initialising", d)
	}
}

func TestProcessStaleRequestIDRejected(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "raw", ProcessSettings{})
	m := invokeJSON(t, p, `{}`)
	if m["stale_status"] != float64(400) {
		t.Fatalf("answering an unknown request id got %v, want 400", m["stale_status"])
	}
}

func TestProcessConcurrencyLimit(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "echo", ProcessSettings{Concurrency: 2})
	type span struct{ pid, start, end int64 }
	var (
		mu    sync.Mutex
		spans []span
		wg    sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			m := invokeJSON(t, p, `{"report":true,"ms":150}`)
			mu.Lock()
			spans = append(spans, span{int64(m["pid"].(float64)), int64(m["start"].(float64)), int64(m["end"].(float64))})
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(spans) != 6 {
		t.Fatalf("%d of 6 invocations succeeded", len(spans))
	}
	pids := map[int64]bool{}
	maxOverlap := 0
	for _, s := range spans {
		pids[s.pid] = true
		overlap := 0
		for _, o := range spans {
			if o.start <= s.start && s.start < o.end {
				overlap++
			}
		}
		maxOverlap = max(maxOverlap, overlap)
	}
	if len(pids) != 2 {
		t.Errorf("%d distinct processes, want 2", len(pids))
	}
	if maxOverlap > 2 {
		t.Errorf("%d invocations ran at once, want at most 2", maxOverlap)
	}
	if maxOverlap < 2 {
		t.Errorf("invocations never overlapped; Concurrency 2 not used")
	}
}

// TestProcessQueueFull: with the process busy and the queue full, another
// invocation is refused at once: while the first still runs and the second
// still waits, rather than after waiting for a process.
func TestProcessQueueFull(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "sleep", ProcessSettings{QueueSize: 1})
	invokePID(t, p, `{"ms":0}`) // warm
	errs := make(chan error, 2)
	go func() { _, err := invoke(t, p, `{"ms":3000}`); errs <- err }()
	if !eventually(hangGuard, func() bool { return p.inflight.Load() == 1 }) {
		t.Fatal("first invocation never started")
	}
	go func() { _, err := invoke(t, p, `{"ms":0}`); errs <- err }()
	if !eventually(hangGuard, func() bool { return p.disp.queued() == 1 }) {
		t.Fatal("second invocation never queued")
	}
	_, err := invoke(t, p, `{"ms":0}`)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("third invocation: got %v, want ErrUnavailable", err)
	}
	if len(errs) != 0 || p.inflight.Load() != 1 || p.disp.queued() != 1 {
		t.Errorf("the overflow was refused only once the queue moved (%d done, %d running, %d queued)",
			len(errs), p.inflight.Load(), p.disp.queued())
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("running/queued invocation failed: %v", err)
		}
	}
}

// TestProcessContextCancelWhileQueued: an invocation waiting in the queue
// gives up when its context's deadline passes, with both
// context.DeadlineExceeded and ErrTimeout, and leaves the queue; the
// invocation running meanwhile is not disturbed. The test speaks for the
// process and holds the first invocation until the second has given up, so
// the second is certainly queued when its deadline passes.
func TestProcessContextCancelWhileQueued(t *testing.T) {
	t.Parallel()
	p := runtimeAPI(t, ProcessSettings{Timeout: time.Minute})
	c := dialRuntimeAPI(t, p)
	c.send(nextRequest)
	first := invokeAsync(p, `{"n":1}`)
	resp, _ := c.read()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("first event: %d, id %q", resp.StatusCode, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := p.Invoke(ctx, []byte(`{"n":2}`))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want context.DeadlineExceeded and ErrTimeout", err)
	}
	if q := p.disp.queued(); q != 0 {
		t.Errorf("abandoned invocation still queued (%d)", q)
	}
	c.send(respond(id, `{"ok":1}`))
	if resp, _ := c.read(); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("answer: %d", resp.StatusCode)
	}
	if r := <-first; r.err != nil || string(r.payload) != `{"ok":1}` {
		t.Fatalf("running invocation: %q, %v", r.payload, r.err)
	}
}

func TestProcessLogsOutput(t *testing.T) {
	t.Parallel()
	logger, logs := testlog.New()
	p := startProcess(t, "echo", ProcessSettings{Name: "chatty", Logger: logger})
	secretEvent := `{"log":"hello from the function","token":"eyJhbGciOiJzZWNyZXQ"}`
	if _, err := invoke(t, p, secretEvent); err != nil {
		t.Fatal(err)
	}
	for _, want := range []map[string]string{
		{"function": "chatty", "stream": "stdout", "line": "hello from the function"},
		{"function": "chatty", "stream": "stderr", "line": "stderr: hello from the function"},
	} {
		if !eventually(hangGuard, func() bool { return findRecord(logs, want) != nil }) {
			t.Errorf("no log record %v", want)
		}
	}
	p.Close()
	for _, r := range logs.Records() {
		if strings.Contains(fmt.Sprint(r), "eyJhbGciOiJzZWNyZXQ") {
			t.Errorf("event payload logged: %v", r)
		}
	}
}

func TestLineLogger(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", maxLogLine+100)
	for _, tc := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{"lines", []string{"one\ntwo\n"}, []string{"one", "two"}},
		{"split writes", []string{"par", "tial\nrest"}, []string{"partial", "rest"}},
		{"crlf", []string{"dos\r\n"}, []string{"dos"}},
		{"empty line", []string{"\n"}, []string{""}},
		{"long line truncated", []string{long + "\nnext\n"}, []string{long[:maxLogLine], "next"}},
		{"long line across writes", []string{long[:5000], long[5000:], "\nnext"}, []string{long[:maxLogLine], "next"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := testlog.New()
			l := &lineLogger{logger: logger, stream: "stdout"}
			for _, w := range tc.writes {
				if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			l.flush()
			var got []string
			for _, r := range logs.Records() {
				got = append(got, r["line"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("lines %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewProcessValidation(t *testing.T) {
	t.Parallel()
	echo := bin(t, "echo")
	for _, tc := range []struct {
		name string
		s    ProcessSettings
	}{
		{"no name", ProcessSettings{Command: []string{echo}}},
		{"bad name", ProcessSettings{Name: "a/b", Command: []string{echo}}},
		{"no command", ProcessSettings{Name: "x"}},
		{"missing binary", ProcessSettings{Name: "x", Command: []string{"./does-not-exist"}}},
		{"not in PATH", ProcessSettings{Name: "x", Command: []string{"portcullis-no-such-command"}}},
		{"dir missing", ProcessSettings{Name: "x", Command: []string{echo}, Dir: "/nonexistent/dir"}},
		{"negative timeout", ProcessSettings{Name: "x", Command: []string{echo}, Timeout: -1}},
		{"runtime api override", ProcessSettings{Name: "x", Command: []string{echo}, Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "evil:1"}}},
		{"bad env name", ProcessSettings{Name: "x", Command: []string{echo}, Env: map[string]string{"A=B": "c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewProcess(tc.s); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// Command[0] with a slash is relative to Dir.
	p, err := NewProcess(ProcessSettings{Name: "rel", Dir: filepath.Dir(echo), Command: []string{"./echo"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.path != echo {
		t.Errorf("path %s, want %s", p.path, echo)
	}
	// Invoking before Start is refused, not queued forever.
	if _, err := p.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("before Start: got %v, want ErrUnavailable", err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

// TestProcessCloseLeavesNothing is not parallel: it compares the goroutine
// count with the one before it started.
func TestProcessCloseLeavesNothing(t *testing.T) {
	bin(t, "echo")
	baseline := runtime.NumGoroutine()

	logger, logs := testlog.New()
	p, err := NewProcess(ProcessSettings{Name: "closer", Command: []string{bin(t, "echo")}, Concurrency: 3, Timeout: 30 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// With all three waiting for work, the first three of six concurrent
	// invocations go to three different processes, however slow the
	// machine.
	if !eventually(hangGuard, func() bool { return idleProcesses(p) == 3 }) {
		t.Fatal("the three processes never all asked for work")
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		pids = map[int]bool{}
	)
	for range 6 {
		wg.Go(func() {
			pid := invokePID(t, p, `{"report":true,"ms":100}`)
			mu.Lock()
			pids[pid] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	// One invocation in flight while closing fails with ErrUnavailable.
	inflight := make(chan error, 1)
	go func() { _, err := invoke(t, p, `{"report":true,"ms":20000}`); inflight <- err }()
	if !eventually(hangGuard, func() bool { return p.inflight.Load() == 1 }) {
		t.Fatal("invocation never started")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// Each process ended on SIGTERM, without needing the SIGKILL that
	// follows termGrace.
	stops := 0
	for _, r := range logs.Records() {
		if r["msg"] == "function process stopped" {
			stops++
			if r["err"] != "signal: terminated" {
				t.Errorf("process %v stopped with %v, want SIGTERM to end it", r["pid"], r["err"])
			}
		}
	}
	if stops != 3 {
		t.Errorf("%d processes stopped, want 3", stops)
	}
	if err := <-inflight; !errors.Is(err, ErrUnavailable) {
		t.Errorf("in-flight invocation: got %v, want ErrUnavailable", err)
	}
	if _, err := invoke(t, p, `{}`); !errors.Is(err, ErrUnavailable) {
		t.Errorf("after Close: got %v, want ErrUnavailable", err)
	}
	if len(pids) != 3 {
		t.Errorf("saw %d processes, want 3", len(pids))
	}
	for pid := range pids {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("process %d still exists after Close (kill: %v)", pid, err)
		}
	}
	gstart := time.Now()
	defer func() { t.Logf("goroutines settled after %v", time.Since(gstart)) }()
	if !eventually(hangGuard, func() bool { return runtime.NumGoroutine() <= baseline }) {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d after Close, %d before\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
	}
}

func TestProcessCloseKillsStubbornProcess(t *testing.T) {
	t.Parallel()
	logger, logs := testlog.New()
	p := startProcess(t, "raw", ProcessSettings{Env: map[string]string{"RAW_IGNORE_TERM": "1"}, Logger: logger})
	if _, err := invoke(t, p, `{}`); err != nil {
		t.Fatal(err)
	}
	pid := p.currentPIDs()[0]
	start := time.Now()
	p.Close()
	// It had termGrace to end on SIGTERM, and then was killed.
	if d := time.Since(start); d < termGrace {
		t.Errorf("Close took %v, less than the %v it gives SIGTERM", d, termGrace)
	}
	if findRecord(logs, map[string]string{"msg": "function process stopped", "err": "signal: killed"}) == nil {
		t.Errorf("no SIGKILL after SIGTERM was ignored: %s", logs.String())
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("process %d survived Close", pid)
	}
}

func BenchmarkProcessInvoke(b *testing.B) {
	p := startProcess(b, "echo", ProcessSettings{})
	event := []byte(`{"type":"REQUEST","methodArn":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/","headers":{"authorization":"Bearer x"}}`)
	ctx := context.Background()
	if _, err := p.Invoke(ctx, event); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Invoke(ctx, event); err != nil {
			b.Fatal(err)
		}
	}
}

// idleProcesses counts the processes waiting in /next for an invocation.
func idleProcesses(p *Process) int {
	p.disp.mu.Lock()
	defer p.disp.mu.Unlock()
	return p.disp.idle.Len()
}

// currentPIDs lists the pids of the processes now running.
func (p *Process) currentPIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, inst := range p.instances {
		if inst != nil {
			pids = append(pids, inst.pid)
		}
	}
	return pids
}
