package importer

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
)

// KeysFile is the api_keys.keys_file an import writes: beside the
// configuration, made by `portcullis apikey create`.
const KeysFile = "api-keys.yaml"

// APIKeySource reads an API's key source (API Gateway's apiKeySource,
// x-amazon-apigateway-api-key-source, SAM's ApiKeySourceType): HEADER or
// AUTHORIZER in any case, "" (HEADER, AWS's default) when v is unset, and
// ok false with a note for anything else.
func APIKeySource(r *Result, source string, v any) (string, bool) {
	if v == nil {
		return "", true
	}
	s, _ := v.(string)
	switch up := strings.ToUpper(s); up {
	case "HEADER", "AUTHORIZER":
		return up, true
	}
	r.Skip("api_keys.source", source, "API key source %v: API Gateway knows HEADER and AUTHORIZER", v)
	return "", false
}

// RequireAPIKeys adds the api_keys block a configuration whose routes
// require API keys (AWS's apiKeyRequired) needs, when it has none: source
// keySource ("": HEADER) and KeysFile. Nothing is added when no route
// requires a key. NoteAPIKeys then says what the user must add.
func RequireAPIKeys(r *Result, keySource string) {
	need := false
	for _, rt := range r.Config.Routes {
		need = need || rt.APIKeyRequired
	}
	if !need || r.Config.APIKeys != nil {
		return
	}
	if keySource == "" {
		keySource = "HEADER"
	}
	r.Config.APIKeys = &config.APIKeys{Source: keySource, KeysFile: KeysFile}
	r.keysAdded = true
}

// NoteAPIKeys notes, once the import is complete, what an api_keys block
// RequireAPIKeys added cannot hold: the keys themselves, which AWS keeps,
// and a usage plan when none was imported.
func NoteAPIKeys(r *Result, source string) {
	if !r.keysAdded {
		return
	}
	r.keysAdded = false
	plan := "PLAN"
	if plans := slices.Sorted(maps.Keys(r.Config.UsagePlans)); len(plans) > 0 {
		plan = plans[0]
	} else {
		r.Skip("usage_plans", source, "the API keys need a usage plan and the definition has none (AWS keeps usage plans apart from an OpenAPI definition; a template has them as AWS::ApiGateway::UsagePlan or an Api's Auth.UsagePlan): add one under usage_plans, with a throttle, a quota or both")
	}
	r.Skip("api_keys.keys_file", source, "routes require an API key, and the keys themselves live in AWS: make each again with `portcullis apikey create -c CONFIG --name NAME --plan %s` (it writes %s; check and serve refuse the configuration until it exists)", plan, KeysFile)
}

// UsagePlan carries an AWS usage plan over as usage_plans.NAME: props are
// CloudFormation's (and SAM's Auth.UsagePlan's) Throttle {BurstLimit,
// RateLimit} and Quota {Limit, Period, Offset}, already resolved. What has
// no equivalent (a quota's Offset, per-method throttles in ApiStages) is
// noted; a plan with neither throttle nor quota is noted and left out, as
// Portcullis requires one.
func UsagePlan(r *Result, source, name string, props map[string]any) {
	at := "usage_plans." + name
	var p config.UsagePlan
	if th, ok := props["Throttle"].(map[string]any); ok {
		rate, rok := Number(th["RateLimit"])
		burst, bok := wholeNumber(th["BurstLimit"])
		if rok && bok {
			p.Throttle = &config.UsagePlanThrottle{Rate: rate, Burst: burst}
		} else {
			r.Skip(at+".throttle", source+".Throttle", "a usage plan's throttle needs both RateLimit and BurstLimit (numbers)")
		}
	}
	if q, ok := props["Quota"].(map[string]any); ok {
		limit, lok := wholeNumber(q["Limit"])
		period, _ := q["Period"].(string)
		if lok {
			p.Quota = &config.UsagePlanQuota{Limit: int64(limit), Period: strings.ToUpper(period)}
		} else {
			r.Skip(at+".quota", source+".Quota", "a usage plan's quota needs its Limit (a number)")
		}
		if off, ok := wholeNumber(q["Offset"]); ok && off != 0 {
			r.Skip(at+".quota", source+".Quota.Offset", "Offset %d: Portcullis's quota periods start at 00:00 UTC (weeks on Monday, months on the 1st)", off)
		}
	}
	for _, k := range []string{"ApiStages", "Tags"} {
		if props[k] != nil {
			r.Skip(at, source+"."+k, "%s is not carried over: Portcullis serves one API and stage, and the plan applies to all its key-required routes", k)
		}
	}
	if p.Throttle == nil && p.Quota == nil {
		r.Skip("usage_plans", source, "usage plan %s has neither a throttle nor a quota Portcullis could read; it is left out", name)
		return
	}
	if r.Config.UsagePlans == nil {
		r.Config.UsagePlans = map[string]config.UsagePlan{}
	}
	r.Config.UsagePlans[name] = p
}

// Number reads a number written as any of the types JSON and YAML
// decoders give, or as a string; ok is false for anything else.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}
