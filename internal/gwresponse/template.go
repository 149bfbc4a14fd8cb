package gwresponse

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/escape"
	"github.com/portcullis/portcullis/internal/httpheader"
	"github.com/portcullis/portcullis/internal/mapping"
)

// varKind says where a template's variable takes its value from.
type varKind uint8

const (
	varNone          varKind = iota // literal text
	varContext                      // $context.NAME the gateway provides (mapping.Source.Context)
	varMessage                      // $context.error.message
	varMessageString                // $context.error.messageString
	varResponseType                 // $context.error.responseType
	varPathParam                    // method.request.path.NAME (header values only)
)

// piece is literal text or one variable.
type piece struct {
	kind varKind
	text string // the literal, or the variable's name (NAME in $context.NAME)
}

// template is a body or header value: literal text with variables, parsed
// once at setup.
type template struct {
	pieces []piece
	size   int // bytes of literal text, to size the output
}

// escaping is how a variable's value is written into a template.
type escaping uint8

const (
	escNone   escaping = iota // as it is (text/plain and other bodies)
	escJSON                   // inside a JSON string: the template is JSON
	escMarkup                 // HTML/XML character references: the template is HTML or XML
	escHeader                 // a header value: control characters dropped
)

// contextVars are the $context variables a gateway response may read,
// besides authorizer.claims.NAME and error.*: what the gateway knows about
// the request that is neither a credential nor a secret (see README.md,
// "What a template may read"). An allow-list: a variable the gateway
// learns later is not readable here until it is added deliberately.
var contextVars = []string{
	"accountId", "apiId", "authorizer.principalId", "domainName", "httpMethod",
	"identity.sourceIp", "identity.userAgent", "path", "protocol", "requestId",
	"requestTime", "requestTimeEpoch", "routeKey", "stage",
}

// ContextVariables returns the names (NAME in $context.NAME) a template may
// read from the gateway's mapping.Source besides authorizer.claims.NAME;
// the gateway must provide each of them.
func ContextVariables() []string { return slices.Clone(contextVars) }

// checkVariable says what $context.name reads, or why a gateway response
// may not read it. identityHeaders are the canonical names of the request
// headers authorizers read identities from.
func checkVariable(name string, identityHeaders []string) (varKind, error) {
	switch name {
	case "error.message":
		return varMessage, nil
	case "error.messageString":
		return varMessageString, nil
	case "error.responseType":
		return varResponseType, nil
	case "error.validationErrorString":
		return 0, fmt.Errorf("$context.%s: Portcullis has no request validators, so there is never a validation error", name)
	case "identity.userAgent":
		if slices.Contains(identityHeaders, "User-Agent") {
			return 0, fmt.Errorf("$context.%s: an authorizer reads its identity from User-Agent, and a gateway response never shows a credential", name)
		}
	case "domainName":
		if slices.Contains(identityHeaders, "Host") {
			return 0, fmt.Errorf("$context.%s: an authorizer reads its identity from Host, and a gateway response never shows a credential", name)
		}
	case "identity.apiKey", "identity.apiKeyId":
		return 0, fmt.Errorf("$context.%s: an API key is a secret; a gateway response never shows it", name)
	}
	if slices.Contains(contextVars, name) {
		return varContext, nil
	}
	if claim, ok := strings.CutPrefix(name, "authorizer.claims."); ok && claim != "" {
		return varContext, nil
	}
	if _, ok := strings.CutPrefix(name, "authorizer."); ok {
		return 0, fmt.Errorf("$context.%s: a Lambda authorizer's context is for the backend and may hold secrets; a gateway response may read authorizer.principalId and a JWT's authorizer.claims.NAME", name)
	}
	return 0, fmt.Errorf("$context.%s is not a variable a gateway response may read (allowed: %s, authorizer.claims.NAME, error.message, error.messageString, error.responseType)", name, strings.Join(contextVars, ", "))
}

// parseTemplate parses text with $context.NAME and ${context.NAME}
// variables. A "$" followed by a letter or "{" must start a variable a
// gateway response may read; any other "$" is text.
func parseTemplate(s string, identityHeaders []string) (template, error) {
	var t template
	lit := 0 // start of the pending literal
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			break
		}
		j += i
		if j+1 >= len(s) || !(s[j+1] == '{' || isLetter(s[j+1])) {
			i = j + 1
			continue
		}
		var ref string
		var end int // just past the variable
		if s[j+1] == '{' {
			k := strings.IndexByte(s[j+2:], '}')
			if k < 0 {
				return t, fmt.Errorf(`unterminated "${" at offset %d (missing "}")`, j)
			}
			ref, end = s[j+2:j+2+k], j+3+k
		} else {
			end = j + 1 + refLen(s[j+1:])
			ref = s[j+1 : end]
		}
		name, ok := strings.CutPrefix(ref, "context.")
		if !ok || name == "" {
			return t, refError(ref, j)
		}
		if strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '$' || r == '{' || r == '}' }) >= 0 {
			return t, fmt.Errorf("$context.%s at offset %d: a variable name holds no spaces, control characters, \"$\", \"{\" or \"}\"", name, j)
		}
		kind, err := checkVariable(name, identityHeaders)
		if err != nil {
			return t, err
		}
		if j > lit {
			t.add(piece{text: s[lit:j]})
		}
		t.add(piece{kind: kind, text: name})
		i, lit = end, end
	}
	if lit < len(s) {
		t.add(piece{text: s[lit:]})
	}
	return t, nil
}

// refLen is the length of the variable reference at the start of s: names
// of letters, digits and '_' joined by single dots. A dot not followed by a
// name character ends it ("$context.requestId." ends a sentence).
func refLen(s string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		switch {
		case isNameChar(c):
			n++
		case c == '.' && n+1 < len(s) && isNameChar(s[n+1]) && n > 0 && s[n-1] != '.':
			n++
		default:
			return n
		}
	}
	return n
}

func refError(ref string, at int) error {
	root, _, _ := strings.Cut(ref, ".")
	switch root {
	case "context":
		return fmt.Errorf("$%s at offset %d: a context variable needs a name, such as $context.requestId", ref, at)
	case "stageVariables":
		return fmt.Errorf("$%s at offset %d: Portcullis has no stage variables", ref, at)
	case "input", "util", "method", "request", "integration":
		return fmt.Errorf("$%s at offset %d: a gateway response template substitutes $context variables only (it is not VTL, on AWS either)", ref, at)
	}
	return fmt.Errorf("$%s at offset %d: unknown variable; a gateway response template reads $context.NAME (a \"$\" before a letter or \"{\" always starts a variable)", ref, at)
}

func (t *template) add(p piece) {
	if p.kind == varNone {
		t.size += len(p.text)
	}
	t.pieces = append(t.pieces, p)
}

// static reports whether t has no variables, and its text.
func (t *template) static() (string, bool) {
	switch {
	case len(t.pieces) == 0:
		return "", true
	case len(t.pieces) == 1 && t.pieces[0].kind == varNone:
		return t.pieces[0].text, true
	}
	return "", false
}

// errorInfo is what $context.error.* read for one answer.
type errorInfo struct {
	typ     Type
	message string // the built-in answer's message, JSON-escaped as in its body
	null    bool   // the built-in answer's message is null
}

// messageOf reads the message of a built-in answer, {"message":"..."} or
// {"Message":"..."} (the text as written: still JSON-escaped) or
// {"message":null}. Anything else has a null message.
func messageOf(body string) errorInfo {
	for _, open := range [...]string{`{"message":"`, `{"Message":"`} {
		if strings.HasPrefix(body, open) && strings.HasSuffix(body, `"}`) && len(body) >= len(open)+2 {
			return errorInfo{message: body[len(open) : len(body)-2]}
		}
	}
	return errorInfo{null: true}
}

// render appends t to b, reading variables from src and e, with values
// written as esc says.
func (t *template) render(b []byte, src mapping.Source, e *errorInfo, esc escaping) []byte {
	for i := range t.pieces {
		p := &t.pieces[i]
		switch p.kind {
		case varNone:
			b = append(b, p.text...)
		case varContext:
			b = appendEscaped(b, src.Context(p.text), esc)
		case varPathParam:
			b = appendEscaped(b, src.PathParam(p.text), esc)
		case varResponseType:
			b = appendEscaped(b, e.typ.String(), esc)
		case varMessage:
			b = appendMessage(b, e, esc)
		case varMessageString:
			// Already a JSON value (a quoted string or null): written
			// without quotes in JSON, as AWS documents.
			if e.null {
				b = append(b, "null"...)
				continue
			}
			if esc == escJSON {
				b = append(b, '"')
				b = append(b, e.message...)
				b = append(b, '"')
				continue
			}
			b = appendEscaped(b, `"`+unescapeJSON(e.message)+`"`, esc)
		}
	}
	return b
}

// appendMessage writes $context.error.message: the message's text (empty
// when it is null).
func appendMessage(b []byte, e *errorInfo, esc escaping) []byte {
	if e.null {
		return b
	}
	if esc == escJSON {
		return append(b, e.message...) // already escaped as JSON
	}
	return appendEscaped(b, unescapeJSON(e.message), esc)
}

// unescapeJSON returns the text of a JSON string's contents; the contents
// as they are when they cannot be read.
func unescapeJSON(s string) string {
	if !strings.ContainsRune(s, '\\') {
		return s
	}
	if u, err := strconv.Unquote(`"` + s + `"`); err == nil {
		return u
	}
	return s
}

// appendEscaped writes v as esc says.
func appendEscaped(b []byte, v string, esc escaping) []byte {
	switch esc {
	case escJSON:
		return escape.AppendJSON(b, v, true)
	case escMarkup:
		return escape.AppendMarkup(b, v, false)
	case escHeader:
		return appendHeaderValue(b, v)
	}
	return append(b, v...)
}

// appendHeaderValue writes v without the control characters a header value
// may not hold (CR and LF above all: no header injection).
func appendHeaderValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; httpheader.ValidValueByte(c) {
			b = append(b, c)
		}
	}
	return b
}

func isLetter(c byte) bool   { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isNameChar(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' || c == '_' }
