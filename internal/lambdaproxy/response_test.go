package lambdaproxy

import (
	"context"
	"errors"
	"math"
	"net/http"
	"reflect"
	"testing"
)

// TestParseResponseEdges covers answers the shapes function does not give.
func TestParseResponseEdges(t *testing.T) {
	cases := []struct {
		version, out string
		ok           bool
		header       http.Header
		body         string
	}{
		{"1.0", `{"statusCode":200,"headers":{"X-A":["x"]}}`, false, nil, ""},
		{"1.0", `{"statusCode":200,"headers":{"X-A":{"b":1}}}`, false, nil, ""},
		{"1.0", `{"statusCode":200,"headers":[]}`, false, nil, ""},
		{"1.0", `{"statusCode":200,"multiValueHeaders":{"X-A":"x"}}`, false, nil, ""},
		{"1.0", `{"statusCode":200,"multiValueHeaders":[]}`, false, nil, ""},
		{"1.0", `{"statusCode":200,"multiValueHeaders":{"X-A":[{"a":1}]}}`, false, nil, ""},
		{"1.0", `{"statusCode":200,"isBase64Encoded":"true","body":"eA=="}`, false, nil, ""},
		{"1.0", `{"statusCode":"200"}`, false, nil, ""},
		{"1.0", `{"statusCode":200.5}`, false, nil, ""},
		{"1.0", `{"statusCode":null}`, false, nil, ""},
		{"1.0", `[1]`, false, nil, ""},
		{"1.0", ``, false, nil, ""},
		{"2.0", `{"statusCode":200,"cookies":[1]}`, false, nil, ""},
		{"2.0", `{"statusCode":200,"cookies":"a=1"}`, false, nil, ""},
		{"2.0", `not json`, false, nil, ""},
		// Nulls are "nothing"; a multi-value entry, even empty or all null,
		// replaces the single value; names are matched case-insensitively.
		{"1.0", `{"statusCode":200,"headers":{"x-a":"1","X-B":null,"x-c":"3"},"multiValueHeaders":{"X-A":[],"x-c":[null,"4"],"X-D":null}}`, true,
			http.Header{"X-C": {"4"}, "Content-Type": {"application/json"}}, ""},
		// aws-lambda-go's V2 response type with nothing set.
		{"2.0", `{"statusCode":200,"headers":null,"multiValueHeaders":null,"body":"","cookies":null}`, true,
			http.Header{"Content-Type": {"application/json"}}, ""},
		{"2.0", "  \n{\"statusCode\":302,\"headers\":{\"location\":\"/x\",\"content-type\":\"text/html\"}}\n", true,
			http.Header{"Location": {"/x"}, "Content-Type": {"text/html"}}, ""},
		// Names that are not HTTP tokens are dropped, in headers and in
		// multiValueHeaders; every tchar is kept.
		{"1.0", `{"statusCode":200,"headers":{"X A":"1","X-A(1)":"2","X-Ä":"3","X-A\u0001":"4","X:A":"5","!#$%&'*+-.^_|~":"6"},"multiValueHeaders":{"X,B":["7"],"X-B":["8"]}}`, true,
			http.Header{"!#$%&'*+-.^_|~": {"6"}, "X-B": {"8"}, "Content-Type": {"application/json"}}, ""},
		{"2.0", `{"statusCode":200,"headers":{"X-A(1)":"2","X-Ä":"3","X-\u007f":"4","X-OK":"5"}}`, true,
			http.Header{"X-Ok": {"5"}, "Content-Type": {"application/json"}}, ""},
		{"2.0", "null", true, http.Header{"Content-Type": {"application/json"}}, "null"},
		{"1.0", `{"statusCode":200,"body":"eA","isBase64Encoded":true}`, true, http.Header{"Content-Type": {"application/json"}}, "x"},
		{"1.0", `{"statusCode":200,"body":"eA=","isBase64Encoded":true}`, false, nil, ""},
		{"1.0", `{"statusCode":200,"body":"eA==","isBase64Encoded":true}`, true, http.Header{"Content-Type": {"application/json"}}, "x"},
		{"1.0", `{"statusCode":200,"body":null,"isBase64Encoded":null}`, true, http.Header{"Content-Type": {"application/json"}}, ""},
	}
	for _, c := range cases {
		res, err := parseResponse(c.version, []byte(c.out), 1024)
		if !c.ok {
			if err == nil || !errors.Is(err, errBadResponse) {
				t.Errorf("%s %s: accepted (%v)", c.version, c.out, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.version, c.out, err)
			continue
		}
		if !reflect.DeepEqual(res.header, c.header) || string(res.body) != c.body {
			t.Errorf("%s %s: header %v body %q, want %v %q", c.version, c.out, res.header, res.body, c.header, c.body)
		}
	}
}

// TestEventError: a Lambda context that cannot be JSON (NaN) is a gateway
// error, answered without invoking.
func TestEventError(t *testing.T) {
	called := false
	i := mustNew(t, baseSettings("2.0"), invokerFunc(func(context.Context, []byte) ([]byte, error) {
		called = true
		return nil, nil
	}))
	r := realRequest()
	r.Authorizer = Authorizer{Lambda: true, LambdaContext: map[string]any{"x": math.NaN()}}
	rec, reason := serve(t, i, r)
	if rec.Code != 500 || reason != ReasonEvent || called {
		t.Errorf("got %d %q, called %v", rec.Code, reason, called)
	}
}
