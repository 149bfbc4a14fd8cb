package lambdaproxy

import (
	"encoding/json"
	"testing"
)

// TestJWTClaimsJSONKeepTypes: a REST-shape jwt authorizer's claims reach
// the event with their JSON types, in payload 1.0 and 2.0; HTTP API claims
// stay strings.
func TestJWTClaimsJSONKeepTypes(t *testing.T) {
	rest := &Authorizer{JWT: true, JWTClaims: map[string]string{"iat": "1516239022"}, JWTClaimsJSON: map[string]json.RawMessage{
		"iat": json.RawMessage(`1516239022`), "roles": json.RawMessage(`["user","editor"]`), "name": json.RawMessage(`"Z\u00FCrich"`),
	}}
	http := &Authorizer{JWT: true, JWTClaims: map[string]string{"iat": "1516239022"}}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"1.0 rest", authorizerV1(rest), `{"claims":{"iat":1516239022,"name":"Z\u00FCrich","roles":["user","editor"]},"scopes":null}`},
		{"2.0 rest", authorizerV2Of(rest), `{"jwt":{"claims":{"iat":1516239022,"name":"Z\u00FCrich","roles":["user","editor"]},"scopes":null}}`},
		{"1.0 http", authorizerV1(http), `{"claims":{"iat":"1516239022"},"scopes":null}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, b, tc.want)
		}
	}
}
