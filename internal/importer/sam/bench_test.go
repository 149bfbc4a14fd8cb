package sam_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/sam"
)

// bigTemplate is a template with routes routes over 10 Go functions (the
// rest-token functions' code) behind a Lambda TOKEN authorizer.
func bigTemplate(routes int) []byte {
	var b strings.Builder
	b.WriteString("Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Runtime: go1.x\nResources:\n")
	b.WriteString("  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: Prod\n      Auth:\n        DefaultAuthorizer: Tok\n        Authorizers:\n          Tok:\n            FunctionArn: !GetAtt Auth.Arn\n")
	b.WriteString("  Auth:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./rest-token/authorizer\n      Handler: authorizer\n")
	for f := range 10 {
		fmt.Fprintf(&b, "  Fn%d:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./rest-token/hello\n      Handler: hello\n      Environment:\n        Variables:\n          NAME: !Sub \"${AWS::StackName}-fn%d\"\n      Events:\n", f, f)
		for r := f; r < routes; r += 10 {
			fmt.Fprintf(&b, "        E%d:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: /r%d/{id}\n            Method: get\n", r, r)
		}
	}
	return []byte(b.String())
}

// BenchmarkImport200Routes: importing and writing a 200-route template.
func BenchmarkImport200Routes(b *testing.B) {
	data := bigTemplate(200)
	for b.Loop() {
		res, err := sam.Import(data, sam.Options{Source: "big.yaml", Dir: "testdata"})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Config.Routes) != 200 {
			b.Fatalf("%d routes", len(res.Config.Routes))
		}
		if _, err := importer.Render(res, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStart200Routes: starting the gateway the 200-route import
// produces, its 11 Go functions already built: go build's no-op check,
// building the gateway and starting (then stopping) the function processes.
func BenchmarkStart200Routes(b *testing.B) {
	res, err := sam.Import(bigTemplate(200), sam.Options{Source: "big.yaml", Dir: "testdata"})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	importer.Rebase(&res.Config, "testdata", dir)
	res.Config.Listen = "127.0.0.1:0"
	text, err := importer.Render(res, "")
	if err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(dir, "portcullis.yaml")
	os.WriteFile(cfg, text, 0o644)
	f, err := config.Load(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gateway.BuildGoFunctions(f); err != nil { // the first build, not measured
		b.Fatal(err)
	}
	for b.Loop() {
		g, err := gateway.Build(f, gateway.Deps{BuildGo: true})
		if err != nil {
			b.Fatal(err)
		}
		g.Start(context.Background())
		g.Close(nil)
	}
}
