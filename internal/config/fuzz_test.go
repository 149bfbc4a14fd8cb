package config

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParse: any bytes as a configuration file never panic, and every error
// names the file and a position inside it (line 0 means "no particular
// line"; YAML's end-of-input errors may point one line past the last).
// A file that parses answers Pos and Errorf for any path with a position
// inside the file too.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"listen: 127.0.0.1:8080\n",
		sample,
		"listen: ${ADDR}\nroutes:\n  - route: GET /x\n    integration: {type: mock, body: \"$${X}\"}\n",
		"listen: [\n",
		"listen: x\n---\nlisten: y\n",
		"a: &a [*a]\n",
		"routes: *x\n",
		"- 1\n- 2\n",
		"authorizers:\n  u:\n    type: jwt\n    audience: 7\n    clock_skew: forever\n",
		"\tlisten: x\n",
		"listen: \"\\xff\"\nlistne: y\n",
		"server: {read_header_timeout: 1s, idle_timeout: -1s, max_header_bytes: 1e99}\n",
		"",
		"{}",
		"null",
		"listen: x\nfunctions: {f: {runtime: process, command: [a], env: {A: ${UNSET}}}}\n",
	} {
		f.Add([]byte(seed))
	}
	lookup := func(name string) (string, bool) {
		switch name {
		case "ADDR":
			return "127.0.0.1:1", true
		case "NEWLINE":
			return "a\nb: c", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// YAML breaks lines at LF, CRLF and a lone CR.
		text := bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		lines := bytes.Count(text, []byte("\n")) + 1
		inFile := func(what string, line, col int) {
			if line < 0 || line > lines+1 || col < 0 {
				t.Fatalf("%s at %d:%d, outside a file of %d lines", what, line, col, lines)
			}
			if line >= 1 && line <= lines && col > 0 {
				text := bytes.Split(text, []byte("\n"))[line-1]
				if col > len(text)+1 && col > utf8.RuneCount(text)+1 {
					t.Fatalf("%s at %d:%d, past the end of the line (%d bytes)", what, line, col, len(text))
				}
			}
		}
		file, err := Parse("fuzz.yaml", data, lookup)
		if err != nil {
			if file != nil {
				t.Fatal("both a file and an error")
			}
			var es *Errors
			if !errors.As(err, &es) || len(*es) == 0 {
				t.Fatalf("error %T is not a non-empty *Errors: %v", err, err)
			}
			for _, e := range *es {
				if e.File != "fuzz.yaml" || e.Msg == "" {
					t.Fatalf("incomplete error %+v", e)
				}
				inFile(e.Error(), e.Line, e.Column)
			}
			return
		}
		for _, path := range []string{"", "listen", "routes[0].integration.uri", "authorizers.x.issuer", "routes[99]", "[", "."} {
			p := file.Pos(path)
			inFile("Pos("+path+")", p.Line, p.Column)
			e := file.Errorf(path, "x")
			inFile("Errorf", e.Line, e.Column)
		}
	})
}
