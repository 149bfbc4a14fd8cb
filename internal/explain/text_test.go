package explain

import (
	"strings"
	"testing"
)

// TestTextCountsOtherRoutesInWords: the routes a cached Lambda answer does
// not decide are counted in English, "1 route ... is", "2 routes ... are".
func TestTextCountsOtherRoutesInWords(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, "1 route with another authorizer or none is not affected\n"},
		{2, "2 routes with another authorizer or none are not affected\n"},
		{3, "3 routes with another authorizer or none are not affected\n"},
	} {
		r := &Report{Lambda: &LambdaPart{MethodARN: "arn:aws:execute-api:us-east-1:0:api/$default/GET/x", Invoked: true,
			Cache: &CachePart{TTLSeconds: 300, Stores: "the policy", OtherAuthorizers: tc.n}}}
		var b strings.Builder
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%d other routes: the text lacks %q:\n%s", tc.n, tc.want, b.String())
		}
	}
	// Not cached: no entry, no count.
	r := &Report{Lambda: &LambdaPart{MethodARN: "arn:aws:execute-api:us-east-1:0:api/$default/GET/x", Invoked: true,
		Cache: &CachePart{Stores: "nothing", OtherAuthorizers: 2}}}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "not affected") {
		t.Errorf("uncached, yet counted:\n%s", b.String())
	}
}
