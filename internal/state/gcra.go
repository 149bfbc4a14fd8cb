package state

import (
	"context"
	"sync/atomic"
	"time"
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
var gcraScript = newLuaScript(gcraLua+`
local allowed, remaining, retry = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return {allowed, remaining, retry}
`, 3)

// throttleCountScript is a usage plan's throttle and quota in one round
// trip: the bucket KEYS[1] decides as gcraScript does and, only if it
// allows, the counter KEYS[2] is incremented and expires at ARGV[3] (unix
// seconds). Returns {allowed 0|1, remaining, retry after in µs, count (0
// when refused)}. In a Cluster both keys must share a slot (a hash tag).
var throttleCountScript = newLuaScript(gcraLua+`
local allowed, remaining, retry = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if allowed == 0 then
  return {0, 0, retry, 0}
end
local n = redis.call("INCR", KEYS[2])
redis.call("EXPIREAT", KEYS[2], ARGV[3])
return {1, remaining, 0, n}
`, 4)

// gcra is the Redis Limiter: GCRA (the token bucket's decision) in one Lua
// script per request, sent through the batcher, so that concurrent
// decisions share a pipeline. EVALSHA is tried first; only a Redis that
// lost its script cache (a restart, a failover) costs a second round trip,
// once.
type gcra struct {
	b      *batcher
	prefix string
	// args holds the script arguments of the limits seen so far (copy on
	// write, at most maxBoxedLimits).
	args atomic.Pointer[[]limitArgs]
}

// limitArgs are a Limit's script arguments, boxed once: a float64 put in
// an interface allocates, and a gateway has few distinct limits.
type limitArgs struct {
	l       Limit
	e, tol  any
	limited bool // false: Rate or Burst 0, refused without a call
}

// maxBoxedLimits bounds gcra.args; limits past it are boxed on each call.
const maxBoxedLimits = 64

// argsOf returns l's script arguments.
func (g *gcra) argsOf(l Limit) limitArgs {
	p := g.args.Load()
	if p != nil {
		for i := range *p {
			if (*p)[i].l == l {
				return (*p)[i]
			}
		}
	}
	e, tol, ok := gcraMicros(l)
	a := limitArgs{l: l, e: e, tol: tol, limited: ok}
	if p == nil || len(*p) < maxBoxedLimits {
		var next []limitArgs
		if p != nil {
			next = append(next, *p...)
		}
		next = append(next, a)
		g.args.CompareAndSwap(p, &next) // a lost race only means boxing again next time
	}
	return a
}

var _ Limiter = (*gcra)(nil)

func newGCRA(b *batcher, prefix string) *gcra { return &gcra{b: b, prefix: prefix} }

// Allow implements Limiter.
func (g *gcra) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	a := g.argsOf(l)
	if !a.limited {
		return Result{}, nil
	}
	keys := [1]string{g.prefix + boundKey(key)}
	v, err := g.b.run(ctx, gcraScript, keys[:], a.e, a.tol)
	if err != nil {
		return Result{}, err
	}
	return gcraResult(v), nil
}

// allowThenIncr decides key against l as Allow does and, only if it
// allows, adds one to the Redis key counter (the full key, prefix
// included), which expires at expireAt, in one round trip. count is the
// new count, 0 when refused.
func (g *gcra) allowThenIncr(ctx context.Context, key string, l Limit, counter string, expireAt time.Time) (r Result, count int64, err error) {
	a := g.argsOf(l)
	if !a.limited {
		return Result{}, 0, nil
	}
	keys := [2]string{g.prefix + boundKey(key), counter}
	v, err := g.b.run(ctx, throttleCountScript, keys[:], a.e, a.tol, expireAt.Unix())
	if err != nil {
		return Result{}, 0, err
	}
	return gcraResult(v), v[3], nil
}

// gcraMicros is gcraParams in the scripts' unit, microseconds.
func gcraMicros(l Limit) (e, tol float64, ok bool) {
	en, toln, ok := gcraParams(l)
	return float64(en) / 1e3, float64(toln) / 1e3, ok
}

// gcraResult reads a script's {allowed, remaining, retry after in µs}.
func gcraResult(v [4]int64) Result {
	return Result{Allowed: v[0] == 1, Remaining: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Microsecond}
}
