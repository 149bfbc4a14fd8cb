package state

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxBatch bounds one pipeline: a lane takes at most this many queued
// calls at a time (about 25 KiB written).
const maxBatch = 256

// errQueuedPastTimeout is a call that waited its whole timeout before its
// answer came (Redis slow, or the lane busy with a slow pipeline).
var errQueuedPastTimeout = fmt.Errorf("no answer from redis within the timeout: %w", context.DeadlineExceeded)

// luaScript is a Lua script as the batcher sends it: EVALSHA with its
// SHA-1, EVAL with its source after Redis lost its script cache.
type luaScript struct {
	src string
	// sha is the script's SHA-1 in hex, boxed once: an interface of a
	// string variable would allocate on every call.
	sha any
	// values is how many integers the script returns.
	values int
}

func newLuaScript(src string, values int) *luaScript {
	return &luaScript{src: src, sha: redis.NewScript(src).Hash(), values: values}
}

// batcher runs Lua script calls for concurrent requests as pipelines: a
// lane goroutine takes every call queued while its previous pipeline was
// in flight and sends them as one pipeline, one write and one read for all
// of them, then hands each caller its own reply. A call made while the
// lane is idle, nothing is queued and no other caller is doing the same
// runs on its caller's goroutine as a plain command (one request at a
// time costs no handoff). Each call is still one command in one round trip
// (two, once, after Redis lost its script cache), and its caller waits at
// most the timeout from the moment it called, queued time included: the
// pipeline's deadline is its earliest call's, and the caller stops waiting
// at its own deadline whatever the lane does. A Cluster client splits
// each pipeline by node itself.
//
// The zero value is not usable; newBatcher starts its lane and close
// stops it. run is safe for concurrent use.
type batcher struct {
	c       redis.UniversalClient
	timeout time.Duration
	queue   chan *scriptCall
	stop    chan struct{}
	stopped sync.WaitGroup
	closed  atomic.Bool
	calls   sync.Pool // *scriptCall, reused once its caller has its reply
	// sending is true while the lane holds calls; direct while a caller
	// runs its own call (see run).
	sending, direct atomic.Bool
}

// scriptCall is one queued script call. Its caller owns it until it is
// queued; the lane then fills reply and err and signals done. A caller that
// stops waiting (timeout, cancellation) abandons it to the lane and the
// garbage collector; one that received done puts it back in the pool.
type scriptCall struct {
	script   *luaScript
	keys     [2]string
	argv     [8]any // evalsha|eval, sha|src, numkeys, &keys[i]..., args...
	argc     int
	deadline time.Time
	cmd      *redis.Cmd

	reply [4]int64
	err   error
	done  chan struct{} // buffered: the lane never waits for its caller
	timer *time.Timer   // the caller's own bound, stopped between uses
}

func newBatcher(c redis.UniversalClient, timeout time.Duration) *batcher {
	b := &batcher{c: c, timeout: timeout, queue: make(chan *scriptCall, 4*maxBatch), stop: make(chan struct{})}
	b.stopped.Add(1)
	go b.lane()
	return b
}

// close stops the lane; calls still queued, and calls made after, fail
// with redis.ErrClosed.
func (b *batcher) close() {
	if b.closed.CompareAndSwap(false, true) {
		close(b.stop)
		b.stopped.Wait()
	}
}

// run calls s with keys (at most 2) and args (at most 3) and returns its
// integer replies (s.values of them, in v). It waits at most the
// batcher's timeout, and returns ctx's error at once if ctx ends first.
// Arguments boxed once by the caller (see gcra.argsOf) cost nothing here.
func (b *batcher) run(ctx context.Context, s *luaScript, keys []string, args ...any) (v [4]int64, err error) {
	if b.closed.Load() {
		return v, redis.ErrClosed
	}
	c, _ := b.calls.Get().(*scriptCall)
	if c == nil {
		c = &scriptCall{done: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
		c.timer.Stop()
	}
	c.script = s
	c.argv[0], c.argv[1], c.argv[2] = "evalsha", s.sha, len(keys)
	n := 3
	for i, k := range keys {
		c.keys[i] = k
		c.argv[n] = &c.keys[i] // a pointer into c: boxing the string would allocate
		n++
	}
	n += copy(c.argv[n:], args)
	c.argc = n
	c.deadline = time.Now().Add(b.timeout)
	if len(b.queue) == 0 && !b.sending.Load() && b.direct.CompareAndSwap(false, true) {
		// Nothing to share a pipeline with: a handoff to the lane would
		// only add two goroutine switches (and a thread wake-up).
		v, err = b.runDirect(ctx, c)
		b.direct.Store(false)
		b.reuse(c)
		return v, err
	}
	c.timer.Reset(b.timeout)

	select {
	case b.queue <- c: // the usual case: room in the queue
	default:
		if err := b.enqueue(ctx, c); err != nil {
			return v, err
		}
	}
	select {
	case <-c.done:
		c.timer.Stop()
		v, err = c.reply, c.err
		b.reuse(c)
		return v, err
	case <-c.timer.C:
		return v, errQueuedPastTimeout // abandoned to the lane
	case <-ctx.Done():
		c.timer.Stop()
		return v, ctx.Err() // abandoned to the lane
	}
}

// runDirect sends c on the caller's goroutine, under c's deadline, as one
// command (EVAL after NOSCRIPT).
func (b *batcher) runDirect(ctx context.Context, c *scriptCall) ([4]int64, error) {
	ctx, cancel := context.WithDeadline(ctx, c.deadline)
	defer cancel()
	c.cmd = c.command(ctx)
	if err := b.c.Process(ctx, c.cmd); redis.HasErrorPrefix(err, "NOSCRIPT") {
		c.argv[0], c.argv[1] = "eval", c.script.src
		c.cmd = c.command(ctx)
		_ = b.c.Process(ctx, c.cmd)
	}
	err := c.read()
	return c.reply, err
}

// enqueue waits for room in a full queue, within c's timeout.
func (b *batcher) enqueue(ctx context.Context, c *scriptCall) error {
	select {
	case b.queue <- c:
		return nil
	case <-c.timer.C:
		b.reuse(c) // never queued: still ours
		return errQueuedPastTimeout
	case <-ctx.Done():
		c.timer.Stop()
		b.reuse(c)
		return ctx.Err()
	case <-b.stop:
		c.timer.Stop()
		b.reuse(c)
		return redis.ErrClosed
	}
}

// reuse clears c's references and pools it.
func (b *batcher) reuse(c *scriptCall) {
	c.script, c.cmd, c.err = nil, nil, nil
	c.keys = [2]string{}
	clear(c.argv[:])
	b.calls.Put(c)
}

// lane sends queued calls as pipelines until close.
func (b *batcher) lane() {
	defer b.stopped.Done()
	pipe := b.c.Pipeline()
	batch := make([]*scriptCall, 0, maxBatch)
	var retry []*scriptCall
	for {
		select {
		case c := <-b.queue:
			batch = append(batch, c)
		case <-b.stop:
			b.failQueued()
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case c := <-b.queue:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		b.sending.Store(true)
		retry = b.send(pipe, batch, retry[:0])
		b.sending.Store(false)
		clear(batch)
		batch = batch[:0]
	}
}

// failQueued answers every call still queued at close.
func (b *batcher) failQueued() {
	for {
		select {
		case c := <-b.queue:
			c.err = redis.ErrClosed
			c.done <- struct{}{}
		default:
			return
		}
	}
}

// send runs batch as one pipeline under its earliest deadline; calls whose
// deadline has passed are answered at once without being sent. Calls that
// met a Redis without the script run again once as EVAL (retry is reused
// scratch space, returned for the next batch).
func (b *batcher) send(pipe redis.Pipeliner, batch, retry []*scriptCall) []*scriptCall {
	now := time.Now()
	var deadline time.Time
	live := 0
	for _, c := range batch {
		if !c.deadline.After(now) {
			b.answer(c, errQueuedPastTimeout)
			continue
		}
		if live == 0 || c.deadline.Before(deadline) {
			deadline = c.deadline
		}
		batch[live] = c
		live++
	}
	batch = batch[:live]
	if live == 0 {
		return retry
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := execPipeline(ctx, pipe, batch); err != nil {
		for _, c := range batch {
			b.answer(c, err)
		}
		return retry
	}
	for _, c := range batch {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			c.argv[0], c.argv[1] = "eval", c.script.src
			retry = append(retry, c)
			continue
		}
		b.answer(c, nil)
	}
	if len(retry) > 0 {
		err := execPipeline(ctx, pipe, retry)
		for _, c := range retry {
			b.answer(c, err)
		}
		clear(retry)
	}
	return retry
}

// execPipeline sends calls as one pipeline; each command then carries its own
// error. A panic in go-redis or a hook would end the process from the
// lane, where on a caller's goroutine it ended one request: it is returned
// as the error of every call instead, and the lane goes on.
func execPipeline(ctx context.Context, pipe redis.Pipeliner, calls []*scriptCall) (err error) {
	defer func() {
		if p := recover(); p != nil {
			pipe.Discard()
			err = fmt.Errorf("state: redis pipeline panicked: %v", p)
		}
	}()
	for _, c := range calls {
		c.cmd = c.command(ctx)
		_ = pipe.Process(ctx, c.cmd)
	}
	_, _ = pipe.Exec(ctx)
	return nil
}

// command is c's EVALSHA or EVAL. Its first key's position is set, so
// that a Cluster client routes it by that key without working it out.
func (c *scriptCall) command(ctx context.Context) *redis.Cmd {
	cmd := redis.NewCmd(ctx, c.argv[:c.argc]...)
	if c.argv[2] != 0 {
		cmd.SetFirstKeyPos(3)
	}
	return cmd
}

// answer reads c's reply (or sets err) and wakes its caller.
func (b *batcher) answer(c *scriptCall, err error) {
	if err == nil {
		err = c.read()
	}
	c.err = err
	c.done <- struct{}{}
}

// read takes the script's integers from c's command.
func (c *scriptCall) read() error {
	vals, err := c.cmd.Slice()
	if err != nil {
		return err
	}
	if len(vals) != c.script.values {
		return fmt.Errorf("state: script returned %d values; want %d", len(vals), c.script.values)
	}
	for i, x := range vals {
		n, ok := x.(int64)
		if !ok {
			return fmt.Errorf("state: script returned %T", x)
		}
		c.reply[i] = n
	}
	return nil
}
