// Package explain answers "what would the gateway do with this request, and
// why" for `portcullis explain`: route selection, the identity found, each
// check of a jwt authorizer, a Lambda authorizer's event, answer and policy
// evaluation (and which other routes a cached policy would deny), the
// response and what the backend would receive.
//
// The explanation is not a second implementation of the gateway: the
// request runs through the gateway's own path (gateway.ServeTraced), which
// records its decisions as it makes them. Backends are never called (an
// http_proxy's request is recorded, a lambda_proxy's event is built and not
// sent); a Lambda authorizer is invoked only with Options.Invoke.
//
// No credential is ever printed in full: see mask.
package explain

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/identity"
)

// Options is the request to explain.
type Options struct {
	Method string      // "GET"
	Target string      // "/orders/1" or "/orders/1?x=y"
	Header http.Header // the request's headers; "Host" sets the host
	Query  url.Values  // added to Target's query string
	// Invoke lets Lambda authorizers run their function (started as serve
	// starts it). Without it their event is shown and nothing is decided.
	Invoke bool
	// RemoteAddr is the client's address; "" takes 192.0.2.1:1234.
	RemoteAddr string
	// Token, when set, is a bearer token put where the selected route's jwt
	// authorizer reads it (a header as "Bearer TOKEN", a query parameter, a
	// cookie), for `portcullis token verify`.
	Token string
}

// Outcome says how an explained request ends.
type Outcome string

// Outcomes.
const (
	Allowed   Outcome = "allowed"   // it would reach its integration
	Denied    Outcome = "denied"    // the gateway answers it itself (no route, authorizer, ...)
	Undecided Outcome = "undecided" // a Lambda authorizer was not invoked (no --invoke), the revocation list was not read
)

// Run builds the gateway of f as serve does, sends it the request, and
// explains what happened. It returns an error only when the request cannot
// be made or the configuration is invalid; a denial is an Outcome.
func Run(ctx context.Context, f *config.File, o Options) (*Report, error) {
	if o.Method == "" || !strings.HasPrefix(o.Target, "/") {
		return nil, fmt.Errorf("the request must be METHOD /path, such as 'GET /orders/1'")
	}
	req, err := newRequest(ctx, o)
	if err != nil {
		return nil, err
	}
	rec := &recorder{}
	g, err := gateway.Build(f, gateway.Deps{
		Transport: rec,
		Logger:    slog.New(slog.DiscardHandler),
		BuildGo:   o.Invoke, // as serve builds Go functions before starting them
	})
	if err != nil {
		return nil, err
	}
	defer g.Close(nil) // the state store's connections, the functions started
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.StartAuthorizers(ctx)
	if o.Invoke {
		g.StartFunctions(ctx)
	}
	unread := readRevocations(ctx, f, g)

	if o.Token != "" {
		placeToken(g, req, o.Token)
	}
	var sec secrets
	sec.addRequest(req.Header)
	t := &gateway.Trace{Invoke: o.Invoke}
	w := httptest.NewRecorder()
	g.ServeTraced(w, req, t)

	return build(g, req, t, w.Result(), rec.req, &sec, unread), nil
}

// readRevocations reads the revocation list, when revocation is on, from
// where the running gateway keeps it, so that a token is judged by the list
// that would judge it. It returns why the list could not be read ("" when
// it was, or revocation is off): the request then goes on unchecked
// (gateway.RevocationTrace) and the report says so.
func readRevocations(ctx context.Context, f *config.File, g *gateway.Gateway) string {
	rl := g.Revocations()
	if rl == nil {
		return ""
	}
	if f.Config.State.Redis == nil {
		// This process's list would be a new, empty one: reading it would
		// pass every revoked token.
		return "without state.redis the list is in the memory of the running gateway, which explain cannot read (GET /revocations on its admin listener lists it)"
	}
	// Start would follow the list; one full read is what explain needs. A
	// new list never writes to the store.
	if err := rl.Load(ctx); err != nil {
		return "the list could not be read from Redis (" + err.Error() + "); a replica that read it before judges by its copy; one that never did refuses every JWT (401, revocations_unavailable)"
	}
	return ""
}

func newRequest(ctx context.Context, o Options) (*http.Request, error) {
	u, err := url.Parse(o.Target)
	if err != nil {
		return nil, fmt.Errorf("bad path %q: %w", o.Target, err)
	}
	if len(o.Query) > 0 {
		q := u.Query()
		for k, vs := range o.Query {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
	}
	req := httptest.NewRequestWithContext(ctx, strings.ToUpper(o.Method), u.RequestURI(), nil)
	for k, vs := range o.Header {
		if strings.EqualFold(k, "Host") && len(vs) > 0 {
			req.Host = vs[0]
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if o.RemoteAddr != "" {
		req.RemoteAddr = o.RemoteAddr
	}
	return req, nil
}

// placeToken puts token where the jwt authorizer of the route req takes
// reads it; nothing for other routes.
func placeToken(g *gateway.Gateway, req *http.Request, token string) {
	info, ok := g.RouteFor(req.Method, req.URL.Path)
	if !ok || info.AuthorizerType != "jwt" {
		return
	}
	switch info.Source.Kind {
	case identity.Header:
		req.Header.Set(info.Source.Name, "Bearer "+token)
	case identity.Query:
		q := req.URL.Query()
		q.Set(info.Source.Name, token)
		req.URL.RawQuery = q.Encode()
		req.RequestURI = req.URL.RequestURI()
	case identity.Cookie:
		req.AddCookie(&http.Cookie{Name: info.Source.Name, Value: token})
	}
}

// recorder stands in for every backend: it keeps the request the gateway
// would have sent and answers 200 without sending anything anywhere.
type recorder struct{ req *http.Request }

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	rec.req = r
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}
