package function

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/tracing"
)

// Restart backoff for processes that exit before they have run an
// invocation (a crash at start, an init error): 100 ms doubling to 30 s,
// back to 100 ms once a process has been ready for healthyAfter. A process
// that exits after it was handed an invocation (a panic on one request's
// input) and one killed for a timeout restart at once: as on Lambda, such a
// failure belongs to that invocation, and the next client must not wait
// for a crash-loop backoff it did not cause.
const (
	initialBackoff = 100 * time.Millisecond
	maxBackoff     = 30 * time.Second
	healthyAfter   = 10 * time.Second
	// termGrace is how long Close lets a process handle SIGTERM.
	termGrace = 2 * time.Second
	// defaultInitTimeout is Lambda's limit for the init phase: a process
	// that has not asked for an invocation by then is stuck, not slow.
	defaultInitTimeout = 10 * time.Second
)

// ProcessSettings configures a Process.
type ProcessSettings struct {
	Name             string            // function name (logs, metrics, AWS_LAMBDA_FUNCTION_NAME); required
	Command          []string          // argv; Command[0] resolved relative to Dir if it has a slash, else looked up in PATH
	Dir              string            // working directory and LAMBDA_TASK_ROOT; default: current directory
	Env              map[string]string // added to (and may override) the Lambda variables, except AWS_LAMBDA_RUNTIME_API
	Timeout          time.Duration     // per invocation; also the longest wait for a free process; default DefaultTimeout
	Concurrency      int               // processes kept warm, each running one invocation at a time; default 1
	QueueSize        int               // invocations waiting for a free process; default 100; beyond, ErrUnavailable at once
	MemoryMB         int               // AWS_LAMBDA_FUNCTION_MEMORY_SIZE (informational, not enforced); default 128
	Region           string            // AWS_REGION/AWS_DEFAULT_REGION and the ARN; default us-east-1
	AccountID        string            // for the ARN; default 000000000000
	MaxResponseBytes int64             // default DefaultMaxResponseBytes
	Logger           *slog.Logger      // function output and lifecycle; default: discard
	Metrics          *Metrics          // optional
}

// Process runs an unchanged Lambda binary (any runtime that speaks the
// Lambda Runtime API, such as aws-lambda-go's lambda.Start) as Concurrency
// local processes kept warm, and hands each invocation to an idle one.
//
// Each launched process gets its own Runtime API listener on 127.0.0.1 (its
// AWS_LAMBDA_RUNTIME_API), so whatever arrives on that listener comes from
// that process and can only fetch and answer that process's invocation; a
// replaced process's listener is closed with it.
//
// Contract: one invocation per process at a time; invocations wait in a
// FIFO queue of QueueSize for at most Timeout (then ErrUnavailable), then
// run for at most Timeout (then ErrTimeout and the process is killed and
// replaced). A process that exits is replaced: at once if it had been
// handed an invocation or was killed by us, with backoff if it never got
// that far. Processes see only PATH, HOME, the Lambda variables and Env,
// never the gateway's environment. NewProcess starts nothing; Start launches;
// Close stops everything and waits. Safe for concurrent use.
type Process struct {
	name     string
	path     string   // resolved Command[0]
	args     []string // Command[1:]
	dir      string
	env      []string // without AWS_LAMBDA_RUNTIME_API, which is per process
	arn      string
	timeout  time.Duration
	max      int64
	queueCap int
	slots    int
	logger   *slog.Logger
	metrics  *Metrics
	// arnHeader is the ARN's header line in every event, built once.
	arnHeader string
	// initTimeout bounds the time from launch to the first /next;
	// tests shorten it.
	initTimeout time.Duration

	disp dispatcher

	// reaper kills the process groups should the gateway end without Close;
	// set by Start before any launch, stopped by Close after the last exit.
	reaper *groupReaper

	mu        sync.Mutex
	started   bool
	instances []*instance   // by slot; nil while a slot has no process
	stop      chan struct{} // closed by Close
	closing   sync.Once
	wg        sync.WaitGroup // supervisors

	// inflight counts invocations handed to a process; tests read it.
	inflight atomic.Int64
	// refusals bounds the log of Runtime API connections refused for
	// coming from outside the function's process group: any local process
	// can make them.
	refusals logLimiter
}

// NewProcess validates s and resolves the command; it starts nothing.
func NewProcess(s ProcessSettings) (*Process, error) {
	dir, path, ps := s.resolve()
	if err := ps.Err(); err != nil {
		return nil, err
	}

	region := orDefault(s.Region, "us-east-1")
	account := orDefault(s.AccountID, "000000000000")
	memory := orDefault(s.MemoryMB, 128)
	vars := map[string]string{
		"_HANDLER":                        filepath.Base(path),
		"AWS_LAMBDA_FUNCTION_NAME":        s.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memory),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + s.Name,
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                dir,
	}
	// Only PATH and HOME are inherited: the gateway's environment holds its
	// own secrets, which a function must not see.
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range s.Env {
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}

	arn := "arn:aws:lambda:" + region + ":" + account + ":function:" + s.Name
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Process{
		name:     s.Name,
		path:     path,
		args:     s.Command[1:],
		dir:      dir,
		env:      env,
		arn:      arn,
		timeout:  orDefault(s.Timeout, DefaultTimeout),
		max:      orDefault(s.MaxResponseBytes, DefaultMaxResponseBytes),
		queueCap: orDefault(s.QueueSize, 100),
		slots:    orDefault(s.Concurrency, 1),
		logger:   logger.With("function", s.Name),
		metrics:  s.Metrics,
		stop:     make(chan struct{}),
		refusals: logLimiter{interval: refusalLogInterval},

		initTimeout: defaultInitTimeout,
		// Region and AccountID are not validated; as net/http would, keep
		// a line break in them from ending the header.
		arnHeader: arnHeaderName + strings.NewReplacer("\r", " ", "\n", " ").Replace(arn) + "\r\n",
	}
	p.disp.init(p.queueCap)
	return p, nil
}

// Problems is what NewProcess refuses in s, each at the field of a
// `functions:` block it is about ("concurrency", "dir", "env.NAME"; "" for
// the name and for what a block does not write), so that the gateway
// reports it at its place.
func (s ProcessSettings) Problems() config.Problems {
	_, _, ps := s.resolve()
	return ps
}

// resolve checks s and returns the absolute working directory and the
// executable to run, so that NewProcess and Problems cannot disagree.
func (s ProcessSettings) resolve() (dir, path string, ps config.Problems) {
	if s.Name == "" || strings.ContainsAny(s.Name, "\x00\n\r\t /:") {
		ps.Addf("", "process function: invalid Name %q", s.Name)
		return "", "", ps
	}
	for _, n := range []struct {
		field    string
		negative bool
	}{
		{"timeout", s.Timeout < 0}, {"concurrency", s.Concurrency < 0}, {"queue_size", s.QueueSize < 0},
		{"memory_mb", s.MemoryMB < 0}, {"", s.MaxResponseBytes < 0},
	} {
		if n.negative { // one sentence for them all, at the first
			ps.Addf(n.field, "process function %s: Timeout, Concurrency, QueueSize, MemoryMB and MaxResponseBytes must not be negative", s.Name)
			break
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			ps.Addf("env", "process function %s: invalid Env name %q", s.Name, k)
		}
		if k == "AWS_LAMBDA_RUNTIME_API" {
			ps.Addf("env."+k, "process function %s: Env must not set AWS_LAMBDA_RUNTIME_API", s.Name)
		}
	}
	dir = s.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			ps.Addf("dir", "process function %s: %w", s.Name, err)
			return "", "", ps
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		ps.Addf("dir", "process function %s: %w", s.Name, err)
		return "", "", ps
	}
	if fi, err := os.Stat(dir); err != nil {
		ps.Addf("dir", "process function %s: Dir: %w", s.Name, err)
		return "", "", ps
	} else if !fi.IsDir() {
		ps.Addf("dir", "process function %s: Dir %s is not a directory", s.Name, dir)
		return "", "", ps
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		ps.Addf("command", "process function %s: Command is required", s.Name)
		return "", "", ps
	}
	path = s.Command[0]
	if strings.Contains(path, "/") {
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
	} else if path, err = exec.LookPath(path); err != nil {
		ps.Addf("command", "process function %s: %w", s.Name, err)
		return "", "", ps
	}
	if fi, err := os.Stat(path); err != nil {
		ps.Addf("command", "process function %s: command: %w", s.Name, err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		ps.Addf("command", "process function %s: command %s is not an executable file", s.Name, path)
	}
	return dir, path, ps
}

// Start launches the processes and returns once they are launched, not once
// they are ready: invocations meanwhile wait in the queue. ctx bounds only
// the launch; the processes run until Close. A command that cannot be
// executed at all is an error here; a process that exits later is restarted.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return fmt.Errorf("process function %s: already started", p.name)
	}
	select {
	case <-p.stop:
		return fmt.Errorf("process function %s: closed", p.name)
	default:
	}
	reaper, err := startGroupReaper()
	if err != nil {
		// Pdeathsig still ends the function processes themselves (Linux).
		p.logger.Warn("cannot start the process group reaper: what function processes start may outlive a gateway that is killed",
			"shell", reaperShell, "err", err)
	}
	p.reaper = reaper
	insts := make([]*instance, 0, p.slots)
	for slot := range p.slots {
		inst, err := p.launch(ctx, slot)
		if err != nil {
			for _, in := range insts {
				in.terminate(0)
				in.cleanup(nil)
			}
			p.reaper.stop()
			return err
		}
		insts = append(insts, inst)
	}
	p.started = true
	p.instances = insts
	p.disp.open()
	for slot, inst := range insts {
		p.wg.Add(1)
		go p.supervise(slot, inst)
	}
	return nil
}

// Close stops all processes (SIGTERM to each process group, SIGKILL after
// 2 s), closes their listeners, fails queued and running invocations with
// ErrUnavailable and waits until all of that is done. Safe to call more
// than once and without Start.
func (p *Process) Close() error {
	p.closing.Do(func() {
		p.mu.Lock()
		close(p.stop)
		p.mu.Unlock()
		p.disp.close(fmt.Errorf("function %s: closed: %w", p.name, ErrUnavailable))
	})
	p.wg.Wait()
	p.reaper.stop() // every process group is gone
	return nil
}

// Invoke implements Function. The event is copied, so the caller may reuse
// it once Invoke returns even if the process is still working on it.
func (p *Process) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	start := time.Now()
	b, err := p.invoke(ctx, event)
	p.metrics.observe(p.name, start, err)
	return b, err
}

// queueWait bounds the time an invocation waits for a process: as long as
// a process may take to become free, the longer of Timeout (a busy process
// finishing its invocation) and the init timeout (a process starting, which
// on Lambda has its own 10 s before the invocation's timeout starts). A
// slow start, such as an interpreter on a loaded machine, is then not a
// failure when Timeout is short.
func (p *Process) queueWait() time.Duration { return max(p.timeout, p.initTimeout) }

func (p *Process) invoke(ctx context.Context, event []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(p.name, err)
	}
	inv := &invocation{
		id:            newRequestID(),
		trace:         tracing.XRayHeader(ctx),
		event:         append([]byte(nil), event...),
		queueDeadline: time.Now().Add(p.queueWait()),
		done:          make(chan result, 1),
	}
	w, err := p.disp.submit(inv)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", p.name, err)
	}
	var queued <-chan time.Time
	if w == nil || !w.deliver(inv, false) {
		// Queued: it waits at most queueWait for a process. A delivered
		// invocation needs no such timer; its execution timer bounds it.
		wait := time.NewTimer(time.Until(inv.queueDeadline))
		defer wait.Stop()
		queued = wait.C
	}
	for {
		select {
		case r := <-inv.done:
			return r.payload, r.err
		case <-queued:
			// Still queued after Timeout: no process took it (all busy, or
			// none alive because they keep failing to start).
			if p.disp.remove(inv) {
				return nil, fmt.Errorf("function %s: no process free within %s: %w", p.name, p.queueWait(), ErrUnavailable)
			}
			// Running: its own execution timer bounds the rest.
		case <-ctx.Done():
			// A running invocation is not interrupted (Lambda cannot cancel
			// one either); its process stays busy until it answers or times
			// out, and the answer is dropped.
			p.disp.remove(inv)
			return nil, contextError(p.name, ctx.Err())
		}
	}
}

// supervise keeps one slot's process running until Close: it waits for the
// process to exit and launches a replacement, with backoff unless we killed
// the process ourselves for a timeout.
func (p *Process) supervise(slot int, inst *instance) {
	defer p.wg.Done()
	backoff := initialBackoff
	for {
		var delay time.Duration
		if inst != nil {
			if !p.await(inst) {
				inst.terminate(termGrace)
				p.logger.Debug("function process stopped", "slot", slot, "pid", inst.pid, "err", inst.waitErr)
				closed := fmt.Errorf("function %s: closed: %w", p.name, ErrUnavailable)
				inst.cleanup(func(*invocation) error { return closed })
				return
			}
			inst.cleanup(inst.exitError)
			if ready := inst.readyAt(); !ready.IsZero() && time.Since(ready) >= healthyAfter {
				backoff = initialBackoff
			}
			// An exit after the process ran an invocation is restarted at
			// once. That cannot loop on its own: each such restart needs an
			// invocation handed to the process it replaces.
			if !inst.killedForTimeout.Load() && !inst.invoked.Load() {
				delay = backoff
				backoff = min(2*backoff, maxBackoff)
			}
			if ie := inst.initErr.Load(); ie != nil {
				// Init failed: the waiting invocations get its error and
				// the next launch waits for the next invocation.
				p.disp.failQueued(ie)
				p.logger.Warn("function process exited after an init error; relaunched on the next invocation",
					"slot", slot, "pid", inst.pid)
				if !p.awaitDemand(inst.launched) {
					return
				}
				delay = 0
			} else {
				p.logger.Warn("function process exited", "slot", slot, "pid", inst.pid,
					"err", inst.waitErr, "restart_in", delay)
			}
		} else {
			delay = backoff
			backoff = min(2*backoff, maxBackoff)
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-p.stop:
				t.Stop()
				return
			}
		}
		select {
		case <-p.stop:
			return
		default:
		}
		p.metrics.restart(p.name)
		var err error
		inst, err = p.launch(context.Background(), slot)
		if err != nil {
			p.logger.Error("function process failed to launch", "slot", slot, "err", err)
			inst = nil
		}
		p.mu.Lock()
		p.instances[slot] = inst
		p.mu.Unlock()
	}
}

// await waits for inst to exit (true) or for Close (false), killing it if
// it does not finish initialising within initTimeout.
func (p *Process) await(inst *instance) bool {
	initTimer := time.NewTimer(p.initTimeout)
	defer initTimer.Stop()
	for {
		select {
		case <-inst.exited:
			return true
		case <-p.stop:
			return false
		case <-initTimer.C:
			if inst.readyAt().IsZero() {
				p.logger.Warn("function process did not become ready; killing it",
					"slot", inst.slot, "pid", inst.pid, "init_timeout", p.initTimeout)
				inst.kill()
			}
		}
	}
}

// result is what an invocation ends with.
type result struct {
	payload []byte
	err     error
}

// invocation is one Invoke on its way through the queue and a process.
type invocation struct {
	id            string
	trace         string // X-Ray trace header of the caller's span; "" for a fresh one
	event         []byte
	queueDeadline time.Time
	done          chan result // buffered: finishing never blocks on a caller that left
	finished      atomic.Bool
	elem          *list.Element // guarded by dispatcher.mu; non-nil while queued
}

// finish delivers the outcome once; later outcomes (a late answer racing a
// timeout, say) are dropped.
func (inv *invocation) finish(payload []byte, err error) {
	if inv.finished.CompareAndSwap(false, true) {
		inv.done <- result{payload, err}
	}
}

// dispatcher matches invocations with processes waiting in
// GET /runtime/invocation/next: an invocation goes straight to an idle
// process, else into the bounded FIFO queue, else is refused.
type dispatcher struct {
	mu     sync.Mutex
	cap    int
	opened bool
	closed error
	queue  list.List // *invocation
	idle   list.List // *waiter, one per process waiting in /next
	// demand is signalled when an invocation is queued (see awaitDemand).
	demand chan struct{}
}

func (d *dispatcher) init(capacity int) {
	d.cap = capacity
	d.demand = make(chan struct{}, 1)
}

func (d *dispatcher) open() {
	d.mu.Lock()
	d.opened = true
	d.mu.Unlock()
}

// submit queues inv, or returns the idle process's waiter that the caller
// must deliver it to (outside the lock: delivering writes to a socket).
func (d *dispatcher) submit(inv *invocation) (*waiter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed != nil:
		return nil, d.closed
	case !d.opened:
		return nil, fmt.Errorf("not started: %w", ErrUnavailable)
	case d.idle.Len() > 0:
		w := d.idle.Remove(d.idle.Front()).(*waiter)
		w.elem = nil
		return w, nil
	case d.queue.Len() >= d.cap:
		return nil, fmt.Errorf("queue full (%d waiting): %w", d.queue.Len(), ErrUnavailable)
	default:
		inv.elem = d.queue.PushBack(inv)
		select {
		case d.demand <- struct{}{}:
		default:
		}
		return nil, nil
	}
}

// remove takes inv out of the queue and reports whether it was still there.
func (d *dispatcher) remove(inv *invocation) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if inv.elem == nil {
		return false
	}
	d.queue.Remove(inv.elem)
	inv.elem = nil
	return true
}

// take returns the oldest queued invocation for w's process to deliver,
// or, with none queued, puts w on the idle list (and returns nil) for a
// later submit to hand one to.
func (d *dispatcher) take(w *waiter) (*invocation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed != nil {
		return nil, d.closed
	}
	if e := d.queue.Front(); e != nil {
		inv := d.queue.Remove(e).(*invocation)
		inv.elem = nil
		return inv, nil
	}
	w.elem = d.idle.PushBack(w)
	return nil, nil
}

// withdraw takes w off the idle list if it is still there. If a submit has
// already taken it, the invocation comes back through deliver's requeue.
func (d *dispatcher) withdraw(w *waiter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w.elem != nil {
		d.idle.Remove(w.elem)
		w.elem = nil
	}
}

func (d *dispatcher) requeueLocked(inv *invocation) {
	if d.closed != nil {
		inv.finish(nil, d.closed)
		return
	}
	if !time.Now().Before(inv.queueDeadline) {
		inv.finish(nil, fmt.Errorf("no process free in time: %w", ErrUnavailable))
		return
	}
	inv.elem = d.queue.PushFront(inv)
}

// close refuses new invocations and fails the queued ones with err.
func (d *dispatcher) close(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = err
	for e := d.queue.Front(); e != nil; e = d.queue.Front() {
		inv := d.queue.Remove(e).(*invocation)
		inv.elem = nil
		inv.finish(nil, err)
	}
}

// queued reports the queue length; tests use it to sequence invocations.
func (d *dispatcher) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queue.Len()
}

// newRequestID returns a random UUIDv4, the shape of Lambda request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

var _ Function = (*Process)(nil)
var _ Function = (*Invoke)(nil)
var _ Function = (*HTTP)(nil)
