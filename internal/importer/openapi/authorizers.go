package openapi

import (
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
)

// DefaultRESTResultTTL is a REST Lambda authorizer's cache time when the
// definition sets none, as on AWS.
const DefaultRESTResultTTL = 300 * time.Second

// authorizers turns the security schemes into authorizers.
func (t *translator) authorizers() {
	if t.doc.Components == nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(t.doc.Components.SecuritySchemes)) {
		ref := t.doc.Components.SecuritySchemes[name]
		if ref != nil && ref.Value == nil && ref.Ref != "" {
			t.securitySchemeCycle(name)
		}
		if ref == nil || ref.Value == nil {
			continue
		}
		t.authorizer(name, ref.Value)
	}
}

// securitySchemeCycle notes the security scheme whose $ref leads round in
// a cycle (kin-openapi leaves it without a value) and leaves out the routes
// that require it.
func (t *translator) securitySchemeCycle(scheme string) {
	const prefix = "#/components/securitySchemes/"
	_, cycle := followRefs(pointerTo(prefix, scheme), func(ref string) string {
		if name, ok := localRef(ref, prefix); ok && t.doc.Components.SecuritySchemes[name] != nil {
			return t.doc.Components.SecuritySchemes[name].Ref
		}
		return ""
	})
	if cycle == nil {
		return
	}
	why := "security scheme " + scheme + " is " + refCycleText(cycle) + " (it never reaches a security scheme)"
	t.auth[scheme] = authz{skip: why}
	t.note("authorizers", t.o.Source+" components.securitySchemes."+scheme, "%s; the routes that require it are left out, so they are not served open", why)
}

func (t *translator) authorizer(scheme string, ss *securityScheme) {
	src := t.o.Source + " components.securitySchemes." + scheme
	if s, ok := ss.Extensions[SourceExtension].(string); ok && s != "" {
		src = s
	}
	name := importer.EnvName(scheme)
	at := "authorizers." + name
	ext := asObj(ss.Extensions["x-amazon-apigateway-authorizer"])
	if ext == nil {
		why := "security scheme " + scheme + " is not an API Gateway authorizer"
		switch {
		case strings.EqualFold(str(ss.Extensions, "x-amazon-apigateway-authtype"), "awsSigv4"):
			why = "IAM (SigV4) authorization has no Portcullis equivalent"
		case ss.Type == "apiKey" && strings.EqualFold(ss.Name, "x-api-key") && strings.EqualFold(ss.In, "header"):
			t.auth[scheme] = authz{apiKey: true} // API Gateway's API key: the routes get api_key_required
			return
		}
		t.auth[scheme] = authz{skip: why}
		t.note("authorizers", src, "%s; the routes that require it are left out, so they are not served open", why)
		return
	}
	a := config.Authorizer{}
	typ := strings.ToLower(str(ext, "type"))
	switch typ {
	case "jwt":
		a.Type = "jwt"
		jc := asObj(ext["jwtConfiguration"])
		if list, ok := jc["issuers"].([]any); ok { // the REST JWT authorizer shape
			t.restJWT(&a, at, src, jc, list)
			if src := strs(ext, "identitySource", true); len(src) > 0 && !(len(src) == 1 && isAuthorizationHeader(src[0])) {
				a.IdentitySource = src
			}
			break
		}
		a.Issuer = str(jc, "issuer")
		if a.Issuer == "" && ss.OpenIdConnectUrl != "" {
			a.Issuer = strings.TrimSuffix(ss.OpenIdConnectUrl, "/.well-known/openid-configuration")
		}
		a.Audience = strs(jc, "audience", false)
		if src := strs(ext, "identitySource", true); len(src) > 0 && !(len(src) == 1 && src[0] == "$request.header.Authorization") {
			a.IdentitySource = src
		}
	case "cognito_user_pools":
		a.Type = "jwt"
		arns := strs(ext, "providerARNs", false)
		if len(arns) == 0 {
			t.auth[scheme] = authz{skip: "a Cognito authorizer without providerARNs"}
			t.note("authorizers", src, "a Cognito authorizer without providerARNs; the routes that require it are left out")
			return
		}
		a.Issuer = CognitoIssuer(t.subst(arns[0]))
		if len(arns) > 1 {
			t.note(at, src, "only the first of %d user pools is carried over: a jwt authorizer trusts one issuer", len(arns))
		}
		env := importer.EnvName(scheme + "_AUDIENCE")
		a.Audience = config.Strings{importer.EnvPlaceholder(env)}
		t.res.Add(importer.Note{Path: at + ".audience", Source: src, Placeholder: true,
			Reason: "a Cognito authorizer names no app client; set " + env + " to the user pool app client id (tokens' aud or client_id)"})
		if ss.Name != "" && !strings.EqualFold(ss.Name, "Authorization") {
			a.IdentitySource = config.Strings{"$request.header." + ss.Name}
		}
	case "token", "request":
		a.Type = "lambda"
		fn, ok := t.lambdaFunction(t.subst(str(ext, "authorizerUri")), src)
		if !ok {
			t.auth[scheme] = authz{skip: "its Lambda function could not be carried over"}
			return
		}
		a.Function = fn
		a.IdentitySource = strs(ext, "identitySource", true)
		ttl := DefaultRESTResultTTL
		if t.http {
			ttl = 0
		}
		if n, ok := num(ext, "authorizerResultTtlInSeconds"); ok {
			ttl = time.Duration(n) * time.Second
		}
		d := config.Duration(ttl)
		a.ResultTTL = &d
		if typ == "token" {
			a.PayloadFormatVersion, a.EventType = "1.0", "TOKEN"
			if len(a.IdentitySource) == 0 && ss.Name != "" {
				a.IdentitySource = config.Strings{"method.request.header." + ss.Name}
			}
			a.IdentityValidationExpression = str(ext, "identityValidationExpression")
		} else {
			a.PayloadFormatVersion = version(ext, "authorizerPayloadFormatVersion")
			if a.PayloadFormatVersion == "" {
				a.PayloadFormatVersion = "1.0"
				if t.http {
					a.PayloadFormatVersion = "2.0"
				}
			}
			if a.PayloadFormatVersion == "1.0" {
				a.EventType = "REQUEST"
			}
			a.EnableSimpleResponses = boolean(ext, "enableSimpleResponses")
		}
		if str(ext, "authorizerCredentials") != "" {
			t.note(at, src, "authorizerCredentials (an IAM role to invoke the function) is not needed locally")
		}
	default:
		why := "authorizer type " + typ + " has no Portcullis equivalent"
		t.auth[scheme] = authz{skip: why}
		t.note("authorizers", src, "%s; the routes that require it are left out, so they are not served open", why)
		return
	}
	if v := ss.Extensions[extAuthorizer]; v != nil {
		if err := decodeInto(v, &a); err != nil {
			t.note(at, src, "%s could not be read: %v", extAuthorizer, err)
		}
	}
	if _, dup := t.res.Config.Authorizers[name]; !dup {
		t.res.Config.Authorizers[name] = a
	}
	t.auth[scheme] = authz{name: name, jwt: a.Type == "jwt"}
}

// CognitoIssuer is the token issuer of the user pool a Cognito ARN
// (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID) names.
func CognitoIssuer(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		if pool, ok := strings.CutPrefix(parts[5], "userpool/"); ok {
			return "https://cognito-idp." + parts[3] + ".amazonaws.com/" + pool
		}
	}
	return arn
}

// decodeInto decodes a generic value onto a configuration struct, setting
// only the keys it has.
func decodeInto(v any, out any) error {
	data, err := yaml.Marshal(plain(v))
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return err
	}
	if len(n.Content) == 0 {
		return nil
	}
	return n.Content[0].Decode(out)
}

// restJWT reads a REST API JWT authorizer's jwtConfiguration
// ({defaultAlgorithms, issuers: [{issuer, audiences, additionalClaims}]}),
// the form AWS's OpenAPI extension takes for REST APIs **(ours: AWS's page
// could not be read; see the README)**.
func (t *translator) restJWT(a *config.Authorizer, at, src string, jc obj, list []any) {
	a.Algorithms = strs(jc, "defaultAlgorithms", false)
	for i, v := range list {
		is := asObj(v)
		entry := config.JWTIssuer{Issuer: t.subst(str(is, "issuer")), Audience: strs(is, "audiences", false)}
		if len(entry.Audience) == 0 {
			entry.Audience = strs(is, "audience", false)
		}
		claims, _ := is["additionalClaims"].([]any)
		for _, c := range claims {
			co := asObj(c)
			if f := str(co, "format"); f != "" && !strings.EqualFold(f, "SINGLE_STRING") {
				t.note(at, src, "issuers[%d]: claim %q has format %q; only SINGLE_STRING exists, so the rule is carried over as SINGLE_STRING", i, str(co, "claimName"), f)
			}
			entry.AdditionalClaims = append(entry.AdditionalClaims, config.ClaimRule{
				Name: str(co, "claimName"), Values: strs(co, "expectedValues", false), Required: boolean(co, "required"),
			})
		}
		if str(is, "jwksUri") != "" {
			t.note(at, src, "issuers[%d]: jwksUri is read-only on AWS (resolved by discovery); discovery finds it again", i)
		}
		a.Issuers = append(a.Issuers, entry)
	}
}

// isAuthorizationHeader reports whether an identity source is the default
// one, in either syntax.
func isAuthorizationHeader(src string) bool {
	return strings.EqualFold(src, "$request.header.Authorization") || strings.EqualFold(src, "method.request.header.Authorization")
}
