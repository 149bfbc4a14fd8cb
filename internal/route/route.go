// Package route implements AWS API Gateway HTTP API route keys: parsing them,
// selecting the route for a request in the order AWS documents, and expanding
// the URI templates of http_proxy integrations with the captured parameters.
//
// The rules are summarised in README.md next to this file.
package route

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxParams is the most path parameters one route key may declare. Params
// holds this many values inline so that matching never allocates.
const MaxParams = 16

// methods lists the methods a route key may name. Order matters: a method's
// position is its bucket in Table, and ANY must stay last.
var methods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}

const (
	anyMethod   = len(methods) - 1 // index of "ANY" in methods
	otherBucket = anyMethod        // bucket for request methods no key can name
)

// methodIndex maps a request method to its bucket. Request methods are
// case-sensitive (RFC 9110), so "get" is just an unknown method served only
// by ANY routes. A switch on string constants does not allocate.
func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "POST":
		return 1
	case "PUT":
		return 2
	case "PATCH":
		return 3
	case "DELETE":
		return 4
	case "HEAD":
		return 5
	case "OPTIONS":
		return 6
	}
	return otherBucket
}

// Key is a parsed route key. The zero Key is `$default`, which matches any
// request no other route matches. Otherwise Method is one of GET, POST, PUT,
// PATCH, DELETE, HEAD, OPTIONS or ANY and Path is a valid route path.
// A Key built by hand rather than by ParseKey is validated by NewTable.
type Key struct {
	Method string
	Path   string
}

// IsDefault reports whether k is the `$default` route.
func (k Key) IsDefault() bool { return k.Method == "" && k.Path == "" }

// String returns the canonical form: `$default` or `METHOD /path`. For a
// valid key, ParseKey(k.String()) returns k.
func (k Key) String() string {
	if k.IsDefault() {
		return "$default"
	}
	return k.Method + " " + k.Path
}

// ParamNames returns the parameter names in k's path, left to right, without
// braces or the greedy `+`. It returns nil for `$default` or an invalid path.
func (k Key) ParamNames() []string {
	if k.IsDefault() {
		return nil
	}
	segs, err := parsePath(k.Path)
	if err != nil {
		return nil
	}
	var names []string
	for _, s := range segs {
		if s.kind != literal {
			names = append(names, s.lit)
		}
	}
	return names
}

// GreedyParam returns the name of k's greedy `{name+}` parameter, without
// braces or `+`; "" when k has none (or is `$default` or invalid).
func (k Key) GreedyParam() string {
	if k.IsDefault() {
		return ""
	}
	segs, err := parsePath(k.Path)
	if err != nil || len(segs) == 0 || segs[len(segs)-1].kind != greedy {
		return ""
	}
	return segs[len(segs)-1].lit
}

// ParseKey parses a route key such as `GET /pets/{id}`, `ANY /{proxy+}` or
// `$default`. Errors are sentences naming the key and what is wrong with it.
func ParseKey(s string) (Key, error) {
	if s == "$default" {
		return Key{}, nil
	}
	fail := func(format string, args ...any) (Key, error) {
		return Key{}, fmt.Errorf("route key %q: %s", s, fmt.Sprintf(format, args...))
	}
	if s == "" {
		return fail(`is empty; want "METHOD /path" or "$default"`)
	}
	if strings.HasPrefix(s, "$") {
		return fail(`the only special route key is "$default"`)
	}
	sp := strings.IndexByte(s, ' ')
	if sp < 0 {
		return fail(`want "METHOD /path" or "$default"`)
	}
	method, path := s[:sp], s[sp+1:]
	if method == "" {
		return fail("missing method before the path")
	}
	if !validMethod(method) {
		if up := strings.ToUpper(method); validMethod(up) {
			return fail("method %q must be upper-case (%q)", method, up)
		}
		return fail("unsupported method %q; want one of %s", method, strings.Join(methods[:], ", "))
	}
	if path == "" {
		return fail("missing path after the method")
	}
	if path[0] == ' ' {
		return fail("method and path must be separated by exactly one space")
	}
	if _, err := parsePath(path); err != nil {
		return fail("%v", err)
	}
	return Key{Method: method, Path: path}, nil
}

func validMethod(m string) bool {
	for _, v := range methods {
		if m == v {
			return true
		}
	}
	return false
}

type segKind uint8

// The numeric order is the specificity order AWS uses: lower wins.
const (
	literal segKind = iota
	param
	greedy
)

// segment is one parsed path segment; lit is the literal text or, for
// parameters, the name.
type segment struct {
	lit  string
	kind segKind
}

// parsePath validates a route path and splits it into segments. The root
// path "/" has no segments.
func parsePath(path string) ([]segment, error) {
	if path[0] != '/' {
		return nil, fmt.Errorf("path %q must start with %q", path, "/")
	}
	if !utf8.ValidString(path) {
		return nil, errors.New("path is not valid UTF-8")
	}
	for _, r := range path {
		switch {
		case r == '?' || r == '#':
			return nil, fmt.Errorf("path must not contain %q; query strings and fragments are not part of a route", r)
		case r == '%':
			return nil, errors.New(`path must not contain "%"; write the decoded character instead, requests are matched after decoding`)
		case unicode.IsSpace(r):
			return nil, fmt.Errorf("path must not contain whitespace (%q)", r)
		case unicode.IsControl(r):
			return nil, fmt.Errorf("path must not contain control character %q", r)
		}
	}
	if path == "/" {
		return nil, nil
	}
	if path[len(path)-1] == '/' {
		return nil, errors.New(`path must not end with "/" (only the root path "/" may)`)
	}
	var segs []segment
	seen := map[string]bool{}
	rest := path[1:]
	for {
		raw, tail, more := strings.Cut(rest, "/")
		rest = tail
		if raw == "" {
			return nil, errors.New(`path must not contain an empty segment ("//")`)
		}
		if raw == "." || raw == ".." {
			// The gateway rejects dot segments before routing, so such a
			// route could never match; refusing it points at the mistake.
			return nil, fmt.Errorf("path must not contain the dot segment %q", raw)
		}
		seg, err := parseSegment(raw)
		if err != nil {
			return nil, err
		}
		if seg.kind != literal {
			if seen[seg.lit] {
				return nil, fmt.Errorf("duplicate parameter name %q", seg.lit)
			}
			seen[seg.lit] = true
			if len(seen) > MaxParams {
				return nil, fmt.Errorf("too many parameters (more than %d)", MaxParams)
			}
		}
		if len(segs) > 0 && segs[len(segs)-1].kind == greedy {
			last := segs[len(segs)-1].lit
			return nil, fmt.Errorf("greedy parameter {%s+} must be the last segment", last)
		}
		segs = append(segs, seg)
		if !more {
			return segs, nil
		}
	}
}

func parseSegment(raw string) (segment, error) {
	lb := strings.IndexByte(raw, '{')
	rb := strings.IndexByte(raw, '}')
	if lb < 0 && rb < 0 {
		return segment{lit: raw, kind: literal}, nil
	}
	if lb < 0 || (rb >= 0 && rb < lb) {
		return segment{}, fmt.Errorf("unexpected %q in segment %q", "}", raw)
	}
	if rb < 0 {
		return segment{}, fmt.Errorf("unterminated parameter in segment %q", raw)
	}
	if strings.Count(raw, "{") != 1 || strings.Count(raw, "}") != 1 {
		return segment{}, fmt.Errorf("segment %q has more than one pair of braces; a segment holds at most one parameter", raw)
	}
	if lb != 0 || rb != len(raw)-1 {
		return segment{}, fmt.Errorf("segment %q mixes literal text and a parameter; a parameter must be the whole segment", raw)
	}
	name, kind := raw[1:len(raw)-1], param
	if n, ok := strings.CutSuffix(name, "+"); ok {
		name, kind = n, greedy
	}
	if name == "" {
		return segment{}, fmt.Errorf("empty parameter name in segment %q", raw)
	}
	if !validName(name) {
		return segment{}, fmt.Errorf("invalid parameter name %q in segment %q; names use only letters, digits, '.', '_' and '-'", name, raw)
	}
	return segment{lit: name, kind: kind}, nil
}

// validName reports whether s matches [A-Za-z0-9._-]+.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Params holds the path parameters captured by Table.Match. It is a
// fixed-size value so a caller can keep one on the stack or in a pooled
// request context and matching never allocates. Values are substrings of the
// matched path; names are shared with the Table and must not be modified.
// After a failed match or a `$default` match Len is 0.
type Params struct {
	names  []string
	values [MaxParams]string
	n      int
	greedy bool // the last parameter is a {name+}
}

// Len returns the number of captured parameters.
func (p *Params) Len() int { return p.n }

// Name returns the name of parameter i (0 <= i < Len), in key order.
func (p *Params) Name(i int) string { return p.names[:p.n][i] }

// Value returns the value of parameter i (0 <= i < Len). A {name+} value is
// the rest of the path without its leading slash and may contain "/".
func (p *Params) Value(i int) string { return p.values[:p.n][i] }

// IsGreedy reports whether parameter i came from a {name+} segment, whose
// value may span several path segments.
func (p *Params) IsGreedy(i int) bool { return p.greedy && i == p.n-1 && i >= 0 }

// Get returns the value of the named parameter. A linear scan beats a map
// for at most MaxParams entries.
func (p *Params) Get(name string) (string, bool) {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.values[i], true
		}
	}
	return "", false
}

// Reset empties p and drops its references to the previous path, so a
// pooled Params does not keep request data alive.
func (p *Params) Reset() {
	*p = Params{}
}

// compiled is a route key prepared for matching.
type compiled struct {
	index  int // position in the keys given to NewTable
	method int // index into methods
	segs   []segment
	names  []string
	greedy bool
}

// match reports whether path fits r, writing captured values into p (if
// non-nil) as it goes; a later successful candidate overwrites them.
func (r *compiled) match(path string, p *Params) bool {
	if len(r.segs) == 0 {
		return path == "/"
	}
	pos, k := 1, 0 // pos: start of the current segment, just after a '/'
	for _, s := range r.segs {
		if pos > len(path) {
			return false
		}
		if s.kind == greedy {
			rest := path[pos:]
			// One or more segments, and the first must be non-empty, so the
			// value never starts with "/" and "/pets/" is not "/pets/{x+}".
			if rest == "" || rest[0] == '/' {
				return false
			}
			if p != nil {
				p.values[k] = rest
			}
			return true
		}
		if s.kind == literal {
			// Compare in place instead of scanning for the segment's end
			// first: a mismatch is usually found in the first byte.
			end := pos + len(s.lit)
			if end > len(path) || path[pos:end] != s.lit || (end < len(path) && path[end] != '/') {
				return false
			}
			pos = end + 1
			continue
		}
		// A plain loop beats IndexByte here: segments are short and the
		// call and SIMD setup would dominate.
		end := pos
		for end < len(path) && path[end] != '/' {
			end++
		}
		if end == pos {
			return false // {name} needs a non-empty segment
		}
		if p != nil {
			p.values[k] = path[pos:end]
		}
		k++
		pos = end + 1
	}
	return pos == len(path)+1
}

// less orders routes so that, among routes that can match the same request,
// the one AWS selects comes first: segment by segment from the left a
// literal beats {name}, which beats {name+}; on an equal path shape an
// explicit method beats ANY. Two routes that match the same request always
// differ in kind at or before the greedy segment (a greedy route has no more
// segments than the request), so this comparison is decisive; the literal,
// length and index tie-breaks only make the order deterministic.
func less(a, b *compiled) bool {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		sa, sb := a.segs[i], b.segs[i]
		if sa.kind != sb.kind {
			return sa.kind < sb.kind
		}
		if sa.kind == literal && sa.lit != sb.lit {
			return sa.lit < sb.lit
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) < len(b.segs)
	}
	if (a.method == anyMethod) != (b.method == anyMethod) {
		return b.method == anyMethod
	}
	return a.index < b.index
}

// bucket holds the candidates for requests with one method and one segment
// count, already in selection order. byFirst[s] lists the routes whose first
// segment is the literal s followed by wild; wild lists the routes whose
// first segment is a parameter (or the root route). Literal-first routes
// always sort before parameter-first ones, so each list is in order.
type bucket struct {
	byFirst map[string][]*compiled
	wild    []*compiled
}

func (b *bucket) candidates(first string) []*compiled {
	if b.byFirst != nil {
		if l, ok := b.byFirst[first]; ok {
			return l
		}
	}
	return b.wild
}

// methodTable holds one bucket per request segment count up to the longest
// route, and over for longer requests, which only greedy routes can match.
type methodTable struct {
	bySegs []bucket
	over   bucket
}

// Table selects routes for requests. It is immutable after NewTable and safe
// for concurrent use. Match returns indexes into the keys given to NewTable.
type Table struct {
	methods [len(methods)]methodTable
	def     int // index of $default, or -1
}

// NewTable validates keys and precomputes everything Match needs. It fails on
// an invalid key, on two keys with the same method and the same path shape
// (parameter names ignored, so GET /a/{x} and GET /a/{y} conflict while
// GET /x and ANY /x do not) and on a second `$default`.
func NewTable(keys []Key) (*Table, error) {
	t := &Table{def: -1}
	var all []*compiled
	shapes := make(map[string]int, len(keys))
	maxSegs := 0
	for i, k := range keys {
		if k.IsDefault() {
			if t.def >= 0 {
				return nil, fmt.Errorf("route keys %d and %d are both $default", t.def, i)
			}
			t.def = i
			continue
		}
		// Reparse so hand-built keys get the same validation as parsed ones.
		if _, err := ParseKey(k.String()); err != nil {
			return nil, err
		}
		segs, _ := parsePath(k.Path)
		c := &compiled{index: i, segs: segs, method: -1}
		for m, name := range methods {
			if name == k.Method {
				c.method = m
			}
		}
		var shape strings.Builder
		shape.WriteString(k.Method)
		shape.WriteByte(' ')
		for _, s := range segs {
			shape.WriteByte('/')
			switch s.kind {
			case literal:
				shape.WriteString(s.lit)
			case param:
				shape.WriteString("{}")
				c.names = append(c.names, s.lit)
			case greedy:
				shape.WriteString("{+}")
				c.names = append(c.names, s.lit)
				c.greedy = true
			}
		}
		if j, dup := shapes[shape.String()]; dup {
			return nil, fmt.Errorf("route key %q (index %d) duplicates %q (index %d): same method and path shape", k, i, keys[j], j)
		}
		shapes[shape.String()] = i
		all = append(all, c)
		maxSegs = max(maxSegs, len(segs))
	}
	sort.SliceStable(all, func(i, j int) bool { return less(all[i], all[j]) })

	for m := range t.methods {
		var rs []*compiled
		for _, c := range all {
			if c.method == m || c.method == anyMethod {
				rs = append(rs, c)
			}
		}
		mt := &t.methods[m]
		mt.bySegs = make([]bucket, maxSegs+1)
		for n := range mt.bySegs {
			mt.bySegs[n] = makeBucket(rs, n)
		}
		mt.over = makeBucket(rs, maxSegs+1)
	}
	return t, nil
}

// makeBucket selects from rs, which is in selection order, the routes that
// can match a request of n segments.
func makeBucket(rs []*compiled, n int) bucket {
	var b bucket
	var lits []*compiled
	for _, c := range rs {
		fits := len(c.segs) == n
		if c.greedy {
			fits = len(c.segs) <= n
		}
		if !fits {
			continue
		}
		if len(c.segs) > 0 && c.segs[0].kind == literal {
			lits = append(lits, c)
		} else {
			b.wild = append(b.wild, c)
		}
	}
	for _, c := range lits {
		if b.byFirst == nil {
			b.byFirst = map[string][]*compiled{}
		}
		b.byFirst[c.segs[0].lit] = append(b.byFirst[c.segs[0].lit], c)
	}
	for first, l := range b.byFirst {
		b.byFirst[first] = append(l[:len(l):len(l)], b.wild...)
	}
	return b
}

// Match returns the index (into the keys given to NewTable) of the route
// that AWS would select for method and path, the index of `$default` if no
// other route matches, or -1. path is the decoded request path
// (r.URL.Path). If p is non-nil it receives the captured parameters; its
// previous contents are discarded. Match does not allocate.
func (t *Table) Match(method, path string, p *Params) int {
	if p != nil {
		p.names, p.n, p.greedy = nil, 0, false
	}
	if len(path) == 0 || path[0] != '/' {
		return t.def
	}
	n := 0
	if len(path) > 1 {
		n = strings.Count(path, "/")
	}
	first := path[1:]
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	mt := &t.methods[methodIndex(method)]
	b := &mt.over
	if n < len(mt.bySegs) {
		b = &mt.bySegs[n]
	}
	for _, c := range b.candidates(first) {
		if c.match(path, p) {
			if p != nil {
				p.names, p.n, p.greedy = c.names, len(c.names), c.greedy
			}
			return c.index
		}
	}
	return t.def
}
