// Package gwresponse is AWS REST API's gateway responses: the answers the
// gateway gives by itself (401, 403, 404, 413, 429, 5xx), each of an AWS
// response type, changed as the configuration's `gateway_responses:` block
// says: status, headers and a body template with $context variables. See
// README.md.
//
// The gateway calls Write for every answer it gives by itself; with no
// block configured, Write is answer.JSON.
package gwresponse

import (
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/httpheader"
	"github.com/portcullis/portcullis/internal/mapping"
)

// MaxTemplateBytes bounds a body template or header value.
const MaxTemplateBytes = 64 << 10

// Responses are the configured gateway responses, ready to apply; safe for
// concurrent use. A nil *Responses changes nothing: Write writes the
// built-in answer.
type Responses struct {
	byType [numTypes]*response // nil: the type is not configured
}

// response is one configured type.
type response struct {
	status      int // 0: the built-in answer's
	headers     []header
	body        *template // nil: the built-in body
	contentType string    // the answer's Content-Type
	esc         escaping  // how the body writes values, from contentType
}

// header is one configured header, name canonical.
type header struct {
	name   string
	value  template
	static []string // the value when it has no variables, shared by every answer (header values are only read)
}

// Options are what the gateway tells Setup.
type Options struct {
	// IdentityHeaders are the request headers (any case) some authorizer
	// reads an identity from: no template may read them, even through
	// $context.identity.userAgent (User-Agent) or $context.domainName (Host).
	IdentityHeaders []string
}

// Setup checks f's `gateway_responses:` block and returns the responses
// the gateway applies, or *config.Errors with each problem's place in the
// file. An empty block gives nil, which changes nothing.
func Setup(f *config.File, o Options) (*Responses, error) {
	block := f.Config.GatewayResponses
	if len(block) == 0 {
		return nil, nil
	}
	ident := make([]string, len(o.IdentityHeaders))
	for i, h := range o.IdentityHeaders {
		ident[i] = textproto.CanonicalMIMEHeaderKey(h)
	}
	names := make([]string, 0, len(block))
	for name := range block {
		names = append(names, name)
	}
	sort.Strings(names)
	rs := &Responses{}
	var errs config.Errors
	for _, name := range names {
		at := "gateway_responses." + name
		t, ok := ParseType(name)
		if !ok {
			hint := ""
			if u, ok := ParseType(strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
				hint = fmt.Sprintf(" (did you mean %s?)", u)
			}
			errs = append(errs, *f.Errorf(at, "unknown gateway response type %q%s; AWS's types: %s", name, hint, typeNames()))
			continue
		}
		resp, perrs := setupResponse(f, at, block[name], ident)
		errs = append(errs, perrs...)
		rs.byType[t] = resp
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return rs, nil
}

func typeNames() string {
	var b strings.Builder
	for t := Type(1); t < numTypes; t++ {
		if t > 1 {
			b.WriteString(", ")
		}
		b.WriteString(t.String())
	}
	return b.String()
}

// setupResponse checks one entry.
func setupResponse(f *config.File, at string, c config.GatewayResponse, ident []string) (*response, config.Errors) {
	var errs config.Errors
	resp := &response{status: c.Status, contentType: "application/json", esc: escJSON}
	if c.Status != 0 && (c.Status < 300 || c.Status > 599) {
		errs = append(errs, *f.Errorf(at+".status", "status %d: a gateway response is an error or a redirect, 300-599", c.Status))
	}
	hnames := make([]string, 0, len(c.Headers))
	for name := range c.Headers {
		hnames = append(hnames, name)
	}
	sort.Strings(hnames)
	seen := map[string]string{}
	for _, name := range hnames {
		hat := at + ".headers." + name
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if !httpheader.ValidName(name) {
			errs = append(errs, *f.Errorf(hat, "%q is not a valid header name", name))
			continue
		}
		if prev, dup := seen[canon]; dup {
			errs = append(errs, *f.Errorf(hat, "header %q is also set as %q (names compare case-insensitively)", name, prev))
			continue
		}
		seen[canon] = name
		if reservedHeader(canon) {
			errs = append(errs, *f.Errorf(hat, "header %s is the gateway's own and cannot be set by a gateway response", canon))
			continue
		}
		v, err := parseHeaderValue(c.Headers[name], ident)
		if err != nil {
			errs = append(errs, *f.Errorf(hat, "%v", err))
			continue
		}
		if canon == "Content-Type" {
			ct, ok := v.static()
			if !ok {
				errs = append(errs, *f.Errorf(hat, "Content-Type must be a static value such as 'text/plain': it decides how the body's values are escaped"))
				continue
			}
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil {
				errs = append(errs, *f.Errorf(hat, "Content-Type %q: %v", ct, err))
				continue
			}
			resp.contentType, resp.esc = ct, escapingFor(mt)
			continue
		}
		hd := header{name: canon, value: v}
		if text, ok := v.static(); ok && text != "" {
			hd.static = []string{text}
		}
		resp.headers = append(resp.headers, hd)
	}
	if c.Body != nil {
		if len(*c.Body) > MaxTemplateBytes {
			errs = append(errs, *f.Errorf(at+".body", "the body template is longer than %d bytes", MaxTemplateBytes))
		} else if t, err := parseTemplate(*c.Body, ident); err != nil {
			errs = append(errs, *f.Errorf(at+".body", "%v", err))
		} else {
			resp.body = &t
		}
	}
	return resp, errs
}

// CheckHeaderValue says why check refuses v as a gateway response's header
// value (nil: it does not), where no authorizer reads its identity from a
// header the value would show. Importers use it to leave such a value out
// with a note rather than write a configuration check refuses.
func CheckHeaderValue(v string) error {
	_, err := parseHeaderValue(v, nil)
	return err
}

// CheckBody is CheckHeaderValue for a body template.
func CheckBody(s string) error {
	if len(s) > MaxTemplateBytes {
		return fmt.Errorf("the body template is longer than %d bytes", MaxTemplateBytes)
	}
	_, err := parseTemplate(s, nil)
	return err
}

// escapingFor is how values are written into a body of media type mt.
func escapingFor(mt string) escaping {
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return escJSON
	case mt == "text/html" || mt == "application/xhtml+xml" || mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return escMarkup
	}
	return escNone
}

// parseHeaderValue reads a header value in AWS's forms: 'static text',
// context.NAME, method.request.path.NAME; any other value is text with
// $context.NAME variables.
func parseHeaderValue(v string, ident []string) (template, error) {
	if len(v) > MaxTemplateBytes {
		return template{}, fmt.Errorf("the value is longer than %d bytes", MaxTemplateBytes)
	}
	if !httpheader.ValidValue(v) {
		return template{}, fmt.Errorf("the value holds a control character")
	}
	var t template
	switch {
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		t.add(piece{text: v[1 : len(v)-1]})
		return t, nil
	case strings.HasPrefix(v, "context."):
		name := v[len("context."):]
		if refLen(name) != len(name) {
			return t, fmt.Errorf("%q: a context variable is context.NAME alone (for text around it write $context.NAME, for text alone 'text')", v)
		}
		kind, err := checkVariable(name, ident)
		if err != nil {
			return t, err
		}
		t.add(piece{kind: kind, text: name})
		return t, nil
	case strings.HasPrefix(v, "method.request.path."):
		name := v[len("method.request.path."):]
		if name == "" || strings.ContainsAny(name, "/{} ") {
			return t, fmt.Errorf("%q: not a path parameter name", v)
		}
		t.add(piece{kind: varPathParam, text: name})
		return t, nil
	case strings.HasPrefix(v, "method.request.") || strings.HasPrefix(v, "method.input."):
		return t, fmt.Errorf("%q: a gateway response never shows the request's headers or query string (they carry tokens, API keys and cookies); path parameters (method.request.path.NAME) and $context variables are allowed", v)
	case strings.HasPrefix(v, "stageVariables."):
		return t, fmt.Errorf("%q: Portcullis has no stage variables", v)
	}
	return parseTemplate(v, ident)
}

// reservedHeader reports whether a response header is the gateway's or the
// transport's alone.
func reservedHeader(canon string) bool {
	switch canon {
	case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade",
		"Trailer", "Te", "Proxy-Connection", "Apigw-Requestid":
		return true
	}
	return false
}

// lookup returns the response that applies to an answer of type t whose
// built-in status is status: t's own, else DEFAULT_5XX or DEFAULT_4XX by
// the built-in status; nil when none is configured.
func (rs *Responses) lookup(t Type, status int) *response {
	if rs == nil {
		return nil
	}
	if t > 0 && t < numTypes {
		if r := rs.byType[t]; r != nil {
			return r
		}
	}
	if status >= 500 {
		return rs.byType[Default5XX]
	}
	if status >= 400 {
		return rs.byType[Default4XX]
	}
	return nil
}

// Configured reports whether an answer of type t with built-in status
// status would be changed.
func (rs *Responses) Configured(t Type, status int) bool { return rs.lookup(t, status) != nil }

// Write writes the gateway's own answer of type t, whose built-in form is
// status and body (AWS's JSON), to w: the configured response for t if
// there is one (t's own, else DEFAULT_4XX/DEFAULT_5XX), else the built-in
// answer unchanged. Headers already in w (WWW-Authenticate,
// x-amzn-ErrorType) stay unless the response sets the same name. src reads
// the request's $context variables and path parameters.
func (rs *Responses) Write(w http.ResponseWriter, r *http.Request, src mapping.Source, t Type, status int, body string) {
	resp := rs.lookup(t, status)
	if resp == nil {
		answer.JSON(w, r, status, body)
		return
	}
	e := messageOf(body)
	e.typ = t
	h := w.Header()
	var scratch [256]byte
	for i := range resp.headers {
		hd := &resp.headers[i]
		if hd.static != nil {
			h[hd.name] = hd.static
			continue
		}
		v := hd.value.render(scratch[:0], src, &e, escHeader)
		if len(v) == 0 {
			delete(h, hd.name)
			continue
		}
		h[hd.name] = []string{string(v)}
	}
	if resp.status != 0 {
		status = resp.status
	}
	var out []byte
	if resp.body != nil {
		out = resp.body.render(make([]byte, 0, resp.body.size+128), src, &e, resp.esc)
	} else {
		out = []byte(body)
	}
	h.Set("Content-Type", resp.contentType)
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(out)
	}
}
