// Package openapi reads an OpenAPI 3.0/3.1 or Swagger 2.0 definition with
// API Gateway's x-amazon-apigateway-* extensions into a Portcullis
// configuration, and writes a configuration back as OpenAPI 3 with the same
// extensions (Export), so one package knows the format both ways.
//
// Parsing is kin-openapi's (Swagger 2 through its openapi2conv); this
// package only reads the extensions and the security requirements.
package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
)

// MaxSize bounds a definition, as API Gateway's own import does (6 MB).
const MaxSize = 6 << 20

// Extension names this package reads and writes besides AWS's: what a
// Portcullis configuration holds that API Gateway has no field for, so that
// an exported configuration imports back unchanged.
const (
	extPortcullis = "x-portcullis"            // root: listen, admin_listen, api, server, issuers, functions, tls, http_redirect_listen
	extAuthorizer = "x-portcullis-authorizer" // in a security scheme: jwt key settings, timeout
)

// SourceExtension, in an operation or a security scheme, names where it
// came from for the notes about it (the CloudFormation resource a
// definition was written from). Export never writes it.
const SourceExtension = "x-portcullis-source"

// Options tunes an import.
type Options struct {
	// Source names the input in notes, such as "openapi.yaml" or
	// "Resources.MyApi.Properties.DefinitionBody".
	Source string
	// Functions maps a Lambda function name, as its ARN writes it, to the
	// configuration's function that runs it locally (SAM's functions).
	// Other ARNs become `invoke` functions.
	Functions map[string]string
	// Region, AccountID and Partition replace ${AWS::Region},
	// ${AWS::AccountId} and ${AWS::Partition}.
	Region, AccountID, Partition string
	// HTTP says whether the definition is an HTTP API's (true) or a REST
	// API's (false); nil guesses from its content. It decides defaults AWS
	// gives the two differently (payload format, authorizer cache).
	HTTP *bool
}

// Detect reports whether data is an OpenAPI or Swagger document (it has a
// top-level openapi or swagger key).
func Detect(data []byte) bool {
	var head struct {
		OpenAPI any `yaml:"openapi"`
		Swagger any `yaml:"swagger"`
	}
	if yaml.Unmarshal(data, &head) != nil {
		return false
	}
	return head.OpenAPI != nil || head.Swagger != nil
}

// Import reads the definition in data into a new result.
func Import(data []byte, o Options) (*importer.Result, error) {
	res := &importer.Result{}
	if err := Into(res, data, o); err != nil {
		return nil, err
	}
	importer.NoteAPIKeys(res, o.Source)
	return res, nil
}

// Into adds the definition's routes, authorizers and functions to res.
func Into(res *importer.Result, data []byte, o Options) error {
	if len(data) > MaxSize {
		return fmt.Errorf("openapi: the definition is larger than %d bytes", MaxSize)
	}
	doc, err := load(data)
	if err != nil {
		return err
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	t := &translator{res: res, o: o, doc: doc, auth: map[string]authz{}, keys: map[string]bool{}}
	// The maps this call makes it removes again when they stay empty; the
	// caller's own maps are left for the caller to fill (SAM's functions
	// come after its APIs' definitions).
	ownFunctions, ownAuthorizers := res.Config.Functions == nil, res.Config.Authorizers == nil
	if ownFunctions {
		res.Config.Functions = map[string]config.Function{}
	}
	if ownAuthorizers {
		res.Config.Authorizers = map[string]config.Authorizer{}
	}
	for _, r := range res.Config.Routes {
		t.keys[r.Route] = true
	}
	if o.HTTP != nil {
		t.http = *o.HTTP
	} else {
		t.http = guessHTTP(doc)
	}
	if err := t.portcullis(); err != nil {
		return err
	}
	if res.Config.API == (config.API{}) {
		res.Config.API = apiFromServers(doc)
	}
	t.rootExtensions()
	t.authorizers()
	t.paths()
	importer.RequireAPIKeys(res, t.keySource)
	if ownFunctions && len(res.Config.Functions) == 0 {
		res.Config.Functions = nil
	}
	if ownAuthorizers && len(res.Config.Authorizers) == 0 {
		res.Config.Authorizers = nil
	}
	return nil
}

func load(data []byte) (*openapi3.T, error) {
	var head struct {
		OpenAPI string `yaml:"openapi"`
		Swagger string `yaml:"swagger"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	switch {
	case strings.HasPrefix(head.Swagger, "2"):
		j, err := toJSON(data)
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		var d2 openapi2.T
		if err := json.Unmarshal(j, &d2); err != nil {
			return nil, fmt.Errorf("openapi: reading Swagger 2.0: %w", err)
		}
		doc, err := openapi2conv.ToV3(&d2)
		if err != nil {
			return nil, fmt.Errorf("openapi: converting Swagger 2.0: %w", err)
		}
		return doc, nil
	case strings.HasPrefix(head.OpenAPI, "3"):
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		return doc, nil
	}
	return nil, errors.New("openapi: neither `openapi: 3.x` nor `swagger: \"2.0\"` at the top")
}

// guessHTTP tells an HTTP API's definition from a REST API's by what only
// HTTP APIs have: CORS at the root, JWT authorizers, payload format
// versions, $request identity sources, a $default route.
func guessHTTP(doc *openapi3.T) bool {
	if doc.Extensions["x-amazon-apigateway-cors"] != nil {
		return true
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return false
	}
	s := string(b)
	for _, mark := range []string{`"payloadFormatVersion"`, `"type":"jwt"`, `"$request.`, `"isDefaultRoute"`, `"authorizerPayloadFormatVersion"`} {
		if strings.Contains(s, mark) {
			return true
		}
	}
	return false
}

// translator carries one import.
type translator struct {
	res  *importer.Result
	o    Options
	doc  *openapi3.T
	http bool
	auth map[string]authz // security scheme → what routes that use it get
	keys map[string]bool  // route keys already written
	// keySource is x-amazon-apigateway-api-key-source ("": HEADER).
	keySource string
}

// authz is a security scheme as routes see it: the authorizer's name, or
// why routes requiring it are left out (fail closed: never served open).
type authz struct {
	name   string
	jwt    bool
	apiKey bool // API Gateway's API key scheme (x-api-key): not an authorizer
	skip   string
}

func (t *translator) note(path, source, format string, args ...any) {
	t.res.Skip(path, source, format, args...)
}

// subst replaces the pseudo parameters AWS substitutes at import time.
func (t *translator) subst(s string) string {
	if !strings.Contains(s, "${AWS::") {
		return s
	}
	return strings.NewReplacer("${AWS::Region}", t.o.Region, "${AWS::AccountId}", t.o.AccountID, "${AWS::Partition}", t.o.Partition).Replace(s)
}

// portcullis reads the x-portcullis root extension (written by Export):
// what API Gateway has no field for.
func (t *translator) portcullis() error {
	v := t.doc.Extensions[extPortcullis]
	if v == nil {
		return nil
	}
	data, err := yaml.Marshal(plain(v))
	if err != nil {
		return fmt.Errorf("openapi: %s: %w", extPortcullis, err)
	}
	f, err := config.Parse(t.o.Source+" "+extPortcullis, data, keepEnv)
	if err != nil {
		return fmt.Errorf("openapi: %w", err)
	}
	c := &t.res.Config
	setProcessSettings(c, &f.Config)
	if t.o.Functions == nil {
		t.o.Functions = map[string]string{}
	}
	for name, fn := range f.Config.Functions {
		c.Functions[name] = fn
		t.o.Functions[name] = name
	}
	if c.API.Region != "" {
		t.o.Region = c.API.Region
	}
	if c.API.AccountID != "" {
		t.o.AccountID = c.API.AccountID
	}
	return nil
}

// executeAPIHost is the host of an API Gateway API's default endpoint:
// API id and region.
var executeAPIHost = regexp.MustCompile(`^([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$`)

// apiFromServers reads the API id, region and stage from the first server
// URL of an API Gateway export (https://ID.execute-api.REGION.amazonaws.com/
// {basePath}, the variable's default the stage; Swagger 2's host and
// basePath arrive here converted); zero for any other URL.
func apiFromServers(doc *openapi3.T) config.API {
	if len(doc.Servers) == 0 || doc.Servers[0] == nil {
		return config.API{}
	}
	s := doc.Servers[0]
	raw := s.URL
	for name, v := range s.Variables {
		if v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return config.API{}
	}
	m := executeAPIHost.FindStringSubmatch(u.Hostname())
	if m == nil {
		return config.API{}
	}
	stage, _, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	return config.API{ID: m[1], Region: m[2], Stage: stage}
}

// keepEnv leaves ${NAME} as it is: the values are written into a
// configuration, which expands them when it is loaded.
func keepEnv(name string) (string, bool) { return "${" + name + "}", true }

// rootExtensions carries an HTTP API's CORS over into `cors:` and the
// gateway responses into `gateway_responses:`, and notes every other API
// Gateway extension at the root.
func (t *translator) rootExtensions() {
	for _, k := range slices.Sorted(maps.Keys(t.doc.Extensions)) {
		src := t.o.Source + " " + k
		switch k {
		case extPortcullis, "x-amazon-apigateway-importexport-version":
		case "x-amazon-apigateway-cors":
			if !t.http {
				importer.CORSNote(t.res, src, "x-amazon-apigateway-cors applies to HTTP APIs only; API Gateway ignores it in a REST API", asObj(t.doc.Extensions[k]))
				continue
			}
			importer.CORS(t.res, src, asObj(t.doc.Extensions[k]))
		case "x-amazon-apigateway-api-key-source":
			t.keySource, _ = importer.APIKeySource(t.res, src, t.doc.Extensions[k])
		case "x-amazon-apigateway-gateway-responses":
			all := asObj(t.doc.Extensions[k])
			for _, typ := range slices.Sorted(maps.Keys(all)) {
				importer.GatewayResponse(t.res, src+"."+typ, typ, asObj(all[typ]))
			}
		default:
			if strings.HasPrefix(k, "x-amazon-apigateway-") {
				t.note("", src, "%s has no Portcullis equivalent", k)
			}
		}
	}
}
