//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testbin"
)

// TestKilledGatewayLeavesNoProcesses: SIGKILL gives the gateway no chance to
// stop its functions, and nothing it started may outlive it. Each function
// process here is a bootstrap script, as custom runtimes use, that starts a
// helper in its process group (a runtime's worker, a sidecar) and then runs
// the authorizer in its own place. After the gateway is SIGKILLed, neither
// the function processes nor their helpers may be left running.
func TestKilledGatewayLeavesNoProcesses(t *testing.T) {
	sh := testbin.Tool(t, "", "sh", "a POSIX shell, /bin/sh")
	testbin.Tool(t, "", "sleep", "coreutils")
	bin := binary(t)
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "authorizer"), "../../examples/authorizer").CombinedOutput(); err != nil {
		t.Fatalf("go build authorizer: %v\n%s", err, out)
	}
	pidFile := filepath.Join(dir, "pids")
	os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!"+sh+`
sleep 600 &
echo "$$ $!" >> "$PIDS"
exec ./authorizer
`), 0o755)
	cfg := filepath.Join(dir, "orphans.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: 127.0.0.1:0
functions:
  authz: {runtime: process, command: [./bootstrap], env: {PIDS: %q}, concurrency: 2}
authorizers:
  tokens: {type: lambda, function: authz, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: 0s}
routes:
  - {route: "GET /pets/{id}", authorizer: tokens, integration: {type: mock, body: ok}}
`, pidFile)), 0o644)

	var pids []int
	t.Cleanup(func() { // whatever the outcome, leave nothing behind
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	p := startServe(t, bin, cfg)
	if code, body := get(t, p.base+"/pets/1", "allow-alice"); code != 200 {
		t.Fatalf("the authorizer behind its bootstrap does not answer: %d %s", code, body)
	}
	deadline := time.Now().Add(20 * time.Second) // a bound on waiting, not on speed
	for {
		b, _ := os.ReadFile(pidFile)
		if fields := strings.Fields(string(b)); len(fields) == 4 {
			pids = pids[:0]
			for _, f := range fields {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("pid file %q", b)
				}
				pids = append(pids, pid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two function processes never both started: pid file %q", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("process %d is not running before the gateway is killed", pid)
		}
	}

	p.cmd.Process.Kill()
	p.cmd.Wait()

	deadline = time.Now().Add(20 * time.Second)
	for {
		var left []int
		for _, pid := range pids {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left running after the gateway was SIGKILLed (function, helper pairs %v): %v", pids, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid is a process that has not exited: it exists
// and is not a zombie waiting to be reaped by whoever adopted it.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}
