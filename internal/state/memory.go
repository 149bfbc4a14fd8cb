package state

import (
	"context"
	"crypto/sha256"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Memory is the in-process Limiter: one token bucket per key, exact for one
// replica, in bounded memory.
//
// Each bucket is kept as GCRA's theoretical arrival time (TAT), one int64:
// the bucket is full when TAT <= now, and a request is allowed when
// TAT + 1/rate - burst/rate <= now. That is the token bucket's decision to
// the nanosecond, and a full bucket is the same as no bucket, so full ones
// are dropped freely. Memory is bounded by maxKeys: a key that arrives when
// its shard is full first sweeps the shard's full buckets and, if fewer
// than an eighth were full, evicts arbitrary others (which then start full
// again: the one inexactness, and only past maxKeys live buckets).
//
// Keys longer than maxKeyBytes are kept as their SHA-256, so a bucket costs
// at most about 100 bytes whatever the key.
type Memory struct {
	shards   [memoryShards]memoryShard
	seed     maphash.Seed
	shardMax int
	now      func() int64 // nanoseconds on a monotonic clock
}

const (
	memoryShards = 64
	maxKeyBytes  = 64
)

type memoryShard struct {
	mu  sync.Mutex
	tat map[string]int64
	_   [40]byte // keeps shards' locks on separate cache lines
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an in-process limiter holding at most about maxKeys
// buckets. now returns nanoseconds on a monotonic clock; nil means the
// process's clock.
func NewMemory(maxKeys int, now func() int64) *Memory {
	if now == nil {
		base := time.Now()
		now = func() int64 { return int64(time.Since(base)) }
	}
	m := &Memory{seed: maphash.MakeSeed(), now: now, shardMax: max(maxKeys/memoryShards, 8)}
	for i := range m.shards {
		m.shards[i].tat = map[string]int64{}
	}
	return m
}

// Allow implements Limiter; it never fails.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	e, tol, ok := gcraParams(l)
	if !ok {
		return Result{}, nil
	}
	key = boundKey(key)
	s := &m.shards[maphash.String(m.seed, key)%memoryShards]
	s.mu.Lock()
	now := m.now()
	tat, found := s.tat[key]
	if !found || tat < now {
		tat = now
	}
	next := tat + e
	allowAt := next - tol
	if allowAt > now {
		s.mu.Unlock()
		return Result{RetryAfter: time.Duration(allowAt - now)}, nil
	}
	if !found && len(s.tat) >= m.shardMax {
		s.makeRoom(now, m.shardMax)
	}
	s.tat[key] = next
	s.mu.Unlock()
	return Result{Allowed: true, Remaining: int((now - allowAt) / e)}, nil
}

// makeRoom drops full buckets and, when that frees less than an eighth of
// the shard, arbitrary others down to seven eighths, so sweeps stay rare.
func (s *memoryShard) makeRoom(now int64, shardMax int) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	target := shardMax - shardMax/8
	for k := range s.tat {
		if len(s.tat) <= target {
			break
		}
		delete(s.tat, k)
	}
}

// Len returns how many buckets are held (full ones not yet swept included).
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}

// gcraParams returns the emission interval (nanoseconds per token) and the
// tolerance (burst tokens' worth); ok is false for a limit that refuses
// everything.
func gcraParams(l Limit) (e, tol int64, ok bool) {
	if !(l.Rate > 0) || l.Burst <= 0 {
		return 0, 0, false
	}
	ef := math.Round(1e9 / l.Rate)
	if ef < 1 {
		ef = 1
	}
	// Bound the tolerance so TAT arithmetic cannot overflow: a bucket that
	// takes more than ~3 years to fill is refused as a mistake by setup.
	if ef*float64(l.Burst) > 1e17 {
		return 0, 0, false
	}
	return int64(ef), int64(ef) * int64(l.Burst), true
}

// boundKey returns key, or its SHA-256 behind a 0xff byte when it is longer
// than maxKeyBytes (or starts with 0xff itself), so that a bucket's key
// costs little whatever the request carried.
func boundKey(key string) string {
	if len(key) > maxKeyBytes || len(key) > 0 && key[0] == 0xff {
		sum := sha256.Sum256([]byte(key))
		return "\xff" + string(sum[:])
	}
	return key
}
