package jwtauth

import "github.com/portcullis/portcullis/internal/config"

// IssuerSettings returns the Settings of each entry of a's `issuers:` (the
// REST API shape), as the configuration file f writes them: each entry's
// issuer, audiences, keys and additional_claims rules, with the
// authorizer's algorithms, clock skew, refresh, staleness and cache
// settings; a relative jwks_file is resolved against f's folder. The
// gateway and package verify build an `issuers:` authorizer from it, so
// the two cannot read the file differently. The result is not validated
// (Settings.Validate, ValidateIssuers, NewIssuers do that).
func IssuerSettings(f *config.File, a config.Authorizer) []Settings {
	list := make([]Settings, len(a.Issuers))
	for i, is := range a.Issuers {
		s := Settings{
			Issuer:          is.Issuer,
			Audience:        is.Audience,
			JWKSURI:         is.JWKSURI,
			JWKSFile:        f.Resolve(is.JWKSFile),
			Algorithms:      a.Algorithms,
			ClockSkew:       a.ClockSkew.Std(),
			RefreshInterval: a.RefreshInterval.Std(),
			MaxStale:        a.JWKSMaxStale.Std(),
			CacheSize:       a.CacheSize,
		}
		for _, r := range is.AdditionalClaims {
			s.ClaimRules = append(s.ClaimRules, ClaimRule{Name: r.Name, Values: r.Values, Required: r.Required})
		}
		list[i] = s
	}
	return list
}
