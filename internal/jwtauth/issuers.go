package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/portcullis/portcullis/internal/config"
)

// ReasonUnknownIssuer is the denial of a token whose iss names none of an
// Issuers' issuers (or that has no string iss): decided before any key is
// fetched.
const ReasonUnknownIssuer = "unknown_issuer"

// maxIssuers bounds the issuers of one authorizer. **(ours)**: AWS
// publishes no quota.
const maxIssuers = 20

// Issuers is a JWT authorizer of the REST API shape: several issuers, each
// with its own audiences, claim rules and keys (an Authorizer each, with
// its own discovery, refresh, stale rules and verified-token cache). A
// token goes to the issuer its (unverified) iss claim names, compared
// byte for byte; a token naming no configured issuer is denied at once,
// without any network request. The chosen Authorizer then verifies
// everything, iss included, so a token can never pass with another
// issuer's keys or rules. Safe for concurrent use.
type Issuers struct {
	name string
	list []*Authorizer
	by   map[string]*Authorizer
	bufs sync.Pool // *[]byte for payloads larger than pick's stack buffer
}

// previous returns the authorizer of issuer that a reload replaces, so
// the new one starts with its predecessor's keys (see Options.Previous).
func (m *Issuers) previous(issuer string) *Authorizer {
	if m == nil {
		return nil
	}
	return m.by[issuer]
}

// IssuerError is NewIssuers' error when the issuer at Index of its list
// cannot be built (after validation, only when its JWKSFile does not
// load), so that the caller can say which entry it is. Its message is Err's.
type IssuerError struct {
	Index int
	Err   error
}

func (e *IssuerError) Error() string { return e.Err.Error() }
func (e *IssuerError) Unwrap() error { return e.Err }

// NewIssuers builds an authorizer named name from one Settings per issuer
// (their Name is set here: NAME[i], the label of their key and cache
// metrics). prev, if not nil, is the Issuers this one replaces.
func NewIssuers(name string, issuers []Settings, o Options, prev *Issuers) (*Issuers, error) {
	if err := ValidateIssuers(issuers); err != nil {
		return nil, fmt.Errorf("jwt authorizer %q: %w", name, err)
	}
	m := &Issuers{name: name, by: make(map[string]*Authorizer, len(issuers))}
	for i, s := range issuers {
		s.Name = name + "[" + strconv.Itoa(i) + "]"
		io := o
		io.Previous = prev.previous(s.Issuer)
		a, err := New(s, io)
		if err != nil {
			return nil, &IssuerError{Index: i, Err: err}
		}
		m.list = append(m.list, a)
		m.by[s.Issuer] = a
	}
	return m, nil
}

// ValidateIssuers checks what one issuer's Settings cannot: the list's
// length and that no issuer is given twice. Each issuer's own settings
// are checked by its Validate (New, which NewIssuers calls, does).
func ValidateIssuers(issuers []Settings) error { return IssuersProblems(issuers).Err() }

// IssuersProblems is what ValidateIssuers reports, each at the field of a
// jwt authorizer's configuration block it is about ("issuers",
// "issuers[1].issuer").
func IssuersProblems(issuers []Settings) config.Problems {
	var ps config.Problems
	if len(issuers) == 0 {
		ps.Addf("issuers", "at least one issuer is required")
	}
	if len(issuers) > maxIssuers {
		ps.Addf("issuers", "at most %d issuers are allowed, got %d", maxIssuers, len(issuers))
	}
	for i, s := range issuers {
		for j := range i {
			if issuers[j].Issuer == s.Issuer && s.Issuer != "" {
				ps.Addf("issuers["+strconv.Itoa(i)+"].issuer", "issuers[%d]: issuer %q is listed already (issuers[%d]); issuers must be unique", i, s.Issuer, j)
			}
		}
	}
	return ps
}

// Name returns the authorizer's name.
func (m *Issuers) Name() string { return m.name }

// Start keeps every issuer's keys fresh until ctx is done.
func (m *Issuers) Start(ctx context.Context) {
	for _, a := range m.list {
		a.Start(ctx)
	}
}

// Ready reports whether every issuer holds keys.
func (m *Issuers) Ready() bool {
	for _, a := range m.list {
		if !a.Ready() {
			return false
		}
	}
	return true
}

// Verify picks the issuer by the token's iss and verifies the token with
// it. It returns the identity or a *Denial; never (nil, nil).
func (m *Issuers) Verify(ctx context.Context, token string) (*Identity, error) {
	a, d := m.pick(token)
	if d != nil {
		return nil, d
	}
	return a.Verify(ctx, token)
}

// Explain is Verify step by step (see Authorizer.Explain), starting with
// which issuer the token's iss chose.
func (m *Issuers) Explain(ctx context.Context, token string) (*Identity, []Step, error) {
	a, d := m.pick(token)
	if d != nil {
		return nil, []Step{{Check: "issuer", Detail: d.detail()}}, d
	}
	step := Step{Check: "issuer", OK: true, Detail: fmt.Sprintf("iss %q is issuers[%d], checked with its keys, audiences and %d %s", a.issuer, slices.Index(m.list, a), len(a.rules), config.Plural(len(a.rules), "claim rule", "claim rules"))}
	id, steps, err := a.Explain(ctx, token)
	return id, append([]Step{step}, steps...), err
}

// pick returns the authorizer of the issuer the token's payload names. It
// reads the payload unverified, only to choose; it fetches nothing.
func (m *Issuers) pick(token string) (*Authorizer, *Denial) {
	if len(token) > maxTokenBytes {
		return nil, deny(ReasonTokenTooLarge, nil)
	}
	var stack [1024]byte
	buf := stack[:]
	seg := payloadSegment(token)
	if n := strictB64.DecodedLen(len(seg)); n > len(buf) {
		// A large payload (a Cognito token with many groups) borrows a
		// pooled buffer, so that choosing the issuer still allocates
		// nothing in the steady state.
		pb, _ := m.bufs.Get().(*[]byte)
		if pb == nil || cap(*pb) < n {
			b := make([]byte, n)
			pb = &b
		}
		defer m.bufs.Put(pb)
		buf = (*pb)[:cap(*pb)]
	}
	iss, ok := peekIssuer(seg, buf)
	if !ok {
		return nil, denyIssuer(errors.New("the token has no iss claim this authorizer can read"))
	}
	a := m.by[string(iss)]
	if a == nil {
		return nil, denyIssuer(errors.New("the token's iss is none of this authorizer's issuers"))
	}
	return a, nil
}

func denyIssuer(err error) *Denial {
	return &Denial{Reason: ReasonUnknownIssuer, Description: "The token's issuer is not accepted.", Err: err}
}

// payloadSegment returns the text between a compact token's first two
// dots ("" without two). It checks nothing else: the strict base64 decoder
// refuses what is not base64url, and the chosen Authorizer checks the rest.
func payloadSegment(token string) string {
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return ""
	}
	return token[i+1 : i+1+j]
}

// peekIssuer returns the decoded value of the payload's first top-level
// "iss" member (written without escapes in its name) when it is a JSON
// string. It decodes seg, the payload segment, into buf, or into a new
// buffer when buf is too small, and reads no further than it must; it
// validates nothing (the chosen Authorizer does).
func peekIssuer(seg string, buf []byte) ([]byte, bool) {
	if seg == "" {
		return nil, false
	}
	if n := strictB64.DecodedLen(len(seg)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := strictB64.Decode(buf, readOnlyBytes(seg))
	if err != nil {
		return nil, false
	}
	p := buf[:n]
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != '"' {
			return nil, false // '}' (no iss) or not JSON
		}
		ks := i + 1
		ke := endOfString(p, i)
		if ke < 0 {
			return nil, false
		}
		i = skipSpace(p, ke+1)
		if i >= len(p) || p[i] != ':' {
			return nil, false
		}
		i = skipSpace(p, i+1)
		if string(p[ks:ke]) == "iss" {
			if i >= len(p) || p[i] != '"' {
				return nil, false
			}
			ve := endOfString(p, i)
			if ve < 0 {
				return nil, false
			}
			v := p[i+1 : ve]
			for _, c := range v {
				if c == '\\' {
					return appendUnquoted(nil, v), true // rare: an escaped iss
				}
			}
			return v, true
		}
		i = skipJSONValue(p, i)
		if i < 0 {
			return nil, false
		}
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != ',' {
			return nil, false
		}
		i++
	}
}

// endOfString returns the index of the quote closing the string that
// opens at p[i], or -1.
func endOfString(p []byte, i int) int {
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// skipJSONValue returns the index just after the value starting at p[i],
// or -1; nesting is counted, strings are skipped whole.
func skipJSONValue(p []byte, i int) int {
	depth := 0
	for ; i < len(p); i++ {
		switch c := p[i]; c {
		case '"':
			i = endOfString(p, i)
			if i < 0 {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
