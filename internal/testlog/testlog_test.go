package testlog

import (
	"testing"
)

func TestRepeatedKeys(t *testing.T) {
	for _, tt := range []struct {
		line string
		want bool
	}{
		{`{"msg":"x","a":1,"b":2}`, false},
		{`{"msg":"x","a":1,"a":2}`, true},
		{`{"msg":"x","g":{"a":1,"a":2}}`, true},
		{`{"msg":"x","g":[{"a":1},{"a":1}]}`, false},
		{`{"msg":"x","g":[{"a":1,"a":1}]}`, true},
		{`{"msg":"x","g":{"a":1},"h":{"a":1}}`, false},
		{`not json {"a":1,"a":1}`, false},
	} {
		var b Buffer
		b.Write([]byte(tt.line + "\n"))
		if got := len(b.RepeatedKeys()) > 0; got != tt.want {
			t.Errorf("%s: repeated %v, want %v", tt.line, got, tt.want)
		}
	}
	// What slog does with a key given by With and again by the call.
	log, b := New()
	log.With("issuer", "dev").Info("m", "issuer", "http://x")
	if len(b.RepeatedKeys()) != 1 {
		t.Fatalf("slog's repeated key not found in %s", b.String())
	}
}
