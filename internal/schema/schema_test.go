package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	jsonschema "github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/server"
)

const root = "../.."

// TestCommittedSchemasAreCurrent: the files under schema/ are what the
// config types generate now (run `go generate ./internal/schema` after
// changing them).
func TestCommittedSchemasAreCurrent(t *testing.T) {
	files := generate(t)
	if same, name := Same(filepath.Join(root, "schema"), files); !same {
		t.Errorf("schema/%s is stale: run go generate ./internal/schema", name)
	}
}

func generate(t *testing.T) map[string][]byte {
	t.Helper()
	comments, err := Comments("../config")
	if err != nil {
		t.Fatal(err)
	}
	if comments[configPackage+".Server.ShutdownDelay"] == "" {
		t.Fatal("no doc comment read for Server.ShutdownDelay")
	}
	files, err := Generate(comments)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func compile(t *testing.T) (gateway, issuer *jsonschema.Schema) {
	t.Helper()
	c := jsonschema.NewCompiler()
	for name, b := range generate(t) {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(BaseURL+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if gateway, err = c.Compile(BaseURL + GatewayFile); err != nil {
		t.Fatal(err)
	}
	if issuer, err = c.Compile(BaseURL + IssuerFile); err != nil {
		t.Fatal(err)
	}
	return gateway, issuer
}

// asJSON reads YAML text into the values a JSON document would hold.
func asJSON(t *testing.T, text string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("YAML: %v\n%s", err, text)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// isIssuerFile tells a `portcullis issuer -c` file from a gateway's.
func isIssuerFile(text string) bool {
	return regexp.MustCompile(`(?m)^(keys_dir|token_ttl|users|clients|users_file|clients_file):`).MatchString(text) &&
		!regexp.MustCompile(`(?m)^(routes|authorizers|issuers):`).MatchString(text)
}

// TestExamplesValidate: every configuration the project ships or shows
// validates against the schema: examples/*.yaml, the image's starter
// configuration, the Kubernetes ConfigMap's, and every YAML block of the
// README.
func TestExamplesValidate(t *testing.T) {
	gateway, issuer := compile(t)
	docs := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	paths = append(paths, filepath.Join(root, "deploy", "container", "portcullis.yaml"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = string(b)
	}
	if len(paths) < 5 {
		t.Fatalf("found only %v", paths)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "configmap.yaml"))
	if err != nil || yaml.Unmarshal(b, &cm) != nil || cm.Data["portcullis.yaml"] == "" {
		t.Fatalf("configmap.yaml: %v", err)
	}
	docs["deploy/kubernetes/configmap.yaml"] = cm.Data["portcullis.yaml"]
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d YAML blocks in the README", len(blocks))
	}
	for i, m := range blocks {
		docs[fmt.Sprintf("README.md YAML block %d", i+1)] = m[1]
	}
	for name, text := range docs {
		s := gateway
		if isIssuerFile(text) {
			s = issuer
		}
		if err := s.Validate(asJSON(t, text)); err != nil {
			t.Errorf("%s does not validate: %v", name, err)
		}
	}
}

// TestSchemaRefuses: what the loader refuses, the schema refuses too.
func TestSchemaRefuses(t *testing.T) {
	gateway, _ := compile(t)
	for _, c := range []struct {
		name, yaml string
		loaderToo  bool // the loader refuses it as well (some refusals are setup's, one is the schema's own)
	}{
		{"unknown key", "listen: 127.0.0.1:8080\nlisten_addr: x\n", true},
		{"misspelt nested key", "authorizers:\n  a: {type: jwt, jwks_urii: x}\n", true},
		{"duration without unit", "server: {shutdown_timeout: \"30\"}\n", true},
		{"negative duration", "server: {shutdown_delay: -5s}\n", true},
		{"number for a string", "routes:\n  - route: 5\n", false},                                            // YAML would make it "5"; editors should say so
		{"unknown integration type", "routes:\n  - route: GET /a\n    integration: {type: lambda}\n", false}, // refused by check (TestEnums)
		{"unknown tracing protocol", "tracing: {protocol: zipkin}\n", false},
		{"list of lists", "authorizers:\n  a: {audience: [[x]]}\n", true},
	} {
		if err := gateway.Validate(asJSON(t, c.yaml)); err == nil {
			t.Errorf("%s: accepted %q", c.name, c.yaml)
		}
		if _, err := config.Parse("x.yaml", []byte(c.yaml), os.LookupEnv); err == nil && c.loaderToo {
			t.Errorf("%s: the loader accepts what the schema refuses", c.name)
		}
	}
	for _, ok := range []string{"server: {shutdown_delay: 0}\n", "server: {shutdown_delay: 1m30s}\n", "authorizers:\n  a: {audience: x}\n"} {
		if err := gateway.Validate(asJSON(t, ok)); err != nil {
			t.Errorf("refused %q: %v", ok, err)
		}
	}
}

// TestEnums: each value the schema lists for a kind key is one setup
// knows, and a value it does not list is one setup refuses.
func TestEnums(t *testing.T) {
	cases := map[string]func(v string) string{
		"Authorizer.type": func(v string) string {
			return "listen: 127.0.0.1:0\nauthorizers:\n  a: {type: " + v + "}\nroutes: [{route: GET /a, integration: {type: mock}}]\n"
		},
		"Integration.type": func(v string) string {
			return "listen: 127.0.0.1:0\nroutes: [{route: GET /a, integration: {type: " + v + "}}]\n"
		},
		"Function.runtime": func(v string) string {
			return "listen: 127.0.0.1:0\nfunctions:\n  f: {runtime: " + v + "}\nroutes: [{route: GET /a, integration: {type: mock}}]\n"
		},
		"Tracing.protocol": func(v string) string {
			return "listen: 127.0.0.1:0\ntracing: {protocol: " + v + "}\nroutes: [{route: GET /a, integration: {type: mock}}]\n"
		},
		"APIKeys.source": func(v string) string {
			return "listen: 127.0.0.1:0\napi_keys: {source: " + v + ", keys_file: /dev/null}\nroutes: [{route: GET /a, integration: {type: mock}}]\n"
		},
		"UsagePlanQuota.period": func(v string) string {
			return "listen: 127.0.0.1:0\napi_keys: {keys_file: /dev/null}\nusage_plans:\n  p: {quota: {limit: 1, period: " + v + "}}\nroutes: [{route: GET /a, integration: {type: mock}}]\n"
		},
	}
	unknown := regexp.MustCompile(`unknown (authorizer type|integration type|runtime)|protocol "|source "|period "`)
	for key, cfg := range cases {
		def, field, _ := strings.Cut(key, ".")
		values := enums[def][strings.ToLower(field)]
		if pattern := patterns[def][strings.ToLower(field)]; pattern != "" {
			// A family of names: examples of each, which the pattern
			// must match, and setup must know.
			values = []any{"process", "invoke", "http", "provided", "provided.al2", "provided.al2023", "go1.x", "python3.12", "python3.9", "nodejs20.x", "nodejs8.x"}
			re := regexp.MustCompile(pattern)
			for _, v := range append(values, "bogus", "python2.7", "nodejs20", "ruby3.3") {
				if re.MatchString(v.(string)) != (v != "bogus" && v != "python2.7" && v != "nodejs20" && v != "ruby3.3") {
					t.Errorf("%s pattern on %q", key, v)
				}
			}
		}
		if len(values) == 0 {
			t.Fatalf("no enum for %s", key)
		}
		for _, v := range append(values, "bogus") {
			f, err := config.Parse("x.yaml", []byte(cfg(v.(string))), os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			_, err = server.Check(f)
			refused := err != nil && unknown.MatchString(err.Error())
			if refused != (v == "bogus") {
				t.Errorf("%s %q: check says %v", key, v, err)
			}
		}
	}
}
