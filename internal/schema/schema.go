// Package schema makes the JSON Schemas of Portcullis's configuration files
// from the Go types that load them (internal/config), so the schema and
// `portcullis check` cannot disagree about which keys exist and what they
// hold. `go generate ./internal/schema` writes them to schema/ at the
// repository's root; a test fails when the committed files are stale.
//
// The schema describes shape (keys, types, durations, enums where the
// loader has them); what values mean is still `portcullis check`'s
// business. It requires no key, so a partial file (a snippet in an editor)
// validates too.
package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gwresponse"
)

// Files are the schemas Generate makes, by file name under schema/.
const (
	GatewayFile = "portcullis.schema.json"
	IssuerFile  = "issuer.schema.json"
)

// BaseURL is where the schemas are published: the repository's schema/
// folder.
const BaseURL = "https://raw.githubusercontent.com/portcullis/portcullis/main/schema/"

const configPackage = "github.com/portcullis/portcullis/internal/config"

// Generate returns the schemas by file name. comments (from Comments) are
// the Go doc comments of the config types, used as descriptions.
func Generate(comments map[string]string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, v := range map[string]any{GatewayFile: &config.Config{}, IssuerFile: &config.Issuer{}} {
		r := &jsonschema.Reflector{
			FieldNameTag:               "yaml",
			RequiredFromJSONSchemaTags: true,
			Mapper:                     mapType,
			CommentMap:                 comments,
		}
		s := r.Reflect(v)
		for def, props := range enums {
			if d := s.Definitions[def]; d != nil {
				for key, values := range props {
					if p, ok := d.Properties.Get(key); ok {
						p.Enum = values
					}
				}
			}
		}
		for def, props := range patterns {
			if d := s.Definitions[def]; d != nil {
				for key, pattern := range props {
					if p, ok := d.Properties.Get(key); ok {
						p.Pattern = pattern
					}
				}
			}
		}
		if d := s.Definitions["Config"]; d != nil {
			if p, ok := d.Properties.Get("gateway_responses"); ok {
				var types []any
				for _, t := range gwresponse.Types() {
					types = append(types, t.String())
				}
				p.PropertyNames = &jsonschema.Schema{Enum: types}
			}
		}
		s.ID = jsonschema.ID(BaseURL + name)
		s.Title = map[string]string{GatewayFile: "Portcullis gateway configuration (portcullis serve -c FILE)", IssuerFile: "Portcullis development issuer configuration (portcullis issuer -c FILE)"}[name]
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		out[name] = append(b, '\n')
	}
	return out, nil
}

// enums are the values setup accepts for the keys that choose a kind (see
// internal/gateway and internal/tracing); TestEnums checks each against
// portcullis check.
var enums = map[string]map[string][]any{
	"Authorizer":  {"type": {"jwt", "lambda"}, "payload_format_version": {"1.0", "2.0"}, "event_type": {"TOKEN", "REQUEST"}},
	"Integration": {"type": {"http_proxy", "lambda_proxy", "mock"}, "payload_format_version": {"1.0", "2.0"}},
	"Tracing":     {"protocol": {"http/protobuf", "grpc"}},
}

// patterns are the forms setup accepts for kind keys whose values are a
// family of names: a function's runtime is process, invoke or http, or the
// name AWS gives a Python, Node.js, custom or Go runtime (see
// internal/function/registry); TestEnums checks examples of each.
var patterns = map[string]map[string]string{
	"Function": {"runtime": `^(process|invoke|http|provided|provided\.al2|provided\.al2023|go1\.x|python3\.[0-9]{1,2}|nodejs[0-9]{1,2}\.x)$`},
}

// durationPattern is what time.ParseDuration takes, without a sign (the
// loader refuses negative durations) and with a unit except for 0.
const durationPattern = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

// mapType gives the loader's own YAML types their schema.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[config.Duration]():
		return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: durationPattern},
			{Type: "integer", Enum: []any{0}}, // YAML's unquoted 0
		}, Description: "A duration with a unit, such as 30s, 1500ms or 1h; 0 for none."}
	case reflect.TypeFor[config.Strings]():
		return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
			{Type: "string"},
			{Type: "array", Items: &jsonschema.Schema{Type: "string"}},
		}, Description: "One string or a list of strings."}
	}
	return nil
}

// Comments reads the doc comments of the struct types and fields in the Go
// package in dir (internal/config), keyed as jsonschema's CommentMap wants:
// "PKG.Type" and "PKG.Type.Field".
func Comments(dir string) (map[string]string, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, configPackage)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out := map[string]string{}
	for _, t := range p.Types {
		if t.Doc != "" {
			out[configPackage+"."+t.Name] = clean(t.Doc)
		}
		for _, spec := range t.Decl.Specs {
			st, ok := spec.(*ast.TypeSpec).Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, f := range st.Fields.List {
				text := f.Doc.Text()
				if text == "" {
					text = f.Comment.Text()
				}
				for _, n := range f.Names {
					if text != "" {
						out[configPackage+"."+t.Name+"."+n.Name] = clean(text)
					}
				}
			}
		}
	}
	return out, nil
}

func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Write writes the schemas into dir.
func Write(dir string, files map[string][]byte) error {
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
	}
	return nil
}

// Same reports whether dir holds exactly files.
func Same(dir string, files map[string][]byte) (bool, string) {
	for name, b := range files {
		have, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(have, b) {
			return false, name
		}
	}
	return true, ""
}
