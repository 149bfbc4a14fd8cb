package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Broken files: each error names the line and column of the mistake
// itself (not where yaml's enclosing block began), the key path, and says
// what is wrong and how to fix it.
func TestSyntaxErrorPositions(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       string // the exact "file:line:column: path: " start
		words      []string
	}{
		{"key indented less than its neighbours",
			"listen: 127.0.0.1:8080\nauthorizers:\n  users:\n    type: jwt\n    issuer: https://i\n   audience: [a]\nroutes: []\n",
			"p.yaml:6:4: authorizers.users.audience: ", []string{"indented 3 spaces", "4", "2"}},
		{"key indented deeper than the valued key above",
			"listen: 127.0.0.1:8080\nauthorizers:\n  users:\n    type: jwt\n    issuer: https://i\n      audience: [a]\nroutes: []\n",
			"p.yaml:6:7: authorizers.users.audience: ", []string{"deeper", "line 5", "indent it to 4"}},
		{"top-level key indented",
			"listen: 127.0.0.1:8080\n admin_listen: 127.0.0.1:9901\n",
			"p.yaml:2:2: admin_listen: ", []string{"deeper", "indent it to 0"}},
		{"tab indentation",
			"listen: 127.0.0.1:8080\nauthorizers:\n  users:\n\ttype: jwt\n",
			"p.yaml:4:1: authorizers.users: ", []string{"tab", "spaces"}},
		{"tab after spaces",
			"listen: 127.0.0.1:8080\nauthorizers:\n  users:\n    type: jwt\n    \tissuer: x\n",
			"p.yaml:5:5: authorizers.users: ", []string{"tab", "spaces"}},
		{"unclosed double quote",
			"listen: \"127.0.0.1:8080\nadmin_listen: 127.0.0.1:9901\nroutes: []\n",
			"p.yaml:1:9: listen: ", []string{`"`, "not closed before line 2", "add the closing"}},
		{"unclosed single quote at the end",
			"listen: 127.0.0.1:8080\nroutes:\n  - route: 'GET /a\n",
			"p.yaml:3:12: routes[0].route: ", []string{"'", "never closed"}},
		{"unclosed quote that a later quote closes",
			"listen: \"127.0.0.1:8080\nadmin_listen: \"127.0.0.1:9901\"\n",
			"p.yaml:1:9: listen: ", []string{"not closed before line 2"}},
		{"missing colon",
			"listen: 127.0.0.1:8080\nadmin_listen 127.0.0.1:9901\nroutes: []\n",
			"p.yaml:2:13: admin_listen: ", []string{`"admin_listen" has no ':'`, "admin_listen: value"}},
		{"missing colon before a nested block",
			"listen: 127.0.0.1:8080\nroutes:\n  - route: GET /a\n    integration\n      type: mock\n",
			"p.yaml:4:16: routes[0].integration: ", []string{"no ':'"}},
		{"duplicate key",
			"listen: a\nadmin_listen: b\nlisten: c\n",
			"p.yaml:3:1: listen: ", []string{"given twice", "line 1", "keep one"}},
		{"duplicate key in a list item",
			"routes:\n  - route: GET /a\n    route: GET /b\n",
			"p.yaml:3:5: routes[0].route: ", []string{"given twice", "line 2"}},
		{"duplicate authorizer name",
			"authorizers:\n  users: {type: jwt}\n  users: {type: lambda}\n",
			"p.yaml:3:3: authorizers.users: ", []string{"given twice"}},
		{"unclosed flow list",
			"listen: a\nroutes: [\n  {route: x}\n",
			"p.yaml:2:9: routes: ", []string{"[", "never closed", "]"}},
		{"unclosed flow mapping",
			"api: {id: x\nlisten: y\n",
			"p.yaml:1:6: api: ", []string{"{", "never closed", "}"}},
		{"line in a list that is not an item",
			"routes:\n  - route: GET /a\n  integration: {type: mock}\n",
			"p.yaml:3:3: routes[0].integration: ", []string{"not an item", "indent it to 4", "'- '"}},
		{"key deeper than its list item's keys",
			"routes:\n  - route: GET /a\n     integration: {type: mock}\n",
			"p.yaml:3:6: routes[0].integration: ", []string{"deeper", "indent it to 4"}},
		{"stray closing bracket",
			"listen: a\nroutes: [a]]\n",
			"p.yaml:2:12: routes: ", []string{"closes what was never opened"}},
		{"tab after a list dash",
			"routes:\n  -\troute: GET /a\n",
			"p.yaml:2:4: routes: ", []string{"tab after '-'"}},
		{"list item among keys",
			"listen: a\n- route: x\n",
			"p.yaml:2:1: ", []string{"list item among the keys"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.yaml), env(nil))
			var es *Errors
			if !errors.As(err, &es) || len(*es) == 0 {
				t.Fatalf("error %v is not *Errors", err)
			}
			got := (*es)[0].Error()
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("got  %q\nwant %q...", got, tt.want)
			}
			for _, w := range tt.words {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
		})
	}
}

// Valid files with the constructs the line reader must step over are not
// its business (yaml accepts them), but the reader must not find problems
// in them either, or a later real problem would be reported in the wrong
// place.
func TestLocateSyntaxErrorQuietOnValidYAML(t *testing.T) {
	for _, in := range []string{
		sample,
		"a:\n- x\n- y\nb: 1\n",
		"a:\n  - x\n  -\n    k: v\n  - - nested\n    - more\nb: |\n  text: with colon\n   deeper\n\n  more\nc: >-\n  folded\nd: 1\n",
		"a: \"multi\n  line\"\nb: 'it''s'\nc: [1,\n  2]\nd: {x: 1,\n  y: 2}\n",
		"a: plain\n  continued here\nb: 1 # comment: with colon\n# comment\n\n\"quoted key\": 2\n'k2': 3\n",
		"a: &anchor\n  x: 1\nb: !!str 5\nc: http://host:9000/path\n",
		"---\na: 1\n",
		"a:\n    - deep\n    - items\nb:\n  c:\n    d: 1\n  e: 2\n",
		"- a\n- b\n",
		"a: {x: '}', y: \"]\"}\n",
	} {
		if p, ok := locateSyntaxError([]byte(in)); ok {
			t.Errorf("%q: found %d:%d %s", in, p.line, p.col, p.msg)
		}
	}
}

// FuzzLocateSyntaxErrorQuiet: on any text yaml parses, the line reader
// finds no problem (but for its one deliberate guess), so that on a broken
// file the first problem it reports is not an earlier valid construct.
func FuzzLocateSyntaxErrorQuiet(f *testing.F) {
	for _, s := range []string{
		sample, "a:\n- x\n- y\nb: 1\n", "-\n\r", " - 0\n  -", "0: {0000:\"}", "0:\n 0\n 0", "a: [x\"y]\n",
		"a: \"multi\n  line\"\nb: 'it''s'\nc: [1,\n  2]\nd: {x: 1,\n  y: 2}\n",
		"a:\n  - x\n  -\n    k: v\n  - - nested\n    - more\nb: |\n  text: with colon\n   deeper\n\n  more\nc: >-\n  folded\nd: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var n yaml.Node
		if yaml.NewDecoder(bytes.NewReader(data)).Decode(&n) != nil {
			return
		}
		if p, ok := locateSyntaxError(data); ok && !p.guess {
			t.Fatalf("%q: valid YAML, found %d:%d %s", data, p.line, p.col, p.msg)
		}
	})
}
