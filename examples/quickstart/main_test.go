package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPrintedLinesWork runs the quickstart as a user does and executes the
// curl lines it prints, exactly as printed, with bash and curl.
func TestPrintedLinesWork(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the printed lines (make test installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "quickstart")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A copy of the config, so the generated keys land in the temp dir.
	cfg := filepath.Join(dir, "quickstart.yaml")
	data, err := os.ReadFile("../quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, data, 0o644)

	cmd := exec.Command(bin, "-c", cfg)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()

	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var commands []string
	timeout := time.After(30 * time.Second)
read:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("quickstart exited before printing its lines")
			}
			if strings.HasPrefix(l, "TOKEN=") || strings.HasPrefix(l, "curl ") {
				commands = append(commands, l)
			}
			if strings.HasPrefix(l, "Stop with") {
				break read
			}
		case <-timeout:
			t.Fatal("quickstart printed nothing in 30 s")
		}
	}
	if len(commands) != 4 {
		t.Fatalf("printed commands: %q, want a token line and three curl lines", commands)
	}
	// Run the lines as printed in one shell (TOKEN carries over), marking
	// where each one's output starts.
	script := "set -e\n" + commands[0] + "\n"
	for _, c := range commands[1:] {
		script += "echo '=== next'\n" + c + "\necho\n"
	}
	out, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		t.Fatalf("printed lines failed: %v\n%s", err, out)
	}
	parts := strings.Split(string(out), "=== next\n")[1:]
	status := regexp.MustCompile(`HTTP/1.1 (\d+)`)
	want := []struct {
		status string
		body   []string
	}{
		{"200", []string{`"sub":"alice"`, `"x-user-id":"alice"`, `"tenant":"acme"`}},
		{"403", []string{`{"message":"Forbidden"}`}},
		{"401", []string{`{"message":"Unauthorized"}`}},
	}
	for i, w := range want {
		m := status.FindStringSubmatch(parts[i])
		if m == nil || m[1] != w.status {
			t.Errorf("line %q: got\n%s\nwant status %s", commands[i+1], parts[i], w.status)
			continue
		}
		for _, b := range w.body {
			if !strings.Contains(parts[i], b) {
				t.Errorf("line %q: response lacks %s:\n%s", commands[i+1], b, parts[i])
			}
		}
	}
}
