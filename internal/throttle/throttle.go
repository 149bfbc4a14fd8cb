// Package throttle applies request rate limits: AWS HTTP API stage and
// route throttling (`throttling:`, before the authorizer) and per-identity
// limits (`rate_limits:`, ours, after it). Buckets live in a state.Limiter
// (in the process, or Redis shared by every replica).
//
// Setup validates both blocks and returns nil when neither is configured,
// so an unlimited gateway pays one nil check per request.
package throttle

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/state"
)

// Limiter is the store buckets are kept in; *state.Store is one. Allow
// returns a Result already decided by the store's failure policy when it
// also returns an error.
type Limiter interface {
	Allow(ctx context.Context, key string, l state.Limit) (state.Result, error)
}

// Source gives the $context variables a rate limit key is read from.
type Source interface {
	Context(name string) string
}

// Throttle holds every route's limits. A nil *Throttle limits nothing.
type Throttle struct {
	routes map[string]*Route
}

// Route returns the limits of the route with route key key, or nil when
// no limit applies to it.
func (t *Throttle) Route(key string) *Route {
	if t == nil {
		return nil
	}
	return t.routes[key]
}

// Route is one route's limits: its throttling bucket and the rate_limits
// rules that name it. Safe for concurrent use.
type Route struct {
	store    Limiter
	throttle *bucket // nil: the route is not throttled
	rules    []*rule
}

// bucket is the route's own throttling bucket.
type bucket struct {
	key       string // the store key, "t:" + route key
	limit     state.Limit
	throttled prometheus.Counter
}

// rule is one rate_limits entry as it applies to one route.
type rule struct {
	name      string
	context   string // the $context variable name, without "$context."
	prefix    string // "r:" + name + ":"
	limit     state.Limit
	throttled prometheus.Counter
}

// Decision is the outcome of a check.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until the refused request would pass; 0
	// when not known.
	RetryAfter time.Duration
	// Rule names what refused it ("throttling" or a rate_limits name),
	// or what fell back; "" when nothing applied.
	Rule string
	// Err is the store's failure when the decision was made by the
	// failure policy (fail_open) rather than by a bucket.
	Err error
}

// Throttle checks the route's throttling bucket: call it before the
// authorizer.
func (r *Route) Throttle(ctx context.Context) Decision {
	b := r.throttle
	if b == nil {
		return Decision{Allowed: true}
	}
	res, err := r.store.Allow(ctx, b.key, b.limit)
	return decide(res, err, RuleThrottling, b.throttled)
}

// Limit checks the route's rate_limits rules in order, stopping at the
// first that refuses: call it after the authorizer. A rule whose key is
// empty for this request does not apply.
func (r *Route) Limit(ctx context.Context, src Source) Decision {
	for _, u := range r.rules {
		v := src.Context(u.context)
		if v == "" {
			continue
		}
		res, err := r.store.Allow(ctx, u.prefix+v, u.limit)
		if d := decide(res, err, u.name, u.throttled); !d.Allowed {
			return d
		}
	}
	return Decision{Allowed: true}
}

// HasRules reports whether Limit has anything to check.
func (r *Route) HasRules() bool { return len(r.rules) > 0 }

// RuleThrottling is the Rule of a Decision made by `throttling:`.
const RuleThrottling = "throttling"

// decide turns a store's answer into a Decision. Only a limit's own
// refusal counts as throttled: a refusal because the store failed
// (fail_open: false) is an outage, counted by portcullis_state_fallbacks_total.
func decide(res state.Result, err error, rule string, throttled prometheus.Counter) Decision {
	if !res.Allowed {
		if err == nil {
			throttled.Inc()
		}
		return Decision{RetryAfter: res.RetryAfter, Rule: rule, Err: err}
	}
	return Decision{Allowed: true, Rule: rule, Err: err}
}
