package sam

import (
	"fmt"
	"strings"
	"testing"
)

// TestParseBoundsAliases: YAML aliases are expanded into the template's
// values, so a few lines of aliases of aliases (a "billion laughs") would
// make 2^30 values and exhaust memory; parse refuses a template whose
// aliases expand to more than maxAliasValues values, and still reads one
// that reuses a block a few times. (CloudFormation itself accepts no
// aliases; sam local does.)
func TestParseBoundsAliases(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("Resources: {}\nMappings:\n  a0: &a0 [x, x]\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&bomb, "  a%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
	}
	if _, _, err := parse([]byte(bomb.String())); err == nil || !strings.Contains(err.Error(), "aliases") {
		t.Errorf("a billion laughs: err = %v; want the aliases refused", err)
	}

	reuse := "Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: &props\n      Runtime: python3.12\n      Handler: app.handler\n" +
		"  B:\n    Type: AWS::Serverless::Function\n    Properties: *props\n"
	tmpl, _, err := parse([]byte(reuse))
	if err != nil {
		t.Fatal(err)
	}
	if h := asMap(asMap(asMap(tmpl["Resources"])["B"])["Properties"])["Handler"]; h != "app.handler" {
		t.Errorf("the alias read as %v", h)
	}
}
