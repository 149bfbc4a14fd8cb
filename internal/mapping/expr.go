package mapping

import (
	"fmt"
	"net/textproto"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/httpheader"
)

// partKind says where a part of a value comes from.
type partKind uint8

const (
	partLiteral   partKind = iota // text copied as is
	partHeader                    // $request.header.NAME
	partQuery                     // $request.querystring.NAME
	partPath                      // $request.path
	partPathParam                 // $request.path.NAME
	partContext                   // $context.NAME
)

// part is one pre-parsed piece of a value. For literals, text is the text
// and esc its path-escaped form (only used by overwrite:path, computed once
// so Apply never escapes configuration text). For expressions, text is the
// NAME; header names are stored canonical so the Source can skip
// canonicalising them on every request.
type part struct {
	kind partKind
	text string
	esc  string
	// segments: the value is a run of path segments (the route's greedy
	// parameter), escaped segment by segment in overwrite:path.
	segments bool
}

// value is a parsed value: a sequence of literal and expression parts.
type value struct {
	parts []part
	// litLen is the total length of literal text, used to size the shared
	// buffer in Apply so it grows at most once in the common case.
	litLen int
}

// exprGuess is the number of bytes Apply reserves per interpolated
// expression when sizing its buffer. Too small only costs a regrow.
const exprGuess = 48

const supportedSources = "supported sources are request.header.NAME, request.querystring.NAME, request.path, request.path.NAME and context.NAME"

// parseValue parses a configured value. A value that starts with "$" and a
// letter is a single expression and must be a valid one: a typo such as
// "$contxt.authorizer.claims.sub" would otherwise be sent as the literal
// text to every request, which for an identity header is worse than a
// startup error. Any other value is text in which ${EXPR} and, as on AWS,
// $request.NAME, $context.NAME and $stageVariables.NAME are expressions
// ("/$request.path.proxy").
func parseValue(s string) (value, error) {
	var v value
	if len(s) >= 2 && s[0] == '$' && isLetter(s[1]) {
		p, err := parseRef(s[1:], "")
		if err != nil && strings.ContainsAny(s[1:], " /$,:") {
			// Probably meant as text around an expression.
			return v, fmt.Errorf("%w (a value starting with \"$\" and a letter is one whole expression; use ${...} to mix expressions with text)", err)
		}
		if err != nil {
			return v, err
		}
		v.parts = []part{p}
		return v, nil
	}
	return parseText(s)
}

// inlineRefLen is the length of the expression s starts with when it is
// one written without braces: "$" and a known source (request, context,
// stageVariables), its name running over letters, digits, "_", "-", ":"
// and dots that a name character follows. 0 when s starts with none.
func inlineRefLen(s string) int {
	if len(s) < 2 || s[0] != '$' {
		return 0
	}
	rest := s[1:]
	if !strings.HasPrefix(rest, "request.") && !strings.HasPrefix(rest, "context.") && !strings.HasPrefix(rest, "stageVariables.") {
		return 0
	}
	n := 0
	for n < len(rest) && isInlineNameChar(rest[n]) {
		n++
	}
	for n > 0 && rest[n-1] == '.' {
		n-- // a sentence's full stop, not part of the name
	}
	return 1 + n
}

func isInlineNameChar(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.'
}

// parseText parses text with ${EXPR} and inline $request/$context
// expressions.
func parseText(s string) (value, error) {
	var v value
	lit := 0 // start of the pending literal text
	i := 0
	for {
		k := strings.IndexByte(s[i:], '$')
		if k < 0 {
			break
		}
		j := i + k
		var p part
		var end int // index just past the expression
		if strings.HasPrefix(s[j:], "${") {
			close := strings.IndexByte(s[j+2:], '}')
			if close < 0 {
				return v, fmt.Errorf("unterminated %q at offset %d (missing \"}\")", "${", j)
			}
			close += j + 2
			ref := s[j+2 : close]
			if ref == "" {
				return v, fmt.Errorf("empty %q at offset %d", "${}", j)
			}
			var err error
			if p, err = parseRef(ref, s[j:close+1]); err != nil {
				return v, err
			}
			end = close + 1
		} else if n := inlineRefLen(s[j:]); n > 0 {
			var err error
			if p, err = parseRef(s[j+1:j+n], s[j:j+n]); err != nil {
				return v, fmt.Errorf("%w (an expression inside text runs over letters, digits, \"_\", \"-\", \":\" and dots; end it with ${...})", err)
			}
			end = j + n
		} else {
			i = j + 1 // a "$" that starts no expression is text
			continue
		}
		if j > lit {
			v.addLiteral(s[lit:j])
		}
		v.parts = append(v.parts, p)
		i = end
		lit = i
	}
	if lit < len(s) {
		v.addLiteral(s[lit:])
	}
	for _, p := range v.parts {
		if p.kind != partLiteral {
			continue
		}
		if i := strings.IndexFunc(p.text, isCTL); i >= 0 {
			return v, fmt.Errorf("literal text contains control character %q; control characters are not allowed in values", p.text[i])
		}
	}
	return v, nil
}

// markSegments marks the parts that read the greedy path parameter named
// greedy ("" for none) as runs of path segments.
func (v *value) markSegments(greedy string) {
	if greedy == "" {
		return
	}
	for i := range v.parts {
		if p := &v.parts[i]; p.kind == partPathParam && p.text == greedy {
			p.segments = true
		}
	}
}

func (v *value) addLiteral(s string) {
	v.parts = append(v.parts, part{kind: partLiteral, text: s, esc: escapePath(s)})
	v.litLen += len(s)
}

// parseRef parses the inside of ${...} or the text after a leading "$".
// expr is the expression as written, used to name it in errors ("" when
// it is the whole value).
func parseRef(ref, expr string) (part, error) {
	root, rest, hasDot := strings.Cut(ref, ".")
	switch root {
	case "request":
		if !hasDot {
			return part{}, refErr(expr, "expression is incomplete; %s", supportedSources)
		}
		kind, name, hasName := strings.Cut(rest, ".")
		switch kind {
		case "header":
			if name == "" {
				return part{}, refErr(expr, "header name is empty")
			}
			if !httpheader.ValidName(name) {
				return part{}, refErr(expr, "%q is not a valid HTTP header name", name)
			}
			return part{kind: partHeader, text: textproto.CanonicalMIMEHeaderKey(name)}, nil
		case "querystring":
			if name == "" {
				return part{}, refErr(expr, "query parameter name is empty")
			}
			if strings.IndexFunc(name, isCTL) >= 0 {
				return part{}, refErr(expr, "query parameter name contains a control character")
			}
			return part{kind: partQuery, text: name}, nil
		case "path":
			if !hasName {
				return part{kind: partPath}, nil
			}
			if name == "" {
				return part{}, refErr(expr, "path parameter name is empty")
			}
			if strings.ContainsAny(name, "/{}") || strings.IndexFunc(name, isSpaceOrCTL) >= 0 {
				return part{}, refErr(expr, "%q is not a valid path parameter name", name)
			}
			return part{kind: partPathParam, text: name}, nil
		case "body":
			return part{}, refErr(expr, "request body values are not supported yet")
		default:
			return part{}, refErr(expr, "unknown request source %q; %s", "request."+kind, supportedSources)
		}
	case "context":
		if !hasDot || rest == "" {
			return part{}, refErr(expr, "context variable name is empty")
		}
		for _, seg := range strings.Split(rest, ".") {
			if seg == "" {
				return part{}, refErr(expr, "context variable name %q has an empty segment", rest)
			}
		}
		if strings.ContainsAny(rest, "${}") || strings.IndexFunc(rest, isSpaceOrCTL) >= 0 {
			return part{}, refErr(expr, "context variable name %q contains a space, control character, \"$\", \"{\" or \"}\"", rest)
		}
		return part{kind: partContext, text: rest}, nil
	case "stageVariables":
		return part{}, refErr(expr, "stage variables are not supported yet")
	default:
		return part{}, refErr(expr, "unknown source %q; %s", root, supportedSources)
	}
}

// refErr prefixes an error with the expression it is about, unless expr
// is "" because the expression is the whole value, which the caller
// already quotes.
func refErr(expr, format string, args ...any) error {
	if expr != "" {
		format = "%q: " + format
		args = append([]any{expr}, args...)
	}
	return fmt.Errorf(format, args...)
}

// lookup evaluates an expression part against the original request.
func (p *part) lookup(src Source) string {
	switch p.kind {
	case partHeader:
		return src.RequestHeader(p.text)
	case partQuery:
		return src.RequestQuery(p.text)
	case partPath:
		return src.RequestPath()
	case partPathParam:
		return src.PathParam(p.text)
	case partContext:
		return src.Context(p.text)
	}
	return p.text
}

// eval returns the value as text. A value made of a single part is
// returned without touching b, so the common "$context.x" case copies
// nothing. Otherwise the result is appended to b and returned as a slice
// of b's contents: strings.Builder only ever appends, so a string it
// returned stays valid (and unchanged) when later values grow the buffer.
func (v *value) eval(b *strings.Builder, src Source) string {
	if len(v.parts) == 1 {
		return v.parts[0].lookup(src)
	}
	start := b.Len()
	for i := range v.parts {
		p := &v.parts[i]
		if p.kind == partLiteral {
			b.WriteString(p.text)
		} else {
			b.WriteString(p.lookup(src))
		}
	}
	return b.String()[start:]
}

// evalPath builds the outbound path in both decoded and escaped form.
// The escaped form is what Go sends (via URL.RawPath); whether a leading
// "/" must be added is decided on it, because a value such as "/admin"
// from a header escapes to "%2Fadmin", which is not an absolute path.
func (v *value) evalPath(b *strings.Builder, src Source) (dec, esc string) {
	start := b.Len()
	b.WriteByte('/')
	v.writePath(b, src, true)
	esc = b.String()[start:]
	prefix := true
	if len(esc) > 1 && esc[1] == '/' {
		esc = esc[1:]
		prefix = false
	}
	start = b.Len()
	if prefix {
		b.WriteByte('/')
	}
	v.writePath(b, src, false)
	dec = b.String()[start:]
	return dec, esc
}

// writePath writes the path value. Only $request.path and the route's
// greedy parameter (a part of the request path) may contribute "/"
// separators (and literal text); every other value is one opaque segment
// piece in the escaped form, so a header such as "a/b" or "../admin"
// cannot add path segments.
func (v *value) writePath(b *strings.Builder, src Source, escaped bool) {
	for i := range v.parts {
		p := &v.parts[i]
		switch {
		case p.kind == partLiteral && escaped:
			b.WriteString(p.esc)
		case p.kind == partLiteral:
			b.WriteString(p.text)
		case !escaped:
			b.WriteString(p.lookup(src))
		case p.kind == partPath:
			writeEscapedPath(b, src.RequestPath())
		case p.segments:
			writeEscapedPath(b, p.lookup(src))
		default:
			b.WriteString(url.PathEscape(p.lookup(src)))
		}
	}
}

// writeEscapedPath writes s with each segment escaped and the "/"
// separators kept.
func writeEscapedPath(b *strings.Builder, s string) {
	for {
		i := strings.IndexByte(s, '/')
		if i < 0 {
			b.WriteString(url.PathEscape(s))
			return
		}
		b.WriteString(url.PathEscape(s[:i]))
		b.WriteByte('/')
		s = s[i+1:]
	}
}

func escapePath(s string) string {
	var b strings.Builder
	writeEscapedPath(&b, s)
	if b.String() == s {
		return s
	}
	return b.String()
}

// hasDotSegment reports whether a decoded path contains a "." or ".."
// segment, which a backend or proxy might resolve to a different resource.
func hasDotSegment(p string) bool {
	for p != "" {
		seg := p
		if i := strings.IndexByte(p, '/'); i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isCTL reports whether r is a byte a header value may not hold (a control
// character other than tab): refused in literal text, which may become a
// header value, and in query parameter names.
func isCTL(r rune) bool { return r < utf8.RuneSelf && !httpheader.ValidValueByte(byte(r)) }

func isSpaceOrCTL(r rune) bool { return r <= ' ' || r == 0x7f }
