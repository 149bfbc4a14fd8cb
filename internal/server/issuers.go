package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/issuer"
)

// hosted is a development issuer served by this process.
type hosted struct {
	name string
	iss  *issuer.Issuer
	srv  *http.Server
	ln   net.Listener
}

// issuerSettings checks every `issuers:` entry.
func issuerSettings(f *config.File) (map[string]issuer.Settings, map[string]string, error) {
	settings, listens := map[string]issuer.Settings{}, map[string]string{}
	var errs config.Errors
	for name, c := range f.Config.Issuers {
		s, listen, err := issuer.FromConfig(f, "issuers."+name, c)
		if err != nil {
			errs.Add(err)
			continue
		}
		settings[name], listens[name] = s, listen
	}
	return settings, listens, errs.Err()
}

// startIssuers creates and serves the configured issuers. Their keys are
// generated on first start in each keys_dir.
func startIssuers(ctx context.Context, f *config.File, log *slog.Logger, errorLog func() *http.Server) ([]*hosted, error) {
	settings, listens, err := issuerSettings(f)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []*hosted
	fail := func(err error) ([]*hosted, error) {
		for _, h := range out {
			h.ln.Close()
		}
		return nil, err
	}
	for _, name := range names {
		l := log.With("issuer", name)
		iss, err := issuer.New(settings[name], issuer.Options{Logger: l})
		if err != nil {
			return fail(fmt.Errorf("issuer %s: %w", name, err))
		}
		ln, err := net.Listen("tcp", listens[name])
		if err != nil {
			return fail(fmt.Errorf("issuer %s: listen: %w", name, err))
		}
		srv := errorLog()
		srv.Handler = iss
		go iss.Run(ctx)
		out = append(out, &hosted{name: name, iss: iss, srv: srv, ln: ln})
		l.Info("development issuer (not for production)", "url", settings[name].Issuer, "listen", ln.Addr().String())
	}
	return out, nil
}
