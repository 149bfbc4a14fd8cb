package sam_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestCORS: an HttpApi's CorsConfiguration is merged over its definition's
// x-amazon-apigateway-cors, the property winning key by key, as SAM does;
// another API's CORS is noted rather than mixed in (one API's CORS is
// served), and a REST API's Cors is noted with the block it would be.
func TestCORS(t *testing.T) {
	tmpl := `Transform: AWS::Serverless-2016-10-31
Resources:
  MainApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [https://app.example.com]
        AllowCredentials: true
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: main, version: "1"}
        x-amazon-apigateway-cors:
          allowOrigins: ["https://old.example.com"]
          allowMethods: [GET, POST]
          maxAge: 120
        paths: {}
  OtherApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: https://other.example.com
  RestApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Cors: "'https://rest.example.com'"` + pythonFn(`
        A: {Type: HttpApi, Properties: {ApiId: !Ref MainApi, Path: /a, Method: get}}
        B: {Type: HttpApi, Properties: {ApiId: !Ref MainApi, Path: /b, Method: get}}
        C: {Type: HttpApi, Properties: {ApiId: !Ref OtherApi, Path: /c, Method: get}}
        D: {Type: Api, Properties: {RestApiId: !Ref RestApi, Path: /d, Method: get}}`)
	res := importTemplate(t, tmpl)
	maxAge := 120
	want := &config.CORS{
		AllowOrigins:     []string{"https://app.example.com"},
		AllowMethods:     []string{"GET", "POST"},
		MaxAge:           &maxAge,
		AllowCredentials: true,
	}
	if !reflect.DeepEqual(res.Config.CORS, want) {
		t.Errorf("cors = %+v, want %+v", res.Config.CORS, want)
	}
	var notes []string
	for _, n := range res.Notes {
		if n.Path == "cors" {
			notes = append(notes, n.String())
		}
	}
	for _, w := range []string{"OtherApi.Properties.CorsConfiguration (at cors): Portcullis serves one API's CORS configuration, MainApi's",
		"RestApi.Properties.Cors (at cors): a REST API's Cors only answers preflights"} {
		found := false
		for _, n := range notes {
			found = found || strings.Contains(n, w)
		}
		if !found {
			t.Errorf("no note saying %q in %q", w, notes)
		}
	}
}
