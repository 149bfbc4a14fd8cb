// Package identity reads an authorizer's identity source from a request:
// `$request.header.NAME`, `$request.querystring.NAME` or `$request.cookie.NAME`
// (HTTP API syntax), and the REST forms `method.request.header.NAME` and
// `method.request.querystring.NAME`.
package identity

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
)

// Kind is where a source reads from.
type Kind int

// The places an identity can come from.
const (
	Header Kind = iota + 1
	Query
	Cookie
)

// Source is one parsed identity source. The zero value is invalid.
type Source struct {
	Kind Kind
	Name string // canonical header name; query and cookie names as written (case-sensitive)
	Expr string // as configured, for messages
}

// Parse reads one identity-source expression.
func Parse(expr string) (Source, error) {
	rest, ok := strings.CutPrefix(expr, "$request.")
	if !ok {
		rest, ok = strings.CutPrefix(expr, "method.request.")
	}
	if !ok {
		return Source{}, fmt.Errorf("identity source %q: expected $request.header.NAME, $request.querystring.NAME or $request.cookie.NAME", expr)
	}
	where, name, _ := strings.Cut(rest, ".")
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return Source{}, fmt.Errorf("identity source %q: missing or invalid name", expr)
	}
	switch where {
	case "header":
		return Source{Kind: Header, Name: textproto.CanonicalMIMEHeaderKey(name), Expr: expr}, nil
	case "querystring":
		return Source{Kind: Query, Name: name, Expr: expr}, nil
	case "cookie":
		return Source{Kind: Cookie, Name: name, Expr: expr}, nil
	}
	return Source{}, fmt.Errorf("identity source %q: %q is not a place an identity can come from (header, querystring, cookie)", expr, where)
}

// Value returns the source's value in r. A missing or empty value, or one that
// is given more than once (which would make the identity ambiguous), is
// reported as not found.
func (s Source) Value(r *http.Request) (string, bool) {
	switch s.Kind {
	case Header:
		vs := r.Header[s.Name]
		if len(vs) != 1 || vs[0] == "" {
			return "", false
		}
		return vs[0], true
	case Query:
		if r.URL.RawQuery == "" {
			return "", false
		}
		vs := r.URL.Query()[s.Name]
		if len(vs) != 1 || vs[0] == "" {
			return "", false
		}
		return vs[0], true
	case Cookie:
		var found string
		n := 0
		for _, c := range r.CookiesNamed(s.Name) {
			found = c.Value
			n++
		}
		if n != 1 || found == "" {
			return "", false
		}
		return found, true
	}
	return "", false
}

// BearerToken returns the token in an identity value: the text after a
// case-insensitive "Bearer " prefix, or the whole value when there is none.
func BearerToken(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimLeft(v[7:], " ")
	}
	return v
}
