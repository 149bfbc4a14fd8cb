package route

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// Template is a parsed http_proxy integration URI such as
// `https://backend.internal:8443/v1/{proxy}?stage=prod`. Placeholders
// (`{name}` or `{name+}`, which mean the same) may appear only in the path,
// anywhere within it. The scheme, host and fixed query are available through
// URL; Expand fills in the path. A Template is immutable and safe for
// concurrent use.
type Template struct {
	base  url.URL // Scheme, Host and RawQuery only
	parts []tplPart
	names []string // distinct placeholder names, first use first
	size  int      // bytes of literal text, to size the output buffer
}

// tplPart is either literal, already-escaped path text or a placeholder.
type tplPart struct {
	text    string // literal text, or the parameter name if isParam
	isParam bool
}

// ParseTemplate parses an integration URI: an absolute http or https URL
// with a host, no userinfo and no fragment. An empty path becomes "/".
// Literal path text must already be percent-encoded (only RFC 3986 path
// characters and valid %XX escapes); it is sent as written.
func ParseTemplate(uri string) (*Template, error) {
	fail := func(format string, args ...any) (*Template, error) {
		return nil, fmt.Errorf("integration URI %q: %s", uri, fmt.Sprintf(format, args...))
	}
	for _, r := range uri {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fail("must not contain whitespace or control characters (%q)", r)
		}
	}
	schemeEnd := strings.Index(uri, "://")
	if schemeEnd < 0 {
		return fail("must be an absolute http or https URL")
	}
	scheme := strings.ToLower(uri[:schemeEnd])
	if scheme != "http" && scheme != "https" {
		return fail("scheme %q is not supported; use http or https", uri[:schemeEnd])
	}
	rest := uri[schemeEnd+3:]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	authority, rest := rest[:authEnd], rest[authEnd:]
	if strings.ContainsAny(authority, "{}") {
		return fail("placeholders are allowed only in the path, not in the host %q", authority)
	}
	if strings.Contains(rest, "#") {
		return fail("must not have a fragment")
	}
	path, query, _ := strings.Cut(rest, "?")
	if strings.ContainsAny(query, "{}") {
		return fail("placeholders are allowed only in the path, not in the query %q", query)
	}
	u, err := url.Parse(scheme + "://" + authority)
	if err != nil {
		return fail("%v", errors.Unwrap(err))
	}
	if u.User != nil {
		return fail("must not contain userinfo (credentials belong in the integration's configuration, not its URI)")
	}
	if u.Host == "" {
		return fail("host is required")
	}
	if _, err := url.ParseQuery(query); err != nil {
		return fail("invalid query: %v", err)
	}
	t := &Template{base: url.URL{Scheme: scheme, Host: u.Host, RawQuery: query}}
	if path == "" {
		path = "/"
	}
	if err := t.parsePath(path); err != nil {
		return fail("%v", err)
	}
	return t, nil
}

func (t *Template) parsePath(path string) error {
	seen := map[string]bool{}
	for path != "" {
		lb := strings.IndexByte(path, '{')
		lit := path
		if lb >= 0 {
			lit = path[:lb]
		}
		if lit != "" {
			if err := checkEscaped(lit); err != nil {
				return err
			}
			t.parts = append(t.parts, tplPart{text: lit})
			t.size += len(lit)
		}
		if lb < 0 {
			break
		}
		rb := strings.IndexByte(path[lb:], '}')
		if rb < 0 {
			return fmt.Errorf("unterminated placeholder %q", path[lb:])
		}
		raw := path[lb : lb+rb+1]
		name := strings.TrimSuffix(raw[1:len(raw)-1], "+")
		if !validName(name) {
			return fmt.Errorf("invalid placeholder %q; want {name} or {name+} with a name of letters, digits, '.', '_' or '-'", raw)
		}
		t.parts = append(t.parts, tplPart{text: name, isParam: true})
		if !seen[name] {
			seen[name] = true
			t.names = append(t.names, name)
		}
		path = path[lb+rb+1:]
	}
	return nil
}

// checkEscaped accepts RFC 3986 path characters (unreserved, sub-delims,
// ':', '@', '/') and %XX escapes: exactly what url.URL accepts as a RawPath,
// so the literal text reaches the backend byte for byte.
func checkEscaped(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return fmt.Errorf("invalid percent-escape in path text %q", s)
			}
			i += 2
		case c == '}':
			return fmt.Errorf("unexpected %q in path text %q", "}", s)
		default:
			return fmt.Errorf("character %q in path text %q must be percent-encoded", c, s)
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Params returns the distinct placeholder names, in order of first use.
func (t *Template) Params() []string {
	return append([]string(nil), t.names...)
}

// CheckKey reports placeholders that k does not declare. Expand would
// replace them with an empty string, which is almost never intended, so
// configuration loading should call this.
func (t *Template) CheckKey(k Key) error {
	declared := k.ParamNames()
	var missing []string
	for _, n := range t.names {
		found := false
		for _, d := range declared {
			found = found || d == n
		}
		if !found {
			missing = append(missing, "{"+n+"}")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("integration URI uses %s, which route key %q does not declare", strings.Join(missing, ", "), k)
	}
	return nil
}

// URL returns a new URL holding the template's scheme, host and fixed query
// (RawQuery), with an empty path.
func (t *Template) URL() *url.URL {
	u := t.base
	return &u
}

// Expand returns the template's path with placeholders replaced, in escaped
// form (what url.URL.EscapedPath returns and what goes on the request
// line). A single-segment value is escaped with url.PathEscape, so a "/"
// inside it becomes %2F and can never add a segment. The value of a greedy
// route parameter ({name+} in the route key, whichever form the template
// uses) is escaped segment by segment and keeps its "/". A placeholder with
// no matching parameter, or a nil p, expands to the empty string.
func (t *Template) Expand(p *Params) string {
	var b strings.Builder
	b.Grow(t.size + 32)
	for _, part := range t.parts {
		if !part.isParam {
			b.WriteString(part.text)
			continue
		}
		v, isGreedy := lookup(p, part.text)
		if !isGreedy {
			b.WriteString(url.PathEscape(v))
			continue
		}
		for {
			seg, rest, more := strings.Cut(v, "/")
			b.WriteString(url.PathEscape(seg))
			if !more {
				break
			}
			b.WriteByte('/')
			v = rest
		}
	}
	return b.String()
}

// ExpandURL returns the outbound URL: scheme, host and fixed query from the
// template, and the expanded path set both decoded (Path) and escaped
// (RawPath), so u.String() and u.EscapedPath() reproduce Expand exactly,
// including %2F inside a single-segment value. The caller appends the
// client's query string to RawQuery (after a "&" if RawQuery is non-empty).
func (t *Template) ExpandURL(p *Params) *url.URL {
	u := t.URL()
	u.RawPath = t.Expand(p)
	// Cannot fail: Expand emits only valid escapes.
	u.Path, _ = url.PathUnescape(u.RawPath)
	if (&url.URL{Path: u.Path}).EscapedPath() == u.RawPath {
		u.RawPath = "" // url.URL convention: RawPath only when the default encoding differs
	}
	return u
}

func lookup(p *Params, name string) (value string, isGreedy bool) {
	if p == nil {
		return "", false
	}
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.values[i], p.IsGreedy(i)
		}
	}
	return "", false
}
