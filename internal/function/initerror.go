package function

import (
	"strings"
	"time"
)

// initErrorReport is a /runtime/init/error body. The Python clients put the
// stack in stackTrace, the Node.js ones in trace (or stack).
type initErrorReport struct {
	Message    string   `json:"errorMessage"`
	Type       string   `json:"errorType"`
	StackTrace []string `json:"stackTrace"`
	Trace      []string `json:"trace"`
	Stack      []string `json:"stack"`
}

// maxInitStack bounds the stack logged with an init error.
const maxInitStack = 4 << 10

// stack is the report's stack as one text, cut at maxInitStack.
func (r *initErrorReport) stack() string {
	lines := r.StackTrace
	if len(lines) == 0 {
		lines = r.Trace
	}
	if len(lines) == 0 {
		lines = r.Stack
	}
	var b strings.Builder
	for _, l := range lines {
		l = strings.TrimRight(l, "\n")
		if b.Len()+len(l)+1 > maxInitStack {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

// failQueued fails every queued invocation with err: what an init error
// does to the invocations that were waiting for the process to be ready,
// as on Lambda, where the invoke that caused the init gets its error.
func (d *dispatcher) failQueued(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for e := d.queue.Front(); e != nil; e = d.queue.Front() {
		inv := d.queue.Remove(e).(*invocation)
		inv.elem = nil
		inv.finish(nil, err)
	}
}

// awaitDemand holds back the relaunch of a process whose init failed until
// an invocation is waiting for one (true), or Close (false): the code is
// tried again when a request asks for it, as Lambda does, instead of in a
// loop that burns CPU while nobody calls. Relaunches are at least
// initialBackoff apart.
func (p *Process) awaitDemand(launched time.Time) bool {
	for p.disp.queued() == 0 {
		select {
		case <-p.disp.demand:
		case <-p.stop:
			return false
		}
	}
	if wait := time.Until(launched.Add(initialBackoff)); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-p.stop:
			return false
		}
	}
	return true
}
