package sam

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/portcullis/portcullis/internal/importer"
)

// Stage throttling, as AWS writes it: an HTTP API's DefaultRouteSettings
// and RouteSettings (SAM's AWS::Serverless::HttpApi and its events,
// AWS::ApiGatewayV2::Stage), a REST API's MethodSettings (SAM's
// AWS::Serverless::Api, AWS::ApiGateway::Stage). Their
// ThrottlingBurstLimit and ThrottlingRateLimit become `throttling:`; the
// logging, metrics and caching settings beside them are noted.

// eventSettings is an HttpApi event's RouteSettings, for its route.
type eventSettings struct {
	route, src string
	settings   any
}

// throttling carries the main API's stage throttling over (after its
// routes are imported, so a setting for a route that is not is noted).
func (t *translator) throttling(main *api) {
	t.e.at = "throttling"
	var settings []importer.RouteThrottle
	if v, ok := main.props["DefaultRouteSettings"]; ok {
		settings = t.routeSettings(settings, "", main.propSrc("DefaultRouteSettings"), v)
	}
	if v, ok := main.props["RouteSettings"]; ok {
		src := main.propSrc("RouteSettings")
		all, ok := t.e.eval(v, src).(map[string]any)
		if !ok {
			t.res.Skip("throttling", src, "RouteSettings could not be read")
		}
		for _, key := range slices.Sorted(maps.Keys(all)) {
			settings = t.routeSettings(settings, key, src+"."+key, all[key])
		}
	}
	for _, ev := range main.events {
		settings = t.routeSettings(settings, ev.route, ev.src, ev.settings)
	}
	if v, ok := main.props["MethodSettings"]; ok {
		settings = append(settings, t.methodSettings(main.propSrc("MethodSettings"), v)...)
	}
	importer.Throttling(t.res, settings)
}

// routeSettings appends an HTTP API route's settings (or the stage's
// default ones, route "") to out.
func (t *translator) routeSettings(out []importer.RouteThrottle, route, src string, v any) []importer.RouteThrottle {
	m, ok := t.e.eval(v, src).(map[string]any)
	if !ok {
		t.res.Skip("throttling", src, "the route settings could not be read")
		return out
	}
	t.noteStageSettings(src, m, "ThrottlingBurstLimit", "ThrottlingRateLimit")
	if m["ThrottlingBurstLimit"] == nil && m["ThrottlingRateLimit"] == nil {
		return out
	}
	return append(out, importer.RouteThrottle{Route: route, Source: src, Burst: m["ThrottlingBurstLimit"], Rate: m["ThrottlingRateLimit"]})
}

// noteStageSettings notes the keys of a stage's settings m that Portcullis
// has no equivalent for (logging, metrics, caching).
func (t *translator) noteStageSettings(src string, m map[string]any, known ...string) {
	var other []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) {
			other = append(other, k)
		}
	}
	if len(other) > 0 {
		t.res.Skip("api", src, "%s: AWS's stage logging, metrics and caching settings have no Portcullis equivalent (Portcullis has access_log: and /metrics for every route)", strings.Join(other, ", "))
	}
}

// methodSettings reads a REST stage's MethodSettings: {ResourcePath,
// HttpMethod, ThrottlingBurstLimit, ThrottlingRateLimit, ...}, the path's
// slashes written "~1" ("/~1pets~1{id}"), "/*" and "*" standing for every
// resource and method. Settings for every method come first, then those
// for every method of a resource or one method of every resource, then
// those for one method, so the more specific replace the less.
func (t *translator) methodSettings(src string, v any) []importer.RouteThrottle {
	list, ok := t.e.eval(v, src).([]any)
	if !ok {
		t.res.Skip("throttling", src, "MethodSettings could not be read")
		return nil
	}
	type ranked struct {
		rank int
		s    importer.RouteThrottle
	}
	var out []ranked
	for i, e := range list {
		esrc := fmt.Sprintf("%s[%d]", src, i)
		m, ok := e.(map[string]any)
		if !ok {
			t.res.Skip("throttling", esrc, "the method settings could not be read")
			continue
		}
		t.noteStageSettings(esrc, m, "ResourcePath", "HttpMethod", "ThrottlingBurstLimit", "ThrottlingRateLimit")
		burst, rate := m["ThrottlingBurstLimit"], m["ThrottlingRateLimit"]
		if burst == nil && rate == nil {
			continue
		}
		rawPath, method := text(m["ResourcePath"]), strings.ToUpper(text(m["HttpMethod"]))
		anyPath, anyMethod := rawPath == "/*" || rawPath == "*", method == "*"
		if rawPath == "" || method == "" {
			t.res.Skip("throttling", esrc, "method settings need both ResourcePath and HttpMethod (\"/*\" and \"*\" for every method)")
			continue
		}
		path := resourcePath(rawPath)
		s := importer.RouteThrottle{Source: esrc, Burst: burst, Rate: rate}
		switch {
		case anyPath && anyMethod:
			out = append(out, ranked{0, s})
		case !anyPath && !anyMethod:
			s.Route = method + " " + path
			out = append(out, ranked{2, s})
		default:
			n := len(out)
			for _, r := range t.res.Config.Routes {
				m, p, ok := strings.Cut(r.Route, " ")
				if ok && (anyPath || p == path) && (anyMethod || m == method) {
					s.Route = r.Route
					out = append(out, ranked{1, s})
				}
			}
			if len(out) == n {
				t.res.Skip("throttling", esrc, "method settings for %s %s match no route the import produces", method, path)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rank < out[j].rank })
	settings := make([]importer.RouteThrottle, len(out))
	for i, r := range out {
		settings[i] = r.s
	}
	return settings
}

// resourcePath decodes a MethodSettings ResourcePath: "/~1pets~1{id}" is
// "/pets/{id}", "/" the root ("~1" is "/" and "~0" is "~", as in a JSON
// pointer). A path written with plain slashes is taken as it is.
func resourcePath(p string) string {
	rest := strings.TrimPrefix(p, "/")
	rest = strings.ReplaceAll(strings.ReplaceAll(rest, "~1", "/"), "~0", "~")
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return rest
}
