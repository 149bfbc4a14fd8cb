package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Denial reasons: short, stable codes for metrics and logs.
const (
	ReasonTokenTooLarge   = "token_too_large"
	ReasonMalformed       = "malformed"
	ReasonAlgNotAllowed   = "alg_not_allowed"
	ReasonForbiddenHeader = "forbidden_header"
	ReasonUnknownKid      = "unknown_kid"
	ReasonKeysUnavailable = "keys_unavailable"
	ReasonBadSignature    = "bad_signature"
	ReasonBadIssuer       = "bad_issuer"
	ReasonBadAudience     = "bad_audience"
	ReasonMissingExp      = "missing_exp"
	ReasonExpired         = "expired"
	ReasonNotYetValid     = "not_yet_valid"
	ReasonIssuedInFuture  = "issued_in_future"
)

// Denial is the only error Verify returns. Reason is one of the Reason*
// constants; Description is a fixed sentence safe to send to the client (it
// never echoes the token); Err, if set, says more for logs and also never
// contains token, secret or key material.
type Denial struct {
	Reason      string
	Description string
	Err         error
}

func (d *Denial) Error() string {
	if d.Err != nil {
		return "jwt denied (" + d.Reason + "): " + d.Err.Error()
	}
	return "jwt denied (" + d.Reason + ")"
}

func (d *Denial) Unwrap() error { return d.Err }

func deny(reason string, err error) *Denial {
	return &Denial{Reason: reason, Description: describe(reason), Err: err}
}

func describe(reason string) string {
	switch reason {
	case ReasonTokenTooLarge:
		return "The token is too large."
	case ReasonMalformed:
		return "The token is malformed."
	case ReasonAlgNotAllowed:
		return "The token's signing algorithm is not allowed."
	case ReasonForbiddenHeader:
		return "The token's header contains a parameter that is not accepted."
	case ReasonUnknownKid:
		return "The token was signed with an unknown key."
	case ReasonKeysUnavailable:
		return "The signing keys are not available; try again later."
	case ReasonBadSignature:
		return "The token's signature is invalid."
	case ReasonBadIssuer:
		return "The token's issuer is not accepted."
	case ReasonBadAudience:
		return "The token's audience is not accepted."
	case ReasonMissingExp:
		return "The token has no expiration time."
	case ReasonExpired:
		return "The token has expired."
	case ReasonNotYetValid:
		return "The token is not valid yet."
	case ReasonIssuedInFuture:
		return "The token was issued in the future."
	}
	return "The token is not valid."
}

// Identity is what a valid token says about its bearer. It is shared between
// requests through the cache: it is immutable and callers must not modify it,
// its maps or its slices.
type Identity struct {
	Subject string
	Claims  map[string]string // every non-null claim stringified as AWS does
	Scopes  []string          // from "scope" (space-separated string) or "scp" (string or array)
	Expires time.Time
	KeyID   string
}

// HasAnyScope reports whether required is empty or any one of its scopes was
// granted, which is how AWS evaluates authorization scopes on a route.
func (id *Identity) HasAnyScope(required []string) bool {
	if len(required) == 0 {
		return true
	}
	for _, r := range required {
		for _, s := range id.Scopes {
			if r == s {
				return true
			}
		}
	}
	return false
}

// checkClaims performs step 6 and builds the Identity (step 7). expNano is
// the exp claim as Unix nanoseconds, clamped, for the cache.
func (a *Authorizer) checkClaims(c jwt.MapClaims, now time.Time, kid string) (*Identity, int64, *Denial) {
	if iss, ok := c["iss"].(string); !ok || iss != a.issuer {
		return nil, 0, deny(ReasonBadIssuer, nil)
	}
	if !a.audienceOK(c) {
		return nil, 0, deny(ReasonBadAudience, nil)
	}

	// Seconds as float64 keep fractional NumericDates and huge values
	// comparable without integer overflow; the precision lost (~0.2µs at
	// today's epoch) is far below any meaningful skew.
	nowSec := float64(now.UnixNano()) / 1e9
	skew := a.skew.Seconds()

	rawExp, present := c["exp"]
	if !present {
		return nil, 0, deny(ReasonMissingExp, nil)
	}
	exp, ok := numericDate(rawExp)
	if !ok {
		return nil, 0, deny(ReasonMalformed, errors.New("exp is not a finite number"))
	}
	if nowSec >= exp+skew {
		return nil, 0, deny(ReasonExpired, nil)
	}
	if raw, present := c["nbf"]; present {
		nbf, ok := numericDate(raw)
		if !ok {
			return nil, 0, deny(ReasonMalformed, errors.New("nbf is not a finite number"))
		}
		if nbf > nowSec+skew {
			return nil, 0, deny(ReasonNotYetValid, nil)
		}
	}
	if raw, present := c["iat"]; present {
		iat, ok := numericDate(raw)
		if !ok {
			return nil, 0, deny(ReasonMalformed, errors.New("iat is not a finite number"))
		}
		if iat > nowSec+skew {
			return nil, 0, deny(ReasonIssuedInFuture, nil)
		}
	}

	id := &Identity{
		Claims:  make(map[string]string, len(c)),
		KeyID:   kid,
		Expires: secondsToTime(exp),
	}
	id.Subject, _ = c["sub"].(string)
	for k, v := range c {
		if v == nil {
			continue
		}
		id.Claims[k] = stringifyClaim(v)
	}
	id.Scopes = scopes(c)
	return id, id.Expires.UnixNano(), nil
}

// audienceOK: any configured audience in aud (string or array of strings);
// only when aud is absent altogether, a string client_id (Cognito access
// tokens) may match instead. A present but null or ill-typed aud does not
// fall back: the issuer said something, and it was not our audience.
func (a *Authorizer) audienceOK(c jwt.MapClaims) bool {
	raw, present := c["aud"]
	if !present {
		cid, ok := c["client_id"].(string)
		return ok && a.isAudience(cid)
	}
	switch v := raw.(type) {
	case string:
		return a.isAudience(v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && a.isAudience(s) {
				return true
			}
		}
	}
	return false
}

func (a *Authorizer) isAudience(s string) bool {
	for _, want := range a.audiences {
		if s == want {
			return true
		}
	}
	return false
}

// numericDate parses a NumericDate (RFC 7519 §2): a JSON number, possibly
// fractional or negative. Strings, NaN, ±Inf and out-of-range values are
// rejected rather than guessed at.
func numericDate(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// secondsToTime clamps to a range time.Time and UnixNano represent, so a
// token with exp 1e300 gets a sane (far-future) Expires instead of garbage.
func secondsToTime(sec float64) time.Time {
	const maxSec = float64(math.MaxInt64/1e9) - 1 // year 2262
	const minSec = -maxSec
	if sec > maxSec {
		sec = maxSec
	}
	if sec < minSec {
		sec = minSec
	}
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9))
}

// stringifyClaim renders a claim the way AWS API Gateway passes JWT claims
// to integrations: strings as is, numbers as their JSON text, booleans as
// true/false, arrays as "[a b]" of stringified elements, objects as compact
// JSON.
func stringifyClaim(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return ""
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(stringifyClaim(e))
		}
		b.WriteByte(']')
		return b.String()
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // claims are data, not HTML
		if err := enc.Encode(x); err != nil {
			return ""
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
}

// scopes reads "scope" (RFC 8693, space-separated) or else "scp" (Okta,
// Azure AD: a space-separated string or an array of strings).
func scopes(c jwt.MapClaims) []string {
	if s, ok := c["scope"].(string); ok {
		return strings.Fields(s)
	}
	switch v := c["scp"].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
