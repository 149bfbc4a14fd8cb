package gateway

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// The user's seed articles (../shared/seeds/ beside the checkout) hold a
// Python and a Node.js Lambda authorizer; the tests below extract their code
// as printed and run it unchanged through the gateway.

// seedsDir finds the seeds: PORTCULLIS_SEEDS_DIR, else shared/seeds beside
// the module root, else (in a git worktree) beside the main checkout. It
// skips the test, loudly, where there are none.
func seedsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("PORTCULLIS_SEEDS_DIR"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(root)
		if up == root {
			t.Fatal("no go.mod above " + wd)
		}
		root = up
	}
	candidates := []string{filepath.Join(root, "..", "shared", "seeds")}
	// A worktree's .git is a file naming the main repository's git folder.
	if b, err := os.ReadFile(filepath.Join(root, ".git")); err == nil {
		if gitdir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: "); ok {
			if i := strings.Index(gitdir, string(filepath.Separator)+".git"+string(filepath.Separator)); i > 0 {
				candidates = append(candidates, filepath.Join(gitdir[:i], "..", "shared", "seeds"))
			}
		}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			return c
		}
	}
	t.Skipf("SKIPPED: the seed articles are not here (looked in %v; set PORTCULLIS_SEEDS_DIR): their authorizers are not tested", candidates)
	return ""
}

// seedText returns the text of the seed article that contains marker.
func seedText(t *testing.T, marker string) string {
	t.Helper()
	dir := seedsDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && strings.Contains(string(b), marker) {
			return string(b)
		}
	}
	testbin.Missing(t, "no seed article in "+dir+" contains "+marker)
	return ""
}

// extractCode returns the lines of text from the first that starts with
// start up to the first line of prose after it: a line that is not
// indented and that isCode does not accept.
func extractCode(t *testing.T, text, start string, isCode func(line string) bool) []string {
	t.Helper()
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, start) {
			continue
		}
		end := i + 1
		for end < len(lines) {
			l := lines[end]
			if strings.TrimSpace(l) != "" && l[0] != ' ' && l[0] != '\t' && !isCode(l) {
				break
			}
			end++
		}
		out := lines[i:end]
		for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
			out = out[:len(out)-1]
		}
		return out
	}
	t.Fatalf("no line starts with %q", start)
	return nil
}

var pythonTopLevel = regexp.MustCompile(`^(import |from |def |class |@|#|[A-Za-z_][A-Za-z0-9_]* = )`)

// pythonSeed is the Python authorizer of the seed article, as printed.
func pythonSeed(t *testing.T) string {
	text := seedText(t, "def lambda_handler(event, context):")
	code := extractCode(t, text, "import json", pythonTopLevel.MatchString)
	return strings.Join(code, "\n") + "\n"
}

var jsTopLevel = regexp.MustCompile(`^(function |exports\.|module\.|const |let |var |//|[}\]])`)

// nodeSeed is the Node.js authorizer of the seed article with the lines
// its page lost restored: the lines that held only "}", "]", "{" or "};".
func nodeSeed(t *testing.T) string {
	text := seedText(t, "exports.handler = async (event) => {")
	code := extractCode(t, text, "exports.handler = async (event) => {", jsTopLevel.MatchString)
	restored := restoreBrackets(code)
	// Nothing but bracket lines was added, and nothing was changed.
	i := 0
	for _, l := range restored {
		if i < len(code) && l == code[i] {
			i++
			continue
		}
		switch strings.TrimSpace(l) {
		case "}", "]", "{", "};":
		default:
			t.Fatalf("restoring the seed changed a line: %q", l)
		}
	}
	if i != len(code) {
		t.Fatalf("restoring the seed lost line %q", code[i])
	}
	return strings.Join(restored, "\n") + "\n"
}

// restoreBrackets puts back lines that held only a bracket, from the
// indentation of what is left (four spaces a level, as the article
// writes): a block is closed before the first line indented no deeper
// than the line that opened it, and an element of an array that is
// indented one level deeper than the array's items lost its "{". An
// opener on a line that assigns or returns is closed with "};".
func restoreBrackets(lines []string) []string {
	type open struct {
		ch     byte
		indent int
		semi   bool
	}
	var stack []open
	var out []string
	closeTo := func(indent int, next string) {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if indent > top.indent {
				return
			}
			closer := map[byte]string{'{': "}", '[': "]", '(': ")"}[top.ch]
			if indent == top.indent && strings.HasPrefix(strings.TrimSpace(next), closer) {
				return // the closer is there
			}
			if top.semi {
				closer += ";"
			}
			out = append(out, strings.Repeat(" ", top.indent)+closer)
			stack = stack[:len(stack)-1]
		}
	}
	for _, l := range lines {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" {
			out = append(out, l)
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		// Closers go before the blank lines that precede this line.
		blanks := 0
		for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
			out = out[:len(out)-1]
			blanks++
		}
		closeTo(indent, trimmed)
		if n := len(stack); n > 0 && stack[n-1].ch == '[' && indent > stack[n-1].indent+4 {
			out = append(out, strings.Repeat(" ", stack[n-1].indent+4)+"{")
			stack = append(stack, open{'{', stack[n-1].indent + 4, false})
		}
		for range blanks {
			out = append(out, "")
		}
		out = append(out, l)
		semi := strings.HasPrefix(trimmed, "return ") || strings.Contains(trimmed, " = ")
		var quote byte
		for i := 0; i < len(trimmed); i++ {
			c := trimmed[i]
			switch {
			case quote != 0:
				if c == '\\' {
					i++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'' || c == '`':
				quote = c
			case c == '{' || c == '[' || c == '(':
				stack = append(stack, open{c, indent, semi && c == '{'})
			case c == '}' || c == ']' || c == ')':
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
		}
	}
	closeTo(-1, "")
	return out
}

// TestRestoreBrackets checks the restoration on a page that lost them.
func TestRestoreBrackets(t *testing.T) {
	t.Parallel()
	lost := []string{
		"exports.handler = async (event) => {",
		"    return deny();",
		"",
		"function deny(){",
		"    return {",
		"        \"Statement\": [",
		"                \"Effect\": \"Deny\"",
	}
	want := []string{
		"exports.handler = async (event) => {",
		"    return deny();",
		"};",
		"",
		"function deny(){",
		"    return {",
		"        \"Statement\": [",
		"            {",
		"                \"Effect\": \"Deny\"",
		"            }",
		"        ]",
		"    };",
		"}",
	}
	if got := restoreBrackets(lost); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSeedJWTAuthorizer holds the seed article on API Gateway's built-in
// JWT authorizer to what AWS does, which is not all the article says. Set
// up as it describes (identity source method.request.header.Authorization,
// an issuer, an audience): its sample token, taken from the page, is
// refused; so is a token with its claims and a signature that does not
// verify, since the authorizer does verify signatures, against the
// issuer's keys (the article says it often does not); a valid token
// reaches the backend whole, signature included, in Authorization, where
// the backend can verify it again (not in x-api-gateway-auth or
// x-amzn-oidc-data, which the gateway does not add).
func TestSeedJWTAuthorizer(t *testing.T) {
	t.Parallel()
	text := seedText(t, "x-amzn-oidc-data")
	m := regexp.MustCompile(`(?m)^Authorization: Bearer (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("the article's sample Authorization header is not in the seed")
	}
	sample := m[1]
	iss := testissuer.New(t)
	be, got := backend(t)
	srv, _, _ := gatewayServer(t, fmt.Sprintf(`listen: 127.0.0.1:0
authorizers:
  jwt: {type: jwt, identity_source: method.request.header.Authorization, issuer: %q, audience: [%s]}
routes:
  - route: GET /profile
    authorizer: jwt
    integration:
      type: http_proxy
      uri: %s/profile
      request_parameters:
        "overwrite:header.x-sub": $context.authorizer.claims.sub
        "overwrite:header.x-roles": $context.authorizer.claims.roles
`, iss.URL, testissuer.Audience, be.URL), Deps{})
	h := &harness{gw: srv}

	// The article's claims, signed by the issuer.
	claims := map[string]any{"sub": "user123", "roles": []string{"admin", "editor"}}
	valid := iss.Mint(t, "k1", claims)
	if resp, body := h.do(t, "GET", "/profile", bearer(valid), nil); resp.StatusCode != 200 {
		t.Fatalf("valid token: %d %s", resp.StatusCode, body)
	}
	s := <-got
	if s.Header.Get("Authorization") != "Bearer "+valid {
		t.Errorf("the backend got Authorization %q, not the whole token", s.Header.Get("Authorization"))
	}
	if s.Header.Get("X-Sub") != "user123" || s.Header.Get("X-Roles") != "[admin editor]" {
		t.Errorf("claims to the backend: sub %q roles %q (AWS writes an array as [a b])", s.Header.Get("X-Sub"), s.Header.Get("X-Roles"))
	}
	for _, name := range []string{"X-Api-Gateway-Auth", "X-Amzn-Oidc-Data"} {
		if v, ok := s.Header[name]; ok {
			t.Errorf("the gateway added %s: %q", name, v)
		}
	}

	parts := strings.Split(valid, ".")
	other := strings.Split(iss.Mint(t, "k1", map[string]any{"sub": "someone-else"}), ".")
	for _, tc := range []struct {
		name, token string
		why         string // in WWW-Authenticate
	}{
		{"the article's sample token", sample, `error="invalid_token"`},
		{"the article's claims, another token's signature", parts[0] + "." + parts[1] + "." + other[2], "signature"},
		{"the article's exp (2023)", iss.Mint(t, "k1", map[string]any{"sub": "user123", "exp": 1700000000}), "expired"},
		{"another issuer", iss.Mint(t, "k1", map[string]any{"iss": "https://your-auth-provider.com"}), "issuer"},
		{"another audience", iss.Mint(t, "k1", map[string]any{"aud": "api.other-domain.com"}), "audience"},
	} {
		resp, body := h.do(t, "GET", "/profile", bearer(tc.token), nil)
		if resp.StatusCode != 401 || body != `{"message":"Unauthorized"}` || !strings.Contains(resp.Header.Get("WWW-Authenticate"), tc.why) {
			t.Errorf("%s: %d %s WWW-Authenticate %q, want 401 naming %q", tc.name, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"), tc.why)
		}
	}
	if resp, _ := h.do(t, "GET", "/profile", nil, nil); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
}
