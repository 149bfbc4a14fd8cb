package state

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript decides one request in one round trip, on Redis's own clock
// (TIME), so replicas need no synchronised clocks. The key holds the
// theoretical arrival time (TAT) in microseconds and expires when the
// bucket would be full again: a full bucket is no key.
//
// KEYS[1] the bucket; ARGV[1] emission interval (µs per token), ARGV[2]
// tolerance (burst × emission, µs). Returns {allowed 0|1, remaining,
// retry after in µs}.
var gcraScript = redis.NewScript(`
local e = tonumber(ARGV[1])
local tol = tonumber(ARGV[2])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call("GET", KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local nxt = tat + e
local allow_at = nxt - tol
if allow_at > now then
  return {0, 0, math.ceil(allow_at - now)}
end
redis.call("SET", KEYS[1], string.format("%.3f", nxt), "PX", math.max(1, math.ceil((nxt - now) / 1000)))
return {1, math.floor((now - allow_at) / e), 0}
`)

// gcra is the Redis Limiter: GCRA (the token bucket's decision) in one Lua
// script per request. EVALSHA is tried first; only a Redis that lost its
// script cache (a restart, a failover) costs a second round trip, once.
type gcra struct {
	c      redis.Scripter
	prefix string
}

var _ Limiter = (*gcra)(nil)

func newGCRA(c redis.Scripter, prefix string) *gcra { return &gcra{c: c, prefix: prefix} }

// Allow implements Limiter.
func (g *gcra) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	e, tol, ok := gcraParams(l)
	if !ok {
		return Result{}, nil
	}
	eµs, tolµs := float64(e)/1e3, float64(tol)/1e3
	v, err := gcraScript.Run(ctx, g.c, []string{g.prefix + boundKey(key)}, eµs, tolµs).Int64Slice()
	if err != nil {
		return Result{}, err
	}
	if len(v) != 3 {
		return Result{}, fmt.Errorf("state: gcra script returned %d values", len(v))
	}
	return Result{Allowed: v[0] == 1, Remaining: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Microsecond}, nil
}
