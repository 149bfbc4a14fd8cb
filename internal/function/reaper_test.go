package function

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestGroupReaper: when its pipe ends (the gateway is gone), the reaper
// kills every process group still listed, and only those: a group taken
// off the list, and lines that are not "+PGID" or "-PGID", are left alone.
func TestGroupReaper(t *testing.T) {
	t.Parallel()
	r, err := startGroupReaper()
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]*exec.Cmd{}
	exited := map[string]chan error{}
	for _, name := range []string{"listed", "removed", "also-listed"} {
		cmd := exec.Command("sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ch := make(chan error, 1)
		go func() { ch <- cmd.Wait() }()
		t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		groups[name], exited[name] = cmd, ch
	}
	r.add(groups["listed"].Process.Pid)
	r.add(groups["removed"].Process.Pid)
	r.add(groups["also-listed"].Process.Pid)
	r.remove(groups["removed"].Process.Pid)
	r.mu.Lock()
	for _, junk := range []string{"+\n", "+12x\n", "-\n", "x1\n", "+ 1\n", "\n"} {
		r.w.Write([]byte(junk))
	}
	r.mu.Unlock()
	r.stop() // what the gateway's death does to the pipe

	for _, name := range []string{"listed", "also-listed"} {
		select {
		case err := <-exited[name]:
			if ws, ok := err.(*exec.ExitError); !ok || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("%s group ended with %v, want SIGKILL", name, err)
			}
		case <-time.After(20 * time.Second): // a bound on waiting, not on speed
			t.Errorf("%s group not killed", name)
		}
	}
	if err := syscall.Kill(groups["removed"].Process.Pid, 0); err != nil {
		t.Errorf("the group taken off the list was killed too: %v", err)
	}
}
