// Package state keeps what the gateway counts across requests: rate limit
// buckets today, quota counters and revocations beside them. It is kept in
// the process (exact for one replica) or in Redis (shared by every replica,
// one round trip per decision).
//
// A Store is the one entry point. Its Allow decides a rate limit with the
// configured backend and applies the failure policy: while Redis is down or
// slower than Settings.Timeout, decisions fall back to FailOpen at once
// instead of waiting, the backend is reported down (Status, metrics), and a
// probe at most every ProbeInterval notices its return, with no restart.
//
// Packages that keep other state in Redis (quotas, revocations) use Redis,
// Key and Do, so their calls get the same timeout and the same health
// reporting.
//
// The package imports nothing of the project but internal/config, whose
// Problems its validation returns; the gateway's setup turns the `state:`
// block into Settings.
package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/redis/go-redis/v9"
)

// Limit is a token bucket: Rate tokens a second refill a bucket that holds
// Burst; each request takes one. A Rate or Burst of 0 refuses every request.
type Limit struct {
	Rate  float64
	Burst int
}

// Result is one rate limit decision.
type Result struct {
	Allowed bool
	// RetryAfter is how long until a refused request would be allowed;
	// 0 when it is not known (a bucket that never refills, a fallback).
	RetryAfter time.Duration
	// Remaining is how many more requests the bucket would allow now.
	Remaining int
}

// Limiter decides whether the request counted under key is within l.
// An error means no decision was made (the backend failed); Result is then
// the zero value. Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// Defaults for Settings' zero values.
const (
	DefaultTimeout       = 50 * time.Millisecond
	DefaultKeyPrefix     = "portcullis:"
	DefaultProbeInterval = time.Second
	// DefaultMaxLocalKeys bounds the in-process limiter: a million buckets
	// (with keys of up to 64 bytes) stay under 200 MiB.
	DefaultMaxLocalKeys = 1 << 20
)

// Settings say where state lives. The zero value is in-process.
type Settings struct {
	// Redis is nil for in-process state.
	Redis *RedisSettings
	// MaxLocalKeys bounds the in-process limiter's buckets; 0 means
	// DefaultMaxLocalKeys.
	MaxLocalKeys int
}

// Mode says where state is kept: "memory" or "redis".
func (s Settings) Mode() string {
	if s.Redis != nil {
		return "redis"
	}
	return "memory"
}

// Validate reports every problem, one sentence per line (errors.Join).
func (s Settings) Validate() error { return s.Problems().Err() }

// Problems is what Validate reports, each at the field of the `state:`
// configuration block it is about ("redis.db"), so that the gateway
// reports it at its place.
func (s Settings) Problems() config.Problems {
	var ps config.Problems
	if s.MaxLocalKeys < 0 {
		ps.Addf("", "max_local_keys must not be negative")
	}
	if s.Redis != nil {
		for _, p := range s.Redis.Problems() {
			ps.Add("redis."+p.Field, p.Err)
		}
	}
	return ps
}

// Status is the health of the backend, for /readyz and logs.
type Status struct {
	Mode string // "memory" or "redis"
	Up   bool
	// Err is the last failure while down, "" when up. It names the
	// backend's problem (dial refused, timeout), never a secret.
	Err string
}

// Store is the configured backend with its failure policy. It is safe for
// concurrent use; Close releases its connections.
type Store struct {
	settings Settings
	local    *Memory
	redis    redis.UniversalClient // nil: in-process
	batch    *batcher              // nil: in-process
	gcra     *gcra                 // nil: in-process
	prefix   string
	timeout  time.Duration
	failOpen bool
	probe    time.Duration
	metrics  *Metrics
	log      *slog.Logger

	down      atomic.Bool
	lastErr   atomic.Pointer[string]
	nextProbe atomic.Int64 // unix nanoseconds: while down, the first call after it tries the backend
	fallbacks atomic.Uint64
}

// Options are a Store's process-wide parts.
type Options struct {
	Metrics *Metrics     // nil: not measured
	Logger  *slog.Logger // nil: silent; logs when Redis goes down and comes back
	// ProbeInterval is how often, while Redis is down, one call tries it
	// again; 0 means DefaultProbeInterval.
	ProbeInterval time.Duration
}

// Open builds the Store s describes. It does not connect: Redis is dialled
// on first use, so a gateway starts while Redis is down (degraded).
func Open(s Settings, o Options) (*Store, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	st := &Store{settings: s, metrics: o.Metrics, log: o.Logger, probe: o.ProbeInterval, failOpen: true}
	if st.log == nil {
		st.log = slog.New(slog.DiscardHandler)
	}
	if st.probe <= 0 {
		st.probe = DefaultProbeInterval
	}
	max := s.MaxLocalKeys
	if max == 0 {
		max = DefaultMaxLocalKeys
	}
	if s.Redis == nil {
		st.local = NewMemory(max, nil)
	} else {
		c, err := s.Redis.client()
		if err != nil {
			return nil, err
		}
		st.redis = c
		st.prefix = s.Redis.prefix()
		st.timeout = s.Redis.timeout()
		st.failOpen = s.Redis.FailOpen == nil || *s.Redis.FailOpen
		st.batch = newBatcher(c, st.timeout)
		st.gcra = newGCRA(st.batch, st.prefix+"rl:")
	}
	st.metrics.reset(st.settings.Mode())
	return st, nil
}

// Settings returns what the Store was opened with, so a reload with the
// same settings can keep it (and its buckets and connections).
func (s *Store) Settings() Settings { return s.settings }

// Remote reports whether state is shared through Redis.
func (s *Store) Remote() bool { return s.redis != nil }

// Redis returns the client, or nil for in-process state. Calls on it should
// go through Do.
func (s *Store) Redis() redis.UniversalClient { return s.redis }

// Key returns name under the configured key prefix.
func (s *Store) Key(name string) string { return s.prefix + name }

// Timeout is the longest a call may wait for Redis (0 in-process).
func (s *Store) Timeout() time.Duration { return s.timeout }

// FailOpen reports whether limits let requests through while Redis is down.
func (s *Store) FailOpen() bool { return s.failOpen }

// Allow decides key against l. In-process it never fails. With Redis, a
// failure or a wait longer than Timeout returns the error and a Result
// whose Allowed is FailOpen (RetryAfter 0); while Redis is known to be down
// it returns that at once, without a call, except for one probe per
// ProbeInterval. Each such fallback is counted. Concurrent decisions share
// pipelines (see batcher): one command each, one write and one read for
// all of them.
func (s *Store) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if s.redis == nil {
		return s.local.Allow(ctx, key, l)
	}
	if err := s.skipWhileDown(); err != nil {
		return Result{Allowed: s.failOpen}, err
	}
	r, err := s.gcra.Allow(ctx, key, l)
	if err := s.record(ctx, err); err != nil {
		return Result{Allowed: s.failOpen}, err
	}
	return r, nil
}

// ErrDown is returned by Do, without calling Redis, while the backend is
// known to be down and no probe is due.
var ErrDown = errors.New("state: redis is down")

// Do runs fn with the Redis client and a context bounded by Timeout, and
// keeps the backend's health: a failure (other than redis.Nil or the
// caller's own cancellation) marks it down and counts a fallback; a success
// marks it up. While down, Do returns ErrDown at once except for one probe
// per ProbeInterval. In-process it returns ErrDown.
func (s *Store) Do(ctx context.Context, fn func(context.Context, redis.UniversalClient) error) error {
	if s.redis == nil {
		return ErrDown
	}
	if err := s.skipWhileDown(); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	err := fn(cctx, s.redis)
	cancel()
	return s.record(ctx, err)
}

// skipWhileDown returns ErrDown, and counts a fallback, while Redis is
// known to be down and no probe is due.
func (s *Store) skipWhileDown() error {
	if s.down.Load() && !s.probeDue() {
		s.fallback()
		return ErrDown
	}
	return nil
}

// record keeps the backend's health after a call that returned err under
// the caller's ctx, as Do describes, and returns err wrapped (or nil, or
// redis.Nil as it is).
func (s *Store) record(ctx context.Context, err error) error {
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		s.markUp()
		return err
	case ctx.Err() != nil:
		return err // the caller gave up; says nothing about Redis
	}
	s.markDown(err)
	s.fallback()
	return fmt.Errorf("state: redis: %w", err)
}

// probeDue lets one caller per ProbeInterval try the backend while it is down.
func (s *Store) probeDue() bool {
	now := time.Now().UnixNano()
	next := s.nextProbe.Load()
	return now >= next && s.nextProbe.CompareAndSwap(next, now+int64(s.probe))
}

func (s *Store) markUp() {
	if s.down.Load() && s.down.CompareAndSwap(true, false) {
		s.metrics.up(s.settings.Mode(), true)
		s.log.Info("state: redis is back; limits use it again", "fallbacks", s.fallbacks.Load())
	}
}

func (s *Store) markDown(err error) {
	msg := err.Error()
	s.lastErr.Store(&msg)
	s.nextProbe.Store(time.Now().UnixNano() + int64(s.probe))
	if s.down.CompareAndSwap(false, true) {
		s.metrics.up(s.settings.Mode(), false)
		s.log.Warn("state: redis is down; limits fall back until it answers again", "fail_open", s.failOpen, "error", msg)
	}
}

func (s *Store) fallback() {
	s.fallbacks.Add(1)
	s.metrics.fallback()
}

// Fallbacks counts decisions made without the backend since Open.
func (s *Store) Fallbacks() uint64 { return s.fallbacks.Load() }

// timedOut reports whether err is a deadline running out. go-redis sets
// the connection's deadline from the context's, so the same expiry comes
// back either as the context's DeadlineExceeded or as the connection's
// net timeout ("i/o timeout"), whichever fires first.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// StatusPingLimit bounds Status's ping whatever Timeout is, so that /readyz
// answers within a readiness probe's timeout (Kubernetes' default is 1 s,
// the Deployment's 2 s).
const StatusPingLimit = 800 * time.Millisecond

// Status reports the backend's health. When a probe is due (at most one
// per ProbeInterval) it pings Redis, bounded by Timeout and StatusPingLimit
// (a ping cut short by the latter changes nothing), whether it is up
// or down: a replica that makes no limit decision (idle, or serving routes
// without limits) notices Redis going away and coming back too, so its
// /readyz and portcullis_state_backend_up tell the truth. A ping is no
// decision: it counts no fallback.
func (s *Store) Status(ctx context.Context) Status {
	st := Status{Mode: s.settings.Mode(), Up: true}
	if s.redis == nil {
		return st
	}
	if s.probeDue() {
		limit := min(s.timeout, StatusPingLimit)
		cctx, cancel := context.WithTimeout(ctx, limit)
		err := s.redis.Ping(cctx).Err()
		limited := errors.Is(cctx.Err(), context.DeadlineExceeded) || timedOut(err)
		cancel()
		switch {
		case err == nil:
			s.markUp()
		case ctx.Err() != nil: // the caller gave up
		case limit < s.timeout && limited:
			// Cut short by StatusPingLimit, not by the timeout: Redis
			// may still answer within it, so this proves nothing.
		default:
			s.markDown(err)
		}
	}
	if s.down.Load() {
		st.Up = false
		if p := s.lastErr.Load(); p != nil {
			st.Err = *p
		}
	}
	return st
}

// Close releases the Redis connections; the Store must not be used after.
func (s *Store) Close() error {
	if s.redis == nil {
		return nil
	}
	s.batch.close()
	return s.redis.Close()
}
