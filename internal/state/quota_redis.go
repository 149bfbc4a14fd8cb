package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Counters counts requests per key within windows that end at a known
// instant (usage plan quotas), where the Store keeps its state: in process
// (MemoryCounters), or in Redis, shared by every replica, with one round
// trip per Incr (INCR and EXPIREAT in one MULTI/EXEC), so the count is
// exact across replicas. Redis calls go through Store.Do: bounded by its
// timeout, counted in its health; while Redis is down they fail at once
// (ErrDown) and the caller applies Store.FailOpen.
type Counters struct {
	store *Store
	local *MemoryCounters // in process
}

// NewCounters returns counters kept where s keeps its state.
func NewCounters(s *Store) *Counters {
	c := &Counters{store: s}
	if !s.Remote() {
		c.local = NewMemoryCounters(nil)
	}
	return c
}

// Keys used in Redis: PREFIX + "count:" + the counter's key.
func (c *Counters) key(k string) string { return c.store.Key("count:" + k) }

// Incr adds one to key, which is forgotten at expireAt, and returns the new
// count.
func (c *Counters) Incr(ctx context.Context, key string, expireAt time.Time) (int64, error) {
	if c.local != nil {
		return c.local.Incr(ctx, key, expireAt)
	}
	var n int64
	err := c.store.Do(ctx, func(ctx context.Context, r redis.UniversalClient) error {
		k := c.key(key)
		var incr *redis.IntCmd
		_, err := r.TxPipelined(ctx, func(p redis.Pipeliner) error {
			incr = p.Incr(ctx, k)
			p.ExpireAt(ctx, k, expireAt)
			return nil
		})
		n = incr.Val()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("state: counting: %w", err)
	}
	return n, nil
}

// AllowThenIncr is a usage plan's throttle and quota: it decides limitKey
// against l as Store.Allow does and, only if that allows, adds one to key
// (forgotten at expireAt). count is the new count, 0 when the throttle
// refused: a refused request is not counted. In process that is the
// Store's limiter and then Incr; in Redis it is one round trip (one Lua
// script, batched as Store.Allow's are) with Store.Do's timeout and health
// keeping, and on failure Result.Allowed is
// Store.FailOpen, count is 0 and the error says neither was decided. In a
// Redis Cluster limitKey and key must hold the same hash tag ("{...}") so
// that their Redis keys share a slot; a limitKey longer than 64 bytes
// loses its tag (it is kept as its SHA-256).
func (c *Counters) AllowThenIncr(ctx context.Context, limitKey string, l Limit, key string, expireAt time.Time) (r Result, count int64, err error) {
	if c.local != nil {
		r, _ = c.store.Allow(ctx, limitKey, l) // never fails in process
		if !r.Allowed {
			return r, 0, nil
		}
		count, _ = c.local.Incr(ctx, key, expireAt)
		return r, count, nil
	}
	if err = c.store.skipWhileDown(); err == nil {
		r, count, err = c.store.gcra.allowThenIncr(ctx, limitKey, l, c.key(key), expireAt)
		err = c.store.record(ctx, err)
	}
	if err != nil {
		return Result{Allowed: c.store.FailOpen()}, 0, fmt.Errorf("state: throttling and counting: %w", err)
	}
	return r, count, nil
}

// Get returns key's count, 0 when it has none.
func (c *Counters) Get(ctx context.Context, key string) (int64, error) {
	if c.local != nil {
		return c.local.Get(ctx, key)
	}
	var n int64
	err := c.store.Do(ctx, func(ctx context.Context, r redis.UniversalClient) error {
		var err error
		n, err = r.Get(ctx, c.key(key)).Int64()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("state: reading a count: %w", err)
	}
	return n, nil
}
