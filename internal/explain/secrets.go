package explain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// credentialHeaders are request headers whose values are credentials
// whatever the configuration says.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Amz-Security-Token"}

// secrets is the set of credentials one explanation must never print: the
// identity values the authorizers read and the values of credential
// headers. Every text explain prints goes through conceal. The zero value
// conceals nothing.
type secrets struct {
	values  []string
	cookies map[string]bool // values that are a cookie's name=value pair: masked after the name
	r       *strings.Replacer
}

// add remembers v (and, for "Scheme value", the value alone) as a secret.
func (s *secrets) add(v string) {
	v = strings.TrimSpace(v)
	if v == "" || slices.Contains(s.values, v) {
		return
	}
	s.values = append(s.values, v)
	if _, rest, ok := strings.Cut(v, " "); ok {
		s.add(rest)
	}
	s.r = nil
}

// addCookies remembers a Cookie header: whole, and each name=value pair,
// which is masked after its name. A cookie's value alone is not made a
// secret: a short one ("1", "en") would be masked inside every word and
// number of the explanation. Requests and events carry the pairs, and an
// identity an authorizer reads from a cookie is added by itself.
func (s *secrets) addCookies(h string) {
	s.add(h)
	for part := range strings.SplitSeq(h, ";") {
		part = strings.TrimSpace(part)
		if name, val, ok := strings.Cut(part, "="); ok && name != "" && val != "" {
			if s.cookies == nil {
				s.cookies = map[string]bool{}
			}
			s.cookies[part] = true
			if !slices.Contains(s.values, part) {
				s.values = append(s.values, part)
			}
		}
	}
	s.r = nil
}

// addRequest remembers the credential headers of r.
func (s *secrets) addRequest(h http.Header) {
	for _, name := range credentialHeaders {
		for _, v := range h.Values(name) {
			if name == "Cookie" {
				s.addCookies(v)
			} else {
				s.add(v)
			}
		}
	}
}

// mask shows a secret as its length and the start of its SHA-256, enough
// to tell two values apart (same fingerprint: same value, same cache
// entry) without printing them. A "Scheme value" keeps its scheme.
func mask(v string) string {
	if scheme, rest, ok := strings.Cut(v, " "); ok && scheme != "" && rest != "" && !strings.Contains(scheme, "=") {
		return scheme + " " + mask(rest)
	}
	sum := sha256.Sum256([]byte(v))
	return "<secret: " + strconv.Itoa(len(v)) + " chars, sha256:" + hex.EncodeToString(sum[:4]) + ">"
}

// conceal replaces every secret in text by its mask: raw, as JSON escapes
// it and as a query string escapes it. Longer secrets are replaced first,
// in one pass, so a mask is never replaced again.
func (s *secrets) conceal(text string) string {
	if len(s.values) == 0 {
		return text
	}
	if s.r == nil {
		vals := slices.Clone(s.values)
		slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
		var pairs []string
		seen := map[string]bool{}
		for _, v := range vals {
			m := mask(v)
			if name, val, _ := strings.Cut(v, "="); s.cookies[v] {
				m = name + "=" + mask(val)
			}
			esc, _ := json.Marshal(v)
			for _, form := range []string{v, string(esc[1 : len(esc)-1]), url.QueryEscape(v), url.PathEscape(v)} {
				if !seen[form] {
					seen[form] = true
					pairs = append(pairs, form, m)
				}
			}
		}
		s.r = strings.NewReplacer(pairs...)
	}
	return s.r.Replace(text)
}

// concealJSON conceals the secrets in a JSON document's string values
// (names are kept, so its shape stays readable) and indents it. Text that is
// not JSON is concealed as text.
func (s *secrets) concealJSON(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s.concealText(raw)
	}
	v = s.concealValue(v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return s.concealText(raw)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// concealText is raw, concealed, as a JSON string.
func (s *secrets) concealText(raw []byte) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s.conceal(string(raw))) // a string always encodes
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func (s *secrets) concealValue(v any) any {
	switch v := v.(type) {
	case string:
		return s.conceal(v)
	case []any:
		for i := range v {
			v[i] = s.concealValue(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = s.concealValue(v[k])
		}
	}
	return v
}

// concealHeader returns h's values concealed, one line per name, names
// sorted.
func (s *secrets) concealHeader(h http.Header) []HeaderLine {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]HeaderLine, 0, len(names))
	for _, k := range names {
		out = append(out, HeaderLine{Name: k, Value: s.conceal(strings.Join(h[k], ", "))})
	}
	return out
}
