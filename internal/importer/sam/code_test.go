package sam_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
	"github.com/portcullis/portcullis/internal/testbin"
)

// TestImportFunctionCode: where a function's code is decides what import
// writes, and `check` accepts every result: a handler in a package path
// with the template's folder as code; an archive, or TypeScript that `sam
// build` has not bundled yet, cannot run here and is invoked on AWS with a
// note; bundled TypeScript runs from sam build's output folder; layers are
// named as not added.
func TestImportFunctionCode(t *testing.T) {
	testbin.Tool(t, "", "python3", "apt-get install python3")
	testbin.Tool(t, "", "node", "apt-get install nodejs")
	const head = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
	const events = "      Events:\n        Get:\n          Type: HttpApi\n          Properties:\n            Path: /\n            Method: get\n"
	const ts = head + "    Metadata:\n      BuildMethod: esbuild\n      BuildProperties:\n        EntryPoints: [app.ts]\n" +
		"    Properties:\n      Runtime: nodejs20.x\n      CodeUri: hello-world/\n      Handler: app.lambdaHandler\n" + events
	for _, tc := range []struct {
		name         string
		template     string
		files        []string
		want, stderr []string
	}{
		{"package path without CodeUri",
			head + "    Properties:\n      Runtime: python3.12\n      Handler: src/api/locations.lambda_handler\n" + events,
			[]string{"src/api/locations.py"},
			[]string{"runtime: python3.12", "handler: src/api/locations.lambda_handler"}, nil},
		{"archive",
			head + "    Properties:\n      Runtime: nodejs20.x\n      CodeUri: fn.zip\n      Handler: index.handler\n" + events,
			[]string{"fn.zip"},
			[]string{"runtime: invoke", "function_name: Fn"}, []string{"its code is the archive fn.zip"}},
		{"layers",
			head + "    Properties:\n      Runtime: python3.12\n      CodeUri: src/\n      Handler: app.handler\n      Layers: [!Ref Deps]\n" + events +
				"  Deps:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: deps/\n",
			[]string{"src/app.py"},
			[]string{"runtime: python3.12"}, []string{"its layers are not added"}},
		{"typescript not built", ts, []string{"hello-world/app.ts"},
			[]string{"runtime: invoke"}, []string{"`sam build` (BuildMethod esbuild) and .aws-sam/build/Fn does not exist yet"}},
		{"typescript built", ts, []string{"hello-world/app.ts", ".aws-sam/build/Fn/app.js"},
			[]string{"runtime: nodejs20.x", "handler: app.lambdaHandler", "/.aws-sam/build/Fn\n"}, []string{"the code is `sam build`'s output"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range append(tc.files, "template.yaml") {
				content := "exports.handler = async () => ({});\n"
				if f == "template.yaml" {
					content = tc.template
				}
				if filepath.Ext(f) == ".py" {
					content = "def lambda_handler(event, context):\n    return {}\n\ndef handler(event, context):\n    return {}\n"
				}
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg, stderr := importFile(t, filepath.Join(dir, "template.yaml"))
			wantText(t, cfg, tc.want...)
			wantStderr(t, stderr, tc.stderr...)
			var out bytes.Buffer
			if code := cli.Main([]string{"check", "-c", cfg}, nil, &out, &out); code != 0 {
				data, _ := os.ReadFile(cfg)
				t.Errorf("check: exit %d\n%s\n%s", code, out.String(), data)
			}
		})
	}
}
