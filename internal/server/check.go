package server

import (
	"cmp"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/admin"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/tlsconf"
)

// Check reports every problem `serve` would find in f, without starting,
// listening or writing anything. When there is none, it returns the
// warnings serve would log as it starts (see warnings).
func Check(f *config.File) (config.Errors, error) {
	_, bundle, err := validate(f, gateway.Deps{})
	if err != nil {
		return nil, err
	}
	return warnings(f, bundle), nil
}

// validate builds the gateway of f and checks everything else serve uses
// before it listens: the listen addresses and server settings, and the
// hosted issuers (settings, users and clients files, key directories).
// Every problem comes back at once, in file order. serve and check both
// call it, so check refuses exactly what serve would. The TLS bundle is nil
// without a tls block.
func validate(f *config.File, d gateway.Deps) (*gateway.Gateway, *tlsconf.Bundle, error) {
	var errs config.Errors
	errs.Add(checkProcess(f))
	g, err := gateway.Build(f, d)
	errs.Add(err)
	errs.Add(checkListeners(f))
	if _, _, err := issuerSettings(f); err != nil {
		errs.Add(err)
	}
	bundle, err := tlsconf.Setup(f)
	errs.Add(err)
	if len(errs) == 0 {
		return g, bundle, nil
	}
	errs.Sort()
	return nil, nil, errs.Err()
}

// warnings reports what serve accepts and an operator should still know,
// each at its key, in file order: check prints them, serve logs them as it
// starts. An admin_listen that the network reaches (adminExposure), and
// what may keep clients from accepting the certificates of bundle (nil
// without a tls block): one expired, one without subject alternative names.
func warnings(f *config.File, bundle *tlsconf.Bundle) config.Errors {
	var out config.Errors
	if w := adminExposure(f); w != nil {
		out = append(out, *w)
	}
	if bundle != nil {
		out = append(out, bundle.Warnings()...)
	}
	out.Sort()
	return out
}

// adminExposure warns of an admin_listen on a TCP address other than
// loopback: /healthz, /readyz and /metrics answer without a token (GET
// /apikeys too when no admin_token is set), and admin_token would cross
// the network in clear text. It is no error: a firewall or a
// network policy may keep the network out (the Kubernetes manifests listen
// on every interface for the kubelet's probes).
func adminExposure(f *config.File) *config.Error {
	c := &f.Config
	if c.AdminListen == "" || strings.HasPrefix(c.AdminListen, admin.UnixPrefix) {
		return nil
	}
	a, err := config.ParseListenAddress(c.AdminListen)
	if err != nil || a.Loopback() {
		return nil // a wrong address is checkListeners' problem
	}
	open := "/healthz, /readyz and /metrics answer anyone who reaches it"
	if c.APIKeys != nil && c.AdminToken == "" {
		open += ", and so does GET /apikeys (each API key's name, id, plan and usage)"
	}
	guarded := "POST /reload and /revocations are off without admin_token"
	if c.AdminToken != "" {
		guarded = "POST /reload, /revocations and GET /apikeys take admin_token, which crosses the network in clear text (the admin listener has no TLS)"
	}
	return f.Errorf("admin_listen", "%s is not a loopback address: %s; %s. Keep the admin listener on 127.0.0.1, a Unix socket (unix:PATH) or a network only operators reach (a firewall, a Kubernetes NetworkPolicy); behind one, this warning is expected",
		c.AdminListen, open, guarded)
}

// checkListeners checks listen and admin_listen (an issuer's listen is
// checked with the issuer) and the listener limits of the server block,
// and that no two listeners, the issuers' included, would take one port.
func checkListeners(f *config.File) error {
	c := &f.Config
	var errs config.Errors
	type listener struct {
		path string
		addr config.ListenAddress
	}
	var all []listener
	add := func(path, addr string, report bool) {
		if addr == "" {
			return
		}
		a, err := config.ParseListenAddress(addr)
		if err != nil {
			if report {
				errs = append(errs, *f.Errorf(path, "%v", err))
			}
			return
		}
		all = append(all, listener{path, a})
	}
	add("listen", c.Listen, true) // required: gateway.Build says so when empty
	add("http_redirect_listen", c.HTTPRedirectListen, true)
	if !strings.HasPrefix(c.AdminListen, admin.UnixPrefix) { // a Unix socket takes no port
		add("admin_listen", c.AdminListen, true)
	}
	add("decision_api.listen", c.DecisionAPI.Listen, true)
	add("decision_api.grpc_listen", c.DecisionAPI.GRPCListen, true)
	for name, is := range c.Issuers {
		add("issuers."+name+".listen", is.Listen, false)
	}
	slices.SortFunc(all, func(a, b listener) int {
		pa, pb := f.Pos(a.path), f.Pos(b.path)
		return cmp.Or(cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Column, pb.Column))
	})
	for i, l := range all {
		for _, earlier := range all[:i] {
			if l.addr.Conflicts(earlier.addr) {
				errs = append(errs, *f.Errorf(l.path, "port %d is also %s's (line %d): serve could not listen on both; give each its own port",
					l.addr.Port, earlier.path, f.Pos(earlier.path).Line))
				break
			}
		}
	}
	if c.Server.MaxHeaderBytes < 0 {
		errs = append(errs, *f.Errorf("server.max_header_bytes", "must not be negative (leave it out for the default, %d)", DefaultMaxHeaderBytes))
	}
	if c.Server.MaxBodyBytes < 0 {
		errs = append(errs, *f.Errorf("server.max_body_bytes", "must not be negative (leave it out for the default, %d)", gateway.DefaultMaxBodyBytes))
	}
	return errs.Err()
}
