package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Denial reasons: short, stable codes for metrics and logs.
const (
	ReasonTokenTooLarge   = "token_too_large"
	ReasonMalformed       = "malformed"
	ReasonAlgNotAllowed   = "alg_not_allowed"
	ReasonForbiddenHeader = "forbidden_header"
	ReasonUnknownKid      = "unknown_kid"
	ReasonKeysUnavailable = "keys_unavailable"
	ReasonBadSignature    = "bad_signature"
	ReasonBadIssuer       = "bad_issuer"
	ReasonBadAudience     = "bad_audience"
	ReasonMissingExp      = "missing_exp"
	ReasonExpired         = "expired"
	ReasonNotYetValid     = "not_yet_valid"
	ReasonIssuedInFuture  = "issued_in_future"
)

// Denial is the only error Verify returns. Reason is one of the Reason*
// constants; Description is a fixed sentence safe to send to the client (it
// never echoes the token); Err, if set, says more for logs and also never
// contains token, secret or key material.
type Denial struct {
	Reason      string
	Description string
	Err         error
}

func (d *Denial) Error() string {
	if d.Err != nil {
		return "jwt denied (" + d.Reason + "): " + d.Err.Error()
	}
	return "jwt denied (" + d.Reason + ")"
}

func (d *Denial) Unwrap() error { return d.Err }

// detail is the denial as an explanation step tells it: the reason, and Err
// or else the Description.
func (d *Denial) detail() string {
	if d.Err != nil {
		return d.Reason + ": " + d.Err.Error()
	}
	return d.Reason + ": " + d.Description
}

func deny(reason string, err error) *Denial {
	return &Denial{Reason: reason, Description: describe(reason), Err: err}
}

func describe(reason string) string {
	switch reason {
	case ReasonTokenTooLarge:
		return "The token is too large."
	case ReasonMalformed:
		return "The token is malformed."
	case ReasonAlgNotAllowed:
		return "The token's signing algorithm is not allowed."
	case ReasonForbiddenHeader:
		return "The token's header contains a parameter that is not accepted."
	case ReasonUnknownKid:
		return "The token was signed with an unknown key."
	case ReasonKeysUnavailable:
		return "The signing keys are not available; try again later."
	case ReasonBadSignature:
		return "The token's signature is invalid."
	case ReasonBadIssuer:
		return "The token's issuer is not accepted."
	case ReasonBadAudience:
		return "The token's audience is not accepted."
	case ReasonMissingExp:
		return "The token has no expiration time."
	case ReasonExpired:
		return "The token has expired."
	case ReasonNotYetValid:
		return "The token is not valid yet."
	case ReasonIssuedInFuture:
		return "The token was issued in the future."
	}
	return "The token is not valid."
}

// Identity is what a valid token says about its bearer. It is shared between
// requests through the cache: it is immutable and callers must not modify it
// or its slices.
type Identity struct {
	Subject string
	Claims  Claims // every non-null claim stringified as AWS does (HTTP APIs)
	// JSONClaims are the same claims as compact JSON text, non-ASCII
	// characters as \uXXXX, as REST API JWT authorizers pass them (strings
	// keep their quotes); only with Settings.JSONClaims, else empty.
	JSONClaims Claims
	Scopes     []string // from "scope" (space-separated string) or "scp" (string or array)
	Expires    time.Time
	KeyID      string
}

// Claims are a token's claims in the order of its payload, nulls left out,
// each value stringified as AWS does. They are one string and a table of
// offsets rather than a map: a cached token then holds nothing per claim
// that the garbage collector must follow, and with a hundred thousand
// cached tokens marking their maps was most of each collection's work. The
// zero value has no claims; Claims are immutable.
type Claims struct {
	text string
	ends []uint32 // ends[2i]: end of claim i's name in text; ends[2i+1]: end of its value
}

// Len is the number of claims.
func (c Claims) Len() int { return len(c.ends) / 2 }

// At returns claim i's name and value, for 0 ≤ i < Len().
func (c Claims) At(i int) (name, value string) {
	var start uint32
	if i > 0 {
		start = c.ends[2*i-1]
	}
	return c.text[start:c.ends[2*i]], c.text[c.ends[2*i]:c.ends[2*i+1]]
}

// Get returns the named claim's value. A token has a few dozen claims at
// most, so a scan beats hashing.
func (c Claims) Get(name string) (string, bool) {
	for i := range c.Len() {
		if n, v := c.At(i); n == name {
			return v, true
		}
	}
	return "", false
}

// All yields each claim's name and value in payload order.
func (c Claims) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := range c.Len() {
			if !yield(c.At(i)) {
				return
			}
		}
	}
}

// Map returns the claims as a new map, for APIs that take one.
func (c Claims) Map() map[string]string {
	m := make(map[string]string, c.Len())
	for n, v := range c.All() {
		m[n] = v
	}
	return m
}

// HasAnyScope reports whether required is empty or any one of its scopes was
// granted, which is how AWS evaluates authorization scopes on a route.
func (id *Identity) HasAnyScope(required []string) bool {
	if len(required) == 0 {
		return true
	}
	for _, r := range required {
		for _, s := range id.Scopes {
			if r == s {
				return true
			}
		}
	}
	return false
}

// The claims are read in place from the payload's scan: names and values are
// substrings of src, the decoded payload, so the Identity shares one buffer
// instead of a string per claim, and checking a claim decodes nothing but
// that claim. Values are JSON text the scanner has validated. src and the
// scanner are passed separately so that the scanner, which is large, stays
// on the stack although the strings outlive the call.

// claimAt returns top-level member i: its decoded name and its value's JSON
// text.
func (s *jsonScan) claimAt(src string, i int) (name, raw string) {
	m := s.at(i)
	if m.escaped {
		name = string(s.esc[m.lo:m.hi])
	} else {
		name = src[m.lo:m.hi]
	}
	return name, src[m.vlo:m.vhi]
}

// registered is the JSON text of the claims the checks read, "" for those
// that are absent (a present value is never empty text). One pass over the
// members finds them all.
type registered struct {
	iss, sub, aud, clientID, exp, nbf, iat, scope, scp string
}

func (s *jsonScan) registered(src string) registered {
	var r registered
	for i := range s.members() {
		m := s.at(i)
		var f *string
		if m.escaped {
			f = r.field(string(s.esc[m.lo:m.hi]))
		} else {
			f = r.field(src[m.lo:m.hi])
		}
		if f != nil {
			*f = src[m.vlo:m.vhi]
		}
	}
	return r
}

func (r *registered) field(name string) *string {
	switch name {
	case "iss":
		return &r.iss
	case "sub":
		return &r.sub
	case "aud":
		return &r.aud
	case "client_id":
		return &r.clientID
	case "exp":
		return &r.exp
	case "nbf":
		return &r.nbf
	case "iat":
		return &r.iat
	case "scope":
		return &r.scope
	case "scp":
		return &r.scp
	}
	return nil
}

// checkClaims performs step 6 and builds the Identity (step 7) inside the
// cache entry that will hold it; the caller sets its alg.
func (a *Authorizer) checkClaims(src string, c *jsonScan, now time.Time, kid string) (*cacheEntry, *Denial) {
	r := c.registered(src)
	if iss, ok := jsonString(r.iss); !ok || iss != a.issuer {
		return nil, deny(ReasonBadIssuer, nil)
	}
	if !a.audienceOK(r.aud, r.clientID) {
		return nil, deny(ReasonBadAudience, nil)
	}

	// Seconds as float64 keep fractional NumericDates and huge values
	// comparable without integer overflow; the precision lost (~0.2µs at
	// today's epoch) is far below any meaningful skew.
	nowSec := float64(now.UnixNano()) / 1e9
	skew := a.skew.Seconds()

	if r.exp == "" {
		return nil, deny(ReasonMissingExp, nil)
	}
	exp, ok := numericDate(r.exp)
	if !ok {
		return nil, deny(ReasonMalformed, errors.New("exp is not a finite number"))
	}
	if nowSec >= exp+skew {
		return nil, deny(ReasonExpired, nil)
	}
	if r.nbf != "" {
		nbf, ok := numericDate(r.nbf)
		if !ok {
			return nil, deny(ReasonMalformed, errors.New("nbf is not a finite number"))
		}
		if nbf > nowSec+skew {
			return nil, deny(ReasonNotYetValid, nil)
		}
	}
	if r.iat != "" {
		iat, ok := numericDate(r.iat)
		if !ok {
			return nil, deny(ReasonMalformed, errors.New("iat is not a finite number"))
		}
		if iat > nowSec+skew {
			return nil, deny(ReasonIssuedInFuture, nil)
		}
	}

	// Names and rendered values go into one buffer, which becomes the
	// Claims' text; Subject and Scopes are substrings of it, so the decoded
	// payload is not kept.
	n := c.members()
	// Rendered values are rarely longer than their JSON text (invalid UTF-8
	// made U+FFFD and re-encoded objects can be; append copes); an scp
	// array's strings are copied once more.
	b := claimsBuilder{buf: make([]byte, 0, len(src)+len(r.scp)), ends: make([]uint32, 0, 2*n)}
	for i := range n {
		if name, raw := c.claimAt(src, i); raw != "null" {
			b.add(name, raw)
		}
	}
	var sc scopeSource
	sc.read(&b, r.scope, r.scp)
	claims := b.claims()
	e := &cacheEntry{id: Identity{
		Claims:  claims,
		KeyID:   kid,
		Expires: secondsToTime(exp),
	}}
	if a.asJSON {
		j := claimsBuilder{buf: make([]byte, 0, len(src)), ends: make([]uint32, 0, 2*n)}
		for i := range n {
			if name, raw := c.claimAt(src, i); raw != "null" {
				j.buf = append(j.buf, name...)
				j.ends = append(j.ends, uint32(len(j.buf)))
				j.buf = appendClaimJSON(j.buf, raw)
				j.ends = append(j.ends, uint32(len(j.buf)))
			}
		}
		e.id.JSONClaims = j.claims()
	}
	id := &e.id
	if isJSONString(r.sub) {
		id.Subject, _ = claims.Get("sub")
	}
	id.Scopes = sc.scopes(claims)
	e.expNano = id.Expires.UnixNano()
	return e, nil
}

// audienceOK: any configured audience in aud (string or array of strings);
// only when aud is absent altogether, a string client_id (Cognito access
// tokens) may match instead. A present but null or ill-typed aud does not
// fall back: the issuer said something, and it was not our audience.
func (a *Authorizer) audienceOK(aud, clientID string) bool {
	if aud == "" {
		cid, ok := jsonString(clientID)
		return ok && a.isAudience(cid)
	}
	if s, ok := jsonString(aud); ok {
		return a.isAudience(s)
	}
	if aud[0] == '[' {
		for it := (jsonElements{s: aud}); ; {
			e, more := it.next()
			if !more {
				break
			}
			if s, ok := jsonString(e); ok && a.isAudience(s) {
				return true
			}
		}
	}
	return false
}

func (a *Authorizer) isAudience(s string) bool {
	for _, want := range a.audiences {
		if s == want {
			return true
		}
	}
	return false
}

// numericDate parses a NumericDate (RFC 7519 §2): a JSON number, possibly
// fractional or negative. Strings, NaN, ±Inf and out-of-range values are
// rejected rather than guessed at.
func numericDate(raw string) (float64, bool) {
	if raw == "" || (raw[0] != '-' && !isDigit(raw[0])) {
		return 0, false
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// secondsToTime clamps to a range time.Time and UnixNano represent, so a
// token with exp 1e300 gets a sane (far-future) Expires instead of garbage.
func secondsToTime(sec float64) time.Time {
	const maxSec = float64(math.MaxInt64/1e9) - 1 // year 2262
	const minSec = -maxSec
	if sec > maxSec {
		sec = maxSec
	}
	if sec < minSec {
		sec = minSec
	}
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9))
}

// jsonString decodes raw if it is a JSON string, as encoding/json would. It
// allocates only for strings with escapes or invalid UTF-8; others are a
// substring of raw.
func jsonString(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if verbatim(body) {
		return body, true
	}
	return string(appendUnquoted(make([]byte, 0, len(body)), body)), true
}

// claimsBuilder collects claim names and rendered values into the one
// buffer that becomes a Claims' text.
type claimsBuilder struct {
	buf  []byte
	ends []uint32
}

func (b *claimsBuilder) add(name, raw string) {
	b.buf = append(b.buf, name...)
	b.ends = append(b.ends, uint32(len(b.buf)))
	b.buf = appendClaimText(b.buf, raw)
	b.ends = append(b.ends, uint32(len(b.buf)))
}

// claims ends the building: the buffer is never written again, so the text
// can share it instead of copying it.
func (b *claimsBuilder) claims() Claims {
	return Claims{text: unsafe.String(unsafe.SliceData(b.buf), len(b.buf)), ends: b.ends}
}

// verbatim reports whether a string literal's body decodes to itself: no
// escapes, valid UTF-8.
func verbatim(body string) bool {
	return strings.IndexByte(body, '\\') < 0 && utf8.ValidString(body)
}

// isJSONString reports whether raw, valid JSON text, is a string.
func isJSONString(raw string) bool { return raw != "" && raw[0] == '"' }

// appendClaimText appends a claim's JSON text rendered the way AWS API
// Gateway passes JWT claims to integrations: strings as is, numbers as
// their JSON text, booleans as true/false, null as nothing, arrays as
// "[a b]" of rendered elements, objects as compact JSON.
func appendClaimText(dst []byte, raw string) []byte {
	switch raw[0] {
	case '"':
		body := raw[1 : len(raw)-1]
		if verbatim(body) {
			return append(dst, body...)
		}
		return appendUnquoted(dst, body)
	case 'n':
		return dst
	case '[':
		dst = append(dst, '[')
		it := jsonElements{s: raw}
		for i := 0; ; i++ {
			e, more := it.next()
			if !more {
				break
			}
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = appendClaimText(dst, e)
		}
		return append(dst, ']')
	case '{':
		// Rare enough to leave to encoding/json: it sorts the keys and
		// escapes strings exactly as before.
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return dst
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false) // claims are data, not HTML
		if err := enc.Encode(v); err != nil {
			return dst
		}
		return append(dst, bytes.TrimSuffix(out.Bytes(), []byte("\n"))...)
	}
	return append(dst, raw...) // a number, true or false
}

// scopeSource finds the granted scopes: "scope" (RFC 8693, space-separated)
// or else "scp" (Okta, Azure AD: a space-separated string or an array of
// strings), given as JSON text, "" when absent.
type scopeSource struct {
	from  string   // the claim whose value, split at spaces, is the scopes
	array []uint32 // or: [start, end) in the text of each string of an scp array
	isArr bool
}

// read adds what the scopes need to the claims' text: nothing when they
// are a claim's value, the decoded strings of an scp array otherwise.
func (sc *scopeSource) read(b *claimsBuilder, scope, scp string) {
	switch {
	case isJSONString(scope):
		sc.from = "scope"
	case isJSONString(scp):
		sc.from = "scp"
	case scp != "" && scp[0] == '[':
		sc.isArr = true
		for it := (jsonElements{s: scp}); ; {
			e, more := it.next()
			if !more {
				break
			}
			if isJSONString(e) {
				start := len(b.buf)
				b.buf = appendClaimText(b.buf, e)
				sc.array = append(sc.array, uint32(start), uint32(len(b.buf)))
			}
		}
	}
}

// scopes returns the scopes as substrings of c's text; nil when none were
// granted in any form.
func (sc *scopeSource) scopes(c Claims) []string {
	if sc.from != "" {
		v, _ := c.Get(sc.from)
		return strings.Fields(v)
	}
	if !sc.isArr {
		return nil
	}
	out := make([]string, 0, len(sc.array)/2)
	for i := 0; i < len(sc.array); i += 2 {
		out = append(out, c.text[sc.array[i]:sc.array[i+1]])
	}
	return out
}

// jsonElements iterates over the elements of a valid JSON array's text.
type jsonElements struct {
	s string
	i int
}

// next returns the next element's JSON text, or false after the last.
func (it *jsonElements) next() (string, bool) {
	if it.i == 0 {
		it.i = 1 // past '['
	}
	i := skipSpace(it.s, it.i)
	if it.s[i] == ']' {
		return "", false
	}
	if it.s[i] == ',' {
		i = skipSpace(it.s, i+1)
	}
	end := skipValue(it.s, i)
	it.i = end
	return it.s[i:end], true
}

// skipValue returns the end of the valid JSON value starting at s[i].
func skipValue(s string, i int) int {
	switch s[i] {
	case '"':
		return skipStringLiteral(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipStringLiteral(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i // a number or a literal: up to a delimiter
	for j < len(s) {
		switch s[j] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// skipStringLiteral returns the end of the valid string literal at s[i].
func skipStringLiteral(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// appendClaimJSON appends a claim's JSON text (valid, as the scanner
// checked it) compacted, with every non-ASCII character as a \uXXXX escape
// (upper-case hex, surrogate pairs beyond U+FFFF) and invalid UTF-8 as
// \uFFFD: the JSON text REST API JWT authorizers give mappings and logs.
func appendClaimJSON(dst []byte, raw string) []byte {
	const hex = "0123456789ABCDEF"
	u := func(dst []byte, r rune) []byte {
		return append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	inString := false
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(raw[i:])
			if r == utf8.RuneError && n == 1 {
				r = utf8.RuneError
			}
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				dst = u(u(dst, r1), r2)
			} else {
				dst = u(dst, r)
			}
			i += n
			continue
		case inString && c == '\\':
			dst = append(dst, raw[i:i+2]...) // an escape, kept as written
			i += 2
			continue
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			i++
			continue
		}
		dst = append(dst, c)
		i++
	}
	return dst
}
