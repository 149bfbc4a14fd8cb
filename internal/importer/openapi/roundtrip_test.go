package openapi

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
)

// keepVars loads a configuration without expanding ${NAME}, as export does,
// so no secret is ever written into a definition.
func keepVars(name string) (string, bool) { return "${" + name + "}", true }

// TestRoundTripExamples: for every example configuration, importing its
// export gives back an equivalent configuration (the same after filling in
// the defaults both sides mean), which also passes check's loading.
func TestRoundTripExamples(t *testing.T) {
	files, err := filepath.Glob("../../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := config.Parse(file, data, keepVars)
			if err != nil {
				t.Fatal(err)
			}
			back := roundTrip(t, &orig.Config)
			want := normalize(orig.Config)
			got := normalize(*back)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("import(export(c)) differs from c\nwant %+v\n got %+v", want, got)
			}
		})
	}
}

// roundTrip exports c, imports the export and renders and loads the
// result as a configuration file, as `portcullis import` would write it.
func roundTrip(t *testing.T, c *config.Config) *config.Config {
	t.Helper()
	def, err := Export(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(def, Options{Source: "export.yaml"})
	if err != nil {
		t.Fatalf("%v\n%s", err, def)
	}
	if len(res.Notes) > 0 {
		t.Errorf("import of an export has notes: %v\n%s", res.Notes, def)
	}
	text, err := importer.Render(res, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse("imported.yaml", text, keepVars)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return &f.Config
}

// normalize fills in the defaults that an unset value means, so two
// configurations that behave the same compare equal.
func normalize(c config.Config) config.Config {
	routes := slices.Clone(c.Routes)
	for i := range routes {
		in := &routes[i].Integration
		if in.Type == "lambda_proxy" && in.PayloadFormatVersion == "" {
			in.PayloadFormatVersion = "2.0"
		}
		if in.Type == "mock" {
			if in.Status == 200 {
				in.Status = 0
			}
			h := map[string]string{}
			for k, v := range in.Headers {
				h[strings.ToLower(k)] = v
			}
			in.Headers = h
		}
	}
	slices.SortFunc(routes, func(a, b config.Route) int { return strings.Compare(a.Route, b.Route) })
	c.Routes = routes
	auth := map[string]config.Authorizer{}
	for name, a := range c.Authorizers {
		if a.Type == "lambda" && a.ResultTTL == nil {
			d := config.Duration(300 * time.Second)
			a.ResultTTL = &d
		}
		if a.Type == "jwt" && slices.Equal(a.IdentitySource, config.Strings{"$request.header.Authorization"}) {
			a.IdentitySource = nil
		}
		auth[name] = a
	}
	c.Authorizers = auth
	return c
}
