package openapi

import (
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestImportAPIFromServers: an API Gateway export names its API, region
// and stage in its server URL (OpenAPI 3's servers with a basePath
// variable, Swagger 2's host and basePath); they become the api block, so
// functions see the same requestContext.apiId and stage as on AWS. A URL
// that is not execute-api's leaves the api block unset.
func TestImportAPIFromServers(t *testing.T) {
	const paths = "paths:\n  /a:\n    get:\n      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{\"statusCode\": 200}'}}\n"
	for _, c := range []struct {
		name, head string
		want       config.API
	}{
		{name: "REST export (OpenAPI 3)", want: config.API{ID: "q1w2e3r4t5", Stage: "prod", Region: "us-west-2"},
			head: "openapi: 3.0.1\ninfo: {title: t, version: '1'}\nservers:\n  - url: https://q1w2e3r4t5.execute-api.us-west-2.amazonaws.com/{basePath}\n    variables: {basePath: {default: prod}}\n"},
		{name: "REST export (Swagger 2)", want: config.API{ID: "q1w2e3r4t5", Stage: "v2", Region: "eu-central-1"},
			head: "swagger: '2.0'\ninfo: {title: t, version: '1'}\nhost: q1w2e3r4t5.execute-api.eu-central-1.amazonaws.com\nbasePath: /v2\nschemes: [https]\n"},
		{name: "HTTP API export ($default stage)", want: config.API{ID: "a1b2c3d4e5", Region: "eu-west-1"},
			head: "openapi: 3.0.1\ninfo: {title: t, version: '1'}\nservers:\n  - url: https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/{basePath}\n    variables: {basePath: {default: ''}}\n"},
		{name: "another server",
			head: "openapi: 3.0.1\ninfo: {title: t, version: '1'}\nservers:\n  - url: https://api.example.com/v1\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Import([]byte(c.head+paths), Options{Source: "api.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Config.API != c.want {
				t.Errorf("api %+v; want %+v", res.Config.API, c.want)
			}
			if len(res.Config.Routes) != 1 {
				t.Errorf("routes %+v", res.Config.Routes)
			}
		})
	}
}
