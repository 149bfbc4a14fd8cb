// Package server runs a gateway as a process: listeners, limits, reloads and
// a graceful stop. Signals are the caller's business (cmd wires SIGHUP to
// Reload and SIGTERM to cancelling the context), so the whole life cycle can
// be driven from tests.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"

	"github.com/portcullis/portcullis/internal/accesslog"
	"github.com/portcullis/portcullis/internal/admin"
	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/buildinfo"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/decision"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/proxy"
	"github.com/portcullis/portcullis/internal/revocation"
	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/internal/tlsconf"
	"github.com/portcullis/portcullis/internal/tracing"
)

// HTTP2MaxConcurrentStreams bounds the streams one HTTP/2 connection may
// have open at once (nginx: 128; Go: 250).
const HTTP2MaxConcurrentStreams = 100

// Listener defaults, used when `server:` leaves them out.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 30 * time.Second
	// DefaultShutdownDelay is how long /readyz says 503 before the drain
	// starts: the time a Kubernetes Service takes to drop the pod from its
	// endpoints, during which new connections still arrive.
	DefaultShutdownDelay = 5 * time.Second
)

// Options configures Run.
type Options struct {
	ConfigPath string
	Logger     *slog.Logger
	// Reload asks for the file to be read again; a broken file is logged and
	// the running configuration keeps serving.
	Reload <-chan struct{}
	// Rotate asks every hosted development issuer for a new signing key.
	Rotate <-chan struct{}
	// ReopenLogs asks for the access log file to be opened again (after
	// log rotation renamed it); Reload does it too.
	ReopenLogs <-chan struct{}
	// Stdout and Stderr are the streams an access_log output may name;
	// nil: the process's.
	Stdout, Stderr io.Writer
	// Hurry, once it receives or is closed, cuts short the shutdown delay
	// (a second SIGTERM or Ctrl-C).
	Hurry <-chan struct{}
	// Watch reloads the configuration when its file changes (see
	// watchConfig).
	Watch bool
	// Started, if set, is called once every listener accepts connections.
	Started func(listen, admin net.Addr)
	// RedirectStarted, if set, is called with http_redirect_listen's
	// address once it accepts connections, before Started.
	RedirectStarted func(net.Addr)
}

// Server is a running gateway process.
type Server struct {
	o         Options
	log       *slog.Logger
	file      *config.File
	metrics   *gateway.Metrics
	transport *proxy.Transport
	current   atomic.Pointer[gateway.Gateway]
	stopGen   context.CancelFunc
	draining  atomic.Bool // SIGTERM received: /readyz answers 503

	mu       sync.Mutex
	retiring []*retiree

	tracer     *tracing.Tracer // nil: tracing off
	accessOut  *accesslog.Output
	tls        *tlsconf.Terminator // nil: plain HTTP
	ops        *operatorMetrics
	adminToken atomic.Pointer[string] // "" turns POST /reload off
	reloadReq  chan chan error        // POST /reload, served by Run's loop
	loopDone   chan struct{}          // closed when Run's loop no longer serves reloadReq
}

// Run loads the configuration, serves it until ctx is done, then stops
// accepting, lets in-flight requests finish (bounded by shutdown_timeout) and
// returns nil. Configuration errors are returned before anything listens.
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, log: o.Logger, transport: proxy.NewTransport(), reloadReq: make(chan chan error), loopDone: make(chan struct{})}
	state.SendRedisLogsTo(o.Logger) // go-redis logs per process; only JSON lines on stderr
	f, err := config.Load(o.ConfigPath)
	if err != nil {
		return err
	}
	if err := checkProcess(f); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = gateway.NewMetrics(reg)
	s.ops = newOperatorMetrics(reg)
	s.tracer, err = tracing.New(context.Background(), f.Config.Tracing, buildinfo.Read().Version)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.tracer.Shutdown(ctx); err != nil {
			s.log.Warn("tracing: spans not sent before exit", "error", err.Error())
		}
	}()
	s.accessOut = accesslog.NewOutput(accesslog.OutputPath(f), orDefault[io.Writer](o.Stdout, os.Stdout), orDefault[io.Writer](o.Stderr, os.Stderr))
	g, bundle, err := validate(f, s.deps(f, nil))
	if err != nil {
		return err
	}
	s.logWarnings(warnings(f, bundle))
	if err := s.accessOut.Open(); err != nil {
		return err
	}
	defer s.accessOut.Close()
	if bundle != nil {
		s.tls = tlsconf.NewTerminator(bundle, reg)
	}
	s.file = f
	s.adminToken.Store(&f.Config.AdminToken)
	s.ops.loaded()
	cfg := f.Config.Server

	// Issuers listen before the gateway's authorizers start, so that
	// discovery against an issuer hosted here succeeds at once.
	life, endLife := context.WithCancel(context.Background())
	defer endLife()
	newServer := func() *http.Server {
		return &http.Server{
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}
	}
	issuers, err := startIssuers(life, f, s.log, newServer)
	if err != nil {
		return err
	}
	s.install(g)
	defer func() { s.stopGen() }()

	srv := &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout.Std(), DefaultReadHeaderTimeout),
		IdleTimeout:       orDefault(cfg.IdleTimeout.Std(), DefaultIdleTimeout),
		MaxHeaderBytes:    orDefault(cfg.MaxHeaderBytes, DefaultMaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", f.Config.Listen)
	if err != nil {
		for _, h := range issuers {
			h.ln.Close()
		}
		return fmt.Errorf("listen: %w", err)
	}
	var fresh freshConns
	srv.ConnState = fresh.track
	stopLn := &stopListener{Listener: ln}
	servers := []*http.Server{srv}
	listeners := []net.Listener{stopLn}
	if s.tls != nil {
		// HTTP/2 is offered through ALPN with the same handler, so routes,
		// authorizers and limits are the same as over HTTP/1.1.
		srv.TLSConfig = s.tls.Config()
		srv.HTTP2 = &http.HTTP2Config{
			MaxConcurrentStreams: HTTP2MaxConcurrentStreams,
			// The header list is bounded by MaxHeaderBytes, as for HTTP/1.1.
		}
		listeners[0] = tls.NewListener(stopLn, srv.TLSConfig)
	}
	for _, h := range issuers {
		servers = append(servers, h.srv)
		listeners = append(listeners, h.ln)
	}
	var redirectAddr net.Addr
	if f.Config.HTTPRedirectListen != "" {
		rln, err := net.Listen("tcp", f.Config.HTTPRedirectListen)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("http_redirect_listen: %w", err)
		}
		redirectAddr = rln.Addr()
		servers = append(servers, &http.Server{
			Handler:           tlsconf.RedirectHandler(ln.Addr().(*net.TCPAddr).Port),
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			ErrorLog:          srv.ErrorLog,
		})
		listeners = append(listeners, rln)
	}
	var adminAddr net.Addr
	if f.Config.AdminListen != "" {
		aln, err := admin.Listen(f.Config.AdminListen)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("admin listen: %w", err)
		}
		adminAddr = aln.Addr()
		servers = append(servers, &http.Server{
			Handler: admin.Handler(admin.Options{
				Gatherer:    reg,
				NotReady:    func() []string { return s.current.Load().NotReady() },
				Degraded:    func(ctx context.Context) map[string]string { return s.current.Load().Degraded(ctx) },
				Draining:    s.draining.Load,
				Token:       func() string { return *s.adminToken.Load() },
				Reload:      s.reloadFromAdmin,
				APIKeys:     func() *apikey.Stage { return s.current.Load().APIKeys() },
				Revocations: func() *revocation.List { return s.current.Load().Revocations() },
			}),
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			ErrorLog:          srv.ErrorLog,
		})
		listeners = append(listeners, aln)
	}

	decisionAddr, grpcServer, grpcLn, err := s.listenDecisionAPI(f, srv, &servers, &listeners)
	if err != nil {
		for _, l := range listeners {
			l.Close()
		}
		return err
	}

	failed := make(chan error, len(servers)+1)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() {
			if err := servers[i].Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				failed <- err
			}
		})
	}
	if grpcServer != nil {
		wg.Go(func() {
			if err := grpcServer.Serve(grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				failed <- err
			}
		})
	}
	attrs := []any{"listen", ln.Addr().String(), "routes", len(f.Config.Routes), "config", o.ConfigPath}
	if adminAddr != nil {
		attrs = append(attrs, "admin", adminAddr.String())
	}
	if decisionAddr != nil {
		attrs = append(attrs, "decision_api", decisionAddr.String())
	}
	if grpcLn != nil {
		attrs = append(attrs, "decision_api_grpc", grpcLn.Addr().String())
	}
	if s.tls != nil {
		attrs = append(attrs, "tls", true, "mutual_tls", bundle.MutualTLS())
	}
	if redirectAddr != nil {
		attrs = append(attrs, "http_redirect", redirectAddr.String())
	}
	s.log.Info("serving", attrs...)
	if o.RedirectStarted != nil && redirectAddr != nil {
		o.RedirectStarted(redirectAddr)
	}
	if o.Started != nil {
		o.Started(ln.Addr(), adminAddr)
	}

	var watched <-chan struct{}
	if o.Watch {
		w, err := watchConfig(life, o.ConfigPath, s.log)
		if err != nil {
			s.log.Error("cannot watch the configuration; reload with SIGHUP or POST /reload", "error", err.Error())
		}
		watched = w
	}

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-o.Reload:
			s.reopenLogs()
			s.reload()
		case <-o.ReopenLogs:
			s.reopenLogs()
		case <-watched:
			s.reload()
		case reply := <-s.reloadReq:
			reply <- s.reload()
		case <-o.Rotate:
			for _, h := range issuers {
				if kid, err := h.iss.Rotate(); err != nil {
					s.log.Error("key rotation failed", "issuer", h.name, "error", err.Error())
				} else {
					s.log.Info("issuer key rotated", "issuer", h.name, "kid", kid)
				}
			}
		case err := <-failed:
			runErr = fmt.Errorf("serve: %w", err)
			break loop
		}
	}

	close(s.loopDone)
	if runErr == nil {
		s.drain(cfg)
	}
	timeout := orDefault(cfg.ShutdownTimeout.Std(), DefaultShutdownTimeout)
	s.log.Info("shutting down", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Stop accepting, then let the connections already accepted send
	// their request before Shutdown begins (see freshConns).
	stopLn.Close()
	fresh.wait(srv.ReadHeaderTimeout)
	for _, hs := range servers {
		if err := hs.Shutdown(sctx); err != nil {
			s.log.Warn("in-flight requests did not finish in time; closing their connections", "error", err)
			hs.Close()
		}
	}
	if grpcServer != nil {
		stopGRPC(sctx, grpcServer)
	}
	wg.Wait()
	s.retireAll()
	s.current.Load().Close(nil)
	s.transport.CloseIdleConnections()
	s.log.Info("stopped")
	return runErr
}

// drain is the first part of a graceful stop: /readyz answers 503 at once
// while the listener keeps serving for shutdown_delay, so that load
// balancers (a Kubernetes Service's endpoints) stop sending new requests
// before it closes. Responses carry Connection: close meanwhile (see
// serveHTTP), so that clients holding kept-alive connections move to other
// replicas instead of reusing a connection that is about to close.
func (s *Server) drain(cfg config.Server) {
	delay := DefaultShutdownDelay
	if cfg.ShutdownDelay != nil {
		delay = cfg.ShutdownDelay.Std()
	}
	s.draining.Store(true)
	if delay <= 0 {
		return
	}
	s.log.Info("draining: /readyz answers 503, still serving until the delay ends", "delay", delay.String())
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.o.Hurry:
		s.log.Info("shutdown delay cut short")
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.closeIfDraining(w)
	s.current.Load().ServeHTTP(w, r)
}

// closeIfDraining asks, while draining, that the connection close after
// this answer, so clients and proxies holding kept-alive connections move
// to other replicas. Idle connections are not closed now: a client may be
// sending on one at this very moment (Shutdown closes the rest later).
func (s *Server) closeIfDraining(w http.ResponseWriter) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
}

// closingWhileDraining is h with closeIfDraining before it: a proxy's kept
// connections to the decision API move on during the drain as the gateway
// listener's do, instead of meeting Shutdown's close of idle connections.
func (s *Server) closingWhileDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.closeIfDraining(w)
		h.ServeHTTP(w, r)
	})
}

func (s *Server) deps(f *config.File, prev *gateway.Gateway) gateway.Deps {
	// Go functions are built from source before they start (check only
	// checks that they could be).
	// Request lines go to the access log output (which only a restart
	// changes), stderr unless access_log.output says otherwise: the stream
	// the process log is written to, one whole line a Write.
	return gateway.Deps{Logger: s.log, Metrics: s.metrics, Transport: s.transport, Previous: prev, BuildGo: true, Tracer: s.tracer,
		AccessLog: s.accessOut}
}

// reopenLogs opens the access log file again, for log rotation.
func (s *Server) reopenLogs() {
	if err := s.accessOut.Open(); err != nil {
		s.log.Error("access log not reopened; lines keep going to the old file", "error", err.Error())
	}
}

// install makes g the serving gateway and stops the previous one's
// background work. Requests already inside the old gateway finish on it; the
// old gateway's functions that g does not reuse are stopped once they have
// had time to.
func (s *Server) install(g *gateway.Gateway) {
	ctx, cancel := context.WithCancel(context.Background())
	g.Start(ctx)
	old := s.current.Swap(g)
	if s.stopGen != nil {
		s.stopGen()
	}
	s.stopGen = cancel
	if old != nil {
		r := &retiree{old: old, next: g}
		s.mu.Lock()
		s.retiring = append(s.retiring, r)
		s.mu.Unlock()
		r.timer = time.AfterFunc(s.grace(), func() { s.retire(r) })
	}
}

// retiree is a replaced gateway whose functions are stopped later.
type retiree struct {
	old, next *gateway.Gateway
	timer     *time.Timer
}

// retire stops r's functions unless that was done already: the timer and
// shutdown race for it, and whichever takes r off the list does it.
func (s *Server) retire(r *retiree) {
	s.mu.Lock()
	i := slices.Index(s.retiring, r)
	if i >= 0 {
		s.retiring = slices.Delete(s.retiring, i, i+1)
	}
	s.mu.Unlock()
	if i >= 0 {
		r.old.Close(r.next)
	}
}

// retireAll stops every replaced gateway's functions now (on shutdown:
// function processes run in their own process groups and would outlive us).
func (s *Server) retireAll() {
	s.mu.Lock()
	pending := slices.Clone(s.retiring)
	s.mu.Unlock()
	for _, r := range pending {
		r.timer.Stop()
		s.retire(r)
	}
}

// grace is how long a replaced gateway's functions keep running for the
// requests still inside it: as long as a shutdown would give them.
func (s *Server) grace() time.Duration {
	return orDefault(s.file.Config.Server.ShutdownTimeout.Std(), DefaultShutdownTimeout)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// listenDecisionAPI opens the decision API's listeners (decision_api:): the
// HTTP one joins servers, with the gateway listener's limits; the gRPC one
// is returned with its server. Both decide with the gateway serving now.
func (s *Server) listenDecisionAPI(f *config.File, gw *http.Server, servers *[]*http.Server, listeners *[]net.Listener) (net.Addr, *grpc.Server, net.Listener, error) {
	c := f.Config.DecisionAPI
	var addr net.Addr
	if c.Listen != "" {
		ln, err := net.Listen("tcp", c.Listen)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("decision_api listen: %w", err)
		}
		addr = ln.Addr()
		*servers = append(*servers, &http.Server{
			Handler:           s.closingWhileDraining(decision.NewHTTP(s.current.Load, s.log)),
			ReadHeaderTimeout: gw.ReadHeaderTimeout,
			IdleTimeout:       gw.IdleTimeout,
			MaxHeaderBytes:    gw.MaxHeaderBytes,
			ErrorLog:          gw.ErrorLog,
		})
		*listeners = append(*listeners, ln)
	}
	if c.GRPCListen == "" {
		return addr, nil, nil, nil
	}
	ln, err := net.Listen("tcp", c.GRPCListen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("decision_api grpc_listen: %w", err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(decision.MaxCheckRequestBytes))
	decision.NewExtAuthz(s.current.Load).Register(gs)
	return addr, gs, ln, nil
}

// stopGRPC lets the ext_authz calls in flight finish until ctx is done, then
// cuts them.
func stopGRPC(ctx context.Context, gs *grpc.Server) {
	done := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		gs.Stop()
		<-done
	}
}
