package lambdaauth

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// hasAllowString reports whether any string anywhere in the JSON value is
// exactly "Allow", however it was escaped: the only way a policy can allow.
func hasAllowString(v any) bool {
	switch v := v.(type) {
	case string:
		return v == "Allow"
	case []any:
		for _, e := range v {
			if hasAllowString(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasAllowString(e) {
				return true
			}
		}
	}
	return false
}

func FuzzPolicy(f *testing.F) {
	seeds := []struct{ answer, arn string }{
		{`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:api/*/GET/*"}]}}`, "arn:aws:execute-api:r:1:api/prod/GET/x"},
		{`{"principalId":"u","policyDocument":{"Statement":{"Action":["*"],"Effect":"Deny","Resource":["*"]}}}`, "arn:x"},
		{`{"principalId":"u","policyDocument":{"Statement":[{"Action":"execute-api:*","Effect":"\u0041llow","Resource":"a?c*"}]},"context":{"n":1}}`, "abcd"},
		{`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*a*a*a*b"}]}}`, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{`{"isAuthorized":true}`, ""},
		{`[1,2`, ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s.answer), s.arn, false)
		f.Add([]byte(s.answer), s.arn, true)
	}
	f.Fuzz(func(t *testing.T, answer []byte, arn string, v2 bool) {
		res, err := interpret(answer, v2, false)
		if err != nil {
			return
		}
		if res.policy == nil {
			t.Fatal("IAM interpretation without a policy")
		}
		got := res.policy.evaluate(arn)
		if got != effectAllow {
			return
		}
		var v any
		if json.Unmarshal(answer, &v) != nil || !hasAllowString(v) {
			t.Fatalf("allowed %q by a policy with no Allow statement: %s", arn, answer)
		}
		// Allow requires that no Deny pattern matches: check against the
		// reference matcher too.
		for _, p := range res.policy.deny {
			if p.kind == patGlob && globRegexp(p.text).MatchString(arn) {
				t.Fatalf("allowed %q although Deny %q matches", arn, p.text)
			}
		}
	})
}

// FuzzGlob checks the matcher against the regexp reading of IAM wildcards.
func FuzzGlob(f *testing.F) {
	f.Add("arn:*/GET/?ets/*", "arn:x/GET/pets/1")
	f.Add("*a*a*b", "aaaaaaaaaaab")
	f.Add("?", "\xff")
	f.Fuzz(func(t *testing.T, p, s string) {
		// Patterns come from decoded JSON, so they are valid UTF-8; the
		// regexp reference cannot express raw bytes, nor tell U+FFFD in a
		// pattern from an invalid byte in the subject.
		if len(p) > 64 || len(s) > 256 || !utf8.ValidString(p) || strings.ContainsRune(p, utf8.RuneError) {
			return
		}
		want := globRegexp(p).MatchString(s)
		if got := globMatch(p, s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, regexp says %v", p, s, got, want)
		}
		cp := compilePattern(p)
		if got := cp.match(s); got != want {
			t.Fatalf("compiled %q (kind %d) match %q = %v, want %v", p, cp.kind, s, got, want)
		}
	})
}
