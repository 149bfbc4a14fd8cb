// tokenauth is a REST TOKEN authorizer like the seed example: it verifies the
// bearer JWT against the JWKS at $JWKS_URL and allows the caller on every
// method of the API, with the token's claims as context.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/MicahParks/jwkset"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/golang-jwt/jwt/v5"
)

var (
	once sync.Once
	keys map[string]any
	kerr error
)

func loadKeys() {
	resp, err := http.Get(os.Getenv("JWKS_URL"))
	if err != nil {
		kerr = err
		return
	}
	defer resp.Body.Close()
	var set jwkset.JWKSMarshal
	if kerr = json.NewDecoder(resp.Body).Decode(&set); kerr != nil {
		return
	}
	keys = map[string]any{}
	for _, m := range set.Keys {
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err == nil {
			keys[m.KID] = k.Key()
		}
	}
}

func handler(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	once.Do(loadKeys)
	if kerr != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("loading keys: %w", kerr)
	}
	raw := strings.TrimPrefix(ev.AuthorizationToken, "Bearer ")
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	sub, _ := claims["sub"].(string)
	// arn:aws:execute-api:region:account:api/stage/METHOD/path → allow api/stage/*
	parts := strings.SplitN(ev.MethodArn, "/", 3)
	resource := parts[0] + "/" + parts[1] + "/*"
	effect := "Allow"
	if sub == "blocked" {
		effect = "Deny"
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: sub,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}}},
		},
		Context: present(claims, "tenant", "scope"),
	}, nil
}

// present copies the named claims that the token has: a REST authorizer's
// context may hold only strings, numbers and booleans, never null.
func present(c jwt.MapClaims, names ...string) map[string]any {
	out := map[string]any{}
	for _, n := range names {
		if v, ok := c[n]; ok && v != nil {
			out[n] = v
		}
	}
	return out
}

func main() { lambda.Start(handler) }
