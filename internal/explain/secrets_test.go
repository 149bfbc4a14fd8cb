package explain

import (
	"net/http"
	"strings"
	"testing"
)

func TestConceal(t *testing.T) {
	var s secrets
	s.addRequest(http.Header{
		"Authorization": {"Bearer tok/en+with&odd=chars"},
		"Cookie":        {"session=cookie-secret-1; theme=dark-mode"},
		"X-Api-Key":     {"key-123456"},
		"Accept":        {"text/plain-not-a-secret"},
	})
	s.add("tok") // a shorter secret inside a longer one: the longer wins
	for _, tt := range []struct {
		name, in string
		gone     []string
		kept     []string
	}{
		{"header value", "Authorization: Bearer tok/en+with&odd=chars", []string{"tok/en"}, []string{"Authorization: Bearer <secret: 21 chars, sha256:"}},
		{"query escaped", "/q?t=tok%2Fen%2Bwith%26odd%3Dchars&x=1", []string{"tok%2Fen"}, []string{"&x=1"}},
		{"json escaped", `{"a":"tok/en+with\u0026odd=chars"}`, []string{"tok/en", "odd=chars"}, []string{`{"a":"<secret: `}},
		{"cookie pair", "cookies: [session=cookie-secret-1]", []string{"cookie-secret-1"}, []string{"session="}},
		{"whole cookie header", "session=cookie-secret-1; theme=dark-mode", []string{"cookie-secret-1", "dark-mode"}, nil},
		{"api key", "x-api-key=key-123456", []string{"key-123456"}, nil},
		{"not a secret", "text/plain-not-a-secret", nil, []string{"text/plain-not-a-secret"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := s.conceal(tt.in)
			for _, g := range tt.gone {
				if strings.Contains(out, g) {
					t.Errorf("%q still shows %q", out, g)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(out, k) {
					t.Errorf("%q lacks %q", out, k)
				}
			}
		})
	}
}

// A cookie's short value is no secret on its own: masking it everywhere
// would garble every "1" and "en" of the explanation. Its pair is masked
// after the name, the whole header as a whole.
func TestConcealCookieValues(t *testing.T) {
	var s secrets
	s.addRequest(http.Header{"Cookie": {"n=1; lang=en"}})
	for _, tt := range []struct{ in, want string }{
		{"HTTP/1.1 401 Unauthorized, Content-Length: 1", "HTTP/1.1 401 Unauthorized, Content-Length: 1"},
		{"cookies: [n=1 lang=en]", "cookies: [n=<secret: 1 chars, sha256:6b86b273> lang=<secret: 2 chars, sha256:"},
		{"Cookie: n=1; lang=en", "Cookie: <secret: 12 chars, sha256:"},
	} {
		if got := s.conceal(tt.in); !strings.HasPrefix(got, tt.want) {
			t.Errorf("conceal(%q) = %q, want %q...", tt.in, got, tt.want)
		}
	}
	var one secrets
	one.addRequest(http.Header{"Cookie": {"session=s3cr3t-value"}})
	if got := one.conceal("cookies: [session=s3cr3t-value]"); !strings.HasPrefix(got, "cookies: [session=<secret: 12 chars") {
		t.Errorf("single cookie: %q", got)
	}
}

func TestConcealJSON(t *testing.T) {
	var s secrets
	s.add("Bearer abc.def.ghi")
	out := string(s.concealJSON([]byte(`{"authorizationToken":"Bearer abc.def.ghi","headers":{"authorization":"Bearer abc.def.ghi"},"n":12345678901234567890,"list":["abc.def.ghi"]}`)))
	if strings.Contains(out, "abc.def") {
		t.Errorf("secret left in %s", out)
	}
	for _, want := range []string{`"authorization": "Bearer <secret: 11 chars, sha256:`, `"n": 12345678901234567890`, `"list": [`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q", out, want)
		}
	}
	// Not JSON: concealed as text, as a JSON string.
	if out := string(s.concealJSON([]byte("oops abc.def.ghi"))); strings.Contains(out, "abc.def") || !strings.HasPrefix(out, `"oops <secret`) {
		t.Errorf("non-JSON: %s", out)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"abc":        "<secret: 3 chars, sha256:ba7816bf>",
		"Bearer abc": "Bearer <secret: 3 chars, sha256:ba7816bf>",
		"a=b c":      "<secret: 5 chars, sha256:",
	} {
		if got := mask(in); !strings.HasPrefix(got, want) {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
