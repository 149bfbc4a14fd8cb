// Package verify lets a backend verify, again, the token Portcullis forwarded
// to it. A backend that trusts whatever reaches it is open to anyone who can
// reach it directly; with this package it checks the token against the same
// issuer configuration, with the same code the gateway runs (not a copy), and
// answers 401 and 403 exactly as the gateway does.
//
//	v, err := verify.New(ctx, verify.Config{Issuer: "https://issuer.example.com", Audience: []string{"orders-api"}})
//	http.Handle("/orders/", v.Middleware(orders))   // orders reads verify.ClaimsFrom(r.Context())
package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/identity"
	"github.com/portcullis/portcullis/internal/jwtauth"
)

// Config is the issuer to trust, with the meaning of the gateway's `type: jwt`
// authorizer settings of the same names.
type Config struct {
	Issuer     string   // required; compared exactly with iss
	Audience   []string // required; aud must contain one (or client_id, when aud is absent)
	JWKSURI    string   // optional; default is OIDC discovery from Issuer
	JWKSFile   string   // optional: static JWKS or PEM public keys, no network
	Algorithms []string // optional allow-list
	HMACSecret []byte   // optional: enables HS256/384/512
	ClockSkew  time.Duration

	// IdentitySource is where the token is read, default
	// "$request.header.Authorization" (a "Bearer " prefix is removed).
	IdentitySource string
	// Scopes, if set, are required by Middleware: the token needs any one.
	Scopes []string
}

// Claims is the verified caller. Scopes is shared between requests: do not
// modify it.
type Claims struct {
	Subject string
	Scopes  []string
	Expires time.Time
	// Values holds every claim stringified as AWS does for
	// $context.authorizer.claims (arrays "[a b]", objects as JSON). A new
	// map on each call: the verified-token cache keeps the claims in a
	// compact form.
	Values map[string]string
	// Raw holds the decoded claims, numbers as json.Number, null claims
	// included. Decoded from the verified token on each call: the cache
	// keeps only the stringified values, to stay small.
	Raw map[string]any
}

// HasAnyScope reports whether the token holds one of required (true when
// required is empty).
func (c *Claims) HasAnyScope(required ...string) bool {
	if len(required) == 0 {
		return true
	}
	for _, want := range required {
		for _, have := range c.Scopes {
			if have == want {
				return true
			}
		}
	}
	return false
}

// Verifier checks tokens. Safe for concurrent use.
type Verifier struct {
	auth   tokenVerifier
	source identity.Source
	scopes []string
}

// tokenVerifier is the gateway's verification of a jwt authorizer: one
// issuer (*jwtauth.Authorizer) or several (*jwtauth.Issuers, an authorizer
// with `issuers:`).
type tokenVerifier interface {
	Verify(ctx context.Context, token string) (*jwtauth.Identity, error)
	Ready() bool
}

// New builds a Verifier and keeps its keys fresh until ctx is done.
func New(ctx context.Context, c Config) (*Verifier, error) {
	src := c.IdentitySource
	if src == "" {
		src = "$request.header.Authorization"
	}
	source, err := identity.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	a, err := jwtauth.New(jwtauth.Settings{
		Name:       "verify",
		Issuer:     c.Issuer,
		Audience:   c.Audience,
		JWKSURI:    c.JWKSURI,
		JWKSFile:   c.JWKSFile,
		Algorithms: c.Algorithms,
		HMACSecret: c.HMACSecret,
		ClockSkew:  c.ClockSkew,
	}, jwtauth.Options{})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	a.Start(ctx)
	return &Verifier{auth: a, source: source, scopes: c.Scopes}, nil
}

// FromGatewayConfig builds a Verifier from the JWT authorizer named
// authorizer in a Portcullis configuration file, so gateway and backend
// cannot drift apart. An authorizer with `issuers:` gives a Verifier that
// trusts each of them as the gateway does (its audiences, keys and
// additional_claims rules).
func FromGatewayConfig(ctx context.Context, path, authorizer string) (*Verifier, error) {
	f, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	a, ok := f.Config.Authorizers[authorizer]
	if !ok || a.Type != "jwt" {
		var names []string
		for name, a := range f.Config.Authorizers {
			if a.Type == "jwt" {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		return nil, fmt.Errorf("verify: %s has no jwt authorizer %q (its jwt authorizers: %s)", path, authorizer, strings.Join(names, ", "))
	}
	if len(a.Issuers) > 0 {
		return fromIssuers(ctx, f, authorizer, a)
	}
	c := Config{
		Issuer:     a.Issuer,
		Audience:   a.Audience,
		JWKSURI:    a.JWKSURI,
		JWKSFile:   f.Resolve(a.JWKSFile),
		Algorithms: a.Algorithms,
		ClockSkew:  a.ClockSkew.Std(),
	}
	if a.HMACSecret != "" {
		c.HMACSecret = []byte(a.HMACSecret)
	}
	if len(a.IdentitySource) == 1 {
		c.IdentitySource = a.IdentitySource[0]
	}
	return New(ctx, c)
}

// fromIssuers is FromGatewayConfig for an authorizer with `issuers:`.
func fromIssuers(ctx context.Context, f *config.File, name string, a config.Authorizer) (*Verifier, error) {
	src := "$request.header.Authorization"
	if len(a.IdentitySource) == 1 {
		src = a.IdentitySource[0]
	}
	source, err := identity.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	list := jwtauth.IssuerSettings(f, a)
	m, err := jwtauth.NewIssuers(name, list, jwtauth.Options{}, nil)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	m.Start(ctx)
	return &Verifier{auth: m, source: source}, nil
}

// Ready reports whether the verifier holds the issuer's keys.
func (v *Verifier) Ready() bool { return v.auth.Ready() }

// ErrNoToken is returned by VerifyRequest when the request carries no token.
var ErrNoToken = errors.New("verify: no token in the request")

// Verify checks a bare token. A bad token returns an error whose message
// says which check failed; it never contains the token.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	id, err := v.auth.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	raw, err := payload(token)
	if err != nil { // cannot happen for a token that verified
		return nil, fmt.Errorf("verify: decoding claims: %w", err)
	}
	return &Claims{Subject: id.Subject, Scopes: id.Scopes, Expires: id.Expires, Values: id.Claims.Map(), Raw: raw}, nil
}

// payload decodes the claims of a token that has been verified.
func payload(token string) (map[string]any, error) {
	parts := strings.SplitN(token, ".", 3)
	if len(parts) != 3 {
		return nil, errors.New("not a JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	return m, dec.Decode(&m)
}

// VerifyRequest reads the token from r's identity source and verifies it.
func (v *Verifier) VerifyRequest(r *http.Request) (*Claims, error) {
	val, ok := v.source.Value(r)
	if !ok {
		return nil, ErrNoToken
	}
	return v.Verify(r.Context(), identity.BearerToken(val))
}

type claimsKey struct{}

// ClaimsFrom returns the claims Middleware verified for this request.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Middleware passes only requests with a valid token (and one of
// Config.Scopes, if set) to next, with the claims in the request context.
// Others get the gateway's answers: 401 {"message":"Unauthorized"} with a
// WWW-Authenticate challenge, or 403 {"message":"Forbidden"}.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := v.VerifyRequest(r)
		switch {
		case errors.Is(err, ErrNoToken):
			w.Header().Set("WWW-Authenticate", answer.Challenge)
			answer.JSON(w, r, http.StatusUnauthorized, answer.Unauthorized)
		case err != nil:
			w.Header().Set("WWW-Authenticate", answer.InvalidToken(err))
			answer.JSON(w, r, http.StatusUnauthorized, answer.Unauthorized)
		case !c.HasAnyScope(v.scopes...):
			w.Header().Set("WWW-Authenticate", answer.InsufficientScope)
			answer.JSON(w, r, http.StatusForbidden, answer.Forbidden)
		default:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
		}
	})
}
