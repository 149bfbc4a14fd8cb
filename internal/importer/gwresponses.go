package importer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gwresponse"
)

// HeaderParameter is the prefix of a gateway response's header in AWS's
// responseParameters.
const HeaderParameter = "gatewayresponse.header."

// GatewayResponse carries one AWS gateway response into
// `gateway_responses:`, from the shape OpenAPI's
// x-amazon-apigateway-gateway-responses and CloudFormation's
// AWS::ApiGateway::GatewayResponse share: statusCode (a number or a
// string), responseParameters (gatewayresponse.header.NAME → value) and
// responseTemplates (content type → template); keys in either lower or
// upper camel case. What Portcullis cannot carry is noted: parameters other
// than headers, values read from the request's headers or query string
// (Portcullis never shows them), templates beyond one, and a body or header
// value that reads a variable check refuses (gwresponse.CheckBody,
// CheckHeaderValue), left out so that check accepts what is written. Types
// are checked where the configuration is checked.
func GatewayResponse(r *Result, source, typ string, obj map[string]any) {
	at := "gateway_responses." + typ
	if r.Config.GatewayResponses == nil {
		r.Config.GatewayResponses = map[string]config.GatewayResponse{}
	}
	if _, dup := r.Config.GatewayResponses[typ]; dup {
		r.Skip(at, source, "%s is already set by another API; Portcullis has one set of gateway responses, the first is kept", typ)
		return
	}
	var out config.GatewayResponse
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		if k == "" {
			continue
		}
		switch strings.ToLower(k[:1]) + k[1:] {
		case "statusCode":
			status, err := statusCode(v)
			if err != nil {
				r.Skip(at+".status", source+"."+k, "%v", err)
				continue
			}
			out.Status = status
		case "responseParameters":
			params, _ := v.(map[string]any)
			for _, name := range slices.Sorted(maps.Keys(params)) {
				header, ok := strings.CutPrefix(name, HeaderParameter)
				val := fmt.Sprint(params[name])
				switch {
				case !ok || header == "":
					r.Skip(at+".headers", source+"."+k+"."+name, "only gatewayresponse.header.NAME parameters have a Portcullis equivalent")
				case strings.HasPrefix(val, "method.request.header.") || strings.HasPrefix(val, "method.request.querystring.") || strings.HasPrefix(val, "method.request.multivalue"):
					r.Skip(at+".headers."+header, source+"."+k+"."+name, "%s: a Portcullis gateway response never shows the request's headers or query string (they carry tokens, API keys and cookies)", val)
				case strings.HasPrefix(val, "stageVariables."):
					r.Skip(at+".headers."+header, source+"."+k+"."+name, "%s: Portcullis has no stage variables", val)
				default:
					if err := gwresponse.CheckHeaderValue(val); err != nil {
						r.Add(Note{Path: at + ".headers." + header, Source: source + "." + k + "." + name, Value: map[string]any{header: EscapeEnv(val)}, Reason: err.Error() + "; the header is left out"})
						continue
					}
					if out.Headers == nil {
						out.Headers = map[string]string{}
					}
					out.Headers[header] = EscapeEnv(val)
				}
			}
		case "responseTemplates":
			templates, _ := v.(map[string]any)
			ct := ""
			if _, ok := templates["application/json"]; ok {
				ct = "application/json"
			} else if len(templates) > 0 {
				ct = slices.Sorted(maps.Keys(templates))[0]
			}
			for _, other := range slices.Sorted(maps.Keys(templates)) {
				if other != ct {
					r.Skip(at+".body", source+"."+k+"."+other, "Portcullis answers with one template per gateway response; the %s one is used", ct)
				}
			}
			if ct == "" {
				continue
			}
			raw := fmt.Sprint(templates[ct])
			body := EscapeEnv(raw)
			if err := gwresponse.CheckBody(raw); err != nil {
				r.Add(Note{Path: at + ".body", Source: source + "." + k + "." + ct, Value: map[string]any{"body": body}, Reason: err.Error() + "; the built-in body is kept"})
				continue
			}
			out.Body = &body
			if ct != "application/json" {
				if out.Headers == nil {
					out.Headers = map[string]string{}
				}
				out.Headers["Content-Type"] = "'" + ct + "'"
			}
		case "responseType", "restApiId", "defaultResponse":
		default:
			r.Skip(at, source+"."+k, "%s has no Portcullis equivalent", k)
		}
	}
	r.Config.GatewayResponses[typ] = out
}

// statusCode reads AWS's statusCode, written as a number or a string.
func statusCode(v any) (int, error) {
	if n, ok := wholeNumber(v); ok {
		return n, nil
	}
	return 0, fmt.Errorf("statusCode %v is not a status code", v)
}

// ExportGatewayResponse is one `gateway_responses:` entry in the shape of
// x-amazon-apigateway-gateway-responses: header values in AWS's forms
// (plain text becomes 'text'), the body under its Content-Type.
func ExportGatewayResponse(g config.GatewayResponse) map[string]any {
	out := map[string]any{}
	if g.Status != 0 {
		out["statusCode"] = g.Status
	}
	ct := "application/json"
	params := map[string]any{}
	for name, v := range g.Headers {
		if strings.EqualFold(name, "Content-Type") {
			ct = strings.Trim(v, "'")
			continue
		}
		params[HeaderParameter+name] = awsHeaderValue(v)
	}
	if len(params) > 0 {
		out["responseParameters"] = params
	}
	if g.Body != nil {
		out["responseTemplates"] = map[string]any{ct: *g.Body}
	}
	return out
}

// awsHeaderValue writes a Portcullis header value in AWS's form: quoted
// static text, context.NAME or method.request.path.NAME as they are. Text
// with $context variables has no AWS form and is left as it is.
func awsHeaderValue(v string) string {
	switch {
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'',
		strings.HasPrefix(v, "context."), strings.HasPrefix(v, "method.request.path."),
		strings.Contains(v, "$"):
		return v
	}
	return "'" + v + "'"
}
