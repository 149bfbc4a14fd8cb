package lambdaauth

import (
	"regexp"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	const arn = testARNPrefix + "GET/pets/42"
	stmt := func(effect, action, resource string) string {
		return `{"Effect":"` + effect + `","Action":` + action + `,"Resource":` + resource + `}`
	}
	doc := func(stmts ...string) string {
		return `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}}`
	}
	q := func(s string) string { return `"` + s + `"` }
	cases := []struct {
		name   string
		answer string
		want   effect
	}{
		{"string action and resource", doc(stmt("Allow", q("execute-api:Invoke"), q(arn))), effectAllow},
		{"array action and resource", doc(stmt("Allow", `["s3:GetObject","execute-api:Invoke"]`, `["`+testARNPrefix+`GET/other","`+arn+`"]`)), effectAllow},
		{"single statement object", `{"principalId":"u","policyDocument":{"Statement":` + stmt("Allow", q("execute-api:Invoke"), q(arn)) + `}}`, effectAllow},
		{"empty statements", doc(), effectNone},
		{"empty resource list", doc(stmt("Allow", q("*"), `[]`)), effectNone},
		{"other path", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"GET/pets/43"))), effectNone},
		{"other method", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"POST/pets/42"))), effectNone},
		{"resource case-sensitive", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"GET/Pets/42"))), effectNone},
		{"method case-sensitive", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"get/pets/42"))), effectNone},
		{"wrong action", doc(stmt("Allow", q("execute-api:ManageConnections"), q("*"))), effectNone},
		{"other service", doc(stmt("Allow", q("s3:*"), q("*"))), effectNone},
		{"action execute-api:*", doc(stmt("Allow", q("execute-api:*"), q(arn))), effectAllow},
		{"action *", doc(stmt("Allow", q("*"), q(arn))), effectAllow},
		{"action wildcard pattern", doc(stmt("Allow", q("execute-api:Inv*"), q(arn))), effectAllow},
		{"action ? pattern", doc(stmt("Allow", q("execute-api:Invok?"), q(arn))), effectAllow},
		{"action case-insensitive (IAM)", doc(stmt("Allow", q("Execute-API:invoke"), q(arn))), effectAllow},
		{"resource *", doc(stmt("Allow", q("execute-api:Invoke"), q("*"))), effectAllow},
		{"* spans slashes", doc(stmt("Allow", q("execute-api:Invoke"), q("arn:aws:execute-api:*:*:abc123/*"))), effectAllow},
		{"stage wildcard", doc(stmt("Allow", q("execute-api:Invoke"), q("arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/pets/*"))), effectAllow},
		{"method wildcard", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"*/pets/42"))), effectAllow},
		{"? one char", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"GET/pets/4?"))), effectAllow},
		{"? not two chars", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"GET/pets/?"))), effectNone},
		{"? not zero chars", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"GET/pets/42?"))), effectNone},
		{"prefix without star", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"GET/pets"))), effectNone},
		{"prefix anchored at start", doc(stmt("Allow", q("execute-api:Invoke"), q("abc123/prod/GET/*"))), effectNone},
		{"exact needs whole ARN", doc(stmt("Allow", q("execute-api:Invoke"), q("GET/pets/42"))), effectNone},
		{"other api", doc(stmt("Allow", q("execute-api:Invoke"), q("arn:aws:execute-api:eu-west-1:123456789012:zzz/*"))), effectNone},
		{"deny wins", doc(stmt("Allow", q("*"), q("*")), stmt("Deny", q("execute-api:Invoke"), q(arn))), effectDeny},
		{"deny wins in either order", doc(stmt("Deny", q("execute-api:*"), q(testARNPrefix+"*")), stmt("Allow", q("*"), q(arn))), effectDeny},
		{"deny elsewhere", doc(stmt("Allow", q("*"), q("*")), stmt("Deny", q("execute-api:Invoke"), q(testARNPrefix+"DELETE/*"))), effectAllow},
		{"deny of other action ignored", doc(stmt("Allow", q("*"), q("*")), stmt("Deny", q("s3:*"), q("*"))), effectAllow},
		{"deny only", doc(stmt("Deny", q("*"), q(testARNPrefix+"POST/*"))), effectNone},
		{"multiple statements", doc(stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"POST/*")), stmt("Allow", q("execute-api:Invoke"), q(testARNPrefix+"GET/pets/*"))), effectAllow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := interpret([]byte(c.answer), false, false)
			if err != nil {
				t.Fatalf("interpret: %v", err)
			}
			if got := res.policy.evaluate(arn); got != c.want {
				t.Errorf("evaluate = %v, want %v", got, c.want)
			}
		})
	}
}

func TestInterpretRejects(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"*","Resource":"*"`
	cases := map[string]string{
		"array answer":           `[]`,
		"string answer":          `"allow"`,
		"Statement string":       `{"principalId":"u","policyDocument":{"Statement":"x"}}`,
		"Statement item string":  `{"principalId":"u","policyDocument":{"Statement":["x"]}}`,
		"Version number":         `{"principalId":"u","policyDocument":{"Version":1,"Statement":[{` + ok + `}]}}`,
		"no Effect":              `{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Resource":"*"}]}}`,
		"Effect ALLOW":           `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"ALLOW","Action":"*","Resource":"*"}]}}`,
		"lower-case effect key":  `{"principalId":"u","policyDocument":{"Statement":[{"effect":"Allow","Action":"*","Resource":"*"}]}}`,
		"no Action":              `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Resource":"*"}]}}`,
		"no Resource":            `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*"}]}}`,
		"Resource number":        `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":1}]}}`,
		"Action list non-string": `{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":[1],"Resource":"*"}]}}`,
		"NotResource":            `{"principalId":"u","policyDocument":{"Statement":[{` + ok + `,"NotResource":"x"}]}}`,
		"NotAction":              `{"principalId":"u","policyDocument":{"Statement":[{` + ok + `,"NotAction":"x"}]}}`,
		"policyDocument string":  `{"principalId":"u","policyDocument":"{}"}`,
		"context not object":     `{"principalId":"u","policyDocument":{"Statement":[{` + ok + `}]},"context":"x"}`,
		"context null value":     `{"principalId":"u","policyDocument":{"Statement":[{` + ok + `}]},"context":{"a":null}}`,
		"principalId null":       `{"principalId":null,"policyDocument":{"Statement":[{` + ok + `}]}}`,
	}
	for name, answer := range cases {
		if res, err := interpret([]byte(answer), false, false); err == nil {
			t.Errorf("%s: interpret accepted it: %+v", name, res)
		}
	}
}

func TestCompilePattern(t *testing.T) {
	cases := []struct {
		p    string
		kind patternKind
	}{
		{"*", patAny}, {"**", patAny}, {"arn:x", patExact}, {"", patExact},
		{"arn:x/*", patPrefix}, {"arn:*/x", patGlob}, {"arn:?", patGlob}, {"a?*", patGlob}, {"a**", patGlob},
	}
	for _, c := range cases {
		if got := compilePattern(c.p); got.kind != c.kind {
			t.Errorf("compilePattern(%q).kind = %d, want %d", c.p, got.kind, c.kind)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"?", "", false},
		{"a*b*c", "aXbYc", true}, {"a*b*c", "abc", true}, {"a*b*c", "acb", false},
		{"*/GET/*", "x/y/GET/z/w", true}, {"a?c", "aéc", true}, {"a??c", "aéc", false},
		{"*a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false}, {"a*a*a*a*b", strings.Repeat("a", 40), false},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
		if got, want := globMatch(c.p, c.s), globRegexp(c.p).MatchString(c.s); got != want {
			t.Errorf("globMatch(%q, %q) = %v, regexp says %v", c.p, c.s, got, want)
		}
	}
}

// globRegexp is the slow, obviously correct reading of an IAM wildcard
// pattern, to check globMatch against.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}
