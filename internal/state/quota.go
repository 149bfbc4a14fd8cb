package state

import (
	"context"
	"sync"
	"time"
)

// MemoryCounters counts requests per key within windows that end at a
// known instant (usage plan quotas), in process: exact for one replica.
// Memory is bounded by the keys of the current windows: an expired count is
// dropped when next touched or by the sweep Incr runs at most once a
// minute. Safe for concurrent use.
type MemoryCounters struct {
	now       func() time.Time
	mu        sync.Mutex
	counts    map[string]*windowCount
	nextSweep time.Time
}

type windowCount struct {
	n        int64
	expireAt time.Time
}

// NewMemoryCounters returns empty counters; now is nil for time.Now.
func NewMemoryCounters(now func() time.Time) *MemoryCounters {
	if now == nil {
		now = time.Now
	}
	return &MemoryCounters{now: now, counts: map[string]*windowCount{}}
}

// Incr adds one to key, forgotten at expireAt, and returns the new count.
func (c *MemoryCounters) Incr(_ context.Context, key string, expireAt time.Time) (int64, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(c.nextSweep) {
		for k, w := range c.counts {
			if !now.Before(w.expireAt) {
				delete(c.counts, k)
			}
		}
		c.nextSweep = now.Add(time.Minute)
	}
	w := c.counts[key]
	if w == nil || !now.Before(w.expireAt) {
		w = &windowCount{}
		c.counts[key] = w
	}
	w.n++
	w.expireAt = expireAt
	return w.n, nil
}

// Get returns key's count, 0 when it has none or it expired.
func (c *MemoryCounters) Get(_ context.Context, key string) (int64, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.counts[key]; w != nil && now.Before(w.expireAt) {
		return w.n, nil
	}
	return 0, nil
}
