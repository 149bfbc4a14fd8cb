package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExamplesCheck: every YAML block of the README passes
// `portcullis check` (an issuer file: `portcullis issuer`'s loading) as a
// reader would copy it, except for what the README says the reader brings:
// the files a block names (certificates, key files, function code, a log
// folder) and the values of its ${NAME} variables. A block starting with
// `# fragment` may also lack listen and routes. Anything else check
// reports (two listeners on one port, keys that exclude each other, a
// placeholder where a value belongs) is a mistake in the README.
func TestReadmeExamplesCheck(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d YAML blocks in the README", len(blocks))
	}
	issuerFile := regexp.MustCompile(`(?m)^(keys_dir|users|clients):`)
	brought := regexp.MustCompile(`no such file or directory|could not be set up`)
	problems := regexp.MustCompile(`: \d+ problems?$`) // the count after the problems
	fragment := regexp.MustCompile(`listen: listen is required|routes: at least one route is required`)
	for _, v := range regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)\}`).FindAllStringSubmatch(string(readme), -1) {
		t.Setenv(v[1], "a-value-of-32-characters-or-more-for-secrets")
	}
	for i, b := range blocks {
		text := b[1]
		dir := t.TempDir()
		path := filepath.Join(dir, "portcullis.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		var errOut bytes.Buffer
		if issuerFile.MatchString(text) && !strings.Contains(text, "\nroutes:") {
			if _, _, _, code := loadIssuer(path, &errOut); code != exitOK {
				t.Errorf("README YAML block %d (an issuer file) does not load:\n%s\n%s", i+1, errOut.String(), text)
			}
			continue
		}
		Main([]string{"check", "-c", path}, strings.NewReader(""), &bytes.Buffer{}, &errOut)
		for _, line := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
			if line == "" || problems.MatchString(line) || brought.MatchString(line) ||
				strings.HasPrefix(text, "# fragment") && fragment.MatchString(line) {
				continue
			}
			t.Errorf("README YAML block %d: %s", i+1, strings.TrimPrefix(line, path))
		}
	}
}
