package gateway

import (
	"net/http"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/revocation"
	"github.com/portcullis/portcullis/internal/state"
)

// buildAPIKeys builds the API key stage (nil when api_keys is unset). Its
// quota counters and rate limiter are the process's (Deps), else the
// previous gateway's, so that a reload does not reset them, else new ones
// in process.
func (g *Gateway) buildAPIKeys(f *config.File, d Deps) error {
	deps := apikey.Deps{Counter: d.Counters, Limiter: d.Limiter, FailClosed: d.StateFailClosed}
	if prev := d.Previous; prev != nil {
		if deps.Counter == nil {
			deps.Counter = prev.counters
		}
		if deps.Limiter == nil {
			deps.Limiter = prev.limiter
		}
	}
	if deps.Counter == nil {
		deps.Counter = state.NewMemoryCounters(nil)
	}
	g.counters, g.limiter = deps.Counter, deps.Limiter
	s, err := apikey.Setup(f, deps)
	if err != nil {
		return err
	}
	g.apiKeys = s
	return nil
}

// buildRevocation sets up the revocation list when revocation is enabled:
// the process's (Deps), else the previous gateway's, else a new one in
// process. Start starts it; Close stops it unless the next gateway keeps it.
func (g *Gateway) buildRevocation(f *config.File, d Deps) {
	if !f.Config.Revocation.Enabled {
		return
	}
	g.revocations = d.Revocations
	if g.revocations == nil && d.Previous != nil {
		g.revocations = d.Previous.revocations
	}
	if g.revocations == nil {
		g.revocations = revocation.New(state.NewMemoryHash(), d.Logger)
	}
}

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
	if v.Key != nil {
		ex.apiKey = v.Key
	}
	switch v.ResponseType {
	case apikey.ResponseInvalidAPIKey:
		ex.answer(v.Status, v.Body, v.Reason) // gateway response: INVALID_API_KEY
		return false
	case apikey.ResponseThrottled:
		ex.answer(v.Status, v.Body, v.Reason) // gateway response: THROTTLED
		return false
	case apikey.ResponseQuotaExceeded:
		ex.answer(v.Status, v.Body, v.Reason) // gateway response: QUOTA_EXCEEDED
		return false
	}
	if v.Status != 0 {
		ex.answer(http.StatusInternalServerError, answer.InternalError, v.Reason)
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
	return rl.Revoked(jti, ex.ident.Subject, iat)
}
