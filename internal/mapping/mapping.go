// Package mapping implements AWS HTTP API style request parameter mapping
// ("request_parameters") for http_proxy integrations: configured keys such
// as "overwrite:header.x-user-id" are parsed once at setup and applied to
// every outbound request. See README.md for the rules.
package mapping

import (
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/portcullis/portcullis/internal/httpheader"
)

// Source is what value expressions read, implemented by the gateway for
// each request. All values are the client's ORIGINAL request, never the
// partially-mapped outbound one, so the result of a mapping never depends
// on the order in which the others ran.
type Source interface {
	RequestHeader(name string) string // all values comma-joined, "" if absent (name case-insensitive)
	RequestQuery(name string) string  // all values comma-joined, "" if absent (name case-sensitive)
	RequestPath() string              // the request path, decoded, e.g. /orders/1
	PathParam(name string) string     // route path parameter, "" if absent
	Context(name string) string       // $context.NAME where NAME may contain dots: "requestId", "authorizer.claims.sub", "authorizer.principalId"; "" if unknown
}

// action is what a key does. The numeric order is the order in which
// Apply runs the groups.
type action uint8

const (
	actRemove action = iota
	actOverwrite
	actAppend
)

var actionNames = [...]string{actRemove: "remove", actOverwrite: "overwrite", actAppend: "append"}

type target uint8

const (
	tgtHeader target = iota
	tgtQuery
	tgtPath
)

// op is one parsed key/value pair.
type op struct {
	key    string
	action action
	target target
	name   string // canonical header name or query name; "" for path
	val    value
}

// Mapping is a parsed, immutable set of request parameter mappings. It is
// safe for concurrent use by any number of requests. The zero value and a
// nil *Mapping are valid and map nothing, so routes without mappings need
// no special case.
type Mapping struct {
	ops          []op // sorted: all removes, then overwrites, then appends; by key within a group
	headers      []string
	contextNames []string
	pathParams   []string
	hasQuery     bool
	nOverwriteH  int // header overwrites, sized for one shared value slice in Apply
	grow         int // initial size of Apply's buffer
}

// Options are what a route tells Parse about itself.
type Options struct {
	// GreedyParam names the route's {name+} parameter ("" for none). Its
	// value is a run of path segments, so overwrite:path keeps its "/"
	// separators as it keeps $request.path's (AWS's
	// "/$request.path.proxy"); every other value stays one segment.
	GreedyParam string
}

// Parse is ParseWith for a route without a greedy parameter.
func Parse(params map[string]string) (*Mapping, error) { return ParseWith(params, Options{}) }

// ParseWith validates params (the request_parameters map: key
// "ACTION:TARGET", value expression) for a route described by o and
// pre-parses every value. It returns the first error in key order, as a
// sentence quoting the offending key. ParseWith(nil, o) returns an empty
// Mapping.
func ParseWith(params map[string]string, opts Options) (*Mapping, error) {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	m := &Mapping{}
	headerKeys := map[string]string{} // canonical name -> key that maps it
	queryKeys := map[string]string{}
	ctx := map[string]bool{}
	for _, key := range keys {
		o, err := parseOp(key, params[key], opts)
		if err != nil {
			return nil, fmt.Errorf("request_parameters %q: %w", key, err)
		}
		switch o.target {
		case tgtHeader:
			if prev, ok := headerKeys[o.name]; ok {
				return nil, fmt.Errorf("request_parameters %q: header %q is also mapped by %q; a header may appear in only one key (names compare case-insensitively)", key, o.name, prev)
			}
			headerKeys[o.name] = key
			m.headers = append(m.headers, o.name)
			if o.action == actOverwrite {
				m.nOverwriteH++
			}
		case tgtQuery:
			if prev, ok := queryKeys[o.name]; ok {
				return nil, fmt.Errorf("request_parameters %q: query parameter %q is also mapped by %q; a query parameter may appear in only one key", key, o.name, prev)
			}
			queryKeys[o.name] = key
			m.hasQuery = true
		}
		for _, p := range o.val.parts {
			if p.kind == partContext && !ctx[p.text] {
				ctx[p.text] = true
				m.contextNames = append(m.contextNames, p.text)
			}
			if p.kind == partPathParam && !slices.Contains(m.pathParams, p.text) {
				m.pathParams = append(m.pathParams, p.text)
			}
		}
		m.grow += o.bufNeed()
		m.ops = append(m.ops, o)
	}
	sort.SliceStable(m.ops, func(i, j int) bool { return m.ops[i].action < m.ops[j].action })
	sort.Strings(m.headers)
	sort.Strings(m.contextNames)
	sort.Strings(m.pathParams)
	return m, nil
}

// bufNeed estimates how many bytes o appends to Apply's buffer.
// Single-part header and query values never touch the buffer.
func (o *op) bufNeed() int {
	n := 0
	for _, p := range o.val.parts {
		if p.kind == partLiteral {
			n += len(p.text)
		} else {
			n += exprGuess
		}
	}
	switch {
	case o.target == tgtPath:
		return 2*n + 2 // built escaped and decoded, each maybe with a "/"
	case len(o.val.parts) > 1:
		return n
	}
	return 0
}

func parseOp(key, val string, opts Options) (op, error) {
	o := op{key: key}
	act, tgt, ok := strings.Cut(key, ":")
	if !ok {
		return o, fmt.Errorf(`key must have the form ACTION:TARGET, e.g. "overwrite:header.x-user-id"`)
	}
	switch act {
	case "remove":
		o.action = actRemove
	case "overwrite":
		o.action = actOverwrite
	case "append":
		o.action = actAppend
	default:
		return o, fmt.Errorf("unknown action %q; expected append, overwrite or remove", act)
	}
	kind, name, hasName := strings.Cut(tgt, ".")
	switch {
	case kind == "header" && hasName:
		o.target = tgtHeader
		if name == "" {
			return o, fmt.Errorf("header name is empty")
		}
		if !httpheader.ValidName(name) {
			return o, fmt.Errorf("%q is not a valid HTTP header name", name)
		}
		o.name = textproto.CanonicalMIMEHeaderKey(name)
		if Reserved(o.name) {
			return o, fmt.Errorf("header %q is reserved and cannot be mapped", o.name)
		}
	case kind == "querystring" && hasName:
		o.target = tgtQuery
		if name == "" {
			return o, fmt.Errorf("query parameter name is empty")
		}
		if strings.IndexFunc(name, isCTL) >= 0 {
			return o, fmt.Errorf("query parameter name %q contains a control character", name)
		}
		o.name = name
	case tgt == "path":
		o.target = tgtPath
		if o.action != actOverwrite {
			return o, fmt.Errorf("%s is not supported for path; only overwrite:path is", actionNames[o.action])
		}
	default:
		return o, fmt.Errorf("unknown target %q; expected header.NAME, querystring.NAME or path", tgt)
	}

	if o.action == actRemove {
		if val != "" {
			return o, fmt.Errorf("remove takes no value, got %q; use an empty string", val)
		}
		return o, nil
	}
	if val == "" {
		return o, fmt.Errorf("%s needs a value; use remove:%s to delete", actionNames[o.action], tgt)
	}
	v, err := parseValue(val)
	if err != nil {
		return o, fmt.Errorf("value %q: %w", val, err)
	}
	o.val = v
	if o.target == tgtPath {
		if err := checkPathValue(v); err != nil {
			return o, fmt.Errorf("value %q: %w", val, err)
		}
		v.markSegments(opts.GreedyParam)
	}
	return o, nil
}

// checkPathValue rejects path templates that can never be applied, so the
// mistake shows at startup rather than as a silently unmapped path.
func checkPathValue(v value) error {
	for _, p := range v.parts {
		if p.kind == partLiteral && strings.ContainsAny(p.text, "?#") {
			return fmt.Errorf(`literal text must not contain "?" or "#"; use querystring mappings for the query`)
		}
	}
	// Evaluate with placeholders that can never form a dot segment
	// themselves: any dot segment left comes from the literal text alone.
	dec, _ := v.evalPath(new(strings.Builder), placeholder{})
	if hasDotSegment(dec) {
		return fmt.Errorf(`the path would always contain a "." or ".." segment`)
	}
	return nil
}

type placeholder struct{}

func (placeholder) RequestHeader(string) string { return "x" }
func (placeholder) RequestQuery(string) string  { return "x" }
func (placeholder) RequestPath() string         { return "/x" }
func (placeholder) PathParam(string) string     { return "x" }
func (placeholder) Context(string) string       { return "x" }

// Apply maps out, the outbound request, reading values from src. It
// mutates out.Header and out.URL (Path, RawPath, RawQuery) only. Apply
// never fails: a value that evaluates to something unusable is dropped as
// described in README.md, because a request-time error would let a client
// choose between our failure modes.
func (m *Mapping) Apply(out *http.Request, src Source) {
	if m == nil || len(m.ops) == 0 {
		return
	}
	var b strings.Builder
	if m.grow > 0 {
		b.Grow(m.grow)
	}

	var q url.Values
	qChanged := false
	if m.hasQuery && out.URL != nil {
		// A malformed pair is skipped by ParseQuery; if we re-encode it is
		// dropped, as Go's own server would have.
		q, _ = url.ParseQuery(out.URL.RawQuery)
	}
	// One allocation for every overwritten header's value slice. A fresh
	// slice (never the existing one) is needed because out.Header may share
	// backing arrays with the client's request that src reads.
	var ovals []string
	if m.nOverwriteH > 0 {
		ovals = make([]string, m.nOverwriteH)
	}

	// A header value the transport would refuse to send (a control byte:
	// CR and LF above all, which would let a client inject headers) is
	// dropped, so that one odd claim cannot fail the whole request.
	for i := range m.ops {
		o := &m.ops[i]
		switch o.target {
		case tgtHeader:
			switch o.action {
			case actRemove:
				delete(out.Header, o.name)
			case actOverwrite:
				v := o.val.eval(&b, src)
				if v == "" || !httpheader.ValidValue(v) {
					delete(out.Header, o.name)
					continue
				}
				if out.Header == nil {
					out.Header = make(http.Header)
				}
				ovals[0] = v
				out.Header[o.name] = ovals[:1:1]
				ovals = ovals[1:]
			case actAppend:
				v := o.val.eval(&b, src)
				if v == "" || !httpheader.ValidValue(v) {
					continue
				}
				if out.Header == nil {
					out.Header = make(http.Header)
				}
				old := out.Header[o.name]
				nv := make([]string, len(old)+1)
				copy(nv, old)
				nv[len(old)] = v
				out.Header[o.name] = nv
			}
		case tgtQuery:
			if out.URL == nil {
				continue
			}
			switch o.action {
			case actRemove:
				if _, ok := q[o.name]; ok {
					delete(q, o.name)
					qChanged = true
				}
			case actOverwrite:
				v := o.val.eval(&b, src)
				if v == "" {
					if _, ok := q[o.name]; ok {
						delete(q, o.name)
						qChanged = true
					}
					continue
				}
				q[o.name] = []string{v}
				qChanged = true
			case actAppend:
				v := o.val.eval(&b, src)
				if v == "" {
					continue
				}
				q[o.name] = append(q[o.name], v)
				qChanged = true
			}
		case tgtPath:
			if out.URL == nil {
				continue
			}
			dec, esc := o.val.evalPath(&b, src)
			if hasDotSegment(dec) {
				continue
			}
			out.URL.Path = dec
			if esc == dec {
				out.URL.RawPath = ""
			} else {
				out.URL.RawPath = esc
			}
		}
	}
	if qChanged {
		out.URL.RawQuery = q.Encode()
	}
}

// Headers returns the sorted canonical names of every header the mapping
// writes or removes. The gateway must delete these from the outbound
// request before anything else, so a client can never supply one (for
// example an overwrite whose value evaluates empty removes nothing the
// client could have smuggled). The caller must not modify the slice.
func (m *Mapping) Headers() []string {
	if m == nil {
		return nil
	}
	return m.headers
}

// ContextNames returns the sorted, distinct NAMEs of every $context.NAME
// the values reference, so the gateway can reject at startup names it
// does not provide. The caller must not modify the slice.
func (m *Mapping) ContextNames() []string {
	if m == nil {
		return nil
	}
	return m.contextNames
}

// PathParamNames returns the sorted, distinct NAMEs of every
// $request.path.NAME the values reference, so the gateway can reject at
// startup a name its route does not have (its value would always be
// empty). The caller must not modify the slice.
func (m *Mapping) PathParamNames() []string {
	if m == nil {
		return nil
	}
	return m.pathParams
}

// Empty reports whether the mapping does nothing (nil, or no keys).
func (m *Mapping) Empty() bool { return m == nil || len(m.ops) == 0 }

// reserved holds canonical names of headers that cannot be mapped: hop-by-
// hop and framing headers the transport owns, forwarding headers the
// gateway sets, its own request id, and Authorization, which the backend
// must receive unchanged so it can verify the token again.
var reserved = map[string]bool{}

func init() {
	for _, h := range []string{
		"Authorization", "Connection", "Content-Length", "Content-Encoding",
		"Expect", "Host", "Keep-Alive", "Max-Forwards", "Proxy-Authenticate",
		"Proxy-Authorization", "Proxy-Connection", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade", "Via", "Forwarded", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Request-Id",
	} {
		reserved[textproto.CanonicalMIMEHeaderKey(h)] = true
	}
}

// Reserved reports whether header (any case) is one that request
// parameter mappings may not write or remove, including every name that
// starts with "X-Amz-" or "X-Amzn-" (AWS keeps that namespace for itself,
// and clients rely on it being gateway-controlled).
func Reserved(header string) bool {
	if hasPrefixFold(header, "x-amz-") || hasPrefixFold(header, "x-amzn-") {
		return true
	}
	return reserved[textproto.CanonicalMIMEHeaderKey(header)]
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
