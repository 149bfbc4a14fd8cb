package explain

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/route"
)

// explainRoute says which route the gateway selected and why: the kind of
// match, AWS's precedence, and the other routes that also match and lose.
func explainRoute(g *gateway.Gateway, req *http.Request, t *gateway.Trace) RoutePart {
	if t.BadPath {
		return RoutePart{Why: "the path is refused before route selection (dot segments, encoded slashes or backslashes, control characters or invalid UTF-8): 400"}
	}
	rt := t.Route
	if rt == nil {
		return RoutePart{Why: "no route key matches " + req.Method + " " + req.URL.Path + " and there is no $default route: 404"}
	}
	p := RoutePart{Matched: true, Key: rt.Key, Params: t.Params, Integration: rt.Integration, Why: matchKind(rt)}
	// Each other route alone, with the gateway's own matcher: does it
	// match this request too?
	for _, other := range g.Routes() {
		if other.Key == rt.Key {
			continue
		}
		k, err := route.ParseKey(other.Key)
		if err != nil {
			continue
		}
		tbl, err := route.NewTable([]route.Key{k})
		if err != nil {
			continue
		}
		if tbl.Match(req.Method, req.URL.Path, nil) >= 0 {
			p.AlsoMatching = append(p.AlsoMatching, other.Key)
		}
	}
	if len(p.AlsoMatching) > 0 {
		p.Why += "; it beats the other matching routes (exact path > path with {name} > greedy {name+} > $default; on the same path an explicit method beats ANY)"
	}
	return p
}

// matchKind names how a route key matches, in AWS's order of precedence.
func matchKind(rt *gateway.RouteInfo) string {
	switch {
	case rt.Path == "":
		return "$default: no other route matches"
	case strings.Contains(rt.Path, "+}"):
		return "a greedy {name+} path (after exact paths and paths with {name}, before $default)" + anyNote(rt)
	case strings.Contains(rt.Path, "{"):
		return "a path with {name} parameters (after exact paths, before greedy {name+} paths and $default)" + anyNote(rt)
	}
	return "the exact path (exact paths come first)" + anyNote(rt)
}

func anyNote(rt *gateway.RouteInfo) string {
	if rt.Method == "ANY" {
		return ", for ANY method"
	}
	return ", for the method " + rt.Method
}
