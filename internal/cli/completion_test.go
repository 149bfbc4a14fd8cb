package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testbin"
)

// TestCompletionFlags checks the completion table against the flags each
// command really defines, read from its --help output.
func TestCompletionFlags(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  -([a-zA-Z][a-zA-Z-]*)`)
	for _, c := range commands {
		if len(c.subs) > 0 && len(c.flags) == 0 || c.path == "version" || c.path == "help" || c.path == "completion" {
			continue
		}
		var out bytes.Buffer
		Main(append(strings.Fields(c.path), "--help"), strings.NewReader(""), &out, &out)
		var defined []string
		for _, m := range flagLine.FindAllStringSubmatch(out.String(), -1) {
			defined = append(defined, m[1])
		}
		got := slices.Sorted(slices.Values(c.flags))
		slices.Sort(defined)
		if !slices.Equal(got, defined) {
			t.Errorf("%s: completion offers %v, the command defines %v", c.path, got, defined)
		}
	}
}

// TestCompletionKnowsEveryCommand checks that each command and subcommand the
// usage text lists is in the completion table.
func TestCompletionKnowsEveryCommand(t *testing.T) {
	line := regexp.MustCompile(`(?m)^  portcullis ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?`)
	matches := line.FindAllStringSubmatch(usage, -1)
	if len(matches) < 10 {
		t.Fatalf("found %d commands in the usage text", len(matches))
	}
	for _, m := range matches {
		i := slices.IndexFunc(commands, func(c commandSpec) bool { return c.path == m[1] })
		if i < 0 {
			t.Errorf("completion does not know %q", m[1])
			continue
		}
		if m[2] != "" && !slices.Contains(commands[i].subs, m[2]) {
			t.Errorf("completion does not offer %q after %q", m[2], m[1])
		}
	}
}

// TestBashCompletion sources the script in a real bash and completes.
func TestBashCompletion(t *testing.T) {
	bash := testbin.Tool(t, "", "bash", "apt-get install -y bash")
	var script bytes.Buffer
	if code := Main([]string{"completion", "bash"}, nil, &script, &script); code != 0 {
		t.Fatalf("exit %d: %s", code, script.String())
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "portcullis.bash")
	if err := os.WriteFile(file, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "gateway.yaml"), nil, 0o644)
	cases := []struct {
		line string // the words typed; the last one is being completed
		want string
	}{
		{"portcullis se", "serve"},
		{"portcullis token ", "mint inspect verify keygen"},
		{"portcullis token mint --k", "--key --kid"},
		{"portcullis issuer ", "rotate hash-password"},
		{"portcullis serve -", "-c --log-level --watch"},
		{"portcullis health -c gate", "gateway.yaml"},
		{"portcullis completion f", "fish"},
		{"portcullis token verify -c x.yaml --r", "--route"},
		{"portcullis ex", "export explain"},
		{"portcullis explain -", "-c -H --query --invoke --json"},
		{"portcullis explain -c gate", "gateway.yaml"},
		{"portcullis b", "build"},
		{"portcullis build -", "-c"},
		{"portcullis build -c gate", "gateway.yaml"},
		{"portcullis im", "import"},
		{"portcullis import -", "-o --strict --parameter"},
		{"portcullis import x.yaml --strict -o gate", "gateway.yaml"},
		{"portcullis expo", "export"},
		{"portcullis export ", "openapi"},
		{"portcullis export openapi -", "-c -o"},
		{"portcullis export openapi -c x.yaml -o gate", "gateway.yaml"},
	}
	for _, c := range cases {
		words := strings.Split(c.line, " ")
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := "source " + file + "; cd " + dir + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" + strconv.Itoa(len(words)-1) + "; _portcullis; echo \"${COMPREPLY[*]}\""
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%q completes to %q, want %q", c.line, got, c.want)
		}
	}
	for _, shell := range []string{"zsh", "fish"} {
		var out bytes.Buffer
		if code := Main([]string{"completion", shell}, nil, &out, &out); code != 0 || !strings.Contains(out.String(), "keygen") {
			t.Errorf("%s: exit %d\n%s", shell, code, out.String())
		}
	}
	if code := Main([]string{"completion", "tcsh"}, nil, &script, &script); code != exitUsage {
		t.Errorf("unknown shell: exit %d, want %d", code, exitUsage)
	}
}

// TestUsageNamesEveryFlag: the synopsis a command's --help starts with, and
// its line in the top-level usage, name every flag the command defines, so
// a reader of either learns that the flag exists.
func TestUsageNamesEveryFlag(t *testing.T) {
	for _, c := range commands {
		if len(c.flags) == 0 {
			continue
		}
		var out bytes.Buffer
		Main(append(strings.Fields(c.path), "--help"), strings.NewReader(""), &out, &out)
		own, _, _ := strings.Cut(out.String(), "\n")
		top := ""
		for _, l := range strings.Split(usage, "\n") {
			if strings.HasPrefix(l, "  portcullis "+c.path+" ") {
				top = l
				break
			}
		}
		for _, f := range c.flags {
			flag := regexp.MustCompile(`(^|[\[ |])--?` + f + `\b`)
			if !flag.MatchString(own) {
				t.Errorf("%s --help: %q does not name -%s", c.path, own, f)
			}
			if !flag.MatchString(top) {
				t.Errorf("portcullis usage: %q does not name -%s", top, f)
			}
		}
	}
}
