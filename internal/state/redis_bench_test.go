package state

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testredis"
)

// BenchmarkRedisAllow decides against a real redis-server, each request a
// bucket of its own among 1,000, under a limit that never refuses: the
// gateway side of scenario 8's Redis mode. "serial" is one request at a
// time, "50-goroutines" 50 at once (the load harness's 50 connections).
// ns/op is wall-clock and shared with redis-server; allocs/op and
// instruction counts (callgrind over a fixed -benchtime=Nx) are the
// figures to compare.
//
// PORTCULLIS_BENCH_REDIS=host:port uses a redis-server already running
// there instead of starting one: callgrind aborts on the SIGCHLD of a
// server the benchmark kills between its runs.
func BenchmarkRedisAllow(b *testing.B) {
	addr := os.Getenv("PORTCULLIS_BENCH_REDIS")
	if addr == "" {
		addr = testredis.Start(b).Addr
	}
	// The machine is shared: a long timeout keeps a slow moment from
	// turning into a fallback.
	st, err := Open(Settings{Redis: &RedisSettings{Addresses: []string{addr}, Timeout: 5 * time.Second}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	l := Limit{Rate: 1e9, Burst: 1e9}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "r:per-user:user-" + strconv.Itoa(i)
	}
	if _, err := st.Allow(ctx, keys[0], l); err != nil { // dials, loads the script
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if r, err := st.Allow(ctx, keys[i%len(keys)], l); err != nil || !r.Allowed {
				b.Fatalf("%+v %v", r, err)
			}
			i++
		}
	})
	b.Run("50-goroutines", func(b *testing.B) {
		var next atomic.Uint64
		b.SetParallelism(25) // × GOMAXPROCS 2 = 50 goroutines
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := keys[next.Add(1)%uint64(len(keys))]
				if r, err := st.Allow(ctx, k, l); err != nil || !r.Allowed {
					b.Errorf("%+v %v", r, err)
					return
				}
			}
		})
	})
	if n := st.Fallbacks(); n != 0 {
		b.Errorf("%d fallbacks", n)
	}
}
