package gateway

import (
	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/revocation"
	"github.com/portcullis/portcullis/internal/state"
)

// buildAPIKeys builds the API key stage (nil when api_keys is unset) on
// the gateway's state store: its limiter for plan throttles, and quota
// counters that a reload keeping the store keeps too (they also apply a
// plan with both in one Redis round trip).
func (g *Gateway) buildAPIKeys(f *config.File, d Deps) error {
	if g.state == nil {
		return nil // the state block is wrong; buildState said why
	}
	g.counters = state.NewCounters(g.state)
	if prev := d.Previous; prev != nil && prev.state == g.state && prev.counters != nil {
		g.counters = prev.counters
	}
	s, err := apikey.Setup(f, apikey.Deps{Counter: g.counters, Limiter: g.state, FailClosed: !g.state.FailOpen()})
	if err != nil {
		return err
	}
	g.apiKeys = s
	return nil
}

// buildRevocation sets up the revocation list when revocation is enabled,
// in the gateway's state store: the previous gateway's when it has the same
// store, else a new one. Start starts it; Close stops it unless the next
// gateway keeps it.
func (g *Gateway) buildRevocation(f *config.File, d Deps) {
	if !f.Config.Revocation.Enabled || g.state == nil {
		return
	}
	if prev := d.Previous; prev != nil && prev.state == g.state && prev.revocations != nil {
		g.revocations = prev.revocations
		return
	}
	g.revocations = revocation.New(state.NewHash(g.state, RevocationsKey, d.Logger), d.Logger)
}

// RevocationsKey names the revocation list in the state store (a Redis
// hash and channel under the key prefix).
const RevocationsKey = "revocations"

// closeRevocation stops the revocation list unless next keeps it.
func (g *Gateway) closeRevocation(next *Gateway) {
	if g.revocations != nil && (next == nil || next.revocations != g.revocations) {
		g.revocations.Stop()
	}
}

// APIKeys returns the API key stage, nil when api_keys is not configured
// (for the admin API).
func (g *Gateway) APIKeys() *apikey.Stage { return g.apiKeys }

// Revocations returns the revocation list, nil when revocation is off.
func (g *Gateway) Revocations() *revocation.List { return g.revocations }

// checkAPIKey applies the API key stage to a route with api_key_required,
// after its authorizer, as AWS does (the key may come from the
// authorizer). It writes the refusal and returns false.
func (ex *exchange) checkAPIKey() bool {
	s := ex.g.apiKeys
	value := ""
	if s.Source() == apikey.SourceAuthorizer {
		if ex.lambda != nil {
			value = ex.lambda.UsageIdentifierKey
		}
	} else {
		value = apikey.FromHeader(ex.r.Header)
	}
	// v.Err (state unreachable) is the state layer's to report: a line per
	// request would flood the log while Redis is down.
	v := s.Check(ex.r.Context(), value)
	ex.apiKey = v.Key
	ex.retryAfter(v.RetryAfter)
	if ex.trace != nil && v.Reason != "" {
		name := "none"
		if v.Key != nil {
			name = v.Key.Name // its name, never its value
		}
		ex.note("api key", "refused: "+v.Reason+" (key "+name+")")
	}
	if v.Status != 0 {
		t, ok := gwresponse.ParseType(v.ResponseType)
		if !ok {
			t = gwresponse.Default5XX // the state store failed: no type of its own
		}
		ex.reject(t, v.Status, v.Body, v.Reason)
		return false
	}
	ex.apiKeyValue = value
	return true
}

// revoked reports whether the verified token id was revoked; the caller
// denies it.
func (ex *exchange) revoked(rl *revocation.List) bool {
	c := ex.ident.Claims
	jti, _ := c.Get("jti")
	iat, _ := c.Get("iat")
	revoked := rl.Revoked(jti, ex.ident.Subject, iat)
	if ex.trace != nil {
		ex.trace.Revocation = &RevocationTrace{Checked: true, Revoked: revoked}
	}
	return revoked
}

// revocationChecked says whether the token is checked against rl: always
// when serving; when tracing, only once rl was read (see RevocationTrace).
func (ex *exchange) revocationChecked(rl *revocation.List) bool {
	if ex.trace == nil || rl.Loaded() {
		return true
	}
	ex.trace.Revocation = &RevocationTrace{}
	return false
}
