package state

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/testredis"
)

// openRedis opens a Store on r; a timeout left out is 5 s, so that a
// loaded machine (-race, other tests) does not turn into a fallback what a
// test expects Redis to decide.
func openRedis(t *testing.T, r *RedisSettings, o Options) *Store {
	t.Helper()
	if r.Timeout == 0 {
		r.Timeout = 5 * time.Second
	}
	st, err := Open(Settings{Redis: r}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestRedisGCRA(t *testing.T) {
	srv := testredis.Start(t)
	prefix := "pc-test:"
	st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, KeyPrefix: &prefix}, Options{})
	ctx := context.Background()
	l := Limit{Rate: 0.001, Burst: 3} // one token per 1000 s: none comes back during the test
	for i := 2; i >= 0; i-- {
		r, err := st.Allow(ctx, "k", l)
		if err != nil || !r.Allowed || r.Remaining != i {
			t.Fatalf("request %d: %+v %v; want allowed, %d remaining", 3-i, r, err, i)
		}
	}
	r, err := st.Allow(ctx, "k", l)
	if err != nil || r.Allowed || r.RetryAfter <= 990*time.Second || r.RetryAfter > 1000*time.Second {
		t.Fatalf("4th request: %+v %v; want refused, about 1000s to wait", r, err)
	}
	if r, _ := st.Allow(ctx, "other", l); !r.Allowed {
		t.Fatalf("another key refused: %+v", r)
	}
	// The bucket is one key under the prefix, expiring when full again.
	ttl := srv.Command(t, "PTTL", "pc-test:rl:k")
	if n := strings.TrimPrefix(ttl, ":"); n == ttl || len(n) < 7 { // ~3000 s in ms
		t.Errorf("PTTL of the bucket = %s; want about 3,000,000 ms", ttl)
	}
	// Zero limits refuse without a call.
	if r, err := st.Allow(ctx, "k2", Limit{Rate: 1}); err != nil || r.Allowed {
		t.Errorf("burst 0: %+v %v", r, err)
	}
}

// One decision is one command (EVALSHA) once the script is cached.
func TestRedisOneRoundTripPerDecision(t *testing.T) {
	srv := testredis.Start(t)
	st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{})
	var c testredis.Traffic
	st.Redis().AddHook(&c)
	ctx := context.Background()
	if _, err := st.Allow(ctx, "warm", Limit{Rate: 100, Burst: 10}); err != nil { // loads the script
		t.Fatal(err)
	}
	before := c.Commands.Load()
	for i := range 50 {
		if _, err := st.Allow(ctx, "k"+string(rune('a'+i%26)), Limit{Rate: 100, Burst: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Commands.Load() - before; n != 50 {
		t.Errorf("50 decisions sent %d commands; want 50", n)
	}
}

// Redis killed: decisions fall back to fail_open at once, the backend is
// reported down with its error, fallbacks are counted; restarted: the next
// probe finds it and decisions use it again, with no restart.
func TestRedisDownAndBack(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		t.Run(map[bool]string{true: "fail_open", false: "fail_closed"}[failOpen], func(t *testing.T) {
			srv := testredis.Start(t)
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			fo := failOpen
			st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, FailOpen: &fo}, Options{Metrics: m, ProbeInterval: time.Nanosecond})
			ctx := context.Background()
			l := Limit{Rate: 0.001, Burst: 1}
			if r, err := st.Allow(ctx, "k", l); err != nil || !r.Allowed {
				t.Fatalf("up: %+v %v", r, err)
			}
			if s := st.Status(ctx); !s.Up || s.Mode != "redis" {
				t.Fatalf("status while up: %+v", s)
			}
			srv.Kill()
			r, err := st.Allow(ctx, "k", l)
			if err == nil || r.Allowed != failOpen {
				t.Fatalf("down: %+v %v; want the fail_open policy (%v) and the error", r, err, failOpen)
			}
			s := st.Status(ctx)
			if s.Up || s.Err == "" {
				t.Fatalf("status while down: %+v", s)
			}
			if got := testutil.ToFloat64(m.backendUp.WithLabelValues("redis")); got != 0 {
				t.Errorf("portcullis_state_backend_up = %v while down", got)
			}
			if got := testutil.ToFloat64(m.fallbacks); got < 1 || uint64(got) != st.Fallbacks() {
				t.Errorf("portcullis_state_fallbacks_total = %v, Fallbacks() = %d", got, st.Fallbacks())
			}

			srv.Restart(t) // empty: the bucket starts full again
			r, err = st.Allow(ctx, "k", l)
			if err != nil || !r.Allowed {
				t.Fatalf("after restart: %+v %v", r, err)
			}
			if r, err := st.Allow(ctx, "k", l); err != nil || r.Allowed {
				t.Fatalf("after restart, bucket spent: %+v %v; want refused by Redis", r, err)
			}
			if s := st.Status(ctx); !s.Up || s.Err != "" {
				t.Fatalf("status after recovery: %+v", s)
			}
			if got := testutil.ToFloat64(m.backendUp.WithLabelValues("redis")); got != 1 {
				t.Errorf("portcullis_state_backend_up = %v after recovery", got)
			}
		})
	}
}

// A replica that makes no limit decision (an idle one, or one whose
// traffic needs no limit) still notices Redis going down and coming back:
// Status, which /readyz and so the metric follow, pings it at most once a
// ProbeInterval. Before, Status reported up until a decision failed, so
// /readyz said "ready" and portcullis_state_backend_up stayed 1 on such a
// replica while Redis was down.
func TestStatusNoticesRedisWithoutDecisions(t *testing.T) {
	srv := testredis.Start(t)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{Metrics: m, ProbeInterval: time.Nanosecond})
	ctx := context.Background()
	if s := st.Status(ctx); !s.Up {
		t.Fatalf("status while up: %+v", s)
	}
	srv.Kill()
	if s := st.Status(ctx); s.Up || s.Err == "" {
		t.Fatalf("status while down, no decision made: %+v; want down with the error", s)
	}
	if got := testutil.ToFloat64(m.backendUp.WithLabelValues("redis")); got != 0 {
		t.Errorf("portcullis_state_backend_up = %v while down", got)
	}
	if st.Fallbacks() != 0 {
		t.Errorf("Fallbacks() = %d; a status probe is no decision", st.Fallbacks())
	}
	srv.Restart(t)
	// A ping cut short by StatusPingLimit (a loaded machine) changes
	// nothing: Status is asked again, each time with a ping of its own,
	// until one gets through. It is the only caller of Redis here.
	s := st.Status(ctx)
	for deadline := time.Now().Add(30 * time.Second); !s.Up && time.Now().Before(deadline); {
		s = st.Status(ctx)
	}
	if !s.Up || s.Err != "" {
		t.Fatalf("status after recovery: %+v", s)
	}
	if got := testutil.ToFloat64(m.backendUp.WithLabelValues("redis")); got != 1 {
		t.Errorf("portcullis_state_backend_up = %v after recovery", got)
	}
}

// A Redis that accepts connections and never answers: the call gives up
// at the timeout (the context it runs under has that deadline), and while
// it is down the next calls do not wait at all: they do not reach it.
func TestRedisHangingBoundedByTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			defer c.Close() // held open, never answered
		}
	}()
	timeout := 30 * time.Millisecond
	st := openRedis(t, &RedisSettings{Addresses: []string{ln.Addr().String()}, Timeout: timeout}, Options{ProbeInterval: time.Hour})
	ctx := context.Background()
	var entered, deadline time.Time
	err = st.Do(ctx, func(ctx context.Context, c redis.UniversalClient) error {
		entered = time.Now()
		deadline, _ = ctx.Deadline()
		return c.Get(ctx, "x").Err()
	})
	if err == nil || deadline.IsZero() || deadline.Sub(entered) > timeout {
		t.Fatalf("err %v, deadline %v after the call began; want a failure under a deadline of at most %s", err, deadline.Sub(entered), timeout)
	}
	if !timedOut(err) {
		t.Errorf("error %v is not a timeout", err)
	}
	n := accepted.Load()
	for range 20 {
		r, err := st.Allow(ctx, "k", Limit{Rate: 1, Burst: 1})
		if !errors.Is(err, ErrDown) || !r.Allowed {
			t.Fatalf("while down: %+v %v; want ErrDown and fail open", r, err)
		}
	}
	if accepted.Load() != n {
		t.Errorf("calls while down opened %d connections; want none", accepted.Load()-n)
	}
}

// /readyz must answer within a probe's timeout (the Deployment's is 2 s)
// whatever state.redis.timeout says (up to 10 s): Status's ping waits at
// most StatusPingLimit. A ping cut short by that limit, not by the
// configured timeout, proves nothing (Redis may answer within timeout), so
// it changes nothing: the backend stays up. Before, a Redis that accepted
// and never answered held /readyz for the whole timeout and then marked
// the backend down, so with a timeout of a few seconds every pod's
// readiness probe failed and the Service dropped them all.
func TestStatusPingBoundedForReadiness(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	st := openRedis(t, &RedisSettings{Addresses: []string{ln.Addr().String()}, Timeout: 10 * time.Second}, Options{ProbeInterval: time.Nanosecond})
	if s := st.Status(context.Background()); !s.Up {
		t.Fatalf("status = %+v; want up: a ping cut short by StatusPingLimit, within the configured timeout, proves nothing", s)
	}
}

// Sentinel: the client asks the Sentinel for the primary and limits there.
func TestRedisSentinel(t *testing.T) {
	primary := testredis.Start(t)
	sentinel := testredis.StartSentinel(t, "mymaster", primary)
	st := openRedis(t, &RedisSettings{SentinelMaster: "mymaster", SentinelAddresses: []string{sentinel.Addr}}, Options{})
	if _, ok := st.Redis().(*redis.Client); !ok {
		t.Fatalf("sentinel settings built a %T; want a failover *redis.Client", st.Redis())
	}
	l := Limit{Rate: 0.001, Burst: 1}
	if r, err := st.Allow(context.Background(), "s", l); err != nil || !r.Allowed {
		t.Fatalf("first: %+v %v", r, err)
	}
	if r, err := st.Allow(context.Background(), "s", l); err != nil || r.Allowed {
		t.Fatalf("second: %+v %v; want refused", r, err)
	}
	if got := primary.Command(t, "EXISTS", "portcullis:rl:s"); got != ":1" {
		t.Errorf("the bucket is not on the primary the Sentinel names: EXISTS = %s", got)
	}
}

// Cluster: several addresses, or cluster: true with one seed, make a
// Cluster client; against a real (one-node) Cluster it decides.
func TestRedisCluster(t *testing.T) {
	srv := testredis.StartCluster(t)
	st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, Cluster: true}, Options{})
	if _, ok := st.Redis().(*redis.ClusterClient); !ok {
		t.Fatalf("cluster: true built a %T", st.Redis())
	}
	l := Limit{Rate: 0.001, Burst: 2}
	for i, want := range []bool{true, true, false} {
		if r, err := st.Allow(context.Background(), "c", l); err != nil || r.Allowed != want {
			t.Fatalf("request %d: %+v %v; want allowed=%v", i+1, r, err, want)
		}
	}
	several := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr, "127.0.0.1:1"}}, Options{})
	if _, ok := several.Redis().(*redis.ClusterClient); !ok {
		t.Fatalf("several addresses built a %T", several.Redis())
	}
	one := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{})
	if _, ok := one.Redis().(*redis.Client); !ok {
		t.Fatalf("one address built a %T", one.Redis())
	}
}

func TestRedisSettingsValidate(t *testing.T) {
	neg := "a{b}"
	for _, tc := range []struct {
		name string
		s    RedisSettings
		want string
	}{
		{"nothing", RedisSettings{}, "addresses is required"},
		{"both", RedisSettings{Addresses: []string{"a:1"}, SentinelMaster: "m", SentinelAddresses: []string{"b:1"}}, "either addresses or sentinel"},
		{"sentinel without master", RedisSettings{SentinelAddresses: []string{"b:1"}}, "sentinel.master is required"},
		{"sentinel without addresses", RedisSettings{SentinelMaster: "m"}, "sentinel.addresses is required"},
		{"bad address", RedisSettings{Addresses: []string{"localhost"}}, `"localhost" is not host:port`},
		{"db on cluster", RedisSettings{Addresses: []string{"a:1", "b:1"}, DB: 2}, "db is not available"},
		{"long timeout", RedisSettings{Addresses: []string{"a:1"}, Timeout: time.Minute}, "at most 10s"},
		{"half a client cert", RedisSettings{Addresses: []string{"a:1"}, TLS: &RedisTLS{CertFile: "c"}}, "go together"},
		{"hash tag prefix", RedisSettings{Addresses: []string{"a:1"}, KeyPrefix: &neg}, "key_prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v; want %q", err, tc.want)
			}
		})
	}
	if err := (&RedisSettings{Addresses: []string{"127.0.0.1:6379"}}).Validate(); err != nil {
		t.Errorf("a plain address: %v", err)
	}
}

// go-redis's own messages become debug lines of the given logger.
func TestSendRedisLogsTo(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	SendRedisLogsTo(slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { SendRedisLogsTo(slog.New(slog.DiscardHandler)) })
	st := openRedis(t, &RedisSettings{Addresses: []string{"127.0.0.1:1"}}, Options{})
	_, _ = st.Allow(context.Background(), "k", Limit{Rate: 1, Burst: 1}) // dial refused: go-redis logs it
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), `"level":"DEBUG","msg":"redis: `) {
		t.Errorf("no go-redis line in the logger:\n%s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestRedisHashWrittenBack: replicas that hold a hash Redis lost and read
// it at the same moment: exactly one writes its copy back (the write back
// is one atomic script, conditional on the marker's absence), the others
// write nothing and read what it wrote; a field written since the loss
// keeps its newer value; every watcher is told to read the hash again; a
// write back that comes after the hash was restored and changed writes
// nothing.
// The marker is never shown and cannot be written or removed. On a single
// server and on a Cluster (the script's PUBLISH reaches the subscription).
func TestRedisHashWrittenBack(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		start   func(testing.TB) *testredis.Server
		cluster bool
	}{
		{"server", testredis.Start, false},
		{"cluster", testredis.StartCluster, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.start(t)
			m := NewMetrics(prometheus.NewRegistry())
			held := map[string]string{"jti:a": "1", "sub:b": "5"}
			heldFn := func() map[string]string { return maps.Clone(held) }
			hashes := make([]*RedisHash, 4)
			for i := range hashes {
				st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, Cluster: tc.cluster}, Options{Metrics: m})
				hashes[i] = NewHash(st, "revocations", nil).(*RedisHash)
				hashes[i].held.Store(&heldFn)
			}
			// A watcher that holds nothing: told to read the hash again.
			var resyncs atomic.Int64
			watchCtx, stop := context.WithCancel(ctx)
			t.Cleanup(stop)
			subscribed := make(chan struct{})
			hashes[0].Watch(watchCtx, func(string, string, bool) {}, func() error {
				if resyncs.Add(1) == 1 {
					close(subscribed)
				}
				return nil
			}, nil)
			<-subscribed

			if err := hashes[1].Put(ctx, "sub:b", "9"); err != nil { // written since the loss
				t.Fatal(err)
			}
			results := make([]map[string]string, len(hashes))
			errs := make([]error, len(hashes))
			var wg sync.WaitGroup
			for i, h := range hashes {
				wg.Go(func() { results[i], errs[i] = h.All(ctx) })
			}
			wg.Wait()
			want := map[string]string{"jti:a": "1", "sub:b": "9"}
			for i := range hashes {
				if errs[i] != nil || !maps.Equal(results[i], want) {
					t.Errorf("replica %d read %v, %v; want %v", i, results[i], errs[i], want)
				}
			}
			if got := testutil.ToFloat64(m.restores.WithLabelValues("revocations")); got != 1 {
				t.Errorf("portcullis_state_hash_restores_total = %v; want 1: one replica writes the hash back", got)
			}
			if got := srv.Command(t, "HGET", "portcullis:revocations", hashMarker); got != "1" {
				t.Errorf("HGET of the marker = %q; want 1", got)
			}
			testredis.WaitFor(t, "the watcher told to read the hash again", func() bool { return resyncs.Load() >= 2 })
			// A replica that found the hash unmarked a moment before and
			// writes back only now, after a removal: it writes nothing.
			if err := hashes[1].Delete(ctx, "jti:a"); err != nil {
				t.Fatal(err)
			}
			if err := hashes[3].restore(ctx, heldFn()); err != nil {
				t.Fatal(err)
			}
			if got := srv.Command(t, "HEXISTS", "portcullis:revocations", "jti:a"); got != ":0" {
				t.Errorf("a late write back brought a removed field back (HEXISTS %s)", got)
			}
			if err := hashes[2].Put(ctx, hashMarker, "x"); err == nil {
				t.Error("Put of the marker succeeded")
			}
			if err := hashes[2].Delete(ctx, hashMarker); err == nil {
				t.Error("Delete of the marker succeeded")
			}
		})
	}
}
