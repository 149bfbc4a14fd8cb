package sam_test

import (
	"strings"
	"testing"
)

// TestResourceConditions: a resource whose Condition is true is carried
// over, and one whose Condition is false is not, as CloudFormation would
// create them; a Condition that is not defined (a typo) or that refers to
// itself, which CloudFormation refuses, leaves the resource out with a
// note naming the condition instead of dropping the function and its
// routes without a word.
func TestResourceConditions(t *testing.T) {
	for _, c := range []struct {
		name, conditions, use string
		kept                  bool
		note                  string
	}{
		{name: "true", conditions: "IsDev: !Equals [!Ref Stage, dev]", use: "IsDev", kept: true},
		{name: "false", conditions: "IsProd: !Equals [!Ref Stage, prod]", use: "IsProd"},
		{name: "not defined", conditions: "IsProd: !Equals [!Ref Stage, prod]", use: "IsPord",
			note: `condition "IsPord" is not defined under Conditions`},
		{name: "refers to itself", conditions: "A: !Condition B\n  B: !And [!Condition A, !Equals [!Ref Stage, dev]]", use: "A",
			note: "refers to itself"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl := `Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  ` + c.conditions + `
Resources:
  Admin:
    Type: AWS::Serverless::Function
    Condition: ` + c.use + `
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: admin/
      Events:
        Stats: {Type: HttpApi, Properties: {Path: /admin/stats, Method: get}}
`
			res := importTemplate(t, tmpl)
			_, kept := res.Config.Functions["Admin"]
			if kept != c.kept || (len(res.Config.Routes) == 1) != c.kept {
				t.Errorf("function kept %t, routes %v; want kept %t", kept, res.Config.Routes, c.kept)
			}
			var notes []string
			for _, n := range res.Notes {
				notes = append(notes, n.String())
			}
			all := strings.Join(notes, "\n")
			if c.note != "" && !strings.Contains(all, c.note) {
				t.Errorf("notes lack %q:\n%s", c.note, all)
			}
			if c.note == "" && strings.Contains(all, "condition") {
				t.Errorf("a note about a well-defined condition:\n%s", all)
			}
		})
	}
}
