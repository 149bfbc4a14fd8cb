package importer

import (
	"fmt"
	"math"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/throttle"
)

// RouteThrottle is one throttling setting of an AWS stage as the template
// writes it: the route key it applies to ("" for the stage's default, an
// HTTP API's DefaultRouteSettings or a REST API's */* method settings),
// its ThrottlingBurstLimit and ThrottlingRateLimit as read (nil when not
// set), and Source, where it was written.
type RouteThrottle struct {
	Route       string
	Source      string
	Burst, Rate any
}

// Throttling carries a stage's throttling over into `throttling:`, the
// default and then each route's; a later setting for the same route
// replaces an earlier one's limits field by field (an event's
// RouteSettings over its API's, a REST method's over its resource's).
// Call it once the routes are imported: a setting for a route the import
// does not produce is noted. Only what `portcullis check` accepts is
// written: a limit that is not a number or is negative, and one limit
// alone where Portcullis needs both (the default; a route without a
// default to take the other from), are noted with what they would be,
// commented out.
func Throttling(r *Result, settings []RouteThrottle) {
	type merged struct {
		limits  config.Throttle
		sources []string
	}
	byRoute := map[string]*merged{}
	var order []string
	for _, s := range settings {
		m := byRoute[s.Route]
		if m == nil {
			m = &merged{}
			byRoute[s.Route] = m
			order = append(order, s.Route)
		}
		at := "throttling.default"
		if s.Route != "" {
			at = config.JoinPath("throttling.routes", s.Route)
		}
		if s.Burst != nil {
			if n, ok := wholeNumber(s.Burst); !ok || n < 0 {
				r.Skip(at, s.Source+".ThrottlingBurstLimit", "ThrottlingBurstLimit %v: Portcullis's burst is a whole number, 0 or more (0 refuses every request)", s.Burst)
			} else {
				m.limits.Burst = &n
			}
		}
		if s.Rate != nil {
			if f, ok := Number(s.Rate); !ok || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
				r.Skip(at, s.Source+".ThrottlingRateLimit", "ThrottlingRateLimit %v: Portcullis's rate is a number of requests a second, 0 or more (0 refuses every request)", s.Rate)
			} else {
				m.limits.Rate = &f
			}
		}
		if s.Burst != nil || s.Rate != nil {
			m.sources = append(m.sources, s.Source)
		}
	}
	var out config.Throttling
	if d := byRoute[""]; d != nil && (d.limits.Rate != nil || d.limits.Burst != nil) {
		if d.limits.Rate != nil && d.limits.Burst != nil {
			out.Default = &d.limits
		} else {
			r.Add(Note{Path: "throttling", Source: strings.Join(d.sources, ", "), Value: map[string]any{"throttling": map[string]any{"default": d.limits}},
				Reason: "the stage's default throttling sets one of ThrottlingRateLimit and ThrottlingBurstLimit: Portcullis's throttling.default needs both (add the other to carry it over)"})
		}
	}
	produced := map[string]bool{}
	for _, rt := range r.Config.Routes {
		produced[rt.Route] = true
	}
	for _, key := range order {
		m := byRoute[key]
		if key == "" || m.limits.Rate == nil && m.limits.Burst == nil {
			continue
		}
		src := strings.Join(m.sources, ", ")
		value := map[string]any{"throttling": map[string]any{"routes": map[string]any{key: m.limits}}}
		switch {
		case !produced[key]:
			r.Add(Note{Path: "throttling", Source: src, Value: value,
				Reason: fmt.Sprintf("throttling for route %s, which the import does not produce (it is not in the template, or it was left out)", key)})
		case (m.limits.Rate == nil || m.limits.Burst == nil) && out.Default == nil:
			r.Add(Note{Path: "throttling", Source: src, Value: value,
				Reason: fmt.Sprintf("route %s's throttling sets one of ThrottlingRateLimit and ThrottlingBurstLimit, and there is no default throttling to take the other from: Portcullis needs both", key)})
		default:
			if out.Routes == nil {
				out.Routes = map[string]config.Throttle{}
			}
			out.Routes[key] = m.limits
		}
	}
	if out.Default == nil && len(out.Routes) == 0 {
		return
	}
	// What is left is what check accepts; should the gateway's own
	// validation still refuse it (a burst that takes too long to refill),
	// it is noted rather than written.
	infos := make([]throttle.RouteInfo, 0, len(r.Config.Routes))
	for _, rt := range r.Config.Routes {
		infos = append(infos, throttle.RouteInfo{Key: rt.Route})
	}
	if _, err := throttle.Setup(&config.File{Config: config.Config{Throttling: out}}, infos, throttle.Options{}); err != nil {
		r.Add(Note{Path: "throttling", Value: map[string]any{"throttling": out},
			Reason: fmt.Sprintf("the stage's throttling is not carried over: check would refuse it: %v", err)})
		return
	}
	r.Config.Throttling = out
}
