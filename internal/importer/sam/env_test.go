package sam_test

import (
	"strings"
	"testing"
)

// TestFunctionEnvironment: what a function's Environment.Variables become.
// A dynamic reference ({{resolve:...}}) is an AWS value wherever it
// stands, also when !Sub or !Join builds it (the common way to put the
// stage in an SSM name): it becomes a placeholder with a note, never the
// literal {{resolve:...}} text; a variable whose value is AWS::NoValue is
// removed, as CloudFormation removes it, not set to "".
func TestFunctionEnvironment(t *testing.T) {
	for _, c := range []struct {
		name, value string
		want        string // "" with absent: the variable is not set
		absent      bool
		note        string
	}{
		{name: "plain dynamic reference", value: `'{{resolve:ssm:/pets/param}}'`, want: "${SSM__pets_param}", note: "ssm value (/pets/param) lives in AWS"},
		{name: "dynamic reference in Sub", value: `!Sub '{{resolve:ssm:/pets/${Stage}/param}}'`, want: "${SSM__pets_dev_param}", note: "ssm value (/pets/dev/param) lives in AWS"},
		{name: "dynamic reference in Sub with variables", value: "!Sub ['{{resolve:secretsmanager:${S}:SecretString:password}}', {S: !Sub 'db-${Stage}'}]", want: "${SECRETSMANAGER_db_dev}", note: "secretsmanager value (db-dev) lives in AWS"},
		{name: "dynamic reference in Join", value: `!Join ['', ['{{resolve:ssm:/pets/', !Ref Stage, '/param}}']]`, want: "${SSM__pets_dev_param}", note: "ssm value (/pets/dev/param) lives in AWS"},
		{name: "text around the reference", value: `!Sub 'postgres://app@{{resolve:ssm:/db/${Stage}/host}}:5432/app'`, want: "postgres://app@${SSM__db_dev_host}:5432/app", note: "ssm value (/db/dev/host)"},
		{name: "Sub without a reference", value: `!Sub 'pets-${Stage}'`, want: "pets-dev"},
		{name: "ImportValue", value: `!ImportValue shared-bus`, want: "${ImportValue_VALUE}", note: "Fn::ImportValue cannot be resolved outside AWS"},
		{name: "unknown tag", value: `!Sub2 'pets-${Stage}'`, want: "${Sub2_VALUE}", note: "Fn::Sub2 is not a CloudFormation intrinsic function"},
		{name: "NoValue", value: `!Ref AWS::NoValue`, absent: true},
		{name: "If to NoValue", value: `!If [IsProd, prod-only, !Ref AWS::NoValue]`, absent: true},
		{name: "If to a value", value: `!If [IsDev, dev-only, !Ref AWS::NoValue]`, want: "dev-only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl := `Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Equals [!Ref Stage, dev]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: fn/
      Environment:
        Variables:
          KEEP: kept
          VALUE: ` + c.value + "\n"
			res := importTemplate(t, tmpl)
			env := res.Config.Functions["Fn"].Env
			got, set := env["VALUE"]
			switch {
			case env["KEEP"] != "kept":
				t.Errorf("env %v lost KEEP", env)
			case c.absent && set:
				t.Errorf("VALUE = %q; want it removed (AWS::NoValue)", got)
			case !c.absent && got != c.want:
				t.Errorf("VALUE = %q; want %q", got, c.want)
			}
			var notes []string
			for _, n := range res.Notes {
				notes = append(notes, n.String())
			}
			if all := strings.Join(notes, "\n"); c.note != "" && !strings.Contains(all, c.note) {
				t.Errorf("notes lack %q:\n%s", c.note, all)
			}
		})
	}
}
