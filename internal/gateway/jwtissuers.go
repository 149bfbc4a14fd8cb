package gateway

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/identity"
	"github.com/portcullis/portcullis/internal/jwtauth"
)

// tokenVerifier is what a jwt authorizer verifies with: one issuer
// (*jwtauth.Authorizer, the HTTP API shape) or several
// (*jwtauth.Issuers, the REST API shape).
type tokenVerifier interface {
	Verify(ctx context.Context, token string) (*jwtauth.Identity, error)
	Explain(ctx context.Context, token string) (*jwtauth.Identity, []jwtauth.Step, error)
	Ready() bool
	Start(ctx context.Context)
}

var (
	_ tokenVerifier = (*jwtauth.Authorizer)(nil)
	_ tokenVerifier = (*jwtauth.Issuers)(nil)
)

// buildIssuers builds a jwt authorizer of the REST API shape: `issuers:`,
// each with its audiences, keys and claim rules; algorithms, clock skew,
// refresh, staleness and cache settings apply to every issuer. Claims reach
// mappings and logs as JSON text and Lambda events with their JSON types,
// as on REST APIs.
func (g *Gateway) buildIssuers(f *config.File, at, name string, a config.Authorizer, source identity.Source, d Deps) (authorizer, error) {
	var errs config.Errors
	for field, set := range map[string]bool{
		"issuer": a.Issuer != "", "audience": len(a.Audience) > 0, "jwks_uri": a.JWKSURI != "", "jwks_file": a.JWKSFile != "",
	} {
		if set {
			errs = append(errs, *f.Errorf(at+"."+field, "%s goes inside each entry of issuers (an authorizer has either issuers or issuer and audience)", field))
		}
	}
	if a.HMACSecret != "" {
		errs = append(errs, *f.Errorf(at+".hmac_secret", "hmac_secret does not apply to an authorizer with issuers (REST JWT authorizers accept RS* and ES* tokens)"))
	}
	list := jwtauth.IssuerSettings(f, a)
	for i := range list {
		list[i].JSONClaims = true
		errs = append(errs, f.Place(at, issuerProblems(i, list[i].Problems()))...)
	}
	errs = append(errs, f.Place(at, jwtauth.IssuersProblems(list))...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	o := jwtauth.Options{Logger: d.Logger}
	if d.Metrics != nil {
		o.Metrics = d.Metrics.JWT
	}
	var prev *jwtauth.Issuers
	if d.Previous != nil {
		if p, ok := d.Previous.authorizers[name].(*jwtAuthorizer); ok {
			prev, _ = p.verifier.(*jwtauth.Issuers)
		}
	}
	v, err := jwtauth.NewIssuers(name, list, o, prev)
	if err != nil {
		var one *jwtauth.IssuerError
		if errors.As(err, &one) && a.Issuers[one.Index].JWKSFile != "" {
			at += ".issuers[" + strconv.Itoa(one.Index) + "].jwks_file" // its key file did not load
		}
		return nil, f.Errorf(at, "%v", err)
	}
	return &jwtAuthorizer{label: name, source: source, verifier: v}, nil
}

// issuerProblems places the problems of the Settings of entry i of an
// authorizer's `issuers:`: a field the entry writes (issuer, audience,
// jwks_uri, jwks_file, additional_claims) in that entry, any other (the
// algorithms, clock skew, refresh, staleness and cache settings every
// issuer shares) at the authorizer, once: for the first entry only, as
// every entry has the same.
func issuerProblems(i int, ps config.Problems) config.Problems {
	entry := "issuers[" + strconv.Itoa(i) + "]"
	var out config.Problems
	for _, p := range ps {
		key, _, _ := strings.Cut(p.Field, ".")
		key, _, _ = strings.Cut(key, "[")
		switch key {
		case "issuer", "audience", "jwks_uri", "jwks_file", "additional_claims":
			p.Field = entry + "." + p.Field
		default:
			if i > 0 {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}
