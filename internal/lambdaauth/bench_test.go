package lambdaauth

import (
	"context"
	"testing"
	"time"
)

func BenchmarkEvaluate(b *testing.B) {
	answer := []byte(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Action":"execute-api:Invoke","Resource":["` + testARNPrefix + `DELETE/*","` + testARNPrefix + `*/admin/*"]},
		{"Effect":"Allow","Action":["execute-api:Invoke"],"Resource":["` + testARNPrefix + `POST/orders","` + testARNPrefix + `GET/pets/*/toys/?"]},
		{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/pets/*"}]}}`)
	res, err := interpret(answer, false, false)
	if err != nil {
		b.Fatal(err)
	}
	arn := testARNPrefix + "GET/pets/42/photos/7"
	b.ReportAllocs()
	for b.Loop() {
		if res.policy.evaluate(arn) != effectAllow {
			b.Fatal("not allowed")
		}
	}
}

func BenchmarkBuildEvent(b *testing.B) {
	for _, c := range []struct {
		name string
		mod  func(*Settings)
	}{
		{"token", func(*Settings) {}},
		{"v1-request", func(s *Settings) { s.EventType = "REQUEST" }},
		{"v2-request", func(s *Settings) {
			s.PayloadFormatVersion, s.EventType = "2.0", ""
			s.IdentitySources = []string{"$request.header.Authorization"}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			a := mustNew(b, with(baseSettings(), c.mod), newInvoker(tokenHandler), Options{})
			r := realRequest()
			values, ok := a.identityValues(r)
			if !ok {
				b.Fatal("no identity")
			}
			arn := a.methodARN(r.HTTP)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.buildEvent(r, values, arn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthorizeCached is the hot path: identity, cache hit, per-ARN
// evaluation.
func BenchmarkAuthorizeCached(b *testing.B) {
	a := mustNew(b, with(baseSettings(), cached(time.Hour)), newInvoker(tokenHandler), Options{})
	r := get("/pets/1", "Authorization", "Bearer allow")
	ctx := context.Background()
	if d := a.Authorize(ctx, r); !d.Allow {
		b.Fatal(d)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := a.Authorize(ctx, r); !d.Allow || !d.Cached {
			b.Fatal(d)
		}
	}
}

// BenchmarkAuthorizeUncached is what result_ttl 0 costs the gateway per
// request besides the invocation itself: the event, the answer's parsing
// and the policy's evaluation.
func BenchmarkAuthorizeUncached(b *testing.B) {
	out := []byte(`{"principalId":"abc","policyDocument":{"Version":"2012-10-17","Statement":[` +
		`{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + testARNPrefix + `GET/pets/1"]}]}}`)
	a := mustNew(b, baseSettings(), invokerFunc(func(context.Context, []byte) ([]byte, error) { return out, nil }), Options{})
	r := get("/pets/1", "Authorization", "Bearer allow")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := a.Authorize(ctx, r); !d.Allow || d.Cached {
			b.Fatal(d)
		}
	}
}
