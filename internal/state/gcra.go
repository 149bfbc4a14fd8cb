package state

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraLua decides one request against one bucket, on Redis's own clock
// (TIME), so replicas need no synchronised clocks. The key holds the
// theoretical arrival time (TAT) in microseconds and expires when the
// bucket would be full again: a full bucket is no key.
//
// gcra(key, emission interval in µs per token, tolerance = burst ×
// emission in µs) returns allowed 0|1, remaining, retry after in µs.
const gcraLua = `
local function gcra(key, e, tol)
  local t = redis.call("TIME")
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call("GET", key))
  if tat == nil or tat < now then
    tat = now
  end
  local nxt = tat + e
  local allow_at = nxt - tol
  if allow_at > now then
    return 0, 0, math.ceil(allow_at - now)
  end
  redis.call("SET", key, string.format("%.3f", nxt), "PX", math.max(1, math.ceil((nxt - now) / 1000)))
  return 1, math.floor((now - allow_at) / e), 0
end
`

// gcraScript decides one request in one round trip. KEYS[1] the bucket;
// ARGV[1] emission interval (µs per token), ARGV[2] tolerance (µs).
// Returns {allowed 0|1, remaining, retry after in µs}.
var gcraScript = redis.NewScript(gcraLua + `
local allowed, remaining, retry = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return {allowed, remaining, retry}
`)

// throttleCountScript is a usage plan's throttle and quota in one round
// trip: the bucket KEYS[1] decides as gcraScript does and, only if it
// allows, the counter KEYS[2] is incremented and expires at ARGV[3] (unix
// seconds). Returns {allowed 0|1, remaining, retry after in µs, count (0
// when refused)}. In a Cluster both keys must share a slot (a hash tag).
var throttleCountScript = redis.NewScript(gcraLua + `
local allowed, remaining, retry = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if allowed == 0 then
  return {0, 0, retry, 0}
end
local n = redis.call("INCR", KEYS[2])
redis.call("EXPIREAT", KEYS[2], ARGV[3])
return {1, remaining, 0, n}
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
	e, tol, ok := gcraMicros(l)
	if !ok {
		return Result{}, nil
	}
	v, err := gcraScript.Run(ctx, g.c, []string{g.prefix + boundKey(key)}, e, tol).Int64Slice()
	if err != nil {
		return Result{}, err
	}
	if len(v) != 3 {
		return Result{}, fmt.Errorf("state: gcra script returned %d values", len(v))
	}
	return gcraResult(v), nil
}

// allowThenIncr decides key against l as Allow does and, only if it
// allows, adds one to the Redis key counter (the full key, prefix
// included), which expires at expireAt, in one round trip. count is the
// new count, 0 when refused.
func (g *gcra) allowThenIncr(ctx context.Context, key string, l Limit, counter string, expireAt time.Time) (r Result, count int64, err error) {
	e, tol, ok := gcraMicros(l)
	if !ok {
		return Result{}, 0, nil
	}
	v, err := throttleCountScript.Run(ctx, g.c, []string{g.prefix + boundKey(key), counter}, e, tol, expireAt.Unix()).Int64Slice()
	if err != nil {
		return Result{}, 0, err
	}
	if len(v) != 4 {
		return Result{}, 0, fmt.Errorf("state: throttle and count script returned %d values", len(v))
	}
	return gcraResult(v), v[3], nil
}

// gcraMicros is gcraParams in the scripts' unit, microseconds.
func gcraMicros(l Limit) (e, tol float64, ok bool) {
	en, toln, ok := gcraParams(l)
	return float64(en) / 1e3, float64(toln) / 1e3, ok
}

// gcraResult reads a script's {allowed, remaining, retry after in µs}.
func gcraResult(v []int64) Result {
	return Result{Allowed: v[0] == 1, Remaining: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Microsecond}
}
