package state

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	var trips roundTrips
	a.store.Redis().AddHook(&trips)
	if _, err := a.Incr(ctx, "quota:k", end); err != nil {
		t.Fatal(err)
	}
	if got := trips.n.Load(); got != 1 {
		t.Errorf("Incr made %d round trips, want 1", got)
	}
}

// roundTrips counts what a client sends as round trips: a command or a
// whole pipeline (MULTI/EXEC included) is one.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}
