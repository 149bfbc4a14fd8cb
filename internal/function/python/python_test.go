package python

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/fntest"
	"github.com/portcullis/portcullis/internal/function/registry"
	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testlog"
)

// secretEnv is set in the test process; no function may see it.
const secretEnv = "PORTCULLIS_TEST_GATEWAY_SECRET"

func TestMain(m *testing.M) {
	os.Setenv(secretEnv, "do-not-leak")
	os.Exit(m.Run())
}

// python is the interpreter the tests run: python3 from PATH, resolved to
// the real executable (a pyenv shim takes about a second to start).
func python(t *testing.T) string {
	t.Helper()
	py := testbin.Tool(t, "", "python3", "apt-get install python3")
	real, err := resolvePython(py)
	if err != nil {
		t.Fatalf("%s does not run: %v", py, err)
	}
	return real
}

var resolvePython = func() func(string) (string, error) {
	var once sync.Once
	var real string
	var err error
	return func(py string) (string, error) {
		once.Do(func() {
			var out []byte
			out, err = exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
			real = strings.TrimSpace(string(out))
		})
		return real, err
	}
}()

// block is a functions: entry for the handler in code.
func block(t *testing.T, code, handler, extra string) string {
	return `{runtime: python3.12, handler: ` + handler + `, code: "` + code + `", interpreter: "` + python(t) + `"` + extra + `}`
}

// lambdaFunction is the handler the tests call: what it does depends on
// the event's "do".
const lambdaFunction = `import json, os, sys, time, logging

calls = 0                      # module-level state: survives between invocations
loaded_at = time.time()

def lambda_handler(event, context):
    global calls
    calls += 1
    do = event.get("do")
    if do == "allow" or do == "deny":
        return {"principalId": "alice", "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": do.capitalize(), "Resource": event.get("methodArn", "*")}]},
            "context": {"calls": calls}}
    if do == "unauthorized":
        raise Exception("Unauthorized")
    if do == "raise":
        raise ValueError("bad input: " + str(event.get("n")))
    if do == "sleep":
        time.sleep(event["s"])
    if do == "print":
        print("printed", event["n"])
        print("to stderr", event["n"], file=sys.stderr)
        logging.getLogger().warning("logged %s", event["n"])
        return None
    if do == "unserialisable":
        return {"when": object()}
    if do == "exit":
        sys.exit(3)
    c = context
    return {"calls": calls, "pid": os.getpid(), "loaded_at": loaded_at,
            "context": {"aws_request_id": c.aws_request_id, "function_name": c.function_name,
                        "function_version": c.function_version, "invoked_function_arn": c.invoked_function_arn,
                        "memory_limit_in_mb": c.memory_limit_in_mb, "log_group_name": c.log_group_name,
                        "log_stream_name": c.log_stream_name, "remaining": c.get_remaining_time_in_millis(),
                        "identity": c.identity.cognito_identity_id, "client_context": c.client_context},
            "env": dict(os.environ), "cwd": os.getcwd(), "path0": sys.path[0], "event": event}
`

func start(t *testing.T, extra string) (*function.Process, string, *testlog.Buffer) {
	t.Helper()
	code := fntest.WriteCode(t, map[string]string{"lambda_function.py": lambdaFunction})
	p, logs := fntest.Start(t, Runtime{}, code, block(t, code, "lambda_function.lambda_handler", extra))
	return p, code, logs
}

// logged waits for a function output line containing text, and returns
// its record.
func logged(logs *testlog.Buffer, text string) map[string]any {
	var found map[string]any
	fntest.Eventually(5*time.Second, func() bool {
		for _, r := range logs.Records() {
			if line, _ := r["line"].(string); r["msg"] == "function output" && strings.Contains(line, text) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

func call(t *testing.T, f function.Function, event any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(event)
	out, err := fntest.Invoke(t, f, string(b))
	if err != nil {
		t.Fatalf("invoke %s: %v", b, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("answer %q: %v", out, err)
	}
	return m
}

func TestHandlerAnswers(t *testing.T) {
	t.Parallel()
	p, _, _ := start(t, "")
	allow := call(t, p, map[string]any{"do": "allow", "methodArn": "arn:x"})
	st := allow["policyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	if allow["principalId"] != "alice" || st["Effect"] != "Allow" || st["Resource"] != "arn:x" {
		t.Errorf("allow: %v", allow)
	}
	deny := call(t, p, map[string]any{"do": "deny"})
	if st := deny["policyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any); st["Effect"] != "Deny" {
		t.Errorf("deny: %v", deny)
	}
	// Module-level state survives: the module is loaded once per process.
	first := call(t, p, map[string]any{})
	second := call(t, p, map[string]any{})
	if second["calls"].(float64) != first["calls"].(float64)+1 || second["pid"] != first["pid"] || second["loaded_at"] != first["loaded_at"] {
		t.Errorf("module state lost between invocations: %v then %v", first["calls"], second["calls"])
	}
}

// TestErrors: an exception is a function error with Lambda's errorType
// (the class name) and errorMessage, and the log shows where it was
// raised; failures of the runtime's own have Runtime.* types.
func TestErrors(t *testing.T) {
	t.Parallel()
	p, code, logs := start(t, "")
	for _, tc := range []struct {
		event    string
		typ, msg string
		where    string // in the function's log
	}{
		{`{"do":"unauthorized"}`, "Exception", "Unauthorized", filepath.Join(code, "lambda_function.py") + `", line 15, in lambda_handler`},
		{`{"do":"raise","n":7}`, "ValueError", "bad input: 7", `lambda_function.py", line 17, in lambda_handler`},
		{`{"do":"unserialisable"}`, "Runtime.MarshalError", "Unable to marshal response: Object of type object is not JSON serializable", "[ERROR] Runtime.MarshalError"},
	} {
		_, err := fntest.Invoke(t, p, tc.event)
		var fe *function.Error
		if !errors.As(err, &fe) || fe.Type != tc.typ || fe.Message != tc.msg {
			t.Errorf("%s: got %v, want %s: %s", tc.event, err, tc.typ, tc.msg)
		}
		if logged(logs, tc.where) == nil {
			t.Errorf("%s: %q not in the function's log:\n%s", tc.event, tc.where, logs)
		}
	}
	// The process kept running: state is intact.
	if m := call(t, p, map[string]any{}); m["calls"].(float64) != 4 {
		t.Errorf("calls = %v after three failed invocations, want 4 (same process)", m["calls"])
	}
}

// TestContextAndEnvironment: the context object's fields and the
// variables Lambda sets, the user's env, and nothing of the gateway's.
func TestContextAndEnvironment(t *testing.T) {
	t.Parallel()
	p, code, _ := start(t, `, env: {GREETING: hi}, timeout: 5s, memory_mb: 256`)
	m := call(t, p, map[string]any{"x": 1})
	c := m["context"].(map[string]any)
	env := m["env"].(map[string]any)
	if id, _ := c["aws_request_id"].(string); len(id) != 36 {
		t.Errorf("aws_request_id %q", id)
	}
	for k, want := range map[string]any{
		"function_name": "f", "function_version": "$LATEST", "memory_limit_in_mb": "256",
		"invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:f",
		"log_group_name":       "/aws/lambda/f", "identity": nil, "client_context": nil,
	} {
		if c[k] != want {
			t.Errorf("context.%s = %#v, want %#v", k, c[k], want)
		}
	}
	if r, _ := c["remaining"].(float64); r <= 0 || r > 5000 {
		t.Errorf("get_remaining_time_in_millis() = %v, want in (0, 5000]", r)
	}
	if s, _ := c["log_stream_name"].(string); !strings.Contains(s, "[$LATEST]") {
		t.Errorf("log_stream_name %q", s)
	}
	for k, want := range map[string]string{
		"_HANDLER": "lambda_function.lambda_handler", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
		"LAMBDA_TASK_ROOT": code, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
		"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_LAMBDA_FUNCTION_TIMEOUT": "5", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "GREETING": "hi", "TZ": ":UTC",
	} {
		if env[k] != want {
			t.Errorf("env %s = %v, want %q", k, env[k], want)
		}
	}
	if tr, _ := env["_X_AMZN_TRACE_ID"].(string); !strings.HasPrefix(tr, "Root=1-") {
		t.Errorf("_X_AMZN_TRACE_ID %q", tr)
	}
	if _, ok := env[secretEnv]; ok {
		t.Error("the function sees the gateway's environment")
	}
	if m["cwd"] != code || m["path0"] != code {
		t.Errorf("cwd %v, sys.path[0] %v, want %s", m["cwd"], m["path0"], code)
	}
	if ev := m["event"].(map[string]any); ev["x"] != float64(1) {
		t.Errorf("event %v", ev)
	}
}

// TestOutputGoesToTheLog: print() and logging lines reach the gateway's
// log labelled with the function and the request id, never the answer.
func TestOutputGoesToTheLog(t *testing.T) {
	t.Parallel()
	p, _, logs := start(t, "")
	out, err := fntest.Invoke(t, p, `{"do":"print","n":42}`)
	if err != nil || string(out) != "null" {
		t.Fatalf("answer %q, %v; want null", out, err)
	}
	ids := map[string]bool{}
	for _, text := range []string{"printed 42", "to stderr 42", "logged 42"} {
		r := logged(logs, text)
		if r == nil {
			t.Fatalf("%q not logged:\n%s", text, logs)
		}
		if r["function"] != "f" || r["request_id"] == nil {
			t.Errorf("%q logged without function and request id: %v", text, r)
		}
		ids[r["request_id"].(string)] = true
	}
	if len(ids) != 1 {
		t.Errorf("one invocation's lines carry several request ids: %v", ids)
	}
	// The logging module's records carry the request id themselves.
	var id string
	for k := range ids {
		id = k
	}
	if r := logged(logs, "logged 42"); !strings.HasPrefix(r["line"].(string), "[WARNING]\t") || !strings.Contains(r["line"].(string), "\t"+id+"\t") {
		t.Errorf("logging record %q", r["line"])
	}
}

// TestTimeout: a handler that runs past timeout fails with ErrTimeout;
// its process is replaced and the next invocation runs in a fresh one.
// The timeout is 3 s, as in the Node.js runtime's test: the trivial calls
// before and after it must finish within it on a loaded machine.
func TestTimeout(t *testing.T) {
	t.Parallel()
	p, _, _ := start(t, `, timeout: 3s`)
	before := call(t, p, map[string]any{})
	if _, err := fntest.Invoke(t, p, `{"do":"sleep","s":30}`); !errors.Is(err, function.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	after := call(t, p, map[string]any{})
	if after["pid"] == before["pid"] || after["calls"].(float64) != 1 {
		t.Errorf("after a timeout: pid %v (was %v), calls %v; want a fresh process", after["pid"], before["pid"], after["calls"])
	}
}

// TestInitErrors: a module that cannot be imported is an init error with
// Lambda's type and message; the log says which file and line; the
// invocation gets the error; after the code is fixed, the next invocation
// works without a restart of the gateway.
func TestInitErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, source, handler string
		typ, msg              string
		where                 string // in the log
	}{
		{"syntax error", "def lambda_handler(event, context)\n    return 1\n", "lambda_function.lambda_handler",
			"Runtime.UserCodeSyntaxError", "Syntax error in module 'lambda_function': expected ':' (lambda_function.py, line 1)", "lambda_function.py, line 1"},
		{"missing import", "import json\nimport no_such_package_here\n", "lambda_function.lambda_handler",
			"Runtime.ImportModuleError", "Unable to import module 'lambda_function': No module named 'no_such_package_here'", `lambda_function.py", line 2, in <module>`},
		{"raises at import", "x = 1\nconfig = {}['missing']\n", "lambda_function.lambda_handler",
			"KeyError", "'missing'", `lambda_function.py", line 2, in <module>`},
		{"no such function", "def other(event, context):\n    return 1\n", "lambda_function.lambda_handler",
			"Runtime.HandlerNotFound", "Handler 'lambda_handler' missing on module 'lambda_function'", "Runtime.HandlerNotFound"},
		{"built-in module", "", "sys.lambda_handler",
			"Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module", "Runtime.BuiltInModuleConflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"lambda_function.py": tc.source}
			if tc.handler == "sys.lambda_handler" {
				files["sys.py"] = "def lambda_handler(event, context):\n    return 1\n"
			}
			code := fntest.WriteCode(t, files)
			p, logs := fntest.Start(t, Runtime{}, code, block(t, code, tc.handler, ""))
			_, err := fntest.Invoke(t, p, `{}`)
			var fe *function.Error
			if !errors.As(err, &fe) || fe.Type != tc.typ || fe.Message != tc.msg {
				t.Fatalf("got %v, want %s: %s", err, tc.typ, tc.msg)
			}
			if fntest.FindRecord(logs, map[string]string{"msg": "function init error", "error_type": tc.typ}) == nil {
				t.Errorf("init error not logged:\n%s", logs)
			}
			if logged(logs, tc.where) == nil && !strings.Contains(logs.String(), tc.where) {
				t.Errorf("%q not in the log:\n%s", tc.where, logs)
			}
			if tc.handler != "lambda_function.lambda_handler" {
				return
			}
			fntest.WriteFile(t, filepath.Join(code, "lambda_function.py"), "def lambda_handler(event, context):\n    return {'fixed': True}\n")
			if m := call(t, p, map[string]any{}); m["fixed"] != true {
				t.Errorf("after the fix: %v", m)
			}
		})
	}
}

// TestAsyncHandlerFails: an async def handler is not awaited on Lambda;
// its coroutine cannot be serialised.
func TestAsyncHandlerFails(t *testing.T) {
	t.Parallel()
	code := fntest.WriteCode(t, map[string]string{"app.py": "async def handler(event, context):\n    return {'ok': True}\n"})
	p, _ := fntest.Start(t, Runtime{}, code, block(t, code, "app.handler", ""))
	_, err := fntest.Invoke(t, p, `{}`)
	var fe *function.Error
	if !errors.As(err, &fe) || fe.Type != "Runtime.MarshalError" || !strings.Contains(fe.Message, "coroutine") {
		t.Fatalf("got %v, want Runtime.MarshalError about a coroutine", err)
	}
}

// TestPackagesAndHandlerForms: pkg/app.handler and pkg.app.handler name a
// module in a package folder; helper modules in code import.
func TestPackagesAndHandlerForms(t *testing.T) {
	t.Parallel()
	code := fntest.WriteCode(t, map[string]string{
		"pkg/__init__.py": "",
		"pkg/app.py":      "from helpers import shout\ndef handler(event, context):\n    return {'said': shout(event['w'])}\n",
		"helpers.py":      "def shout(w):\n    return w.upper()\n",
	})
	for _, h := range []string{"pkg/app.handler", "pkg.app.handler"} {
		p, _ := fntest.Start(t, Runtime{}, code, block(t, code, h, ""))
		if m := call(t, p, map[string]any{"w": "hey"}); m["said"] != "HEY" {
			t.Errorf("%s: %v", h, m)
		}
	}
}

// TestConfigErrors: check reports a bad handler, a missing file or folder,
// a missing interpreter and reserved variables, at their place in the file.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	code := fntest.WriteCode(t, map[string]string{"lambda_function.py": lambdaFunction})
	py := python(t)
	for _, tc := range []struct{ name, block, want string }{
		{"no handler", `{runtime: python3.12, code: "` + code + `"}`, "portcullis.yaml:2:6: functions.f: handler is required for runtime python3.12"},
		{"handler form", `{runtime: python3.12, handler: lambda_handler, code: "` + code + `"}`, `functions.f.handler: handler "lambda_handler" must be MODULE.FUNCTION`},
		{"handler file", `{runtime: python3.12, handler: app.handler, code: "` + code + `"}`, `functions.f.handler: handler "app.handler": no app.py in ` + code},
		{"escape", `{runtime: python3.12, handler: ../x.handler, code: "` + code + `"}`, `must be a path of names inside code`},
		{"code folder", `{runtime: python3.12, handler: a.b, code: ./nope}`, "functions.f.code: code folder"},
		{"interpreter", `{runtime: python3.12, handler: lambda_function.lambda_handler, code: "` + code + `", interpreter: /nonexistent/python3}`,
			"functions.f.interpreter: interpreter /nonexistent/python3: no such file or directory (install Python 3 (Debian/Ubuntu: apt-get install python3), or set interpreter: to its path)"},
		{"interpreter not in PATH", `{runtime: python3.12, handler: lambda_function.lambda_handler, code: "` + code + `", interpreter: portcullis-no-python}`,
			`interpreter "portcullis-no-python" is not in PATH: install Python 3`},
		{"reserved env", `{runtime: python3.12, handler: lambda_function.lambda_handler, code: "` + code + `", interpreter: "` + py + `", env: {AWS_REGION: x}}`,
			"functions.f.env.AWS_REGION: AWS_REGION is set by Lambda and cannot be set in env"},
		{"not for python", `{runtime: python3.12, handler: lambda_function.lambda_handler, code: "` + code + `", interpreter: "` + py + `", command: [x]}`,
			"functions.f.command: command does not apply to runtime python3.12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fntest.Build(t, Runtime{}, code, tc.block)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestServes(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"python3.12": true, "python3.9": true, "python3.13": true, "python2.7": false, "python3": false, "nodejs20.x": false} {
		if got := (Runtime{}).Serves(name); got != want {
			t.Errorf("Serves(%q) = %v", name, got)
		}
	}
}

// BenchmarkRoundTrip: an invocation of an empty handler through our
// runtime client ("client") beside Python's own minimum, a bare Runtime
// API loop ("bare", bench/functions/bare.py). Pin it to one core to see
// the single-core case: taskset -c 0 go test -run '^$' -bench RoundTrip.
func BenchmarkRoundTrip(b *testing.B) {
	py := testbin.Tool(b, "", "python3", "apt-get install python3")
	real, err := resolvePython(py)
	if err != nil {
		b.Fatal(err)
	}
	dir, err := filepath.Abs("../../../bench/functions")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		rt    registry.Runtime
		block string
	}{
		{"bare", registry.Process{}, `{runtime: process, command: ["` + real + `", bare.py]}`},
		{"client", Runtime{}, `{runtime: python3.12, handler: empty.handler, interpreter: "` + real + `"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, _ := fntest.Start(b, tc.rt, dir, tc.block)
			fntest.RoundTrip(b, p, fntest.BenchEvent)
		})
	}
}
