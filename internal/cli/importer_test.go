package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportUnreadableInput: a file that is not YAML (or JSON) at all is
// reported with the place of the syntax error, in the words check uses,
// not as "neither a template nor an OpenAPI file", which sends the user
// looking for a missing key; a file that parses but is neither is still
// reported as such. Nothing is written either way.
func TestImportUnreadableInput(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{name: "misindented template", text: "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n   Properties: {}\n",
			want: []string{"template.yaml:4:", "indent"}},
		{name: "tab in the indentation", text: "Resources:\n\tFn:\n    Type: AWS::Serverless::Function\n",
			want: []string{"template.yaml:2:", "tab"}},
		{name: "JSON cut short", text: "{\"openapi\": \"3.0.1\", \"paths\": {\n",
			want: []string{"template.yaml:1"}},
		{name: "neither", text: "hello: world\n",
			want: []string{"is neither a SAM/CloudFormation template"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "template.yaml"), filepath.Join(dir, "out.yaml")
			if err := os.WriteFile(in, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := runMain(t, "", "import", in, "-o", out)
			if code != exitFailed {
				t.Errorf("exit %d; want %d", code, exitFailed)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if c.name != "neither" && strings.Contains(errOut, "is neither") {
				t.Errorf("a syntax error reported as an unknown format:\n%s", errOut)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}
