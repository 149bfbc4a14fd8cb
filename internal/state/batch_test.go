package state

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/testredis"
)

// pipelineGate is a go-redis hook that runs before each command sent on
// its own (a caller's direct call) and each pipeline (the lane's) the
// function the test gives it (nil: none), with the commands; it records
// the pipelines' sizes.
type pipelineGate struct {
	mu        sync.Mutex
	before    func(pipeline bool, cmds []redis.Cmder)
	pipelines []int // commands in each pipeline, in order
}

func (g *pipelineGate) DialHook(next redis.DialHook) redis.DialHook { return next }
func (g *pipelineGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		g.mu.Lock()
		before := g.before
		g.mu.Unlock()
		if before != nil {
			before(false, []redis.Cmder{cmd})
		}
		return next(ctx, cmd)
	}
}
func (g *pipelineGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		g.mu.Lock()
		g.pipelines = append(g.pipelines, len(cmds))
		before := g.before
		g.mu.Unlock()
		if before != nil {
			before(true, cmds)
		}
		return next(ctx, cmds)
	}
}

func (g *pipelineGate) set(f func(pipeline bool, cmds []redis.Cmder)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.before = f
}

func (g *pipelineGate) sent() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.pipelines...)
}

// holdBothPaths makes the next calls wait until release is closed: the
// first goes out directly (the lane is idle) and is held; the second,
// made while the first is held, goes to the lane, whose pipeline is held.
// Calls made after it returns queue behind the lane; the hook holds no
// more. It returns a channel
// that yields each held call's error.
func holdBothPaths(t *testing.T, st *Store, g *pipelineGate, release chan struct{}) <-chan error {
	t.Helper()
	held := make(chan bool, 2)
	g.set(func(pipeline bool, _ []redis.Cmder) {
		held <- pipeline
		<-release
	})
	errs := make(chan error, 2)
	l := Limit{Rate: 1, Burst: 1}
	go func() { _, err := st.Allow(context.Background(), "held-direct", l); errs <- err }()
	if pipeline := <-held; pipeline {
		t.Fatal("the first call went to the lane; want it sent directly")
	}
	go func() { _, err := st.Allow(context.Background(), "held-lane", l); errs <- err }()
	if pipeline := <-held; !pipeline {
		t.Fatal("a call made while another was sent directly did not go to the lane")
	}
	g.set(nil) // the two stay held; what comes next is not
	return errs
}

// waitQueued waits until n calls are queued behind the lane (a hang
// guard, not a speed limit).
func waitQueued(t *testing.T, b *batcher, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(b.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued; want %d", len(b.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Calls queued while a pipeline is in flight go out together as the next
// pipeline, and each caller gets its own bucket's answer: every caller has
// a bucket of a different size, so a reply handed to the wrong caller
// shows as the wrong Remaining.
//
// In a Cluster the pipeline is split by node: with two nodes, the buckets
// are on both and each caller still gets its own.
func TestBatcherRepliesToTheirCallers(t *testing.T) {
	t.Run("one server", func(t *testing.T) {
		srv := testredis.Start(t)
		st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{})
		testBatcherReplies(t, st)
	})
	t.Run("cluster of two", func(t *testing.T) {
		nodes := testredis.StartClusterNodes(t, 2)
		st := openRedis(t, &RedisSettings{Addresses: []string{nodes[0].Addr, nodes[1].Addr}}, Options{})
		testBatcherReplies(t, st)
		for _, n := range nodes {
			if got := n.Command(t, "DBSIZE"); got == ":0" {
				t.Errorf("node %s holds no bucket: the test did not reach both", n.Addr)
			}
		}
	})
}

func testBatcherReplies(t *testing.T, st *Store) {
	ctx := context.Background()
	if _, err := st.Allow(ctx, "warm", Limit{Rate: 1, Burst: 1}); err != nil { // dials, loads the script
		t.Fatal(err)
	}
	var gate pipelineGate
	st.Redis().AddHook(&gate)
	release := make(chan struct{})
	heldErrs := holdBothPaths(t, st, &gate, release)

	const n = 100
	type answer struct {
		r   Result
		err error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := st.Allow(ctx, "k"+strconv.Itoa(i), Limit{Rate: 0.001, Burst: i + 1})
			answers[i] = answer{r, err}
		})
	}
	waitQueued(t, st.batch, n)
	close(release)
	wg.Wait()
	for range 2 {
		if err := <-heldErrs; err != nil {
			t.Fatalf("a held call: %v", err)
		}
	}
	for i, a := range answers {
		if a.err != nil || !a.r.Allowed || a.r.Remaining != i {
			t.Errorf("caller %d (burst %d): %+v %v; want allowed, %d remaining", i, i+1, a.r, a.err, i)
		}
	}
	// [1 n] (the held lane call, then the queued ones), and in a Cluster
	// one more: the EVAL of the calls that met a node that had not seen
	// the script yet.
	if got := gate.sent(); len(got) < 2 || len(got) > 3 || got[0] != 1 || got[1] != n {
		t.Errorf("pipelines sent (commands each): %v; want [1 %d]: the queued calls in one", got, n)
	}
	// A second round on the same buckets: each has one token less.
	for i := range n {
		wg.Go(func() {
			r, err := st.Allow(ctx, "k"+strconv.Itoa(i), Limit{Rate: 0.001, Burst: i + 1})
			answers[i] = answer{r, err}
		})
	}
	wg.Wait()
	for i, a := range answers {
		if i == 0 {
			if a.err != nil || a.r.Allowed {
				t.Errorf("caller 0 again (burst 1): %+v %v; want refused", a.r, a.err)
			}
			continue
		}
		if a.err != nil || !a.r.Allowed || a.r.Remaining != i-1 {
			t.Errorf("caller %d again: %+v %v; want allowed, %d remaining", i, a.r, a.err, i-1)
		}
	}
}

// A call still queued when its timeout passes (the pipeline before it
// hangs) returns the fail_open policy and a timeout error, is counted as a
// fallback, and is not sent once the lane is free again; the next probe
// finds Redis and decides again.
func TestBatcherTimeoutWhileQueued(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		t.Run(map[bool]string{true: "fail_open", false: "fail_closed"}[failOpen], func(t *testing.T) {
			srv := testredis.Start(t)
			fo := failOpen
			// The lane's held call gives up at the timeout and marks Redis
			// down; a queued call begun after that is a probe, or, when
			// another took this nanosecond's probe, ErrDown at once, never
			// queued. The timeout is long enough that the queued calls
			// have begun by then however loaded the machine (at 100 ms a
			// pause before them let one meet ErrDown).
			st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, FailOpen: &fo, Timeout: 500 * time.Millisecond},
				Options{ProbeInterval: time.Nanosecond})
			var gate pipelineGate
			st.Redis().AddHook(&gate)
			ctx := context.Background()
			l := Limit{Rate: 0.001, Burst: 1}
			release := make(chan struct{})
			heldErrs := holdBothPaths(t, st, &gate, release)
			results := make(chan error, 10)
			for i := range 10 {
				go func() {
					r, err := st.Allow(ctx, "queued"+strconv.Itoa(i), l)
					if r.Allowed != failOpen {
						err = errors.Join(err, errors.New("Allowed is not the fail_open policy"))
					}
					results <- err
				}()
			}
			for range 10 {
				if err := <-results; !timedOut(err) {
					t.Errorf("a call queued behind a hung pipeline: %v; want the fail_open policy and a timeout", err)
				}
			}
			// The lane's held call gives up at its timeout too; the direct
			// one is held inside the hook, which no deadline reaches, and
			// fails on its expired deadline once let go.
			if err := <-heldErrs; !timedOut(err) {
				t.Errorf("the call in the hung pipeline: %v; want a timeout", err)
			}
			close(release)
			if err := <-heldErrs; !timedOut(err) {
				t.Errorf("the direct call held past its deadline: %v; want a timeout", err)
			}
			if st.Fallbacks() != 12 {
				t.Errorf("%d fallbacks; want 12", st.Fallbacks())
			}
			// The store's timeout is short for this test: on a loaded
			// machine a call after release may still run out of it, which
			// is not what is tested here, so such a call is made again,
			// on the bucket key(try) names. A call may run out of it
			// after Redis decided it, its reply too late: the first
			// decision is asked again on a fresh bucket.
			allow := func(key func(try int) string) (Result, error) {
				for try := range 50 {
					r, err := st.Allow(ctx, key(try), l)
					if !timedOut(err) {
						return r, err
					}
				}
				return Result{}, errors.New("50 calls in a row ran out of the timeout")
			}
			var bucket string
			fresh := func(try int) string { bucket = "after" + strconv.Itoa(try); return bucket }
			r, err := allow(fresh)
			if err != nil || !r.Allowed {
				t.Fatalf("after release: %+v %v; want decided by Redis", r, err)
			}
			if r, err := allow(func(int) string { return bucket }); err != nil || r.Allowed {
				t.Fatalf("after release, bucket spent: %+v %v; want refused by Redis", r, err)
			}
			for i := range 10 {
				if got := srv.Command(t, "EXISTS", "portcullis:rl:queued"+strconv.Itoa(i)); got != ":0" {
					t.Errorf("queued%d was decided by Redis after its caller gave up (EXISTS = %s)", i, got)
				}
			}
		})
	}
}

// Redis killed while a pipeline of many calls is on its way: every caller
// in it gets the fail_open policy and the error, the backend is down; once
// Redis is back the next probe decides again, with no restart.
func TestBatcherRedisKilledMidBatch(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		t.Run(map[bool]string{true: "fail_open", false: "fail_closed"}[failOpen], func(t *testing.T) {
			srv := testredis.Start(t)
			fo := failOpen
			st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, FailOpen: &fo}, Options{ProbeInterval: time.Nanosecond})
			var gate pipelineGate
			st.Redis().AddHook(&gate)
			ctx := context.Background()
			l := Limit{Rate: 0.001, Burst: 5}
			if _, err := st.Allow(ctx, "warm", l); err != nil { // dials, loads the script
				t.Fatal(err)
			}
			release := make(chan struct{})
			holdBothPaths(t, st, &gate, release)
			const n = 30
			gate.set(func(pipeline bool, cmds []redis.Cmder) {
				if pipeline && len(cmds) == n {
					srv.Kill()
				}
			})
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r, err := st.Allow(ctx, "k"+strconv.Itoa(i), l)
					if err != nil && r.Allowed != failOpen {
						err = errors.Join(err, errors.New("Allowed is not the fail_open policy"))
					}
					if err == nil {
						err = errors.New("decided while Redis was killed")
					}
					errs[i] = err
				})
			}
			waitQueued(t, st.batch, n)
			close(release)
			wg.Wait()
			for i, err := range errs {
				if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrDown) {
					t.Errorf("caller %d: %v; want the connection's failure and the fail_open policy", i, err)
				}
			}
			if s := st.Status(ctx); s.Up {
				t.Errorf("status after Redis was killed: %+v; want down", s)
			}
			gate.set(nil)
			srv.Restart(t)
			r, err := st.Allow(ctx, "again", l)
			if err != nil || !r.Allowed || r.Remaining != 4 {
				t.Fatalf("after restart: %+v %v; want decided by Redis, 4 remaining", r, err)
			}
		})
	}
}

// Close answers calls still queued with redis.ErrClosed, and later calls
// fail at once.
func TestBatcherClose(t *testing.T) {
	srv := testredis.Start(t)
	st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{})
	var gate pipelineGate
	st.Redis().AddHook(&gate)
	release := make(chan struct{})
	holdBothPaths(t, st, &gate, release)
	ctx := context.Background()
	errs := make(chan error, 5)
	for i := range 5 {
		go func() {
			_, err := st.batch.run(ctx, gcraScript, []string{"q" + strconv.Itoa(i)}, 1.0, 1.0)
			errs <- err
		}()
	}
	waitQueued(t, st.batch, 5)
	go close(release)
	st.batch.close()
	for range 5 {
		if err := <-errs; !errors.Is(err, redis.ErrClosed) && err != nil {
			t.Errorf("a call queued at close: %v; want redis.ErrClosed (or its answer, if sent before)", err)
		}
	}
	if _, err := st.batch.run(ctx, gcraScript, []string{"late"}, 1.0, 1.0); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("a call after close: %v; want redis.ErrClosed", err)
	}
}

// A panic while a pipeline is sent (here a hook's) is every call's error
// in that pipeline, not the end of the process, and the lane goes on.
func TestBatcherPanicInPipeline(t *testing.T) {
	srv := testredis.Start(t)
	st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{ProbeInterval: time.Nanosecond})
	var gate pipelineGate
	st.Redis().AddHook(&gate)
	release, directHeld := make(chan struct{}), make(chan struct{})
	var once sync.Once
	gate.set(func(pipeline bool, _ []redis.Cmder) {
		if pipeline {
			panic("hook")
		}
		once.Do(func() { close(directHeld); <-release })
	})
	ctx := context.Background()
	l := Limit{Rate: 0.001, Burst: 2}
	go func() { _, _ = st.Allow(ctx, "held-direct", l) }()
	<-directHeld // so that the next call goes to the lane
	r, err := st.Allow(ctx, "k", l)
	close(release)
	if err == nil || !strings.Contains(err.Error(), "panicked: hook") || !r.Allowed {
		t.Fatalf("Allow while the hook panics: %+v %v; want the panic as the error, fail open", r, err)
	}
	gate.set(nil)
	if r, err := st.Allow(ctx, "k", l); err != nil || !r.Allowed || r.Remaining != 1 {
		t.Fatalf("Allow after: %+v %v; want decided by Redis, 1 remaining", r, err)
	}
}

// One request at a time goes out on its caller's goroutine as a plain
// command: no handoff to the lane, no pipeline.
func TestBatcherLoneCallsGoDirect(t *testing.T) {
	srv := testredis.Start(t)
	st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{})
	var gate pipelineGate
	st.Redis().AddHook(&gate)
	var direct int
	gate.set(func(pipeline bool, cmds []redis.Cmder) {
		if n := cmds[0].Name(); !pipeline && (n == "evalsha" || n == "eval") {
			direct++ // one caller at a time: no lock needed
		}
	})
	for i := range 20 {
		if r, err := st.Allow(context.Background(), "k", Limit{Rate: 0.001, Burst: 30}); err != nil || r.Remaining != 29-i {
			t.Fatalf("call %d: %+v %v", i, r, err)
		}
	}
	if got := gate.sent(); len(got) != 0 || direct != 21 { // 21: the first met NOSCRIPT and ran EVAL
		t.Errorf("20 calls one at a time: pipelines %v, %d direct commands; want none, 21", got, direct)
	}
}
