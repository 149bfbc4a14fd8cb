package openapi

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
)

type securityScheme = openapi3.SecurityScheme

// operation is what a route needs from an OpenAPI operation, whether kin
// parsed it or it came raw from x-amazon-apigateway-any-method.
type operation struct {
	security *openapi3.SecurityRequirements // nil: the document's
	ext      map[string]any
}

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func (t *translator) paths() {
	if t.doc.Paths == nil {
		return
	}
	for _, path := range slices.Sorted(maps.Keys(t.doc.Paths.Map())) {
		item := t.doc.Paths.Value(path)
		if item == nil {
			continue
		}
		if item.Ref != "" && len(item.Operations()) == 0 {
			_, cycle := followRefs(pointerTo("#/paths/", path), func(ref string) string {
				if p, ok := localRef(ref, "#/paths/"); ok && t.doc.Paths.Value(p) != nil {
					return t.doc.Paths.Value(p).Ref
				}
				return ""
			})
			if cycle != nil {
				t.note("routes", t.o.Source+" paths."+path, "the routes of %s are left out: it is %s (it never reaches a path item)", path, refCycleText(cycle))
				continue
			}
		}
		for _, m := range methods {
			if op := item.GetOperation(m); op != nil {
				t.route(path, m, operation{security: op.Security, ext: op.Extensions})
			}
		}
		if raw := asObj(item.Extensions["x-amazon-apigateway-any-method"]); raw != nil {
			op := operation{ext: raw}
			if sec, ok := raw["security"].([]any); ok {
				reqs := openapi3.SecurityRequirements{}
				for _, r := range sec {
					req := openapi3.SecurityRequirement{}
					for name, scopes := range asObj(r) {
						req[name] = strs(map[string]any{"s": scopes}, "s", false)
						if req[name] == nil {
							req[name] = []string{}
						}
					}
					reqs = append(reqs, req)
				}
				op.security = &reqs
			}
			t.route(path, "ANY", op)
		}
	}
}

// route writes one route, or a note saying why it is left out.
func (t *translator) route(path, method string, op operation) {
	key := method + " " + path
	if path == "$default" || boolean(op.ext, "isDefaultRoute") {
		key = "$default"
	}
	src := t.o.Source + " paths." + path + "." + strings.ToLower(method)
	if method == "ANY" {
		src = t.o.Source + " paths." + path + ".x-amazon-apigateway-any-method"
	}
	if s := str(op.ext, SourceExtension); s != "" {
		src = s
	}
	r := config.Route{Route: key}
	skip := func(format string, args ...any) {
		t.res.Add(importer.Note{Path: "routes", Source: src, Reason: "route " + key + " left out: " + fmt.Sprintf(format, args...)})
	}
	if t.keys[key] {
		skip("the route is defined twice")
		return
	}
	if a := asObj(op.ext["x-amazon-apigateway-auth"]); a != nil && !strings.EqualFold(str(a, "type"), "NONE") {
		skip("%s authorization has no Portcullis equivalent (left out rather than served open)", str(a, "type"))
		return
	}
	r.APIKeyRequired = boolean(op.ext, "x-amazon-apigateway-api-key-required")
	reqs := op.security
	if reqs == nil {
		reqs = &t.doc.Security
	}
	switch {
	case len(*reqs) > 1:
		skip("it lists %d alternative security requirements; API Gateway allows one", len(*reqs))
		return
	case len(*reqs) == 1:
		authorizers := 0
		for _, scheme := range slices.Sorted(maps.Keys((*reqs)[0])) {
			scopes := (*reqs)[0][scheme]
			a, ok := t.auth[scheme]
			switch {
			case !ok:
				skip("unknown security scheme %q", scheme)
				return
			case a.skip != "":
				skip("%s", a.skip)
				return
			case a.apiKey:
				r.APIKeyRequired = true
				continue
			}
			if authorizers++; authorizers > 1 {
				skip("it requires several authorizers at once; Portcullis runs one authorizer per route")
				return
			}
			r.Authorizer = a.name
			if len(scopes) > 0 {
				if a.jwt {
					r.AuthorizationScopes = scopes
				} else {
					t.note("routes", src, "scopes %v on a Lambda authorizer do nothing (as on AWS)", scopes)
				}
			}
		}
	}
	in, ok := t.integration(op.ext["x-amazon-apigateway-integration"], method, src)
	if !ok {
		skip("its integration is not carried over (see the note above)")
		return
	}
	r.Integration = in
	for _, k := range slices.Sorted(maps.Keys(op.ext)) {
		switch k {
		case "x-amazon-apigateway-integration", "x-amazon-apigateway-auth", "isDefaultRoute", "security", "responses", "parameters", "requestBody", "summary", "description", "operationId", "tags":
		default:
			if strings.HasPrefix(k, "x-amazon-apigateway-") {
				t.note(fmt.Sprintf("routes[%d]", len(t.res.Config.Routes)), src, "%s has no Portcullis equivalent", k)
			}
		}
	}
	t.keys[key] = true
	t.res.Config.Routes = append(t.res.Config.Routes, r)
}

var statusCodeRe = regexp.MustCompile(`"statusCode"\s*:\s*"?(\d{3})`)

// integration reads x-amazon-apigateway-integration; ok is false (with a
// note) when it cannot be carried over.
func (t *translator) integration(v any, method, src string) (in config.Integration, ok bool) {
	m := asObj(v)
	if ref := str(m, "$ref"); ref != "" {
		var all map[string]any
		if t.doc.Components != nil {
			all = asObj(t.doc.Components.Extensions["x-amazon-apigateway-integrations"])
		}
		target := func(ref string) obj {
			name, found := localRef(ref, "#/components/x-amazon-apigateway-integrations/")
			if !found {
				return nil
			}
			return asObj(all[name])
		}
		last, cycle := followRefs(ref, func(ref string) string { return str(target(ref), "$ref") })
		if cycle != nil {
			t.note("routes", src+".x-amazon-apigateway-integration", "the integration is %s (it never reaches an integration)", refCycleText(cycle))
			return in, false
		}
		if m = target(last); m == nil {
			t.note("routes", src, "integration $ref %q not found", last)
			return in, false
		}
	}
	if m == nil {
		t.note("routes", src, "the operation has no x-amazon-apigateway-integration")
		return in, false
	}
	src += ".x-amazon-apigateway-integration"
	known := map[string]bool{"type": true, "uri": true, "httpMethod": true, "timeoutInMillis": true, "payloadFormatVersion": true}
	typ := strings.ToLower(str(m, "type"))
	if typ == "aws_proxy" || typ == "http_proxy" {
		// What API Gateway's exports write on every proxy integration and
		// ignores there (proxy integrations pass requests and responses
		// through), or means nothing without a stage cache: not noted.
		known["passthroughBehavior"], known["cacheNamespace"] = true, true
		if l, ok := m["cacheKeyParameters"].([]any); ok && len(l) == 0 {
			known["cacheKeyParameters"] = true
		}
		if typ == "aws_proxy" {
			known["responses"] = true
		}
	}
	if ct := str(m, "connectionType"); strings.EqualFold(ct, "VPC_LINK") {
		t.note("routes", src, "a VPC link integration reaches a private network Portcullis cannot")
		return in, false
	} else if ct == "" || strings.EqualFold(ct, "INTERNET") {
		known["connectionType"] = true
	}
	switch typ {
	case "aws_proxy":
		fn, ok := t.lambdaFunction(t.subst(str(m, "uri")), src)
		if !ok {
			return in, false
		}
		in = config.Integration{Type: "lambda_proxy", Function: fn, PayloadFormatVersion: version(m, "payloadFormatVersion")}
		if in.PayloadFormatVersion == "" {
			in.PayloadFormatVersion = "1.0" // REST's only format
			if t.http {
				in.PayloadFormatVersion = "2.0"
			}
		}
	case "http_proxy":
		known["requestParameters"] = true
		in = config.Integration{Type: "http_proxy", URI: t.subst(str(m, "uri"))}
		if hm := strings.ToUpper(str(m, "httpMethod")); hm != "" && hm != "ANY" && hm != method && method != "ANY" {
			t.note("routes", src, "the backend is called with the client's method, not %s", hm)
		}
		if !t.requestParameters(asObj(m["requestParameters"]), &in, src) {
			return in, false
		}
	case "mock":
		known["requestTemplates"], known["responses"], known["passthroughBehavior"] = true, true, true
		in = t.mock(m, src)
	default:
		t.note("routes", src, "a %q integration (mapping templates, AWS services) has no Portcullis equivalent", str(m, "type"))
		return in, false
	}
	if ms, ok := num(m, "timeoutInMillis"); ok {
		in.Timeout = config.Duration(time.Duration(ms) * time.Millisecond)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !known[k] {
			t.note("routes", src, "integration field %s is not carried over", k)
		}
	}
	return in, true
}

// mock reads a mock integration: the status its request template selects
// and the matching response's template and static headers.
func (t *translator) mock(m obj, src string) config.Integration {
	in := config.Integration{Type: "mock"}
	status := 200
	templates := asObj(m["requestTemplates"])
	for _, k := range slices.Sorted(maps.Keys(templates)) {
		if s, ok := templates[k].(string); ok {
			if sm := statusCodeRe.FindStringSubmatch(s); sm != nil {
				status, _ = strconv.Atoi(sm[1])
				break
			}
		}
	}
	responses := asObj(m["responses"])
	resp := asObj(responses["default"])
	for _, k := range slices.Sorted(maps.Keys(responses)) {
		if r := asObj(responses[k]); str(r, "statusCode") == strconv.Itoa(status) {
			resp = r
			break
		}
	}
	if s, err := strconv.Atoi(str(resp, "statusCode")); err == nil {
		status = s
	}
	if status != http.StatusOK {
		in.Status = status
	}
	bodies := asObj(resp["responseTemplates"])
	for _, ct := range slices.Sorted(maps.Keys(bodies)) {
		in.Body = str(bodies, ct)
		if strings.ContainsAny(in.Body, "$#") && strings.Contains(in.Body, "$input") {
			t.note("routes", src, "the response template is VTL; it is served as literal text")
		}
		in.Headers = map[string]string{"content-type": ct}
		break
	}
	params := asObj(resp["responseParameters"])
	for _, k := range slices.Sorted(maps.Keys(params)) {
		name, ok := strings.CutPrefix(k, "method.response.header.")
		v := str(params, k)
		if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			t.note("routes", src, "response parameter %s = %s is not a static header", k, v)
			continue
		}
		if in.Headers == nil {
			in.Headers = map[string]string{}
		}
		for h := range in.Headers {
			if strings.EqualFold(h, name) {
				delete(in.Headers, h)
			}
		}
		in.Headers[strings.ToLower(name)] = v[1 : len(v)-1]
	}
	return in
}

// requestParameters carries an http_proxy's parameter mapping over: HTTP
// API keys (overwrite:header.x) as they are; REST ones
// (integration.request.header.x = method.request.header.y, 'static',
// context.x) rewritten in the HTTP API syntax.
func (t *translator) requestParameters(params obj, in *config.Integration, src string) bool {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := str(params, k)
		if strings.Contains(k, ":") {
			if in.RequestParameters == nil {
				in.RequestParameters = map[string]string{}
			}
			in.RequestParameters[k] = v
			continue
		}
		target, ok := strings.CutPrefix(k, "integration.request.")
		where, name, _ := strings.Cut(target, ".")
		if !ok || name == "" {
			t.note("routes", src, "request parameter %s is not carried over", k)
			continue
		}
		var value string
		switch {
		case strings.HasPrefix(v, "method.request.path.") && where == "path":
			from := strings.TrimPrefix(v, "method.request.path.")
			if from != name {
				in.URI = strings.ReplaceAll(in.URI, "{"+name+"}", "{"+from+"}")
			}
			continue
		case strings.HasPrefix(v, "method.request."):
			value = "$request." + strings.TrimPrefix(v, "method.request.")
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			value = importer.EscapeEnv(v[1 : len(v)-1])
		case strings.HasPrefix(v, "context."):
			value = "$" + v
		default:
			t.note("routes", src, "request parameter %s = %s is not carried over", k, v)
			continue
		}
		switch where {
		case "header", "querystring":
			if in.RequestParameters == nil {
				in.RequestParameters = map[string]string{}
			}
			in.RequestParameters["overwrite:"+where+"."+name] = value
		default:
			t.note("routes", src, "request parameter %s = %s is not carried over", k, v)
		}
	}
	return true
}

// lambdaFunction resolves a Lambda integration or authorizer URI to a
// function of the configuration: a local one when Options.Functions names
// it, else an `invoke` function that calls it on AWS.
func (t *translator) lambdaFunction(uri, src string) (string, bool) {
	arn := uri
	if i := strings.Index(uri, ":lambda:path/"); i >= 0 {
		_, after, ok := strings.Cut(uri[i:], "/functions/")
		if !ok {
			t.note("routes", src, "%q is not a Lambda invocation URI", uri)
			return "", false
		}
		arn = after
		for _, end := range []string{"/invocations", "/response-streaming-invocations"} {
			arn = strings.TrimSuffix(arn, end)
		}
	}
	if strings.Contains(arn, "${stageVariables.") {
		t.note("routes", src, "the function ARN %q depends on stage variables, which Portcullis does not have", arn)
		return "", false
	}
	fnName, region, qualifier, ok := ParseFunctionARN(arn)
	if !ok {
		t.note("routes", src, "%q is not a Lambda function ARN", arn)
		return "", false
	}
	if local, ok := t.o.Functions[fnName]; ok && qualifier == "" {
		return local, true
	}
	name := importer.EnvName(fnName)
	if qualifier != "" {
		name += "_" + importer.EnvName(qualifier)
	}
	if _, exists := t.res.Config.Functions[name]; !exists {
		t.res.Config.Functions[name] = config.Function{Runtime: "invoke", FunctionName: fnName, Region: region, Qualifier: qualifier}
	}
	return name, true
}

// ParseFunctionARN splits a Lambda function ARN,
// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].
func ParseFunctionARN(arn string) (name, region, qualifier string, ok bool) {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" || parts[6] == "" {
		return "", "", "", false
	}
	if len(parts) == 8 {
		qualifier = parts[7]
	}
	return parts[6], parts[3], qualifier, true
}
