package server

import (
	"cmp"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/admin"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
)

// Check reports every problem `serve` would find in f, without starting,
// listening or writing anything.
func Check(f *config.File) error {
	_, err := validate(f, gateway.Deps{})
	return err
}

// validate builds the gateway of f and checks everything else serve uses
// before it listens: the listen addresses and server settings, and the
// hosted issuers (settings, users and clients files, key directories).
// Every problem comes back at once, in file order. serve and check both
// call it, so check refuses exactly what serve would.
func validate(f *config.File, d gateway.Deps) (*gateway.Gateway, error) {
	var errs config.Errors
	errs.Add(checkProcess(f))
	g, err := gateway.Build(f, d)
	errs.Add(err)
	errs.Add(checkListeners(f))
	if _, _, err := issuerSettings(f); err != nil {
		errs.Add(err)
	}
	if len(errs) == 0 {
		return g, nil
	}
	slices.SortStableFunc(errs, func(a, b config.Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return nil, errs.Err()
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
	add("listen", c.Listen, true)                            // required: gateway.Build says so when empty
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
