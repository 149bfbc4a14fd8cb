package function

import (
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
)

// reaperShell runs the reaper's script; POSIX puts a shell there.
const reaperShell = "/bin/sh"

// reaperScript reads "+PGID" (a process group to kill at the end) and
// "-PGID" (one that is gone) lines until end of input, then SIGKILLs every
// group still listed. Lines that are not a sign and digits are skipped.
// `read`, `case` and `kill` are shell builtins: it runs without PATH.
const reaperScript = `trap '' HUP INT
groups=' '
while read -r line; do
	g=${line#?}
	case $g in ''|*[!0-9]*) continue ;; esac
	case $line in
	+*) groups="$groups$g " ;;
	-*) case $groups in *" $g "*) groups="${groups%% $g *} ${groups#* $g }" ;; esac ;;
	esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
`

// groupReaper kills the process groups of a Process's function processes
// when the gateway ends without stopping them (SIGKILL, a crash).
// Pdeathsig ends each function process itself (Linux only), but not what
// it started in its group (the runtime a bootstrap script runs, a worker, a
// sidecar): the kernel hands those to init, and they would run on. The
// reaper is a small shell process reading a pipe whose writing end only the
// gateway holds (close-on-exec, so no function inherits it): the pipe ends
// when the gateway exits, however it exits, and the shell then kills every
// group still listed. It runs in a process group of its own, so that a
// signal meant for the gateway's group (^C in a terminal) does not end it
// first, and it ignores SIGHUP and SIGINT.
//
// Contract: add a group once its leader runs, remove it once the gateway
// has killed the group itself; stop once no group is left (the shell then
// exits without killing anything). A nil *groupReaper does nothing, which
// is what startGroupReaper's caller keeps when no shell can be started.
type groupReaper struct {
	mu   sync.Mutex
	w    *os.File // guarded by mu; nil once stopped
	done chan struct{}
}

// startGroupReaper starts the reaper's shell.
func startGroupReaper() (*groupReaper, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(reaperShell, "-c", reaperScript)
	cmd.Stdin = r
	cmd.Env = []string{} // nothing of the gateway's environment
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close() // the shell has its own copy
	if err != nil {
		w.Close()
		return nil, err
	}
	g := &groupReaper{w: w, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// add lists pgid for killing should the gateway end without stopping it.
func (g *groupReaper) add(pgid int) { g.send('+', pgid) }

// remove takes pgid off the list.
func (g *groupReaper) remove(pgid int) { g.send('-', pgid) }

func (g *groupReaper) send(op byte, pgid int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil {
		return
	}
	// One short write, which a pipe takes whole (under PIPE_BUF). An error
	// means the shell is gone (killed by hand); nothing is left to tell.
	line := append(strconv.AppendInt([]byte{op}, int64(pgid), 10), '\n')
	_, _ = g.w.Write(line)
}

// stop ends the reaper: the pipe is closed, so the shell reads the end of
// its input and exits. Safe to call more than once.
func (g *groupReaper) stop() {
	if g == nil {
		return
	}
	g.mu.Lock()
	w := g.w
	g.w = nil
	g.mu.Unlock()
	if w != nil {
		w.Close()
	}
	<-g.done
}
