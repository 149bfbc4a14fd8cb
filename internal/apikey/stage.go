package apikey

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/state"
)

// Sources of the key, as AWS's RestApi.apiKeySource.
const (
	SourceHeader     = "HEADER"
	SourceAuthorizer = "AUTHORIZER"
)

// Header is the request header a HEADER-source key comes in.
const Header = "X-Api-Key"

// Quota periods, as AWS's usage plan quota.
const (
	PeriodDay   = "DAY"
	PeriodWeek  = "WEEK"
	PeriodMonth = "MONTH"
)

// AWS's answers and gateway response types.
const (
	BodyForbidden     = `{"message":"Forbidden"}`
	BodyLimitExceeded = `{"message":"Limit Exceeded"}`
	BodyTooMany       = `{"message":"Too Many Requests"}`
	BodyInternal      = `{"message":"Internal server error"}`

	ResponseInvalidAPIKey = "INVALID_API_KEY"
	ResponseQuotaExceeded = "QUOTA_EXCEEDED"
	ResponseThrottled     = "THROTTLED"
)

// Reasons, as in Verdict.Reason (logs and metrics).
const (
	ReasonMissing          = "missing_api_key"
	ReasonInvalid          = "invalid_api_key"
	ReasonDisabled         = "disabled_api_key"
	ReasonThrottled        = "usage_plan_throttled"
	ReasonQuotaExceeded    = "quota_exceeded"
	ReasonStateUnavailable = "state_unavailable"
)

// Counter counts requests per key in a window that ends at a known
// instant, and applies a plan's throttle and quota together;
// internal/state's Counters implements it in process and in Redis.
type Counter interface {
	// Incr adds one to key, which is forgotten at expireAt, and returns the
	// new count.
	Incr(ctx context.Context, key string, expireAt time.Time) (int64, error)
	// Get returns key's count, 0 when it has none.
	Get(ctx context.Context, key string) (int64, error)
	// AllowThenIncr decides the bucket limitKey against l and, only if it
	// allows, counts key as Incr does; count is 0 when the throttle
	// refused. An error means neither was decided. It must use the same
	// buckets as the Limiter (one Redis round trip in internal/state).
	AllowThenIncr(ctx context.Context, limitKey string, l state.Limit, key string, expireAt time.Time) (r state.Result, count int64, err error)
}

// Deps are what a Stage shares with the process.
type Deps struct {
	Counter Counter       // quotas; required when a plan has a quota
	Limiter state.Limiter // plan throttles; required when a plan has a throttle
	// FailClosed refuses requests (500) when Counter or Limiter fail
	// (state.redis.fail_open: false); by default they pass.
	FailClosed bool
	Now        func() time.Time // nil: time.Now
}

// plan is a usage plan, ready to apply.
type plan struct {
	name        string
	rate        float64
	burst       int
	quota       int64
	period      string
	hasThrottle bool
}

// Stage applies API keys and usage plans to routes with api_key_required.
// It is immutable once built (a reload builds a new one) and safe for
// concurrent use.
type Stage struct {
	source   string
	keys     []*Key
	byDigest map[[32]byte]*Key
	plans    map[string]*plan
	d        Deps
}

// Verdict is what Check decided. Status 0 means the request goes on.
type Verdict struct {
	Key          *Key   // the key found, also when its plan refused the request
	Status       int    // 0: allowed; else AWS's status
	Body         string // AWS's body when refused
	ResponseType string // AWS's gateway response type when refused
	Reason       string
	// RetryAfter is when a refused request may pass: the bucket's refill
	// for THROTTLED, the end of the period for QUOTA_EXCEEDED; 0 unknown.
	RetryAfter time.Duration
	Err        error // a state failure, passed or refused per FailClosed
}

// Setup checks the api_keys and usage_plans blocks and the routes'
// api_key_required, and builds the Stage; nil when api_keys is not set.
// Problems come as *config.Errors with their places in the file.
func Setup(f *config.File, d Deps) (*Stage, error) {
	c := &f.Config
	var errs config.Errors
	if c.APIKeys == nil {
		for i, r := range c.Routes {
			if r.APIKeyRequired {
				errs = append(errs, *f.Errorf("routes["+strconv.Itoa(i)+"].api_key_required", "api_key_required needs an api_keys block (source and keys_file)"))
			}
		}
		if len(c.UsagePlans) > 0 {
			errs = append(errs, *f.Errorf("usage_plans", "usage_plans apply to API keys: add an api_keys block"))
		}
		return nil, errs.Err()
	}
	s := &Stage{source: c.APIKeys.Source, plans: map[string]*plan{}, byDigest: map[[32]byte]*Key{}, d: d}
	if s.d.Now == nil {
		s.d.Now = time.Now
	}
	switch s.source {
	case "":
		s.source = SourceHeader
	case SourceHeader, SourceAuthorizer:
	default:
		errs = append(errs, *f.Errorf("api_keys.source", "source %q: use HEADER (x-api-key) or AUTHORIZER (a Lambda authorizer's usageIdentifierKey)", c.APIKeys.Source))
	}
	for name, p := range c.UsagePlans {
		at := "usage_plans." + name
		pl := &plan{name: name}
		if p.Throttle == nil && p.Quota == nil {
			errs = append(errs, *f.Errorf(at, "a usage plan needs a throttle, a quota or both"))
		}
		if t := p.Throttle; t != nil {
			pl.hasThrottle, pl.rate, pl.burst = true, t.Rate, t.Burst
			if !(t.Rate > 0) {
				errs = append(errs, *f.Errorf(at+".throttle.rate", "rate must be more than 0 requests per second"))
			}
			if t.Burst < 1 {
				errs = append(errs, *f.Errorf(at+".throttle.burst", "burst must be at least 1"))
			}
			if d.Limiter == nil {
				errs = append(errs, *f.Errorf(at+".throttle", "no rate limiter available for usage plan throttles"))
			}
		}
		if q := p.Quota; q != nil {
			pl.quota, pl.period = q.Limit, q.Period
			if q.Limit < 1 {
				errs = append(errs, *f.Errorf(at+".quota.limit", "limit must be at least 1"))
			}
			switch q.Period {
			case PeriodDay, PeriodWeek, PeriodMonth:
			default:
				errs = append(errs, *f.Errorf(at+".quota.period", "period %q: use DAY, WEEK or MONTH", q.Period))
			}
			if d.Counter == nil {
				errs = append(errs, *f.Errorf(at+".quota", "no counter available for quotas"))
			}
		}
		s.plans[name] = pl
	}
	authorizerType := func(name string) string { return c.Authorizers[name].Type }
	for i, r := range c.Routes {
		if r.APIKeyRequired && s.source == SourceAuthorizer && authorizerType(r.Authorizer) != "lambda" {
			errs = append(errs, *f.Errorf("routes["+strconv.Itoa(i)+"].api_key_required", "with api_keys.source AUTHORIZER the key is the usageIdentifierKey of a lambda authorizer: the route needs one"))
		}
	}
	if path := KeysFilePath(f); path == "" {
		errs = append(errs, *f.Errorf("api_keys", "keys_file is required (`portcullis apikey create` makes it)"))
	} else {
		keys, err := readKeysFile(path, s.plans)
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w (`portcullis apikey create -c %s --name NAME --plan PLAN` makes it with a first key)", err, f.Path)
		}
		if err != nil {
			errs = append(errs, f.Lines("api_keys.keys_file", err)...)
		}
		s.keys = keys
		for _, k := range keys {
			s.byDigest[k.digest] = k
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// KeysFilePath returns api_keys.keys_file, a relative path taken from the
// configuration file's directory; "" when it is not set.
func KeysFilePath(f *config.File) string {
	ak := f.Config.APIKeys
	if ak == nil || ak.KeysFile == "" {
		return ""
	}
	return f.Resolve(ak.KeysFile)
}

func planNames(plans map[string]*plan) string {
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Source is HEADER or AUTHORIZER.
func (s *Stage) Source() string { return s.source }

// FromHeader returns the key a HEADER-source request carries, "" (no key)
// when the header is missing or repeated: as with an authorizer's identity
// source, a request must not carry one key for the gateway to meter and
// another for a backend that reads the last or the joined value.
func FromHeader(h http.Header) string {
	if vals := h[Header]; len(vals) == 1 {
		return vals[0]
	}
	return ""
}

// Check decides a request to a route with api_key_required whose key (from
// the header or the authorizer, per Source) is value. The key is identified
// by its SHA-256: the map lookup's timing depends only on the digest, and
// the digest found is compared again in constant time.
func (s *Stage) Check(ctx context.Context, value string) Verdict {
	if value == "" {
		return refused(nil, http.StatusForbidden, BodyForbidden, ResponseInvalidAPIKey, ReasonMissing)
	}
	if len(value) > MaxValueLength {
		return refused(nil, http.StatusForbidden, BodyForbidden, ResponseInvalidAPIKey, ReasonInvalid)
	}
	d := sha256.Sum256([]byte(value))
	k := s.byDigest[d]
	if k == nil || !k.matches(&d) {
		return refused(nil, http.StatusForbidden, BodyForbidden, ResponseInvalidAPIKey, ReasonInvalid)
	}
	if !k.Enabled {
		return refused(k, http.StatusForbidden, BodyForbidden, ResponseInvalidAPIKey, ReasonDisabled)
	}
	// A plan has a throttle, a quota or both (Setup): one state call each.
	p := s.plans[k.Plan]
	limit := state.Limit{Rate: p.rate, Burst: p.burst}
	r := state.Result{Allowed: true}
	var (
		n        int64
		err      error
		now, end time.Time
	)
	if p.quota > 0 {
		now = s.d.Now()
		var start time.Time
		start, end = Period(p.period, now)
		if p.hasThrottle {
			r, n, err = s.d.Counter.AllowThenIncr(ctx, k.limiter, limit, quotaKey(k, start), end)
		} else {
			n, err = s.d.Counter.Incr(ctx, quotaKey(k, start), end)
		}
	} else {
		r, err = s.d.Limiter.Allow(ctx, k.limiter, limit)
	}
	switch {
	case err != nil && s.d.FailClosed:
		v := refused(k, http.StatusInternalServerError, BodyInternal, "", ReasonStateUnavailable)
		v.Err = err
		return v
	case err != nil:
		return Verdict{Key: k, Err: err} // the limit could not be read: the request goes on
	case !r.Allowed:
		return throttled(k, r)
	case p.quota > 0 && n > p.quota:
		return overQuota(k, now, end)
	}
	return Verdict{Key: k}
}

// throttled is the refusal of a request the plan's throttle refused r.
func throttled(k *Key, r state.Result) Verdict {
	v := refused(k, http.StatusTooManyRequests, BodyTooMany, ResponseThrottled, ReasonThrottled)
	v.RetryAfter = r.RetryAfter
	return v
}

// overQuota is the refusal of a request past its quota, which resets at end.
func overQuota(k *Key, now, end time.Time) Verdict {
	v := refused(k, http.StatusTooManyRequests, BodyLimitExceeded, ResponseQuotaExceeded, ReasonQuotaExceeded)
	v.RetryAfter = end.Sub(now)
	return v
}

func refused(k *Key, status int, body, typ, reason string) Verdict {
	return Verdict{Key: k, Status: status, Body: body, ResponseType: typ, Reason: reason}
}

// quotaKey is the counter of k's quota period that starts at start: one
// allocation.
func quotaKey(k *Key, start time.Time) string {
	var buf [64]byte
	b := append(buf[:0], k.quota...)
	return string(strconv.AppendInt(b, start.Unix(), 10))
}

// Period returns the quota period (DAY, WEEK or MONTH) that holds now, in
// UTC: days from midnight, weeks from Monday (ISO 8601), months from the
// first. AWS does not document its reset instant (see the reference).
func Period(period string, now time.Time) (start, end time.Time) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case PeriodWeek:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		start = day.AddDate(0, 0, -back)
		return start, start.AddDate(0, 0, 7)
	case PeriodMonth:
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	return day, day.AddDate(0, 0, 1)
}

// KeyUsage is one key and its plan's use in the current period, for the
// admin API. It holds no key material but the ID.
type KeyUsage struct {
	Name    string     `json:"name"`
	ID      string     `json:"id"`
	Plan    string     `json:"plan"`
	Enabled bool       `json:"enabled"`
	Quota   *QuotaUse  `json:"quota,omitempty"`
	Limit   *RateLimit `json:"throttle,omitempty"`
}

// QuotaUse is a key's quota in the current period.
type QuotaUse struct {
	Limit     int64     `json:"limit"`
	Period    string    `json:"period"`
	Used      int64     `json:"used"`
	Remaining int64     `json:"remaining"`
	Resets    time.Time `json:"resets"`
	Error     string    `json:"error,omitempty"` // the count could not be read
}

// RateLimit is a plan's throttle.
type RateLimit struct {
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
}

// Usage lists every key with its plan and, for plans with a quota, what it
// used in the current period.
func (s *Stage) Usage(ctx context.Context) []KeyUsage {
	out := make([]KeyUsage, 0, len(s.keys))
	now := s.d.Now()
	for _, k := range s.keys {
		u := KeyUsage{Name: k.Name, ID: k.ID, Plan: k.Plan, Enabled: k.Enabled}
		p := s.plans[k.Plan]
		if p.hasThrottle {
			u.Limit = &RateLimit{Rate: p.rate, Burst: p.burst}
		}
		if p.quota > 0 {
			start, end := Period(p.period, now)
			q := &QuotaUse{Limit: p.quota, Period: p.period, Resets: end}
			n, err := s.d.Counter.Get(ctx, quotaKey(k, start))
			if err != nil {
				q.Error = err.Error()
			}
			q.Used, q.Remaining = n, max(0, p.quota-n)
			u.Quota = q
		}
		out = append(out, u)
	}
	return out
}

// PlanExists reports whether f defines the usage plan name (for `apikey
// create`).
func PlanExists(f *config.File, name string) error {
	if _, ok := f.Config.UsagePlans[name]; ok {
		return nil
	}
	names := make([]string, 0, len(f.Config.UsagePlans))
	for n := range f.Config.UsagePlans {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Errorf("unknown usage plan %q (defined: %s)", name, strings.Join(names, ", "))
}
