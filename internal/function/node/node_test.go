package node

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

func node(t *testing.T) string {
	t.Helper()
	return testbin.Tool(t, "", "node", "apt-get install nodejs")
}

func block(t *testing.T, runtime, code, handler, extra string) string {
	return `{runtime: ` + runtime + `, handler: ` + handler + `, code: "` + code + `", interpreter: "` + node(t) + `"` + extra + `}`
}

// asyncHandler is the handler most tests call: what it does depends on
// the event's "do".
const asyncHandler = `let calls = 0; // module-level state: survives between invocations
const loadedAt = Date.now();
const policy = (effect, arn) => ({ principalId: 'alice', policyDocument: { Version: '2012-10-17',
  Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: arn || '*' }] }, context: { calls } });

exports.handler = async (event, context) => {
  calls++;
  switch (event.do) {
    case 'allow': return policy('Allow', event.methodArn);
    case 'deny': return policy('Deny', event.methodArn);
    case 'unauthorized': throw new Error('Unauthorized');
    case 'raise': throw new TypeError('bad input: ' + event.n);
    case 'sleep': await new Promise((r) => setTimeout(r, event.ms)); return null;
    case 'print': console.log('printed', event.n); console.error('to stderr', event.n); return undefined;
    case 'circular': { const o = {}; o.o = o; return o; }
  }
  return { calls, pid: process.pid, loadedAt, env: process.env, cwd: process.cwd(), event,
    context: { awsRequestId: context.awsRequestId, functionName: context.functionName, functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn, memoryLimitInMB: context.memoryLimitInMB, logGroupName: context.logGroupName,
      logStreamName: context.logStreamName, remaining: context.getRemainingTimeInMillis(),
      callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop } };
};
`

func start(t *testing.T, extra string) (*function.Process, string, *testlog.Buffer) {
	t.Helper()
	code := fntest.WriteCode(t, map[string]string{"index.js": asyncHandler})
	p, logs := fntest.Start(t, Runtime{}, code, block(t, "nodejs20.x", code, "index.handler", extra))
	return p, code, logs
}

// logged waits for a function output line containing text and returns
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
	first := call(t, p, map[string]any{})
	second := call(t, p, map[string]any{})
	if second["calls"].(float64) != first["calls"].(float64)+1 || second["pid"] != first["pid"] || second["loadedAt"] != first["loadedAt"] {
		t.Errorf("module state lost between invocations: %v then %v", first["calls"], second["calls"])
	}
}

// TestHandlerStyles: async, promise-returning and callback handlers;
// CommonJS, ES modules (.mjs, and .js under "type": "module") and .cjs;
// nested folders and exports; node_modules in code.
func TestHandlerStyles(t *testing.T) {
	t.Parallel()
	code := fntest.WriteCode(t, map[string]string{
		"async.js":                      `exports.handler = async (event) => ({ style: 'async', got: event.v });`,
		"promise.js":                    `exports.handler = (event) => new Promise((resolve) => setTimeout(() => resolve({ style: 'promise', got: event.v }), 5));`,
		"callback.js":                   `exports.handler = function (event, context, callback) { setTimeout(() => callback(null, { style: 'callback', got: event.v }), 5); };`,
		"esm.mjs":                       "import { shout } from './lib/shout.mjs';\nexport const handler = async (event) => ({ style: shout('esm'), got: event.v });",
		"lib/shout.mjs":                 `export const shout = (s) => s.toUpperCase();`,
		"common.cjs":                    `module.exports.handler = async (event) => ({ style: 'cjs', got: event.v });`,
		"src/handlers/app.js":           "const dep = require('dep');\nexports.main = async (event) => ({ style: dep.name, got: event.v });",
		"node_modules/dep/package.json": `{"name": "dep", "main": "main.js"}`,
		"node_modules/dep/main.js":      `exports.name = 'from node_modules';`,
		"nested.js":                     `exports.api = { v1: { handler: async (event) => ({ style: 'nested', got: event.v }) } };`,
		"sync.js":                       `exports.handler = (event) => ({ style: 'sync' });`,
		"modpkg/package.json":           `{"type": "module"}`,
		"modpkg/index.js":               `export const handler = async (event) => ({ style: 'type module', got: event.v });`,
		"callbackthen.js":               `exports.handler = (event, context, callback) => { callback(null, { style: 'first' }); callback(null, { style: 'second' }); };`,
		"succeed.js":                    `exports.handler = (event, context) => { context.succeed({ style: 'succeed', got: event.v }); };`,
	})
	for _, tc := range []struct {
		handler string
		want    string // the answer
	}{
		{"async.handler", `{"style":"async","got":1}`},
		{"promise.handler", `{"style":"promise","got":1}`},
		{"callback.handler", `{"style":"callback","got":1}`},
		{"esm.handler", `{"style":"ESM","got":1}`},
		{"common.handler", `{"style":"cjs","got":1}`},
		{"src/handlers/app.main", `{"style":"from node_modules","got":1}`},
		{"nested.api.v1.handler", `{"style":"nested","got":1}`},
		{"modpkg/index.handler", `{"style":"type module","got":1}`},
		{"callbackthen.handler", `{"style":"first"}`},
		{"succeed.handler", `{"style":"succeed","got":1}`},
		// A handler that neither returns a promise nor takes a callback
		// answers null on Lambda, whatever it returns.
		{"sync.handler", `null`},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			t.Parallel()
			p, _ := fntest.Start(t, Runtime{}, code, block(t, "nodejs20.x", code, tc.handler, ""))
			out, err := fntest.Invoke(t, p, `{"v":1}`)
			if err != nil || string(out) != tc.want {
				t.Errorf("got %s, %v; want %s", out, err, tc.want)
			}
		})
	}
}

// TestErrors: a thrown Error is reported by its name and message, a
// callback("text") as errorType "string", as Lambda's Node.js runtime does.
func TestErrors(t *testing.T) {
	t.Parallel()
	code := fntest.WriteCode(t, map[string]string{
		"index.js":    asyncHandler,
		"callback.js": `exports.handler = (event, context, callback) => { callback(event.err); };`,
		"reject.js":   `exports.handler = () => Promise.reject(new RangeError('out of range'));`,
		"sync.js":     `exports.handler = (event, context, callback) => { throw new SyntaxError('thrown before the callback'); };`,
	})
	p, logs := fntest.Start(t, Runtime{}, code, block(t, "nodejs20.x", code, "index.handler", ""))
	cb, _ := fntest.Start(t, Runtime{}, code, block(t, "nodejs20.x", code, "callback.handler", ""))
	rej, _ := fntest.Start(t, Runtime{}, code, block(t, "nodejs20.x", code, "reject.handler", ""))
	syn, _ := fntest.Start(t, Runtime{}, code, block(t, "nodejs20.x", code, "sync.handler", ""))
	for _, tc := range []struct {
		f        function.Function
		event    string
		typ, msg string
	}{
		{p, `{"do":"unauthorized"}`, "Error", "Unauthorized"},
		{p, `{"do":"raise","n":7}`, "TypeError", "bad input: 7"},
		{p, `{"do":"circular"}`, "Runtime.JSONStringifyError", "Unable to stringify response body"},
		{cb, `{"err":"Unauthorized"}`, "string", "Unauthorized"},
		{cb, `{"err":{"a":1}}`, "object", "[object Object]"},
		{rej, `{}`, "RangeError", "out of range"},
		{syn, `{}`, "SyntaxError", "thrown before the callback"},
	} {
		_, err := fntest.Invoke(t, tc.f, tc.event)
		var fe *function.Error
		if !errors.As(err, &fe) || fe.Type != tc.typ || fe.Message != tc.msg {
			t.Errorf("%s: got %v, want %s: %s", tc.event, err, tc.typ, tc.msg)
		}
	}
	// The log shows where: the file and line of the throw.
	if logged(logs, filepath.Join(code, "index.js")+":11:") == nil {
		t.Errorf("the throw's place is not in the log:\n%s", logs)
	}
	if m := call(t, p, map[string]any{}); m["calls"].(float64) != 4 {
		t.Errorf("calls = %v after three failed invocations, want 4 (same process)", m["calls"])
	}
}

func TestContextAndEnvironment(t *testing.T) {
	t.Parallel()
	p, code, _ := start(t, `, env: {GREETING: hi}, timeout: 5s, memory_mb: 256`)
	m := call(t, p, map[string]any{"x": 1})
	c := m["context"].(map[string]any)
	env := m["env"].(map[string]any)
	if id, _ := c["awsRequestId"].(string); len(id) != 36 {
		t.Errorf("awsRequestId %q", id)
	}
	for k, want := range map[string]any{
		"functionName": "f", "functionVersion": "$LATEST", "memoryLimitInMB": "256",
		"invokedFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:f",
		"logGroupName":       "/aws/lambda/f", "callbackWaitsForEmptyEventLoop": true,
	} {
		if c[k] != want {
			t.Errorf("context.%s = %#v, want %#v", k, c[k], want)
		}
	}
	if r, _ := c["remaining"].(float64); r <= 0 || r > 5000 {
		t.Errorf("getRemainingTimeInMillis() = %v, want in (0, 5000]", r)
	}
	for k, want := range map[string]string{
		"_HANDLER": "index.handler", "AWS_EXECUTION_ENV": "AWS_Lambda_nodejs20.x",
		"LAMBDA_TASK_ROOT": code, "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "f",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "5", "GREETING": "hi", "TZ": ":UTC",
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
	if m["cwd"] != code {
		t.Errorf("cwd %v, want %s", m["cwd"], code)
	}
}

// TestOutputGoesToTheLog: console output reaches the gateway's log in
// Lambda's format (time, request id, level), labelled with the function
// and the request id, never the answer.
func TestOutputGoesToTheLog(t *testing.T) {
	t.Parallel()
	p, _, logs := start(t, "")
	out, err := fntest.Invoke(t, p, `{"do":"print","n":42}`)
	if err != nil || string(out) != "null" {
		t.Fatalf("answer %q, %v; want null", out, err)
	}
	for _, tc := range []struct{ text, level string }{{"printed 42", "INFO"}, {"to stderr 42", "ERROR"}} {
		r := logged(logs, tc.text)
		if r == nil {
			t.Fatalf("%q not logged:\n%s", tc.text, logs)
		}
		id, _ := r["request_id"].(string)
		if r["function"] != "f" || id == "" || !strings.Contains(r["line"].(string), "\t"+id+"\t"+tc.level+"\t"+tc.text) {
			t.Errorf("%q logged as %v", tc.text, r)
		}
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	p, _, _ := start(t, `, timeout: 3s`)
	before := call(t, p, map[string]any{})
	if _, err := fntest.Invoke(t, p, `{"do":"sleep","ms":30000}`); !errors.Is(err, function.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	after := call(t, p, map[string]any{})
	if after["pid"] == before["pid"] || after["calls"].(float64) != 1 {
		t.Errorf("after a timeout: pid %v (was %v), calls %v; want a fresh process", after["pid"], before["pid"], after["calls"])
	}
}

// TestInitErrors: a file that cannot be loaded is an init error with
// Lambda's type and message; the log says which file and line; the
// invocation gets the error; the fixed file is loaded on the next one.
func TestInitErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, source, handler, runtime string
		typ, msg                             string
		where                                string // in the log
	}{
		{"syntax error", "index.js", "exports.handler = async (event) => {\n  return { a: 1 ;\n};\n", "index.handler", "nodejs20.x",
			"Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected token ';'", "index.js:2"},
		{"esm syntax error", "index.mjs", "export const handler = async () => {\n  return [;\n};\n", "index.handler", "nodejs20.x",
			"Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected token ';'", "index.mjs:2"},
		{"missing module", "index.js", "const x = require('no-such-package-here');\nexports.handler = async () => x;\n", "index.handler", "nodejs20.x",
			"Runtime.ImportModuleError", "Error: Cannot find module 'no-such-package-here'", "index.js:1"},
		{"throws at load", "index.js", "const cfg = {};\nif (!cfg.url) throw new RangeError('no url configured');\nexports.handler = async () => cfg;\n", "index.handler", "nodejs20.x",
			"RangeError", "no url configured", "index.js:2"},
		{"not exported", "index.js", "exports.other = async () => 1;\n", "index.handler", "nodejs20.x",
			"Runtime.HandlerNotFound", "index.handler is undefined or not exported", "Runtime.HandlerNotFound"},
		{"callback on 24", "index.js", "exports.handler = (event, context, callback) => callback(null, 1);\n", "index.handler", "nodejs24.x",
			"Runtime.CallbackHandlerDeprecated", "AWS Lambda has removed support for callback-based function handlers starting with Node.js 24.", "Runtime.CallbackHandlerDeprecated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code := fntest.WriteCode(t, map[string]string{tc.file: tc.source})
			p, logs := fntest.Start(t, Runtime{}, code, block(t, tc.runtime, code, tc.handler, ""))
			_, err := fntest.Invoke(t, p, `{}`)
			var fe *function.Error
			if !errors.As(err, &fe) || fe.Type != tc.typ || !strings.HasPrefix(fe.Message, tc.msg) {
				t.Fatalf("got %v, want %s: %s", err, tc.typ, tc.msg)
			}
			if fntest.FindRecord(logs, map[string]string{"msg": "function init error", "error_type": tc.typ}) == nil {
				t.Errorf("init error not logged:\n%s", logs)
			}
			if !strings.Contains(logs.String(), tc.where) {
				t.Errorf("%q not in the log:\n%s", tc.where, logs)
			}
			if tc.runtime != "nodejs20.x" || tc.name == "not exported" {
				return
			}
			fntest.WriteFile(t, filepath.Join(code, tc.file), "export const handler = async () => ({ fixed: true });\n")
			if tc.file == "index.js" {
				fntest.WriteFile(t, filepath.Join(code, tc.file), "exports.handler = async () => ({ fixed: true });\n")
			}
			if m := call(t, p, map[string]any{}); m["fixed"] != true {
				t.Errorf("after the fix: %v", m)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	code := fntest.WriteCode(t, map[string]string{"index.mjs": "export const handler = async () => 1;\n"})
	nd := node(t)
	for _, tc := range []struct{ name, block, want string }{
		{"no handler", `{runtime: nodejs22.x, code: "` + code + `"}`, "portcullis.yaml:2:6: functions.f: handler is required for runtime nodejs22.x"},
		{"handler form", `{runtime: nodejs22.x, handler: index, code: "` + code + `"}`, `functions.f.handler: handler "index" must be FILE.EXPORT`},
		{"handler file", `{runtime: nodejs22.x, handler: app.handler, code: "` + code + `"}`, `functions.f.handler: handler "app.handler": no app.js, .mjs or .cjs in ` + code},
		{"escape", `{runtime: nodejs22.x, handler: ../index.handler, code: "` + code + `"}`, `must be a path of names inside code`},
		{"interpreter", `{runtime: nodejs22.x, handler: index.handler, code: "` + code + `", interpreter: /nonexistent/node}`,
			"functions.f.interpreter: interpreter /nonexistent/node: no such file or directory (install Node.js (Debian/Ubuntu: apt-get install nodejs), or set interpreter: to its path)"},
		{"reserved env", `{runtime: nodejs22.x, handler: index.handler, code: "` + code + `", interpreter: "` + nd + `", env: {_HANDLER: x}}`,
			"functions.f.env._HANDLER: _HANDLER is set by Lambda and cannot be set in env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fntest.Build(t, Runtime{}, code, tc.block)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %q", err, tc.want)
			}
		})
	}
	if _, err := fntest.Build(t, Runtime{}, code, `{runtime: nodejs22.x, handler: index.handler, code: "`+code+`", interpreter: "`+nd+`"}`); err != nil {
		t.Errorf("index.mjs: %v", err)
	}
}

func TestServes(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"nodejs20.x": true, "nodejs22.x": true, "nodejs24.x": true, "nodejs": false, "node20": false, "python3.12": false} {
		if got := (Runtime{}).Serves(name); got != want {
			t.Errorf("Serves(%q) = %v", name, got)
		}
	}
}

// BenchmarkRoundTrip: an invocation of an empty handler through our
// runtime client ("client") beside Node's own minimum, a bare Runtime API
// loop ("bare", bench/functions/bare.js). Pin it to one core to see the
// single-core case: taskset -c 0 go test -run '^$' -bench RoundTrip.
func BenchmarkRoundTrip(b *testing.B) {
	nd := testbin.Tool(b, "", "node", "apt-get install nodejs")
	dir, err := filepath.Abs("../../../bench/functions")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		rt    registry.Runtime
		block string
	}{
		{"bare", registry.Process{}, `{runtime: process, command: ["` + nd + `", bare.js]}`},
		{"client", Runtime{}, `{runtime: nodejs20.x, handler: empty.handler, interpreter: "` + nd + `"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, _ := fntest.Start(b, tc.rt, dir, tc.block)
			fntest.RoundTrip(b, p, fntest.BenchEvent)
		})
	}
}
