package function

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Runtime API paths (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	pathNext      = "GET /2018-06-01/runtime/invocation/next"
	pathResponse  = "POST /2018-06-01/runtime/invocation/{id}/response"
	pathError     = "POST /2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "POST /2018-06-01/runtime/init/error"

	// aws-lambda-go sends these as trailers when a streamed response fails
	// midway; the error body is base64 JSON.
	trailerErrorType = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"

	maxInitErrorBytes = 64 << 10
	maxLogLine        = 8 << 10
)

// instance is one launched OS process together with the Runtime API
// listener that only it knows about. Giving every process its own listener
// (rather than a shared one with per-process paths) means a request's
// listener identifies the process, which a shared host:port could not do
// because runtimes build URLs as "http://" + AWS_LAMBDA_RUNTIME_API +
// "/2018-06-01/...". Request ids add a second check, so a process that
// answers late cannot answer a later invocation.
type instance struct {
	p         *Process
	slot      int
	pid       int
	cmd       *exec.Cmd
	ln        net.Listener
	srv       *http.Server
	cancel    context.CancelFunc // ends all request contexts (blocked /next calls)
	serveDone chan struct{}
	exited    chan struct{} // closed once the process is reaped
	waitErr   error         // valid once exited is closed
	stdout    *lineLogger
	stderr    *lineLogger
	handlers  sync.WaitGroup // Add only under mu while !dead

	killedForTimeout atomic.Bool

	mu      sync.Mutex
	dead    bool
	waiting bool        // a /next call is pending
	current *invocation // handed to the process and not yet answered
	timer   *time.Timer // current's execution deadline
	ready   time.Time   // first /next: init done
}

// launch starts one process for slot with a fresh Runtime API listener.
func (p *Process) launch(ctx context.Context, slot int) (*instance, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("function %s: runtime API listener: %w", p.name, err)
	}
	ictx, cancel := context.WithCancel(context.Background())
	inst := &instance{
		p:         p,
		slot:      slot,
		ln:        ln,
		cancel:    cancel,
		serveDone: make(chan struct{}),
		exited:    make(chan struct{}),
	}
	logger := p.logger.With("slot", slot)
	inst.stdout = &lineLogger{logger: logger, stream: "stdout"}
	inst.stderr = &lineLogger{logger: logger, stream: "stderr"}
	mux := http.NewServeMux()
	mux.HandleFunc(pathNext, inst.handleNext)
	mux.HandleFunc(pathResponse, inst.handleResponse)
	mux.HandleFunc(pathError, inst.handleError)
	mux.HandleFunc(pathInitError, inst.handleInitError)
	inst.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !inst.enter() {
				http.Error(w, "process is gone", http.StatusGone)
				return
			}
			defer inst.handlers.Done()
			mux.ServeHTTP(w, r)
		}),
		// Request contexts end with the instance, which unblocks /next.
		BaseContext: func(net.Listener) context.Context { return ictx },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}

	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(append([]string(nil), p.env...),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+newRequestID()[24:],
	)
	cmd.Stdout = inst.stdout
	cmd.Stderr = inst.stderr
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild that escaped the process group could hold the output
	// pipes open forever; do not let that block Wait.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("function %s: starting %s: %w", p.name, p.path, err)
	}
	inst.cmd = cmd
	inst.pid = cmd.Process.Pid
	go func() {
		defer close(inst.serveDone)
		_ = inst.srv.Serve(ln)
	}()
	go func() {
		err := cmd.Wait()
		inst.stdout.flush()
		inst.stderr.flush()
		// Children left in the group would outlive their parent; the group
		// id cannot be reused while any member is alive.
		_ = syscall.Kill(-inst.pid, syscall.SIGKILL)
		inst.waitErr = err
		close(inst.exited)
	}()
	p.logger.Debug("function process started", "slot", slot, "pid", inst.pid, "runtime_api", ln.Addr().String())
	return inst, nil
}

// enter registers a running handler unless the instance is being torn down.
func (inst *instance) enter() bool {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.dead {
		return false
	}
	inst.handlers.Add(1)
	return true
}

// readyAt is when the process first asked for an invocation (zero: never).
func (inst *instance) readyAt() time.Time {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.ready
}

// kill sends SIGKILL to the process group, so children die too.
func (inst *instance) kill() { _ = syscall.Kill(-inst.pid, syscall.SIGKILL) }

// terminate stops the process: SIGTERM to its group, then SIGKILL after
// grace (at once when grace is 0), and waits until it is reaped.
func (inst *instance) terminate(grace time.Duration) {
	if grace > 0 {
		_ = syscall.Kill(-inst.pid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-inst.exited:
			t.Stop()
			return
		case <-t.C:
		}
	}
	inst.kill()
	<-inst.exited
}

// cleanup tears down the listener once the process is gone and fails an
// invocation it was running with err. Call once, after exited is closed.
func (inst *instance) cleanup(err error) {
	inst.cancel()
	inst.mu.Lock()
	inst.dead = true
	inst.mu.Unlock()
	_ = inst.srv.Close()
	<-inst.serveDone
	_ = inst.ln.Close()
	inst.handlers.Wait()
	inst.mu.Lock()
	cur := inst.current
	inst.current = nil
	if inst.timer != nil {
		inst.timer.Stop()
		inst.timer = nil
	}
	inst.mu.Unlock()
	if cur != nil {
		inst.p.inflight.Add(-1)
		cur.finish(nil, err)
	}
}

// complete ends inv if it is still this process's current invocation and
// reports whether it was (false: it already timed out or was replaced).
func (inst *instance) complete(inv *invocation, payload []byte, err error) bool {
	inst.mu.Lock()
	if inst.current != inv {
		inst.mu.Unlock()
		return false
	}
	inst.current = nil
	if inst.timer != nil {
		inst.timer.Stop()
		inst.timer = nil
	}
	inst.mu.Unlock()
	inst.p.inflight.Add(-1)
	inv.finish(payload, err)
	return true
}

// expire is the execution deadline of inv: the process is killed (it may be
// stuck, and Lambda gives it no chance to finish either) and replaced.
func (inst *instance) expire(inv *invocation) {
	if inst.complete(inv, nil, fmt.Errorf("function %s: no answer within %s: %w", inst.p.name, inst.p.timeout, ErrTimeout)) {
		// Set before the kill: the supervisor reads it once the process
		// has exited, and a timeout kill is restarted without backoff.
		inst.killedForTimeout.Store(true)
		inst.kill()
	}
}

// lookup returns the current invocation if its id is id.
func (inst *instance) lookup(id string) *invocation {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.current == nil || inst.current.id != id {
		return nil
	}
	return inst.current
}

func (inst *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	p := inst.p
	inst.mu.Lock()
	if inst.waiting {
		inst.mu.Unlock()
		// One invocation per process: a second concurrent /next would make
		// the process run two at once.
		http.Error(w, "an invocation request is already pending", http.StatusConflict)
		return
	}
	inst.waiting = true
	if inst.ready.IsZero() {
		inst.ready = time.Now()
	}
	prev := inst.current
	inst.mu.Unlock()
	defer func() {
		inst.mu.Lock()
		inst.waiting = false
		inst.mu.Unlock()
	}()
	if prev != nil {
		// The Runtime API treats /next as "done with the previous one";
		// without an answer there is nothing to return.
		inst.complete(prev, nil, fmt.Errorf("function %s: runtime asked for the next invocation without answering: %w", p.name, ErrInvalidResponse))
	}

	inv, err := p.disp.next(r.Context())
	if err != nil {
		http.Error(w, "runtime is shutting down", http.StatusServiceUnavailable)
		return
	}
	deadline := time.Now().Add(p.timeout)
	inst.mu.Lock()
	if inst.dead {
		inst.mu.Unlock()
		p.disp.requeue(inv)
		http.Error(w, "process is gone", http.StatusGone)
		return
	}
	inst.current = inv
	inst.timer = time.AfterFunc(p.timeout, func() { inst.expire(inv) })
	inst.mu.Unlock()
	p.inflight.Add(1)

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(inv.event)))
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", p.arn)
	h.Set("Lambda-Runtime-Trace-Id", newTraceID(time.Now()))
	w.WriteHeader(http.StatusOK)
	// A failed write means the process went away; its exit fails inv.
	_, _ = w.Write(inv.event)
}

func (inst *instance) handleResponse(w http.ResponseWriter, r *http.Request) {
	p := inst.p
	inv := inst.lookup(r.PathValue("id"))
	if inv == nil {
		http.Error(w, "unknown or expired request id", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.max))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		inst.complete(inv, nil, fmt.Errorf("function %s: response over %d bytes: %w", p.name, p.max, ErrTooLarge))
		http.Error(w, "response too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		inst.complete(inv, nil, fmt.Errorf("function %s: reading the response: %w", p.name, err))
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	var res error
	if t := r.Trailer.Get(trailerErrorType); t != "" {
		// The function failed while streaming its response.
		raw, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		fe, derr := decodeErrorReport(raw, t)
		if derr != nil {
			res = fmt.Errorf("function %s: %w", p.name, derr)
		} else {
			res = fe
		}
	} else if !json.Valid(body) {
		res = fmt.Errorf("function %s: %w", p.name, ErrInvalidResponse)
	}
	var ok bool
	if res != nil {
		ok = inst.complete(inv, nil, res)
	} else {
		ok = inst.complete(inv, body, nil)
	}
	if !ok {
		http.Error(w, "request id expired", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (inst *instance) handleError(w http.ResponseWriter, r *http.Request) {
	p := inst.p
	inv := inst.lookup(r.PathValue("id"))
	if inv == nil {
		http.Error(w, "unknown or expired request id", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.max))
	var res error
	if err != nil {
		res = fmt.Errorf("function %s: reading the error report: %w", p.name, err)
	} else if fe, derr := decodeErrorReport(body, r.Header.Get(trailerErrorType)); derr != nil {
		res = fmt.Errorf("function %s: %w", p.name, derr)
	} else {
		res = fe
	}
	if !inst.complete(inv, nil, res) {
		http.Error(w, "request id expired", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (inst *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxInitErrorBytes))
	var ep errorPayload
	_ = json.Unmarshal(body, &ep)
	if ep.Type == "" {
		ep.Type = r.Header.Get(trailerErrorType)
	}
	inst.p.logger.Error("function init error", "slot", inst.slot, "pid", inst.pid,
		"error_type", ep.Type, "error_message", truncate(ep.Message, 1024))
	w.WriteHeader(http.StatusAccepted)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// Like Lambda, an environment whose init failed is discarded; the
	// supervisor relaunches it with backoff.
	inst.kill()
}

// requeue puts back an invocation whose process vanished before it could be
// delivered.
func (d *dispatcher) requeue(inv *invocation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requeueLocked(inv)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// lineLogger forwards a process's output stream to the logger line by line,
// like CloudWatch Logs does for Lambda. Lines are cut at maxLogLine so that
// a function printing without newlines cannot grow memory without bound.
// Write is called from a single goroutine (os/exec's copier).
type lineLogger struct {
	logger   *slog.Logger
	stream   string
	buf      []byte
	dropping bool // discarding the rest of an over-long line
}

func (l *lineLogger) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if !l.dropping {
			if room := maxLogLine - len(l.buf); len(chunk) > room {
				l.buf = append(l.buf, chunk[:room]...)
				l.emit(true)
				l.dropping = true
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		if i >= 0 {
			if !l.dropping {
				l.emit(false)
			}
			l.dropping = false
		}
	}
	return n, nil
}

// flush logs a last line that had no newline.
func (l *lineLogger) flush() {
	if len(l.buf) > 0 && !l.dropping {
		l.emit(false)
	}
	l.buf, l.dropping = nil, false
}

func (l *lineLogger) emit(truncated bool) {
	line := string(bytes.TrimSuffix(l.buf, []byte("\r")))
	l.buf = l.buf[:0]
	attrs := []slog.Attr{slog.String("stream", l.stream), slog.String("line", line)}
	if truncated {
		attrs = append(attrs, slog.Bool("truncated", true))
	}
	l.logger.LogAttrs(context.Background(), slog.LevelInfo, "function output", attrs...)
}
