package server

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/accesslog"
	"github.com/portcullis/portcullis/internal/buildinfo"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/tlsconf"
	"github.com/portcullis/portcullis/internal/tracing"
)

// MinAdminTokenLength keeps admin_token from being guessable.
const MinAdminTokenLength = 16

// operatorMetrics are the process's own signals: which build runs, and how
// its configuration reloads went.
type operatorMetrics struct {
	reloadOK, reloadErr prometheus.Counter
	lastSuccess         prometheus.Gauge
}

func newOperatorMetrics(reg prometheus.Registerer) *operatorMetrics {
	info := buildinfo.Read()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "portcullis_build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "commit", "goversion"})
	build.WithLabelValues(info.Version, info.Commit, info.GoVersion).Set(1)
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_config_reloads_total",
		Help: "Configuration reloads (SIGHUP, --watch, POST /reload) by result (ok, error); a refused reload leaves the running configuration serving.",
	}, []string{"result"})
	last := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "portcullis_config_last_reload_success_timestamp_seconds",
		Help: "When the running configuration was loaded (start or last successful reload), in seconds since the epoch.",
	})
	reg.MustRegister(build, reloads, last)
	return &operatorMetrics{reloadOK: reloads.WithLabelValues("ok"), reloadErr: reloads.WithLabelValues("error"), lastSuccess: last}
}

// loaded records that the configuration now serving was loaded.
func (m *operatorMetrics) loaded() { m.lastSuccess.SetToCurrentTime() }

// checkProcess checks the settings the process applies itself, outside the
// gateway: the admin listener's and tracing's.
func checkProcess(f *config.File) error {
	c := f.Config
	if errs := f.Place("tracing", tracing.Problems(c.Tracing)); len(errs) > 0 {
		return &errs
	}
	if c.AdminToken != "" && len(c.AdminToken) < MinAdminTokenLength {
		return &config.Errors{*f.Errorf("admin_token", "admin_token must be at least %d characters (it authorizes POST /reload and /revocations)", MinAdminTokenLength)}
	}
	if c.AdminToken != "" && c.AdminListen == "" {
		return &config.Errors{*f.Errorf("admin_token", "admin_token needs admin_listen: it is for POST /reload and /revocations there")}
	}
	return nil
}

// reload reads the file again and, if it is valid, serves it. A broken file
// is logged and returned; the running configuration keeps serving.
func (s *Server) reload() error {
	f, err := config.Load(s.o.ConfigPath)
	if err == nil {
		var errs config.Errors
		errs.Add(checkProcess(f))
		g, buildErr := gateway.Build(f, s.deps(f, s.current.Load()))
		errs.Add(buildErr)
		// Certificates and the truststore are read again: new handshakes
		// use them, established connections keep theirs.
		bundle, tlsErr := tlsconf.Setup(f)
		errs.Add(tlsErr)
		if err = errs.Err(); err == nil {
			s.warnRestartOnly(f)
			if s.tls != nil && bundle != nil {
				s.tls.Swap(bundle)
				s.logWarnings(bundle.Warnings())
			}
			s.install(g)
			s.adminToken.Store(&f.Config.AdminToken)
			s.ops.reloadOK.Inc()
			s.ops.loaded()
			s.log.Info("configuration reloaded", "config", s.o.ConfigPath, "routes", len(f.Config.Routes))
			return nil
		}
	}
	s.ops.reloadErr.Inc()
	var es *config.Errors
	if errors.As(err, &es) {
		for _, e := range *es {
			s.log.Error("reload refused; the running configuration keeps serving", "problem", e.Error())
		}
		return err
	}
	s.log.Error("reload refused; the running configuration keeps serving", "problem", err.Error())
	return err
}

// logWarnings logs each warning at its place in the configuration, as
// check prints it, with its key path.
func (s *Server) logWarnings(ws config.Errors) {
	for _, w := range ws {
		s.log.Warn(w.Error(), "key", w.Path)
	}
}

// reloadFromAdmin is POST /reload: the reload runs in Run's loop, like one
// asked by SIGHUP, so two never overlap.
func (s *Server) reloadFromAdmin(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.reloadReq <- reply:
	case <-s.loopDone:
		return errors.New("shutting down: not reloading")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// warnRestartOnly reports changes that a reload cannot apply.
func (s *Server) warnRestartOnly(f *config.File) {
	old := s.file.Config
	var changed []string
	for _, c := range []struct {
		name string
		same bool
	}{
		{"listen", f.Config.Listen == old.Listen},
		{"admin_listen", f.Config.AdminListen == old.AdminListen},
		{"server", reflect.DeepEqual(f.Config.Server, old.Server)},
		{"issuers", reflect.DeepEqual(f.Config.Issuers, old.Issuers)},
		{"tracing", reflect.DeepEqual(f.Config.Tracing, old.Tracing)},
		{"decision_api", f.Config.DecisionAPI == old.DecisionAPI},
		{"access_log.output", accesslog.OutputPath(f) == s.accessOut.Dest()},
		{"http_redirect_listen", f.Config.HTTPRedirectListen == old.HTTPRedirectListen},
		{"tls (on or off)", (f.Config.TLS == nil) == (old.TLS == nil)},
	} {
		if !c.same {
			changed = append(changed, c.name)
		}
	}
	if len(changed) > 0 {
		s.log.Warn("listen, admin_listen, server, issuers, tracing, access_log.output, http_redirect_listen and turning tls on or off change only on restart; the new routes, authorizers and certificates are in effect",
			"changed", strings.Join(changed, ","))
	}
	s.file = f
}
