package sam_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
)

// TestServeRESTAPIKeys: a REST API whose Auth.ApiKeyRequired covers every
// route but one (the event's ApiKeyRequired: false wins), with the usage
// plan SAM creates for it (PER_API): the routes keep their key requirement
// and the plan its quota and throttle; once the user has made a key as the
// import's note says, a request without it is 403, with it 200 until the
// quota is used up (429), and the open route needs none.
func TestServeRESTAPIKeys(t *testing.T) {
	python3OnPath(t)
	cfg, stderr := importFile(t, "testdata/rest-apikeys/template.yaml")
	wantText(t, cfg, "- route: GET /reports\n    api_key_required: true\n", "api_keys:\n  source: HEADER\n",
		"usage_plans:\n  ReportsApiUsagePlan:\n    throttle:\n      rate: 5\n      burst: 10\n    quota:\n      limit: 2\n      period: DAY\n")
	if text, _ := os.ReadFile(cfg); strings.Contains(string(text), "GET /health\n    api_key_required") {
		t.Errorf("GET /health requires a key, though its event says ApiKeyRequired: false:\n%s", text)
	}
	wantStderr(t, stderr, "portcullis apikey create -c CONFIG --name NAME --plan ReportsApiUsagePlan")
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"apikey", "create", "-c", cfg, "--name", "partner", "--plan", "ReportsApiUsagePlan"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("apikey create: exit %d\n%s", code, errOut.String())
	}
	key := []string{"X-Api-Key", strings.TrimSpace(out.String())}
	base := serve(t, cfg)
	check(t, base, []exchange{
		{"GET", "/reports", nil, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/reports", []string{"X-Api-Key", "not-a-key-0123456789abcdef"}, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/reports", key, 200, `"resource": "/reports"`, true},
		{"GET", "/reports", key, 200, `"resource": "/reports"`, true},
		{"GET", "/reports", key, 429, `{"message":"Limit Exceeded"}`, false},
		{"GET", "/health", nil, 200, `{"apiKeyId": null, "resource": "/health"}`, false},
	})
}
