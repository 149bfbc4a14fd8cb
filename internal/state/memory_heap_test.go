package state

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// heapAfterGC is the live heap, after collecting everything collectable.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// fillMemory gives n distinct keys of 64 bytes (the longest kept as they
// are) a bucket each, all live (none refilled: the clock stands still).
func fillMemory(m *Memory, n int) {
	ctx := context.Background()
	l := Limit{Rate: 1, Burst: 10}
	buf := make([]byte, 0, 64)
	for i := range n {
		buf = append(buf[:0], "r:per-user:"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		for len(buf) < 64 {
			buf = append(buf, 'x')
		}
		_, _ = m.Allow(ctx, string(buf), l)
	}
}

// A million distinct keys stay under 200 MiB of heap (the bound).
// This measures memory, not time.
func TestMemoryMillionKeysHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a million buckets")
	}
	const n = 1_000_000
	clock := &fakeClock{t: int64(time.Hour)}
	before := heapAfterGC()
	m := NewMemory(DefaultMaxLocalKeys, clock.now)
	fillMemory(m, n)
	after := heapAfterGC()
	used := after - before
	t.Logf("%d buckets (64-byte keys): %.1f MiB of heap, %d bytes a key", m.Len(), float64(used)/(1<<20), used/n)
	if m.Len() != n {
		t.Errorf("%d buckets held; want %d (below the bound nothing is evicted)", m.Len(), n)
	}
	if used > 200<<20 {
		t.Errorf("a million keys take %.1f MiB; want under 200 MiB", float64(used)/(1<<20))
	}
	runtime.KeepAlive(m)
}

// Past maxKeys the memory stays bounded: live buckets are evicted.
func TestMemoryBoundedPastMaxKeys(t *testing.T) {
	clock := &fakeClock{t: int64(time.Hour)}
	m := NewMemory(64*100, clock.now)
	fillMemory(m, 100_000)
	if n := m.Len(); n > 64*100 {
		t.Errorf("%d buckets held; want at most %d", n, 64*100)
	}
	// Full buckets are swept first: after they refill, new keys evict them.
	clock.add(time.Hour)
	ctx := context.Background()
	if r, _ := m.Allow(ctx, "fresh", Limit{Rate: 1, Burst: 1}); !r.Allowed {
		t.Fatal("a new key was refused")
	}
}

// BenchmarkMemoryMillionKeys reports the heap a million buckets take
// (MiB/1M-keys) and the time of one decision among them.
func BenchmarkMemoryMillionKeys(b *testing.B) {
	const n = 1_000_000
	clock := &fakeClock{t: int64(time.Hour)}
	before := heapAfterGC()
	m := NewMemory(DefaultMaxLocalKeys, clock.now)
	fillMemory(m, n)
	b.ReportMetric(float64(heapAfterGC()-before)/(1<<20), "MiB/1M-keys")
	ctx := context.Background()
	l := Limit{Rate: 1e9, Burst: 1 << 20}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, _ = m.Allow(ctx, "r:per-user:42", l)
	}
}
