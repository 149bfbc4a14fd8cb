package cli

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/explain"
)

// TestWriteVerifyAllowsOnlyAnAllowedOutcome: token verify prints ALLOW and
// exits 0 only for an explanation whose outcome is Allowed; any other
// outcome, an unknown one included, is no pass (fail closed).
func TestWriteVerifyAllowsOnlyAnAllowedOutcome(t *testing.T) {
	for _, tt := range []struct {
		outcome explain.Outcome
		code    int
		want    string
	}{
		{explain.Allowed, exitOK, "decision   ✓ ALLOW"},
		{explain.Denied, exitFailed, "decision   ✗ DENY: 403"},
		{explain.Undecided, exitUndecided, "decision   · UNDECIDED"},
		{"", exitFailed, "decision   ✗ DENY: 403"},
		{"unknown", exitFailed, "decision   ✗ DENY: 403"},
	} {
		t.Run(string(tt.outcome), func(t *testing.T) {
			rep := &explain.Report{
				Route:    explain.RoutePart{Matched: true, Key: "GET /a"},
				Outcome:  tt.outcome,
				Decision: "UNDECIDED: ALLOW unless the token is revoked",
				Response: explain.ResponsePart{Status: 403, Body: `{"message":"Forbidden"}`},
			}
			var out strings.Builder
			if code := writeVerify(&out, "GET", "/a", rep); code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out.String())
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}
