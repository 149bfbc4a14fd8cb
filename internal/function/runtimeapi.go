package function

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Runtime API paths (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	pathNext       = "/2018-06-01/runtime/invocation/next"                   // GET
	pathInvocation = "/2018-06-01/runtime/invocation/"                       // POST {id}/response, {id}/error
	pathInitError  = "/2018-06-01/runtime/init/error"                        // POST
	traceIDPrefix  = "Lambda-Runtime-Trace-Id: Root=1-"                      // then %08x unix seconds, "-", 24 hex digits
	arnHeaderName  = "Lambda-Runtime-Invoked-Function-Arn: "                 // then the ARN
	eventHeader    = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" // first lines of every event

	// aws-lambda-go sends these as trailers when a streamed response fails
	// midway; the error body is base64 JSON.
	trailerErrorType = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"

	maxInitErrorBytes = 64 << 10
	maxLogLine        = 8 << 10

	// maxHeaderBytes bounds a request's header section (net/http's
	// DefaultMaxHeaderBytes), so a process cannot make the gateway buffer
	// without bound.
	maxHeaderBytes = 1 << 20
	// maxDrainBytes is how much of a request body nobody read is discarded
	// to keep the connection (net/http's rule); with more it is closed.
	maxDrainBytes = 256 << 10
	// lingerTime: a connection closed with request bytes still unread is
	// half-closed this long first, so that the process can read the answer
	// before the close resets the connection (net/http's rstAvoidanceDelay).
	lingerTime = 500 * time.Millisecond
	// readBufferSize holds a typical POST .../response (headers, a policy
	// document, trailers) whole, so that parseSimple can take it.
	readBufferSize = 8 << 10
	// Events up to copyEventMax are copied behind their header and sent
	// with one write, which Invoke's goroutine makes itself (see
	// rconn.writeEvent); larger ones are sent with writev by a goroutine.
	copyEventMax = 16 << 10
)

// answerAccepted ends a /response or /error call.
var answerAccepted = []byte("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

// instance is one launched OS process together with the Runtime API
// listener that only it knows about. Giving every process its own listener
// (rather than a shared one with per-process paths) means a request's
// listener identifies the process, which a shared host:port could not do
// because runtimes build URLs as "http://" + AWS_LAMBDA_RUNTIME_API +
// "/2018-06-01/...". Request ids add a second check, so a process that
// answers late cannot answer a later invocation.
//
// The Runtime API is served by a small HTTP/1.1 server of its own (plain
// requests parsed in place, others by http.ReadRequest; answers written by
// hand) rather than net/http's Server: with one invocation per request on
// one core, the Server's per-request machinery (a background read goroutine
// and read deadlines, a context, header maps, a Date header) was a large
// share of the round trip. It also lets the goroutine that submits an
// invocation write it straight to the waiting process.
type instance struct {
	p         *Process
	slot      int
	pid       int
	cmd       *exec.Cmd
	ln        net.Listener
	logger    *slog.Logger
	gone      chan struct{}  // closed by cleanup: the Runtime API is going away
	serveDone chan struct{}  // closed when the accept loop has returned
	busy      sync.WaitGroup // connection goroutines and event writers; Add only under mu while !dead
	exited    chan struct{}  // closed once the process is reaped
	waitErr   error          // valid once exited is closed
	stdout    *lineLogger
	stderr    *lineLogger

	killedForTimeout atomic.Bool
	// initErr is what the process reported to /runtime/init/error, if it
	// did; the supervisor fails the waiting invocations with it.
	initErr atomic.Pointer[Error]
	// invoked is set once the process has been handed an invocation: from
	// then on its exit is that work's doing (a panic on a poison input, an
	// oversize answer), not a failure to start.
	invoked atomic.Bool

	mu      sync.Mutex
	dead    bool
	conns   map[*rconn]struct{} // open connections, closed by cleanup
	pending *waiter             // the unanswered /next call, if any
	current *invocation         // handed to the process and not yet answered
	timer   *time.Timer         // current's execution deadline
	ready   time.Time           // first /next: init done

	launched time.Time // when launch started the process
}

// launch starts one process for slot with a fresh Runtime API listener.
func (p *Process) launch(ctx context.Context, slot int) (*instance, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("function %s: runtime API listener: %w", p.name, err)
	}
	logger := p.logger.With("slot", slot)
	inst := &instance{
		p:         p,
		slot:      slot,
		ln:        ln,
		logger:    logger,
		gone:      make(chan struct{}),
		serveDone: make(chan struct{}),
		exited:    make(chan struct{}),
		conns:     make(map[*rconn]struct{}),
	}
	inst.stdout = &lineLogger{logger: logger, stream: "stdout"}
	inst.stderr = &lineLogger{logger: logger, stream: "stderr"}

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
		ln.Close()
		return nil, fmt.Errorf("function %s: starting %s: %w", p.name, p.path, err)
	}
	inst.cmd = cmd
	inst.pid = cmd.Process.Pid
	inst.launched = time.Now()
	p.reaper.add(inst.pid)
	go inst.serve()
	go func() {
		err := cmd.Wait()
		inst.stdout.flush()
		inst.stderr.flush()
		// Children left in the group would outlive their parent; the group
		// id cannot be reused while any member is alive.
		_ = syscall.Kill(-inst.pid, syscall.SIGKILL)
		p.reaper.remove(inst.pid)
		inst.waitErr = err
		close(inst.exited)
	}()
	p.logger.Debug("function process started", "slot", slot, "pid", inst.pid, "runtime_api", ln.Addr().String())
	return inst, nil
}

// serve accepts Runtime API connections until cleanup closes the listener.
func (inst *instance) serve() {
	defer close(inst.serveDone)
	var delay time.Duration
	for {
		c, err := inst.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: retry with a backoff,
			// as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			inst.logger.Debug("runtime API: accept failed", "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-inst.gone:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		rc := &rconn{inst: inst, c: c}
		if sc, ok := c.(syscall.Conn); ok {
			rc.raw, _ = sc.SyscallConn()
			rc.tw.fn = rc.rawWrite
		}
		rc.lr.c = c
		rc.br = bufio.NewReaderSize(&rc.lr, readBufferSize)
		inst.mu.Lock()
		if inst.dead {
			inst.mu.Unlock()
			c.Close()
			continue
		}
		inst.conns[rc] = struct{}{}
		inst.busy.Add(1)
		inst.mu.Unlock()
		go rc.serve()
	}
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
// invocation it was running with fail's error (fail may be nil when there
// can be none). Call once, after exited is closed.
func (inst *instance) cleanup(fail func(inv *invocation) error) {
	inst.mu.Lock()
	inst.dead = true
	conns := inst.conns
	inst.conns = nil
	inst.mu.Unlock()
	close(inst.gone)
	_ = inst.ln.Close()
	for rc := range conns {
		_ = rc.c.Close()
	}
	<-inst.serveDone
	inst.busy.Wait()
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
		err := fmt.Errorf("function %s: process gone: %w", inst.p.name, ErrUnavailable)
		if fail != nil {
			err = fail(cur)
		}
		cur.finish(nil, err)
	}
}

// exitError is what an invocation gets when its process exits before
// answering it. As on Lambda, where the runtime's exit fails the invocation
// with errorType Runtime.ExitError (so API Gateway answers it like any
// function error), it is a function error, not a technical failure.
func (inst *instance) exitError(inv *invocation) error {
	reason := "Runtime exited without providing a reason"
	if inst.waitErr != nil {
		reason = "Runtime exited with error: " + inst.waitErr.Error()
	}
	return &Error{Type: "Runtime.ExitError", Message: "RequestId: " + inv.id + " Error: " + reason, RequestID: inv.id}
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
	if inst.complete(inv, nil, fmt.Errorf("function %s: invocation %s: no answer within %s: %w", inst.p.name, inv.id, inst.p.timeout, ErrTimeout)) {
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

// waiter is a process's unanswered GET /next. The dispatcher hands it an
// invocation and deliver writes the answer onto the connection from the
// handing goroutine, while the connection's own goroutine goes on reading:
// that is how a process that disconnects while waiting is noticed (the
// job of net/http's per-request background read).
type waiter struct {
	rc       *rconn
	close    bool          // answer with Connection: close
	answered chan struct{} // closed once the answer is written
	elem     *list.Element // in dispatcher.idle; guarded by dispatcher.mu
	canceled bool          // the connection went away; guarded by instance.mu
}

// deliver answers w with inv and reports whether it did. An invocation the
// process can no longer receive goes back to the front of the queue.
// inline: the caller is w's connection goroutine, which may block writing.
func (w *waiter) deliver(inv *invocation, inline bool) bool {
	rc := w.rc
	inst := rc.inst
	p := inst.p
	inst.mu.Lock()
	if inst.dead || w.canceled {
		inst.mu.Unlock()
		p.disp.requeue(inv)
		return false
	}
	deadline := time.Now().Add(p.timeout)
	if inst.pending == w {
		inst.pending = nil
	}
	inst.current = inv
	inst.invoked.Store(true)
	inst.timer = time.AfterFunc(p.timeout, func() { inst.expire(inv) })
	// Output from now on belongs to inv (one invocation at a time).
	inst.stdout.requestID.Store(&inv.id)
	inst.stderr.requestID.Store(&inv.id)
	p.inflight.Add(1)
	inst.mu.Unlock()
	rc.writeEvent(w, inv, deadline, inline)
	return true
}

// abandon withdraws w because its connection is gone.
func (inst *instance) abandon(w *waiter) {
	inst.mu.Lock()
	w.canceled = true
	if inst.pending == w {
		inst.pending = nil
	}
	inst.mu.Unlock()
	inst.p.disp.withdraw(w)
}

// rconn is one Runtime API connection. Its goroutine (serve) reads and
// answers requests in order; writes are serialised by wmu because an event
// is written by whichever goroutine delivers it.
type rconn struct {
	inst *instance
	c    net.Conn
	raw  syscall.RawConn // for tryWrite; nil if c has none
	lr   limitedConn
	br   *bufio.Reader
	next *waiter // this connection's latest /next; owned by serve
	req  request // the request being handled; owned by serve

	// expect100 is set while the current request awaits "100 Continue";
	// owned by serve.
	expect100 bool

	wmu  sync.Mutex
	wbuf []byte   // guarded by wmu
	tw   struct { // tryWrite's state, guarded by wmu
		fn func(uintptr) bool
		b  []byte
		n  int
	}
}

// limitedConn reads from c at most remain bytes, then reports EOF; it
// bounds a request's header section as net/http's connReader does.
type limitedConn struct {
	c      net.Conn
	remain int64
}

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.remain {
		p = p[:l.remain]
	}
	n, err := l.c.Read(p)
	l.remain -= int64(n)
	return n, err
}

func (rc *rconn) serve() {
	inst := rc.inst
	defer func() {
		if v := recover(); v != nil {
			// The value may quote a payload; log its type only.
			inst.logger.Error("runtime API: recovered from panic", "panic_type", fmt.Sprintf("%T", v))
		}
		if rc.next != nil {
			inst.abandon(rc.next)
		}
		_ = rc.c.Close()
		inst.mu.Lock()
		delete(inst.conns, rc)
		inst.mu.Unlock()
		inst.busy.Done()
	}()
	if !peerInGroup(rc.c, inst.pid) {
		// Loopback is open to every local process (other users, other
		// containers of a pod, a backend's SSRF): only the function's
		// own may ask for its events (a Lambda authorizer's carry the
		// caller's token) and answer them. Such a process can connect
		// at will, so the log of refusals is bounded.
		if log, skipped := inst.p.refusals.allow(time.Now()); log {
			inst.logger.Warn("runtime API: refused a connection from a process outside the function's process group",
				"peer", rc.c.RemoteAddr().String(), "suppressed", skipped)
		}
		return
	}
	for {
		rc.lr.remain = maxHeaderBytes + 4096
		req, err := rc.readRequest()
		if err != nil {
			switch {
			case rc.lr.remain <= 0:
				rc.reply(nil, http.StatusRequestHeaderFieldsTooLarge, "request header too large", true)
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isNetError(err):
				// The process closed the connection or it was closed for
				// it; nobody is left to answer.
			default:
				rc.reply(nil, http.StatusBadRequest, "malformed request", true)
			}
			return
		}
		rc.lr.remain = math.MaxInt64
		if w := rc.next; w != nil {
			// Answers go out in request order, so a request sent behind an
			// unanswered /next (no runtime does that) waits for it.
			select {
			case <-w.answered:
			case <-inst.gone:
				return
			}
			rc.next = nil
			if w.close {
				return
			}
		}
		if !rc.handle(req) {
			return
		}
	}
}

// readRequest reads the next request: with parseSimple if it can, else
// with http.ReadRequest. The request is reused by the next call.
func (rc *rconn) readRequest() (*request, error) {
	r := &rc.req
	for {
		buf, err := rc.br.Peek(max(rc.br.Buffered(), 1))
		if len(buf) == 0 {
			return nil, err
		}
		n, more := parseSimple(buf, r)
		if n > 0 {
			_, _ = rc.br.Discard(n)
			return r, nil
		}
		// Part of a plain request has arrived: wait for the rest, as long
		// as it fits in the buffer.
		if !more || len(buf) == rc.br.Size() {
			break
		}
		if _, err := rc.br.Peek(len(buf) + 1); err != nil {
			break
		}
	}
	h, err := http.ReadRequest(rc.br)
	if err != nil {
		return nil, err
	}
	r.fromHTTP(h)
	return r, nil
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// handle answers req, except that a /next is answered later by deliver,
// and reports whether the connection stays open.
func (rc *rconn) handle(req *request) bool {
	inst := rc.inst
	rc.expect100 = false
	if h := req.h; h != nil {
		if e := h.Header.Get("Expect"); e != "" {
			if !strings.EqualFold(e, "100-continue") {
				return rc.reply(req, http.StatusExpectationFailed, "unsupported Expect header", true)
			}
			rc.expect100 = h.ProtoAtLeast(1, 1) && h.ContentLength != 0
		}
	}
	inst.mu.Lock()
	dead := inst.dead
	inst.mu.Unlock()
	if dead {
		return rc.reply(req, http.StatusGone, "process is gone", false)
	}
	path := req.path
	switch {
	case path == pathNext:
		if req.method != http.MethodGet {
			return rc.notAllowed(req, http.MethodGet)
		}
		return rc.handleNext(req)
	case path == pathInitError:
		if req.method != http.MethodPost {
			return rc.notAllowed(req, http.MethodPost)
		}
		return rc.handleInitError(req)
	case strings.HasPrefix(path, pathInvocation):
		id, kind, _ := strings.Cut(path[len(pathInvocation):], "/")
		if id == "" || (kind != "response" && kind != "error") {
			break
		}
		if req.method != http.MethodPost {
			return rc.notAllowed(req, http.MethodPost)
		}
		if kind == "response" {
			return rc.handleResponse(req, id)
		}
		return rc.handleError(req, id)
	}
	return rc.reply(req, http.StatusNotFound, "404 page not found", false)
}

func (rc *rconn) handleNext(req *request) bool {
	inst := rc.inst
	p := inst.p
	// A body on a GET is discarded now: the answer may be written by
	// another goroutine while this one reads the next request.
	keep := !req.close && rc.drain(req)
	inst.mu.Lock()
	if inst.pending != nil {
		inst.mu.Unlock()
		// One invocation per process: a second concurrent /next would make
		// the process run two at once.
		return rc.reply(req, http.StatusConflict, "an invocation request is already pending", !keep)
	}
	w := &waiter{rc: rc, close: !keep, answered: make(chan struct{})}
	inst.pending = w
	if inst.ready.IsZero() {
		inst.ready = time.Now()
	}
	prev := inst.current
	inst.mu.Unlock()
	if prev != nil {
		// The Runtime API treats /next as "done with the previous one";
		// without an answer there is nothing to return.
		inst.complete(prev, nil, fmt.Errorf("function %s: runtime asked for the next invocation without answering: %w", p.name, ErrInvalidResponse))
	}
	inv, err := p.disp.take(w)
	if err != nil {
		inst.mu.Lock()
		if inst.pending == w {
			inst.pending = nil
		}
		inst.mu.Unlock()
		return rc.reply(req, http.StatusServiceUnavailable, "runtime is shutting down", !keep)
	}
	// From here on the answer comes from deliver; serve reads on, which
	// notices a process that hangs up while it waits.
	rc.next = w
	if inv != nil {
		w.deliver(inv, true)
	}
	return true
}

func (rc *rconn) handleResponse(req *request, id string) bool {
	inst := rc.inst
	p := inst.p
	inv := inst.lookup(id)
	if inv == nil {
		return rc.reply(req, http.StatusBadRequest, "unknown or expired request id", false)
	}
	rc.sendContinue()
	body, err := req.readBody(p.max)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		inst.complete(inv, nil, fmt.Errorf("function %s: response over %d bytes: %w", p.name, p.max, ErrTooLarge))
		return rc.reply(req, http.StatusRequestEntityTooLarge, "response too large", true)
	case err != nil:
		inst.complete(inv, nil, fmt.Errorf("function %s: reading the response: %w", p.name, err))
		return rc.reply(req, http.StatusBadRequest, "unreadable body", true)
	}
	var res error
	if t := req.trailer(trailerErrorType); t != "" {
		// The function failed while streaming its response.
		raw, _ := base64.StdEncoding.DecodeString(req.trailer(trailerErrorBody))
		fe, derr := decodeErrorReport(raw, t)
		if derr != nil {
			res = fmt.Errorf("function %s: %w", p.name, derr)
		} else {
			fe.RequestID = inv.id
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
		return rc.reply(req, http.StatusBadRequest, "request id expired", false)
	}
	return rc.accepted(req)
}

func (rc *rconn) handleError(req *request, id string) bool {
	inst := rc.inst
	p := inst.p
	inv := inst.lookup(id)
	if inv == nil {
		return rc.reply(req, http.StatusBadRequest, "unknown or expired request id", false)
	}
	rc.sendContinue()
	body, err := req.readBody(p.max)
	var res error
	if err != nil {
		res = fmt.Errorf("function %s: reading the error report: %w", p.name, err)
	} else if fe, derr := decodeErrorReport(body, req.errorType); derr != nil {
		res = fmt.Errorf("function %s: %w", p.name, derr)
	} else {
		fe.RequestID = inv.id
		res = fe
	}
	if !inst.complete(inv, nil, res) {
		return rc.reply(req, http.StatusBadRequest, "request id expired", err != nil)
	}
	if err != nil {
		// The rest of the body is unread; the connection cannot be reused.
		return rc.reply(req, http.StatusAccepted, "", true)
	}
	return rc.accepted(req)
}

func (rc *rconn) handleInitError(req *request) bool {
	inst := rc.inst
	rc.sendContinue()
	body, _ := req.readBody(maxInitErrorBytes)
	var ep initErrorReport
	_ = json.Unmarshal(body, &ep)
	if ep.Type == "" {
		ep.Type = req.errorType
	}
	attrs := []any{"pid", inst.pid, "error_type", ep.Type, "error_message", truncate(ep.Message, 1024)}
	if stack := ep.stack(); stack != "" {
		// Where it failed (file and line); code locations, not payloads.
		attrs = append(attrs, "stack", stack)
	}
	inst.logger.Error("function init error", attrs...)
	inst.initErr.Store(&Error{Message: ep.Message, Type: ep.Type})
	keep := rc.reply(req, http.StatusAccepted, "", false)
	// Like Lambda, an environment whose init failed is discarded; the
	// supervisor fails the invocations waiting for it with the init error
	// and launches the next one when an invocation asks for it.
	inst.kill()
	return keep
}

// sendContinue answers "Expect: 100-continue" before the body is read.
func (rc *rconn) sendContinue() {
	if rc.expect100 {
		rc.expect100 = false
		rc.wmu.Lock()
		_, _ = io.WriteString(rc.c, "HTTP/1.1 100 Continue\r\n\r\n")
		rc.wmu.Unlock()
	}
}

// drain discards what is left of req's body, up to maxDrainBytes, and
// reports whether the connection can carry another request.
func (rc *rconn) drain(req *request) bool {
	if !req.hasBody() {
		return true
	}
	if rc.expect100 {
		// The process is waiting to be told to send the body; it was not
		// asked, so what follows on the wire is unknown.
		return false
	}
	_, err := io.CopyN(io.Discard, req.h.Body, maxDrainBytes+1)
	return err == io.EOF
}

// accepted is the 202 that ends a /response or /error call.
func (rc *rconn) accepted(req *request) bool {
	if req.close || !rc.drain(req) {
		return rc.reply(req, http.StatusAccepted, "", true)
	}
	rc.wmu.Lock()
	_, err := rc.c.Write(answerAccepted)
	rc.wmu.Unlock()
	return err == nil
}

func (rc *rconn) notAllowed(req *request, allow string) bool {
	return rc.write(req, http.StatusMethodNotAllowed, "Allow: "+allow+"\r\n", "Method Not Allowed", false)
}

// reply answers req (nil: a request that could not be read) with status
// and, unless msg is empty, a text body as http.Error writes it. It reports
// whether the connection stays open: not if close, if the request asked
// for it, or if its body cannot be discarded.
func (rc *rconn) reply(req *request, status int, msg string, close bool) bool {
	return rc.write(req, status, "", msg, close)
}

func (rc *rconn) write(req *request, status int, extra, msg string, close bool) bool {
	unread := false
	if !close {
		if req == nil || req.close {
			close = true
		} else if !rc.drain(req) {
			close, unread = true, true
		}
	} else if req != nil && req.hasBody() {
		// Stopped reading midway (limit hit, unreadable): whatever is left
		// must not be parsed as a request.
		unread = true
	}
	rc.wmu.Lock()
	b := append(rc.wbuf[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	b = append(b, extra...)
	if msg != "" {
		b = append(b, "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(msg)+1), 10)
	} else {
		b = append(b, "Content-Length: 0"...)
	}
	if close {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	if msg != "" && (req == nil || req.method != http.MethodHead) {
		b = append(b, msg...)
		b = append(b, '\n')
	}
	rc.wbuf = b
	_, err := rc.c.Write(b)
	rc.wmu.Unlock()
	if close && unread && err == nil {
		rc.linger()
	}
	return !close && err == nil
}

// linger half-closes the connection and waits a little before it is
// closed, so that a process still sending a body it was refused can read
// the answer instead of a reset.
func (rc *rconn) linger() {
	if tc, ok := rc.c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	t := time.NewTimer(lingerTime)
	defer t.Stop()
	select {
	case <-t.C:
	case <-rc.inst.gone:
	}
}

// writeEvent writes the answer to w's /next: inv's event and its headers.
// Unless inline, it never blocks: it makes one non-blocking write, the
// common case on loopback being that the socket takes it all, and leaves
// whatever is left (or a large event) to a goroutine, so that a process
// that stops reading cannot hold up Invoke's caller, and the event goes
// out without waking another goroutine first.
func (rc *rconn) writeEvent(w *waiter, inv *invocation, deadline time.Time, inline bool) {
	inst := rc.inst
	rc.wmu.Lock()
	b := append(rc.wbuf[:0], eventHeader...)
	b = append(b, "Lambda-Runtime-Aws-Request-Id: "...)
	b = append(b, inv.id...)
	b = append(b, "\r\nLambda-Runtime-Deadline-Ms: "...)
	b = strconv.AppendInt(b, deadline.UnixMilli(), 10)
	b = append(b, "\r\n"...)
	b = append(b, inst.p.arnHeader...)
	if inv.trace != "" { // the gateway's span, so the function's work joins its trace
		b = append(b, "Lambda-Runtime-Trace-Id: "...)
		b = append(b, inv.trace...)
	} else {
		b = appendTraceID(b, time.Now())
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(inv.event)), 10)
	if w.close {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	var event []byte
	if len(inv.event) <= copyEventMax {
		b = append(b, inv.event...)
	} else {
		event = inv.event
	}
	rc.wbuf = b[:0]
	if !inline && event == nil {
		n := rc.tryWrite(b)
		if n == len(b) {
			rc.wmu.Unlock()
			close(w.answered)
			return
		}
		b = b[n:]
	}
	if inline {
		rc.finishEvent(w, b, event)
		return
	}
	inst.mu.Lock()
	if inst.dead {
		// The connection is closed or about to be: nothing to finish.
		inst.mu.Unlock()
		rc.wmu.Unlock()
		close(w.answered)
		return
	}
	inst.busy.Add(1)
	inst.mu.Unlock()
	go func() {
		defer inst.busy.Done()
		rc.finishEvent(w, b, event) // wmu is still held; this releases it
	}()
}

// finishEvent writes b and event, which may block, and releases wmu.
func (rc *rconn) finishEvent(w *waiter, b, event []byte) {
	// A failed write means the process went away; its exit fails inv.
	if event == nil {
		_, _ = rc.c.Write(b)
	} else {
		bufs := net.Buffers{b, event}
		_, _ = bufs.WriteTo(rc.c)
	}
	rc.wmu.Unlock()
	close(w.answered)
}

// tryWrite writes b with at most one non-blocking write and returns how
// much went out. Call with wmu held.
func (rc *rconn) tryWrite(b []byte) int {
	if rc.raw == nil {
		return 0
	}
	rc.tw.b, rc.tw.n = b, 0
	_ = rc.raw.Write(rc.tw.fn)
	n := rc.tw.n
	rc.tw.b = nil
	return n
}

// rawWrite is tryWrite's callback, a method value made once per
// connection so that the call does not allocate.
func (rc *rconn) rawWrite(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), rc.tw.b)
		if err == syscall.EINTR {
			continue
		}
		rc.tw.n = max(n, 0)
		return true // never wait for the socket
	}
}

// appendTraceID appends an X-Ray style trace header; aws-lambda-go only
// passes it on, but some libraries expect the Root=1-xxxxxxxx-... shape.
func appendTraceID(b []byte, now time.Time) []byte {
	var r [12]byte
	_, _ = rand.Read(r[:])
	b = append(b, traceIDPrefix...)
	var ts [8]byte
	u := uint32(now.Unix())
	for i := 7; i >= 0; i-- {
		ts[i] = hexDigits[u&0xf]
		u >>= 4
	}
	b = append(b, ts[:]...)
	b = append(b, '-')
	b = hex.AppendEncode(b, r[:])
	return append(b, ";Sampled=0"...)
}

const hexDigits = "0123456789abcdef"

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
	logger *slog.Logger
	stream string
	// requestID is the invocation the process was last given; its lines
	// are labelled with it (nil: still initialising).
	requestID atomic.Pointer[string]

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
	if id := l.requestID.Load(); id != nil {
		attrs = append(attrs, slog.String("request_id", *id))
	}
	if truncated {
		attrs = append(attrs, slog.Bool("truncated", true))
	}
	l.logger.LogAttrs(context.Background(), slog.LevelInfo, "function output", attrs...)
}
