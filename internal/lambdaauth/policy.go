package lambdaauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// result is an interpreted answer of the function: what the cache stores.
// Either policy is set (IAM answer, evaluated per request ARN) or allow is
// the simple answer's isAuthorized. It is immutable once built.
type result struct {
	policy         *compiledPolicy
	allow          bool
	principalID    string
	usageKey       string // usageIdentifierKey: the API key of source AUTHORIZER
	context        map[string]any
	contextStrings map[string]string
}

// interpret parses the function's output. Anything not exactly one of the
// shapes AWS accepts is an error (500): the gateway fails closed.
func interpret(out []byte, v2, simple bool) (*result, error) {
	if len(out) > MaxResponseBytes {
		return nil, fmt.Errorf("answer is %d bytes, more than %d", len(out), MaxResponseBytes)
	}
	obj, err := decodeObject(out)
	if err != nil {
		return nil, err
	}
	if simple {
		return interpretSimple(obj)
	}
	return interpretPolicy(obj, v2)
}

// decodeObject decodes one JSON object, keeping numbers' text. Keys stay
// case-sensitive, unlike encoding/json's struct decoding, so "statement"
// is not mistaken for "Statement".
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errors.New("answer is not JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("answer has data after its JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("answer is a JSON %s, not an object", jsonKind(v))
	}
	return obj, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// interpretSimple reads {"isAuthorized": bool, "context": {...}}. With simple
// responses enabled an IAM-shaped answer is refused (no boolean
// isAuthorized): guessing which shape the author meant could allow.
func interpretSimple(obj map[string]any) (*result, error) {
	v, ok := obj["isAuthorized"]
	if !ok {
		return nil, errors.New("simple answer has no isAuthorized")
	}
	allow, ok := v.(bool)
	if !ok {
		return nil, fmt.Errorf("isAuthorized is a %s, not a boolean", jsonKind(v))
	}
	ctx, err := readContext(obj, true)
	if err != nil {
		return nil, err
	}
	return &result{allow: allow, context: ctx, contextStrings: stringifyContext(ctx, "", false)}, nil
}

func interpretPolicy(obj map[string]any, v2 bool) (*result, error) {
	pv, ok := obj["principalId"]
	if !ok {
		return nil, errors.New("policy answer has no principalId")
	}
	principal, ok := pv.(string)
	if !ok {
		return nil, fmt.Errorf("principalId is a %s, not a string", jsonKind(pv))
	}
	dv, ok := obj["policyDocument"]
	if !ok {
		return nil, errors.New("policy answer has no policyDocument")
	}
	doc, ok := dv.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policyDocument is a %s, not an object", jsonKind(dv))
	}
	pol, err := compilePolicy(doc, nil)
	if err != nil {
		return nil, err
	}
	ctx, err := readContext(obj, v2)
	if err != nil {
		return nil, err
	}
	usageKey := ""
	if uv, ok := obj["usageIdentifierKey"]; ok && uv != nil {
		if usageKey, ok = uv.(string); !ok {
			return nil, fmt.Errorf("usageIdentifierKey is a %s, not a string", jsonKind(uv))
		}
	}
	return &result{
		policy:         pol,
		principalID:    principal,
		usageKey:       usageKey,
		context:        ctx,
		contextStrings: stringifyContext(ctx, principal, true),
	}, nil
}

// readContext returns the answer's context. REST and payload 1.0 accept only
// string, number and boolean values (AWS fails the request otherwise); 2.0
// passes any JSON through to requestContext.authorizer.lambda.
func readContext(obj map[string]any, anyJSON bool) (map[string]any, error) {
	v, ok := obj["context"]
	if !ok || v == nil {
		return nil, nil
	}
	ctx, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("context is a %s, not an object", jsonKind(v))
	}
	if !anyJSON {
		for k, v := range ctx {
			switch v.(type) {
			case string, json.Number, bool:
			default:
				return nil, fmt.Errorf("context key %q is a %s; payload 1.0 allows only strings, numbers and booleans", k, jsonKind(v))
			}
		}
	}
	return ctx, nil
}

// stringifyContext renders ctx as AWS renders $context.authorizer.KEY:
// strings as they are, numbers as their JSON text, booleans as true/false;
// objects and arrays (2.0 only) as compact JSON; nulls are left out.
func stringifyContext(ctx map[string]any, principal string, withPrincipal bool) map[string]string {
	if len(ctx) == 0 && !withPrincipal {
		return nil
	}
	out := make(map[string]string, len(ctx)+1)
	for k, v := range ctx {
		switch v := v.(type) {
		case nil:
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			if v {
				out[k] = "true"
			} else {
				out[k] = "false"
			}
		default:
			if b, err := json.Marshal(v); err == nil {
				out[k] = string(b)
			}
		}
	}
	if withPrincipal {
		out["principalId"] = principal
	}
	return out
}

type effect uint8

const (
	effectNone effect = iota
	effectAllow
	effectDeny
)

// compiledPolicy keeps only what decides an execute-api:Invoke request: the
// resource patterns of the Deny and of the Allow statements whose actions
// cover execute-api:Invoke. It is built once per answer and evaluated for
// every request that the cached answer serves.
type compiledPolicy struct {
	deny  []pattern
	allow []pattern
}

// invokeAction is the one action a gateway request needs, lower-cased
// because IAM compares action names case-insensitively.
const invokeAction = "execute-api:invoke"

// compilePolicy reads a policy document. With tr set it also records every
// statement as read, for explain.
func compilePolicy(doc map[string]any, tr *Trace) (*compiledPolicy, error) {
	if v, ok := doc["Version"]; ok {
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("policyDocument.Version is a %s, not a string", jsonKind(v))
		}
	}
	sv, ok := doc["Statement"]
	if !ok {
		return nil, errors.New("policyDocument has no Statement")
	}
	var stmts []any
	switch sv := sv.(type) {
	case []any:
		stmts = sv
	case map[string]any:
		stmts = []any{sv} // IAM's grammar allows a single statement object
	default:
		return nil, fmt.Errorf("policyDocument.Statement is a %s, not an array or object", jsonKind(sv))
	}
	p := &compiledPolicy{}
	for i, s := range stmts {
		st, ok := s.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Statement[%d] is a %s, not an object", i, jsonKind(s))
		}
		// Conditions and Not* elements cannot be honoured here. Ignoring them
		// would widen an Allow, so the answer is refused instead.
		for _, k := range []string{"Condition", "NotAction", "NotResource", "NotPrincipal"} {
			if _, ok := st[k]; ok {
				return nil, fmt.Errorf("Statement[%d] uses %s, which is not supported", i, k)
			}
		}
		var eff effect
		switch e := st["Effect"]; e {
		case "Allow":
			eff = effectAllow
		case "Deny":
			eff = effectDeny
		default:
			return nil, fmt.Errorf("Statement[%d].Effect must be \"Allow\" or \"Deny\"", i)
		}
		actions, err := stringOrList(st, "Action")
		if err != nil {
			return nil, fmt.Errorf("Statement[%d]: %w", i, err)
		}
		resources, err := stringOrList(st, "Resource")
		if err != nil {
			return nil, fmt.Errorf("Statement[%d]: %w", i, err)
		}
		covers := false
		for _, a := range actions {
			if globMatch(strings.ToLower(a), invokeAction) {
				covers = true
				break
			}
		}
		if tr != nil {
			effect := "Allow"
			if eff == effectDeny {
				effect = "Deny"
			}
			tr.Statements = append(tr.Statements, Statement{Effect: effect, Actions: actions, Resources: resources, Invoke: covers})
		}
		if !covers {
			continue
		}
		for _, r := range resources {
			if eff == effectDeny {
				p.deny = append(p.deny, compilePattern(r))
			} else {
				p.allow = append(p.allow, compilePattern(r))
			}
		}
	}
	return p, nil
}

// stringOrList reads a required element that IAM allows as a string or an
// array of strings.
func stringOrList(st map[string]any, key string) ([]string, error) {
	v, ok := st[key]
	if !ok {
		return nil, fmt.Errorf("no %s", key)
	}
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s[%d] is a %s, not a string", key, i, jsonKind(e))
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is a %s, not a string or array", key, jsonKind(v))
}

// evaluate applies IAM's order: an explicit Deny matching arn wins, then a
// matching Allow, else the implicit deny.
func (p *compiledPolicy) evaluate(arn string) effect {
	for i := range p.deny {
		if p.deny[i].match(arn) {
			return effectDeny
		}
	}
	for i := range p.allow {
		if p.allow[i].match(arn) {
			return effectAllow
		}
	}
	return effectNone
}

type patternKind uint8

const (
	patAny    patternKind = iota + 1 // "*"
	patExact                         // no wildcard
	patPrefix                        // one trailing '*', no '?'
	patGlob                          // anything else
)

// pattern is an IAM resource pattern classified once, so the common forms
// (an exact ARN, "arn:...:api/stage/*", "*") need no glob walk per request.
type pattern struct {
	kind patternKind
	text string // patExact, patGlob: the pattern; patPrefix: the part before '*'
}

func compilePattern(s string) pattern {
	switch {
	case strings.Trim(s, "*") == "" && s != "":
		return pattern{kind: patAny}
	case !strings.ContainsAny(s, "*?"):
		return pattern{kind: patExact, text: s}
	case strings.IndexAny(s, "*?") == len(s)-1 && s[len(s)-1] == '*':
		return pattern{kind: patPrefix, text: s[:len(s)-1]}
	}
	return pattern{kind: patGlob, text: s}
}

func (p *pattern) match(s string) bool {
	switch p.kind {
	case patAny:
		return true
	case patExact:
		return s == p.text
	case patPrefix:
		return strings.HasPrefix(s, p.text)
	case patGlob:
		return globMatch(p.text, s)
	}
	return false
}

// globMatch reports whether s matches the IAM wildcard pattern p: '*' is any
// run of characters ('/' included), '?' exactly one character, everything
// else literal and case-sensitive. It backtracks only to the last '*', so it
// runs in O(len(p)·len(s)) time without allocating.
func globMatch(p, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(s[si:])
				pi++
				si += w
				continue
			default:
				if c == s[si] {
					pi++
					si++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry after it.
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
