package lambdaproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/httpheader"
)

// response is the HTTP answer translated from a function's output.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errBadResponse wraps every reason a function's output is not an answer.
var errBadResponse = errors.New("malformed Lambda proxy response")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadResponse, fmt.Sprintf(format, args...))
}

// parseResponse translates the function's output for payload format
// version ("1.0" or "2.0"). Decoded bodies over maxBody are rejected.
func parseResponse(version string, out []byte, maxBody int64) (*response, error) {
	out = bytes.TrimSpace(out)
	if !json.Valid(out) {
		return nil, bad("not JSON")
	}
	var fields map[string]json.RawMessage
	isObject := len(out) > 0 && out[0] == '{'
	if isObject {
		if err := json.Unmarshal(out, &fields); err != nil {
			return nil, bad("%v", err)
		}
	}
	if version == "2.0" {
		if _, ok := fields["statusCode"]; !ok {
			// AWS: a valid JSON answer without statusCode is 200,
			// application/json, with the whole output as the body.
			if int64(len(out)) > maxBody {
				return nil, bad("body over %d bytes", maxBody)
			}
			h := http.Header{}
			h.Set("Content-Type", "application/json")
			return &response{status: http.StatusOK, header: h, body: out}, nil
		}
	} else if !isObject {
		return nil, bad("not a JSON object")
	}

	res := &response{header: http.Header{}}
	var err error
	if res.status, err = statusOf(fields["statusCode"]); err != nil {
		return nil, err
	}

	// Headers. In 1.0 a name in multiValueHeaders replaces the same name in
	// headers (names compared case-insensitively); 2.0 has headers only
	// (aws-lambda-go's V2 response type also marshals multiValueHeaders,
	// which AWS does not document for 2.0: it is ignored).
	single, err := headerMap(fields["headers"])
	if err != nil {
		return nil, err
	}
	var multi map[string][]string
	if version == "1.0" {
		if multi, err = multiHeaderMap(fields["multiValueHeaders"]); err != nil {
			return nil, err
		}
	}
	for k, vs := range multi {
		for _, v := range vs {
			addHeader(res.header, k, v)
		}
	}
	for k, v := range single {
		if _, done := multi[http.CanonicalHeaderKey(k)]; done {
			continue
		}
		addHeader(res.header, k, v)
	}
	if version == "2.0" {
		cookies, err := stringList(fields["cookies"], "cookies")
		if err != nil {
			return nil, err
		}
		for _, c := range cookies {
			addHeader(res.header, "Set-Cookie", c)
		}
	}

	// Body.
	body, err := optionalString(fields["body"], "body")
	if err != nil {
		return nil, err
	}
	b64, err := optionalBool(fields["isBase64Encoded"], "isBase64Encoded")
	if err != nil {
		return nil, err
	}
	if b64 {
		if int64(base64.StdEncoding.DecodedLen(len(body))) > maxBody+3 {
			return nil, bad("body over %d bytes", maxBody)
		}
		res.body, err = decodeBase64(body)
		if err != nil {
			return nil, bad("body is not valid base64: %v", err)
		}
	} else {
		res.body = []byte(body)
	}
	if int64(len(res.body)) > maxBody {
		return nil, bad("body over %d bytes", maxBody)
	}
	if _, ok := res.header["Content-Type"]; !ok {
		// As API Gateway does for a proxy answer without one; it also keeps
		// net/http from sniffing a type.
		res.header.Set("Content-Type", "application/json")
	}
	return res, nil
}

// decodeBase64 decodes standard base64, padded or not (Java's decoder,
// which API Gateway is commonly assumed to use, does not require padding).
// Line breaks are ignored.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil && !strings.Contains(s, "=") {
		if b2, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b2, nil
		}
	}
	return b, err
}

// statusOf reads statusCode: a JSON integer from 200 to 599.
func statusOf(raw json.RawMessage) (int, error) {
	if len(raw) == 0 {
		return 0, bad("statusCode missing")
	}
	var n json.Number
	if raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, bad("statusCode is not a number")
	}
	status, err := strconv.Atoi(n.String())
	if err != nil {
		return 0, bad("statusCode %s is not an integer", raw)
	}
	// 1xx cannot be a final answer (net/http sends it as an interim one).
	if status < 200 || status > 599 {
		return 0, bad("statusCode %d out of range", status)
	}
	return status, nil
}

// scalar reads a header value: a string, or a number or boolean taken as its
// JSON text (many handlers return "Content-Length": 12 or "X-Flag": true).
// null means "no value". Objects and arrays are malformed.
func scalar(raw json.RawMessage, what string) (string, bool, error) {
	if len(raw) == 0 {
		return "", false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, bad("%s: %v", what, err)
		}
		return s, true, nil
	case 'n':
		return "", false, nil
	case '{', '[':
		return "", false, bad("%s is not a string", what)
	}
	return string(raw), true, nil
}

func headerMap(raw json.RawMessage) (map[string]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, bad("headers is not an object")
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok, err := scalar(v, "header "+strconv.Quote(k))
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = s
		}
	}
	return out, nil
}

// multiHeaderMap returns multiValueHeaders keyed by canonical name.
func multiHeaderMap(raw json.RawMessage) (map[string][]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, bad("multiValueHeaders is not an object")
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		if isNull(v) {
			continue
		}
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, bad("multiValueHeaders %q is not an array", k)
		}
		ck := http.CanonicalHeaderKey(k)
		for _, item := range list {
			s, ok, err := scalar(item, "header "+strconv.Quote(k))
			if err != nil {
				return nil, err
			}
			if ok {
				out[ck] = append(out[ck], s)
			}
		}
		if _, ok := out[ck]; !ok {
			out[ck] = nil // present: still replaces the single value
		}
	}
	return out, nil
}

func stringList(raw json.RawMessage, what string) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, bad("%s is not an array of strings", what)
	}
	return list, nil
}

func optionalString(raw json.RawMessage, what string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", bad("%s is not a string", what)
	}
	return s, nil
}

func optionalBool(raw json.RawMessage, what string) (bool, error) {
	if isNull(raw) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, bad("%s is not a boolean", what)
	}
	return b, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// hopByHop are the headers a function cannot set: they describe the
// connection, not the answer (RFC 9110 §7.6.1), or are computed here
// (Content-Length).
var hopByHop = map[string]bool{
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Connection":    true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	"Content-Length":      true,
}

// addHeader adds one header from the function, dropping what could split or
// corrupt the answer: names that are not HTTP tokens, values with control
// characters other than tab (CR, LF and NUL among them), and hop-by-hop
// headers.
func addHeader(h http.Header, name, value string) {
	if !httpheader.ValidName(name) || !httpheader.ValidValue(value) {
		return
	}
	ck := http.CanonicalHeaderKey(name)
	if hopByHop[ck] {
		return
	}
	h[ck] = append(h[ck], value)
}
