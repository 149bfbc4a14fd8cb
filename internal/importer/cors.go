package importer

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/portcullis/portcullis/internal/config"
)

// CORS carries an HTTP API's CORS configuration, given in AWS's lower-camel
// names (allowOrigins, allowMethods, allowHeaders, exposeHeaders, maxAge,
// allowCredentials), into the configuration's `cors:`. Keys already set
// (by an OpenAPI definition's x-amazon-apigateway-cors) are replaced key by
// key, as SAM merges a CorsConfiguration property over the definition's.
// A value that cannot be read is noted, not guessed.
func CORS(r *Result, source string, cors map[string]any) {
	c := r.Config.CORS
	if c == nil {
		c = &config.CORS{}
	}
	keys := make([]string, 0, len(cors))
	for k := range cors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := cors[k], true
		switch k {
		case "allowOrigins":
			c.AllowOrigins, ok = stringList(v)
		case "allowMethods":
			c.AllowMethods, ok = stringList(v)
		case "allowHeaders":
			c.AllowHeaders, ok = stringList(v)
		case "exposeHeaders":
			c.ExposeHeaders, ok = stringList(v)
		case "maxAge":
			var n int
			if n, ok = wholeNumber(v); ok {
				c.MaxAge = &n
			}
		case "allowCredentials":
			c.AllowCredentials, ok = v.(bool)
		default:
			r.Skip("cors", source+"."+k, "%s is not a CORS setting of HTTP APIs", k)
			continue
		}
		if !ok {
			r.Skip("cors."+k, source+"."+k, "%s value %v could not be read", k, v)
		}
	}
	if c.AllowCredentials && slices.Contains(c.AllowOrigins, "*") {
		// Browsers refuse `*` with credentials, and `portcullis check`
		// refuses the pair; dropping credentials keeps what did work.
		c.AllowCredentials = false
		r.Add(Note{Path: "cors.allowCredentials", Source: source, Value: map[string]any{"allowCredentials": true},
			Reason: "allowCredentials cannot go with allowOrigins `*` (browsers refuse it, and check does): list the origins to send credentials"})
	}
	r.Config.CORS = c
}

// stringList reads a list of strings, or one string as a list of one.
func stringList(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// wholeNumber reads an integer written as any of the number types JSON and
// YAML decoders give, or as a string.
func wholeNumber(v any) (int, bool) {
	var f float64
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return 0, false
		}
		f = float64(n)
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	default:
		return 0, false
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0, false
	}
	return int(f), true
}

// CORSNote records a CORS setting that is not carried over, with the
// `cors:` block it would become, commented out.
func CORSNote(r *Result, source, reason string, cors map[string]any) {
	r.Add(Note{Path: "cors", Source: source, Reason: reason, Value: map[string]any{"cors": cors}})
}
