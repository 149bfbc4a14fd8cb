package state

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testredis"
)

// TestMemoryCountersWindows: a count is per key, and starts again once its
// window has ended.
func TestMemoryCountersWindows(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := NewMemoryCounters(func() time.Time { return now })
	ctx := context.Background()
	end := now.Add(time.Hour)
	for want := int64(1); want <= 3; want++ {
		if n, _ := c.Incr(ctx, "a", end); n != want {
			t.Fatalf("Incr = %d, want %d", n, want)
		}
	}
	if n, _ := c.Incr(ctx, "b", end); n != 1 {
		t.Errorf("another key starts at %d", n)
	}
	now = end
	if n, _ := c.Get(ctx, "a"); n != 0 {
		t.Errorf("Get after the window = %d", n)
	}
	if n, _ := c.Incr(ctx, "a", end.Add(time.Hour)); n != 1 {
		t.Errorf("Incr after the window = %d", n)
	}
	now = now.Add(2 * time.Minute) // past the sweep interval: "b" is dropped
	_, _ = c.Incr(ctx, "c", now.Add(time.Hour))
	if _, ok := c.counts["b"]; ok {
		t.Error("an expired count was not swept")
	}
}

// TestRedisCountersShared: two stores (two replicas) on one real Redis
// count one total, exactly, under concurrency; the key expires when the
// window ends; each Incr is one round trip.
func TestRedisCountersShared(t *testing.T) {
	srv := testredis.Start(t)
	a := NewCounters(openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{}))
	b := NewCounters(openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{}))
	ctx := context.Background()
	end := time.Now().Add(time.Hour).Truncate(time.Second)
	var wg sync.WaitGroup
	for i := range 50 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			if _, err := c.Incr(ctx, "quota:k", end); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, err := b.Get(ctx, "quota:k"); err != nil || n != 50 {
		t.Errorf("Get = %d, %v; want 50", n, err)
	}
	if n, err := a.Get(ctx, "quota:none"); err != nil || n != 0 {
		t.Errorf("Get of no count = %d, %v", n, err)
	}
	at, err := strconv.ParseInt(srv.Command(t, "EXPIRETIME", "portcullis:count:quota:k")[1:], 10, 64)
	if err != nil || at != end.Unix() {
		t.Errorf("the count expires at %d (%v), want %d", at, err, end.Unix())
	}
	var trips testredis.Traffic
	a.store.Redis().AddHook(&trips)
	if _, err := a.Incr(ctx, "quota:k", end); err != nil {
		t.Fatal(err)
	}
	if got := trips.RoundTrips.Load(); got != 1 {
		t.Errorf("Incr made %d round trips, want 1", got)
	}
}

// TestAllowThenIncr: a plan's throttle and quota in one call decide as
// Allow and then Incr do, in process and in Redis (one server and a
// Cluster, where the hash tag keeps both keys in one slot): a request the
// throttle refuses is not counted, the count expires at the window's end,
// and in Redis each call is one command.
func TestAllowThenIncr(t *testing.T) {
	for _, backend := range []string{"memory", "redis", "cluster"} {
		t.Run(backend, func(t *testing.T) {
			var st *Store
			var srv *testredis.Server
			switch backend {
			case "memory":
				var err error
				if st, err = Open(Settings{}, Options{}); err != nil {
					t.Fatal(err)
				}
			case "redis":
				srv = testredis.Start(t)
				st = openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}}, Options{})
			case "cluster":
				srv = testredis.StartCluster(t)
				st = openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, Cluster: true}, Options{})
			}
			c := NewCounters(st)
			ctx := context.Background()
			end := time.Now().Add(time.Hour).Truncate(time.Second)
			l := Limit{Rate: 0.001, Burst: 2} // one token per 1000 s: none comes back during the test
			var traffic testredis.Traffic
			if st.Remote() {
				if _, _, err := c.AllowThenIncr(ctx, "rl:{warm}", l, "n:{warm}", end); err != nil { // loads the script
					t.Fatal(err)
				}
				st.Redis().AddHook(&traffic)
			}
			for i, want := range []struct {
				allowed   bool
				remaining int
				count     int64
			}{{true, 1, 1}, {true, 0, 2}, {false, 0, 0}, {false, 0, 0}} {
				r, n, err := c.AllowThenIncr(ctx, "apikey:{k1}", l, "quota:{k1}:1", end)
				if err != nil || r.Allowed != want.allowed || r.Remaining != want.remaining || n != want.count {
					t.Fatalf("call %d: %+v, count %d, %v; want allowed=%v remaining %d count %d", i+1, r, n, err, want.allowed, want.remaining, want.count)
				}
				if !r.Allowed && (r.RetryAfter <= 990*time.Second || r.RetryAfter > 1000*time.Second) {
					t.Errorf("call %d: retry after %s; want about 1000s", i+1, r.RetryAfter)
				}
			}
			if st.Remote() {
				if got := traffic.Commands.Load(); got != 4 {
					t.Errorf("4 calls sent %d commands; want 4", got)
				}
				if got := traffic.RoundTrips.Load(); got != 4 {
					t.Errorf("4 calls made %d round trips; want 4", got)
				}
			}
			if n, err := c.Get(ctx, "quota:{k1}:1"); err != nil || n != 2 {
				t.Errorf("count after the throttle refused = %d, %v; want 2 (refused requests are not counted)", n, err)
			}
			if r, err := st.Allow(ctx, "apikey:{k1}", l); err != nil || r.Allowed {
				t.Errorf("the bucket is not Allow's: %+v %v; want it spent", r, err)
			}
			if srv != nil {
				at, err := strconv.ParseInt(srv.Command(t, "EXPIRETIME", "portcullis:count:quota:{k1}:1")[1:], 10, 64)
				if err != nil || at != end.Unix() {
					t.Errorf("the count expires at %d (%v), want %d", at, err, end.Unix())
				}
			}
			// A limit that refuses everything refuses without a call or a count.
			if r, n, err := c.AllowThenIncr(ctx, "apikey:{k2}", Limit{Rate: 1}, "quota:{k2}:1", end); err != nil || r.Allowed || n != 0 {
				t.Errorf("burst 0: %+v, count %d, %v", r, n, err)
			}
		})
	}
}

// TestAllowThenIncrRedisDown: with Redis gone the call fails at once with
// the fail_open policy and no count, as Allow does.
func TestAllowThenIncrRedisDown(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		srv := testredis.Start(t)
		fo := failOpen
		st := openRedis(t, &RedisSettings{Addresses: []string{srv.Addr}, FailOpen: &fo}, Options{ProbeInterval: time.Hour})
		c := NewCounters(st)
		srv.Kill()
		for range 2 { // the failure, then ErrDown without a call
			r, n, err := c.AllowThenIncr(context.Background(), "apikey:{k}", Limit{Rate: 1, Burst: 1}, "quota:{k}:1", time.Now().Add(time.Hour))
			if err == nil || r.Allowed != failOpen || n != 0 {
				t.Fatalf("fail_open %v, Redis down: %+v, count %d, %v; want the policy and an error", failOpen, r, n, err)
			}
		}
		if st.Fallbacks() != 2 || st.Status(context.Background()).Up {
			t.Errorf("fail_open %v: %d fallbacks, status %+v; want 2, down", failOpen, st.Fallbacks(), st.Status(context.Background()))
		}
	}
}
