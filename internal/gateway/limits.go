package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/throttle"
)

// buildLimits sets up `throttling:` and `rate_limits:` and gives each
// route its limits (nil for a route without any).
func (g *Gateway) buildLimits(f *config.File, d Deps) error {
	infos := make([]throttle.RouteInfo, 0, len(g.routes))
	for i, rt := range g.routes {
		info := throttle.RouteInfo{Key: rt.label}
		if a, ok := f.Config.Authorizers[f.Config.Routes[i].Authorizer]; ok {
			info.AuthType = a.Type
		}
		infos = append(infos, info)
	}
	o := throttle.Options{CheckContext: checkContextName}
	if g.state != nil { // else only validate: the state block's error is reported
		o.Store = g.state
	}
	if d.Metrics != nil {
		o.Metrics = d.Metrics.Throttle
	}
	t, err := throttle.Setup(f, infos, o)
	if err != nil {
		return err
	}
	for _, rt := range g.routes {
		rt.limits = t.Route(rt.label)
	}
	return nil
}

// throttle applies the route's `throttling:` bucket, before the authorizer.
func (ex *exchange) throttle(l *throttle.Route) bool {
	d := l.Throttle(ex.r.Context())
	if !d.Allowed {
		ex.refuse(d, "throttled")
	}
	return d.Allowed
}

// limit applies the route's `rate_limits:`, after the authorizer, keyed by
// what it found.
func (ex *exchange) limit(l *throttle.Route) bool {
	if !l.HasRules() {
		return true
	}
	d := l.Limit(ex.r.Context(), ex)
	if !d.Allowed {
		ex.refuse(d, "rate_limited")
	}
	return d.Allowed
}

// refuse answers a refused request: 429 with Retry-After (whole seconds,
// rounded up) when the wait is known.
func (ex *exchange) refuse(d throttle.Decision, reason string) {
	if d.Err != nil {
		reason = "state_unavailable" // fail_open: false while the store is down
	}
	ex.retryAfter(d.RetryAfter)
	if ex.trace != nil {
		ex.note("limits", "refused by "+d.Rule+": "+reason+" (retry after "+d.RetryAfter.String()+")")
	}
	ex.reject(gwresponse.Throttled, http.StatusTooManyRequests, answer.TooManyRequests, reason)
}

// retryAfter tells a refused client when to try again: Retry-After in
// whole seconds, rounded up; nothing when the wait d is not known (0).
func (ex *exchange) retryAfter(d time.Duration) {
	if d > 0 {
		ex.w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}
