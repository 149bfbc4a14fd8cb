package jwtauth

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestClaimChecks(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.Audience = []string{"api", "api-2"}
	s.ClockSkew = 30 * time.Second
	s.CacheSize = -1
	a := newTestAuthorizer(t, s, Options{})
	noSkew := s
	noSkew.ClockSkew = 0
	b := newTestAuthorizer(t, noSkew, Options{})

	now := t0.Unix()
	tests := []struct {
		name   string
		a      *Authorizer
		mod    func(c jwt.MapClaims)
		reason string // "" means accepted
	}{
		{"baseline", a, func(c jwt.MapClaims) {}, ""},
		// iss
		{"iss other", a, func(c jwt.MapClaims) { c["iss"] = "https://other" }, ReasonBadIssuer},
		{"iss missing", a, func(c jwt.MapClaims) { delete(c, "iss") }, ReasonBadIssuer},
		{"iss not string", a, func(c jwt.MapClaims) { c["iss"] = []string{ti.Issuer()} }, ReasonBadIssuer},
		{"iss trailing slash", a, func(c jwt.MapClaims) { c["iss"] = ti.Issuer() + "/" }, ReasonBadIssuer},
		// aud
		{"aud second configured", a, func(c jwt.MapClaims) { c["aud"] = "api-2" }, ""},
		{"aud other", a, func(c jwt.MapClaims) { c["aud"] = "other" }, ReasonBadAudience},
		{"aud case differs", a, func(c jwt.MapClaims) { c["aud"] = "API" }, ReasonBadAudience},
		{"aud array match", a, func(c jwt.MapClaims) { c["aud"] = []any{"x", "api"} }, ""},
		{"aud array no match", a, func(c jwt.MapClaims) { c["aud"] = []any{"x", "y"} }, ReasonBadAudience},
		{"aud array non-strings", a, func(c jwt.MapClaims) { c["aud"] = []any{1, []string{"api"}} }, ReasonBadAudience},
		{"aud empty array", a, func(c jwt.MapClaims) { c["aud"] = []any{} }, ReasonBadAudience},
		{"aud number", a, func(c jwt.MapClaims) { c["aud"] = 1 }, ReasonBadAudience},
		{"aud absent, client_id match", a, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "api" }, ""},
		{"aud absent, client_id other", a, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "x" }, ReasonBadAudience},
		{"aud absent, client_id array", a, func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = []any{"api"} }, ReasonBadAudience},
		{"aud absent, no client_id", a, func(c jwt.MapClaims) { delete(c, "aud") }, ReasonBadAudience},
		{"aud mismatch, client_id match", a, func(c jwt.MapClaims) { c["aud"] = "x"; c["client_id"] = "api" }, ReasonBadAudience},
		{"aud null, client_id match", a, func(c jwt.MapClaims) { c["aud"] = nil; c["client_id"] = "api" }, ReasonBadAudience},
		// exp
		{"exp missing", a, func(c jwt.MapClaims) { delete(c, "exp") }, ReasonMissingExp},
		{"exp string", a, func(c jwt.MapClaims) { c["exp"] = "9999999999" }, ReasonMalformed},
		{"exp null", a, func(c jwt.MapClaims) { c["exp"] = nil }, ReasonMalformed},
		{"exp bool", a, func(c jwt.MapClaims) { c["exp"] = true }, ReasonMalformed},
		{"exp overflow", a, func(c jwt.MapClaims) { c["exp"] = json.Number("1e400") }, ReasonMalformed},
		{"exp huge", a, func(c jwt.MapClaims) { c["exp"] = 1e300 }, ""},
		{"exp negative", a, func(c jwt.MapClaims) { c["exp"] = -1 }, ReasonExpired},
		{"exp fractional valid", b, func(c jwt.MapClaims) { c["exp"] = float64(now) + 0.5 }, ""},
		{"exp fractional expired", b, func(c jwt.MapClaims) { c["exp"] = float64(now) - 0.001 }, ReasonExpired},
		{"exp = now, no skew", b, func(c jwt.MapClaims) { c["exp"] = now }, ReasonExpired},
		{"exp = now+1, no skew", b, func(c jwt.MapClaims) { c["exp"] = now + 1 }, ""},
		{"exp = now-skew", a, func(c jwt.MapClaims) { c["exp"] = now - 30 }, ReasonExpired},
		{"exp = now-skew+1", a, func(c jwt.MapClaims) { c["exp"] = now - 29 }, ""},
		// nbf
		{"nbf = now", b, func(c jwt.MapClaims) { c["nbf"] = now }, ""},
		{"nbf = now+1, no skew", b, func(c jwt.MapClaims) { c["nbf"] = now + 1 }, ReasonNotYetValid},
		{"nbf = now+skew", a, func(c jwt.MapClaims) { c["nbf"] = now + 30 }, ""},
		{"nbf = now+skew+1", a, func(c jwt.MapClaims) { c["nbf"] = now + 31 }, ReasonNotYetValid},
		{"nbf = now+skew+0.5", a, func(c jwt.MapClaims) { c["nbf"] = float64(now) + 30.5 }, ReasonNotYetValid},
		{"nbf string", a, func(c jwt.MapClaims) { c["nbf"] = "0" }, ReasonMalformed},
		{"nbf huge", a, func(c jwt.MapClaims) { c["nbf"] = 1e300 }, ReasonNotYetValid},
		{"nbf very negative", a, func(c jwt.MapClaims) { c["nbf"] = -1e300 }, ""},
		// iat
		{"iat = now+skew", a, func(c jwt.MapClaims) { c["iat"] = now + 30 }, ""},
		{"iat = now+skew+1", a, func(c jwt.MapClaims) { c["iat"] = now + 31 }, ReasonIssuedInFuture},
		{"iat = now+1, no skew", b, func(c jwt.MapClaims) { c["iat"] = now + 1 }, ReasonIssuedInFuture},
		{"iat missing", a, func(c jwt.MapClaims) { delete(c, "iat") }, ""},
		{"iat object", a, func(c jwt.MapClaims) { c["iat"] = map[string]any{} }, ReasonMalformed},
		// order: issuer before audience before exp
		{"order iss first", a, func(c jwt.MapClaims) { c["iss"] = "x"; c["aud"] = "x"; delete(c, "exp") }, ReasonBadIssuer},
		{"order aud before exp", a, func(c jwt.MapClaims) { c["aud"] = "x"; delete(c, "exp") }, ReasonBadAudience},
		{"order exp before nbf", a, func(c jwt.MapClaims) { c["exp"] = now - 100; c["nbf"] = now + 100 }, ReasonExpired},
		{"order nbf before iat", a, func(c jwt.MapClaims) { c["nbf"] = now + 100; c["iat"] = now + 100 }, ReasonNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ti.claims()
			tt.mod(c)
			tok := mint(t, jwt.SigningMethodES256, ti.keys.ec256, "ec256", c, nil)
			if tt.reason == "" {
				wantOK(t, tt.a, tok)
			} else {
				wantDenied(t, tt.a, tok, tt.reason)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{})
	c := ti.claims()
	c["big"] = json.Number("12345678901234567890")
	c["f"] = 1.5
	c["t"] = true
	c["no"] = false
	c["arr"] = []any{"a", 1, true, []any{"x", "y"}, map[string]any{"k": "v"}}
	c["obj"] = map[string]any{"k": "<v&>", "n": 1, "inner": map[string]any{"z": nil}}
	c["nul"] = nil
	c["scope"] = "read  write admin"
	c["exp"] = float64(t0.Unix()) + 3600.25
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", c, nil)
	id := wantOK(t, a, tok)

	want := map[string]string{
		"iss":   ti.Issuer(),
		"aud":   "api",
		"sub":   "user-1",
		"exp":   "1700003600.25",
		"iat":   "1699999940",
		"big":   "12345678901234567890",
		"f":     "1.5",
		"t":     "true",
		"no":    "false",
		"arr":   `[a 1 true [x y] {"k":"v"}]`,
		"obj":   `{"inner":{"z":null},"k":"<v&>","n":1}`,
		"scope": "read  write admin",
	}
	if got := id.Claims.Map(); !reflect.DeepEqual(got, want) {
		t.Fatalf("claims:\n got %#v\nwant %#v", got, want)
	}
	if id.Claims.Len() != len(want) {
		t.Fatalf("%d claims, want %d", id.Claims.Len(), len(want))
	}
	for name, v := range want {
		if got, ok := id.Claims.Get(name); !ok || got != v {
			t.Errorf("Get(%q) = %q, %v; want %q", name, got, ok, v)
		}
	}
	if v, ok := id.Claims.Get("nul"); ok {
		t.Errorf("null claim present: %q", v)
	}
	if !reflect.DeepEqual(id.Scopes, []string{"read", "write", "admin"}) {
		t.Fatalf("scopes = %q", id.Scopes)
	}
	if want := t0.Add(time.Hour + 250*time.Millisecond); !id.Expires.Equal(want) {
		t.Fatalf("expires = %v, want %v", id.Expires, want)
	}
	if id.Subject != "user-1" || id.KeyID != "rsa" {
		t.Fatalf("subject/kid = %q/%q", id.Subject, id.KeyID)
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		scope, scp string // JSON text, "" for absent
		want       []string
		required   []string
		has        bool
	}{
		{`"a b"`, "", []string{"a", "b"}, []string{"b"}, true},
		{`"a b"`, "", []string{"a", "b"}, []string{"c", "a"}, true},
		{`"a b"`, "", []string{"a", "b"}, []string{"c"}, false},
		{"", `"a b"`, []string{"a", "b"}, nil, true},
		{"", `["a",1,"b"]`, []string{"a", "b"}, []string{"b"}, true},
		{"", `[ "a" , [ "x" ] , {"b":"c"}, "b" ]`, []string{"a", "b"}, []string{"b"}, true},
		{"", `[]`, []string{}, nil, true},
		{`"x"`, `["a"]`, []string{"x"}, []string{"a"}, false},
		{`5`, `"a"`, []string{"a"}, []string{"a"}, true},
		{`null`, `["a"]`, []string{"a"}, []string{"a"}, true},
		{`" r\u0020w "`, "", []string{"r", "w"}, []string{"w"}, true},
		{"", "", nil, nil, true},
		{"", "", nil, []string{"a"}, false},
		{`5`, "", nil, []string{"5"}, false},
		{"", `{"a":1}`, nil, []string{"a"}, false},
	}
	for i, tt := range tests {
		// As checkClaims does: the claims that are strings are in the text.
		var b claimsBuilder
		for _, m := range [][2]string{{"scope", tt.scope}, {"scp", tt.scp}} {
			if m[1] != "" && m[1] != "null" {
				b.add(m[0], m[1])
			}
		}
		var sc scopeSource
		sc.read(&b, tt.scope, tt.scp)
		id := &Identity{Scopes: sc.scopes(b.claims())}
		if !reflect.DeepEqual(id.Scopes, tt.want) {
			t.Errorf("%d: scopes = %q, want %q", i, id.Scopes, tt.want)
		}
		if got := id.HasAnyScope(tt.required); got != tt.has {
			t.Errorf("%d: HasAnyScope(%q) = %v", i, tt.required, got)
		}
	}
}

func TestSecondsToTime(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want time.Time
	}{
		{0, time.Unix(0, 0)},
		{1.5, time.Unix(1, 5e8)},
		{-1.5, time.Unix(-2, 5e8)},
		{1e300, time.Unix(0, 0).Add(time.Duration(1<<63 - 1)).Truncate(time.Second).Add(-time.Second)},
	} {
		got := secondsToTime(tt.in)
		if tt.in == 1e300 {
			if got.Year() != 2262 {
				t.Errorf("secondsToTime(1e300) = %v", got)
			}
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("secondsToTime(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
