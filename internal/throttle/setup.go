package throttle

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/route"
	"github.com/portcullis/portcullis/internal/state"
)

// RouteInfo is what Setup needs to know of a configured route.
type RouteInfo struct {
	Key      string // the route key, as in `routes:`
	AuthType string // the type of its authorizer ("jwt", "lambda"), "" for none
}

// Options are Setup's parts from the gateway.
type Options struct {
	Store   Limiter  // nil: validate only (Setup returns a nil *Throttle)
	Metrics *Metrics // nil: not measured
	// CheckContext reports whether $context.name is provided on a route
	// whose authorizer has type authType.
	CheckContext func(name, authType string) error
}

// maxFill bounds burst/rate: a bucket that would take longer than this
// many seconds to fill is surely a mistake (and overflows GCRA's clock).
const maxFill = 1e8

// Setup validates `throttling:` and `rate_limits:` against the routes and
// returns the limits, or nil when neither block is configured. Problems are
// *config.Errors with positions.
func Setup(f *config.File, routes []RouteInfo, o Options) (*Throttle, error) {
	c := &f.Config
	if c.Throttling.Default == nil && len(c.Throttling.Routes) == 0 && len(c.RateLimits) == 0 {
		return nil, nil
	}
	var errs config.Errors
	keys := make([]string, len(routes))
	for i, r := range routes {
		keys[i] = r.Key
	}
	t := &Throttle{routes: map[string]*Route{}}
	get := func(key string) *Route {
		r := t.routes[key]
		if r == nil {
			r = &Route{store: o.Store}
			t.routes[key] = r
		}
		return r
	}

	// throttling: every route gets the default, or its override.
	var def state.Limit
	hasDef := false
	if d := c.Throttling.Default; d != nil {
		if d.Rate == nil || d.Burst == nil {
			errs = append(errs, *f.Errorf("throttling.default", "rate and burst are both required"))
		} else {
			def, hasDef = state.Limit{Rate: *d.Rate, Burst: *d.Burst}, true
			errs = append(errs, checkLimit(f, "throttling.default", def)...)
		}
	}
	overrides := map[string]state.Limit{}
	for _, written := range sortedKeys(c.Throttling.Routes) {
		at := "throttling.routes." + written
		key, err := routeKey(written, keys)
		if err != nil {
			errs = append(errs, *f.Errorf(at, "%v", err))
			continue
		}
		ov := c.Throttling.Routes[written]
		l := def
		switch {
		case ov.Rate == nil && ov.Burst == nil:
			errs = append(errs, *f.Errorf(at, "give rate, burst or both"))
			continue
		case (ov.Rate == nil || ov.Burst == nil) && !hasDef:
			errs = append(errs, *f.Errorf(at, "rate and burst are both required without throttling.default to take the other from"))
			continue
		}
		if ov.Rate != nil {
			l.Rate = *ov.Rate
		}
		if ov.Burst != nil {
			l.Burst = *ov.Burst
		}
		errs = append(errs, checkLimit(f, at, l)...)
		overrides[key] = l
	}
	for _, r := range routes {
		l, ok := overrides[r.Key]
		if !ok && !hasDef {
			continue
		}
		if !ok {
			l = def
		}
		get(r.Key).throttle = &bucket{key: "t:" + r.Key, limit: l, throttled: o.Metrics.throttled(r.Key, RuleThrottling)}
	}

	// rate_limits: a rule applies to the routes it names, in file order.
	names := map[string]bool{}
	for i, rl := range c.RateLimits {
		at := "rate_limits[" + strconv.Itoa(i) + "]"
		n := len(errs)
		switch {
		case rl.Name == "":
			errs = append(errs, *f.Errorf(at, "name is required"))
		case !config.IsName(rl.Name):
			errs = append(errs, *f.Errorf(at+".name", "rate limit name %q may hold only letters, digits, '_' and '-'", rl.Name))
		case rl.Name == RuleThrottling:
			errs = append(errs, *f.Errorf(at+".name", "%q names the throttling: block in metrics; choose another name", rl.Name))
		case names[rl.Name]:
			errs = append(errs, *f.Errorf(at+".name", "rate limit %q is defined twice", rl.Name))
		}
		names[rl.Name] = true
		name, ok := strings.CutPrefix(rl.Key, "$context.")
		if rl.Key == "" {
			errs = append(errs, *f.Errorf(at, "key is required: a $context variable such as $context.authorizer.claims.sub"))
		} else if !ok || name == "" {
			errs = append(errs, *f.Errorf(at+".key", "key must be one $context variable, such as $context.authorizer.claims.sub"))
		}
		l := state.Limit{Rate: rl.Rate, Burst: rl.Burst}
		errs = append(errs, checkLimit(f, at, l)...)
		applies := rl.Routes
		if len(applies) == 0 {
			applies = keys
		}
		applied := make([]string, 0, len(applies))
		for j, written := range applies {
			key, err := routeKey(written, keys)
			if err != nil {
				errs = append(errs, *f.Errorf(at+".routes["+strconv.Itoa(j)+"]", "%v", err))
				continue
			}
			applied = append(applied, key)
			i := slices.IndexFunc(routes, func(r RouteInfo) bool { return r.Key == key })
			if ok && name != "" && o.CheckContext != nil {
				if err := o.CheckContext(name, routes[i].AuthType); err != nil {
					errs = append(errs, *f.Errorf(at+".key", "on route %s: %v", key, err))
				}
			}
		}
		if len(errs) > n {
			continue
		}
		for _, key := range applied {
			get(key).rules = append(get(key).rules, &rule{
				name: rl.Name, context: name, prefix: "r:" + rl.Name + ":", limit: l,
				throttled: o.Metrics.throttled(key, rl.Name),
			})
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if o.Store == nil {
		return nil, nil
	}
	return t, nil
}

// routeKey returns the configured route key that written names.
func routeKey(written string, keys []string) (string, error) {
	k, err := route.ParseKey(written)
	if err != nil {
		return "", err
	}
	if key := k.String(); slices.Contains(keys, key) {
		return key, nil
	}
	return "", fmt.Errorf("no route has the key %q (routes: %s)", written, strings.Join(keys, ", "))
}

func checkLimit(f *config.File, at string, l state.Limit) config.Errors {
	var errs config.Errors
	if math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) || l.Rate < 0 {
		errs = append(errs, *f.Errorf(at+".rate", "rate must be a number of requests per second, 0 or more (0 refuses every request)"))
	}
	if l.Burst < 0 {
		errs = append(errs, *f.Errorf(at+".burst", "burst must be 0 or more (0 refuses every request)"))
	}
	if l.Rate > 0 && float64(l.Burst)/l.Rate > maxFill {
		errs = append(errs, *f.Errorf(at, "burst %d at rate %g takes more than %g seconds to refill; raise rate or lower burst", l.Burst, l.Rate, float64(maxFill)))
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Metrics are the limits' collectors, one set per process. A nil *Metrics
// measures nothing.
type Metrics struct {
	throttledTotal *prometheus.CounterVec // route, rule
}

// NewMetrics registers the collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{throttledTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_throttled_total",
		Help: "Requests refused with 429 by a limit, by route key and rule (throttling, or a rate_limits name); refusals because the state backend failed are portcullis_state_fallbacks_total.",
	}, []string{"route", "rule"})}
	reg.MustRegister(m.throttledTotal)
	return m
}

// throttled returns the counter for route and rule, looked up once at
// setup; without metrics a counter nobody reads.
func (m *Metrics) throttled(route, rule string) prometheus.Counter {
	if m == nil {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"})
	}
	return m.throttledTotal.WithLabelValues(route, rule)
}
