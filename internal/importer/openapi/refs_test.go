package openapi

import (
	"slices"
	"strings"
	"testing"
)

// TestImportRefCycles: a $ref that comes back to itself, directly or
// through others, in an integration, a security scheme or a path item, is
// noted as a $ref cycle naming each ref in it, and the routes it concerns
// are left out (a route whose security scheme is a cycle is never served
// open); a chain of integration $refs that ends in an integration is
// followed.
func TestImportRefCycles(t *testing.T) {
	const head = "openapi: 3.0.1\ninfo: {title: t, version: '1'}\n"
	const backend = "{type: http_proxy, httpMethod: GET, uri: 'http://127.0.0.1:9/'}"
	const integrations = "#/components/x-amazon-apigateway-integrations/"
	getWith := func(integration string) string {
		return "paths:\n  /a:\n    get:\n      x-amazon-apigateway-integration: {$ref: '" + integrations + integration + "'}\n"
	}
	for _, c := range []struct {
		name, doc string
		routes    []string // the route keys imported
		notes     []string
	}{
		{"integration refers to itself",
			head + getWith("a") + "components:\n  x-amazon-apigateway-integrations:\n    a: {$ref: '" + integrations + "a'}\n",
			nil, []string{
				"api.yaml paths./a.get.x-amazon-apigateway-integration (at routes): the integration is a $ref cycle: " + integrations + "a -> " + integrations + "a (it never reaches an integration)",
				"route GET /a left out: its integration is not carried over",
			}},
		{"integration cycle through another",
			head + getWith("a") + "components:\n  x-amazon-apigateway-integrations:\n    a: {$ref: '" + integrations + "b'}\n    b: {$ref: '" + integrations + "a'}\n",
			nil, []string{"the integration is a $ref cycle: " + integrations + "a -> " + integrations + "b -> " + integrations + "a (it never reaches an integration)"}},
		{"integration chain",
			head + getWith("a") + "components:\n  x-amazon-apigateway-integrations:\n    a: {$ref: '" + integrations + "b'}\n    b: " + backend + "\n",
			[]string{"GET /a"}, nil},
		{"integration not found",
			head + getWith("a") + "components:\n  x-amazon-apigateway-integrations:\n    a: {$ref: '" + integrations + "gone'}\n",
			nil, []string{`integration $ref "` + integrations + `gone" not found`}},
		{"security scheme cycle",
			head + "paths:\n  /a:\n    get:\n      security: [{s: []}]\n      x-amazon-apigateway-integration: " + backend + "\n  /b:\n    get:\n      x-amazon-apigateway-integration: " + backend + "\n" +
				"components:\n  securitySchemes:\n    s: {$ref: '#/components/securitySchemes/t'}\n    t: {$ref: '#/components/securitySchemes/s'}\n",
			[]string{"GET /b"}, []string{
				"api.yaml components.securitySchemes.s (at authorizers): security scheme s is a $ref cycle: #/components/securitySchemes/s -> #/components/securitySchemes/t -> #/components/securitySchemes/s (it never reaches a security scheme)",
				"api.yaml paths./a.get (at routes): route GET /a left out: security scheme s is a $ref cycle",
			}},
		{"path item cycle",
			head + "paths:\n  /a/{id}:\n    $ref: '#/paths/~1b'\n  /b:\n    $ref: '#/paths/~1a~1{id}'\n  /c:\n    get:\n      x-amazon-apigateway-integration: " + backend + "\n  /d:\n    $ref: '#/paths/~1c'\n",
			[]string{"GET /c", "GET /d"}, []string{
				"api.yaml paths./a/{id} (at routes): the routes of /a/{id} are left out: it is a $ref cycle: #/paths/~1a~1{id} -> #/paths/~1b -> #/paths/~1a~1{id} (it never reaches a path item)",
				"the routes of /b are left out: it is a $ref cycle: #/paths/~1b -> #/paths/~1a~1{id} -> #/paths/~1b",
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Import([]byte(c.doc), Options{Source: "api.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			var routes []string
			for _, r := range res.Config.Routes {
				routes = append(routes, r.Route)
			}
			if slices.Sort(routes); !slices.Equal(routes, c.routes) {
				t.Errorf("routes %q; want %q", routes, c.routes)
			}
			var notes []string
			for _, n := range res.Notes {
				notes = append(notes, n.String())
			}
			all := strings.Join(notes, "\n")
			for _, w := range c.notes {
				if !strings.Contains(all, w) {
					t.Errorf("notes lack %q:\n%s", w, all)
				}
			}
			if c.notes == nil && len(notes) > 0 {
				t.Errorf("notes:\n%s", all)
			}
		})
	}
}
