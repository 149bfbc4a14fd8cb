package sam_test

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testbin"
)

// functionTemplate is a template with one function Fn on runtime, its
// code in fn/, served at GET /.
func functionTemplate(runtime string) string {
	return "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n" +
		"      Runtime: " + runtime + "\n      CodeUri: fn/\n      Handler: app.handler\n" +
		"      Events:\n        Get:\n          Type: HttpApi\n          Properties:\n            Path: /\n            Method: get\n"
}

// writeTree writes files (path → content; a path ending in / is a folder)
// under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImportDependenciesNotInstalled: a Python function whose code folder
// has a requirements.txt naming a package, or a Node.js function whose
// package.json has dependencies and no node_modules where Node looks, gets
// a note saying what to run; a list with nothing to install, or one whose
// packages are installed, gets none.
func TestImportDependenciesNotInstalled(t *testing.T) {
	const py, js = "def handler(event, context):\n    return {}\n", "exports.handler = async () => ({});\n"
	const pipNote, npmNote = "its dependencies are not installed: %[1]s/requirements.txt lists dependencies that `sam build` would install", "its dependencies are not installed: %[1]s/package.json lists dependencies that `sam build` would install"
	for _, tc := range []struct {
		name, runtime string
		files         map[string]string
		note          string // "" for none; %[1]s is the code folder
	}{
		{"python requirement", "python3.12", map[string]string{"fn/app.py": py, "fn/requirements.txt": "# the API's client\nrequests==2.32.3\n"},
			pipNote + ": run `pip install -r %[1]s/requirements.txt -t %[1]s` (as `sam build` does)"},
		{"python -r include", "python3.12", map[string]string{"fn/app.py": py, "fn/requirements.txt": "-r ../common.txt\n"}, pipNote},
		{"python options and comments only", "python3.12", map[string]string{"fn/app.py": py, "fn/requirements.txt": "\n# nothing yet\n--index-url https://example.com/simple  # mirror\n"}, ""},
		{"python requirements installed with -t", "python3.12", map[string]string{"fn/app.py": py, "fn/requirements.txt": "requests\n", "fn/requests-2.32.3.dist-info/": ""}, ""},
		{"python without requirements.txt", "python3.12", map[string]string{"fn/app.py": py}, ""},
		{"python unreadable requirements.txt", "python3.12", map[string]string{"fn/app.py": py, "fn/requirements.txt/": ""},
			"its dependencies are not installed: %[1]s/requirements.txt could not be read"},
		{"node dependencies", "nodejs20.x", map[string]string{"fn/app.js": js, "fn/package.json": `{"dependencies": {"jose": "^5.0.0"}}`},
			npmNote + ": run `npm install --omit=dev` in %[1]s (as `sam build` does)"},
		{"node dependencies installed", "nodejs20.x", map[string]string{"fn/app.js": js, "fn/package.json": `{"dependencies": {"jose": "^5.0.0"}}`, "fn/node_modules/": ""}, ""},
		{"node dependencies installed in a parent folder", "nodejs20.x", map[string]string{"fn/app.js": js, "fn/package.json": `{"dependencies": {"jose": "^5.0.0"}}`, "node_modules/": ""}, ""},
		{"node dev dependencies only", "nodejs20.x", map[string]string{"fn/app.js": js, "fn/package.json": `{"dependencies": {}, "devDependencies": {"jest": "^29.0.0"}}`}, ""},
		{"node invalid package.json", "nodejs20.x", map[string]string{"fn/app.js": js, "fn/package.json": `{"dependencies": `},
			"its dependencies are not installed: %[1]s/package.json could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			writeTree(t, dir, map[string]string{"template.yaml": functionTemplate(tc.runtime)})
			cfg, stderr := importFile(t, filepath.Join(dir, "template.yaml"))
			if tc.note == "" {
				if strings.Contains(stderr, "dependencies") {
					t.Errorf("a note about dependencies that need no install:\n%s", stderr)
				}
				return
			}
			note := fmt.Sprintf(tc.note, filepath.Join(dir, "fn"))
			wantStderr(t, stderr, "(at functions.Fn.code): "+note, "until then every request to the function is a 500 (Runtime.ImportModuleError)")
			wantText(t, cfg, "# NOT CARRIED OVER (template.yaml:7: Resources.Fn.Properties.CodeUri): "+note)
		})
	}
}

// TestServeAfterInstallingDependencies: the note's pip command, run as
// written (from a local wheel instead of PyPI), vendors the package into
// the code folder where the Python runtime imports it: the request that was
// a 500 (Runtime.ImportModuleError) is a 200 once it has run, and import
// no longer gives the note.
func TestServeAfterInstallingDependencies(t *testing.T) {
	python3OnPath(t)
	if out, err := exec.Command("python3", "-m", "pip", "--version").CombinedOutput(); err != nil {
		testbin.Missing(t, "MISSING TOOL pip: this test needs python3 -m pip (apt-get install python3-pip): "+strings.TrimSpace(string(out)))
	}
	dir, wheels := t.TempDir(), t.TempDir()
	writeWheel(t, wheels, "greet", "1.0", map[string]string{"greet/__init__.py": "def hello():\n    return 'hello from a vendored package'\n"})
	writeTree(t, dir, map[string]string{
		"template.yaml":       functionTemplate("python3.12"),
		"fn/requirements.txt": "greet==1.0\n",
		"fn/app.py":           "import greet\n\ndef handler(event, context):\n    return {'statusCode': 200, 'body': greet.hello()}\n",
	})
	cfg, stderr := importFile(t, filepath.Join(dir, "template.yaml"))
	_, pip, ok := strings.Cut(stderr, "`pip install ")
	if pip, _, _ = strings.Cut(pip, "`"); !ok {
		t.Fatalf("no pip command in the notes:\n%s", stderr)
	}
	base := serve(t, cfg)
	check(t, base, []exchange{{"GET", "/", nil, 500, `{"message":"Internal Server Error"}`, false}})

	args := append([]string{"-m", "pip", "install", "--no-index", "--find-links", wheels, "--disable-pip-version-check"}, strings.Fields(pip)...)
	if out, err := exec.Command("python3", args...).CombinedOutput(); err != nil {
		t.Fatalf("python3 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	check(t, base, []exchange{{"GET", "/", nil, 200, "hello from a vendored package", false}})
	if _, stderr := importFile(t, filepath.Join(dir, "template.yaml")); strings.Contains(stderr, "dependencies") {
		t.Errorf("import after the install still notes dependencies:\n%s", stderr)
	}
}

// writeWheel writes a pure-Python wheel of the package name at version,
// holding files, into dir.
func writeWheel(t *testing.T, dir, name, version string, files map[string]string) {
	t.Helper()
	info := name + "-" + version + ".dist-info/"
	files[info+"METADATA"] = "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	files[info+"WHEEL"] = "Wheel-Version: 1.0\nGenerator: portcullis-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	f, err := os.Create(filepath.Join(dir, name+"-"+version+"-py3-none-any.whl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z := zip.NewWriter(f)
	var record strings.Builder
	for path, content := range files {
		w, err := z.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
		sum := sha256.Sum256([]byte(content))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", path, base64.RawURLEncoding.EncodeToString(sum[:]), len(content))
	}
	record.WriteString(info + "RECORD,,\n")
	w, err := z.Create(info + "RECORD")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(record.String()))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
}
