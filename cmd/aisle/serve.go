package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/aisle-ai/aisle/config"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/server"
)

// serve runs "aisle serve": the configuration is loaded and validated
// (flags > AISLE_* environment > --config file > defaults) before anything
// starts; --print-config prints it and exits.
func serve(ctx context.Context, args []string) error {
	return serveWith(ctx, args, os.LookupEnv, os.Stdout)
}

// serveWith is serve reading the environment through lookupEnv and
// printing --print-config to stdout.
func serveWith(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout io.Writer) error {
	cfg, fs, printOnly, err := loadServeConfig(args, lookupEnv, os.Stderr)
	if err != nil {
		return err
	}
	if printOnly {
		return config.Print(stdout, fs, printConfigFlag)
	}
	log, level, err := newLogger(cfg.logLevel, cfg.logJSON)
	cfg.level = level
	if err != nil {
		return err
	}
	if err := inference.Init(inference.LibraryPath(cfg.ortLib)); err != nil {
		return err
	}
	defer inference.Shutdown()
	return runServer(ctx, cfg, log)
}

func runServer(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	grpcTLS, httpTLS, auth, err := cfg.security.build(cfg.grpcAddr, log)
	if err != nil {
		return err
	}
	// Read before binding: a bad bandits file must not leave the ports
	// open (it returned with them bound).
	banditCfg, err := loadBanditConfig(banditsPath(cfg.bandits, cfg.models))
	if err != nil {
		return err
	}
	// Bind both ports before loading any model: a port in use fails
	// start-up at once, with nothing left open.
	ln, hln, err := listen(cfg)
	if err != nil {
		return err
	}
	reg := newProcessRegistry()
	repo, err := repository.New(repository.Options{
		Root: cfg.models, Session: cfg.session, DrainTimeout: cfg.drain,
		Extensions: extensions(), Logger: log, Registerer: reg,
	})
	if err == nil {
		err = repo.Load(ctx)
	}
	if err != nil {
		closeListeners(ln, hln)
		return err
	}
	items, err := openCatalog(cfg.models, log, reg)
	if err != nil {
		_ = repo.Close(ctx)
		closeListeners(ln, hln)
		return err
	}
	if items != nil && cfg.poll > 0 {
		// The catalogue follows its file like the models; stopped and
		// waited for on return, after the gRPC server has stopped.
		catCtx, stopCat := context.WithCancel(ctx)
		var catWG sync.WaitGroup
		catWG.Go(func() { _ = items.store.Run(catCtx) })
		defer catWG.Wait()
		defer stopCat()
	}
	cfg.features.shutdownWait = cfg.drain
	events, err := startEvents(ctx, &cfg.features, items, banditCfg, log, reg)
	if err != nil {
		_ = repo.Close(ctx)
		closeListeners(ln, hln)
		return err
	}
	// Deferred: runs after serveUntilDone has stopped the gRPC server.
	defer events.stop()
	pipe, surfaces, err := newPipeline(cfg.models, repo, pipelineDeps{catalog: items, features: events.ranking,
		bandits: events.bandits, events: events.log, observer: events.observer}, reg, log)
	if err != nil {
		_ = repo.Close(ctx)
		closeListeners(ln, hln)
		return err
	}
	srv := server.New(server.Config{MaxRecvMsgSize: cfg.maxRecv, MaxSendMsgSize: cfg.maxSend, Version: version,
		Readiness: server.ParseStrictReadiness(cfg.strict), TLS: grpcTLS, Auth: auth, Limits: cfg.limits,
		LogLevel: cfg.level, LogFormat: logFormat(cfg.logJSON), AccessLogSampleRate: cfg.accessLogSample,
		MaxInFlightPerMethod: cfg.inFlight, LatencyTarget: cfg.latencyTarget, Conn: cfg.conn},
		repo, reg, log, append(services(repo, cfg.limits, pipe, events.service, cfg.security.recommendLogOpen), server.NewBandits(events.bandits, reg))...)
	return serveUntilDone(ctx, cfg, log, repo, surfaces, srv, reg, ln, hln, httpTLS)
}

// listen binds the gRPC port and, unless disabled, the HTTP port; when one
// fails, the other is closed again.
func listen(cfg serveConfig) (grpcLn, httpLn net.Listener, err error) {
	grpcLn, err = net.Listen("tcp", cfg.grpcAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s (--grpc-addr): %w", cfg.grpcAddr, err)
	}
	if cfg.httpAddr == "" {
		return grpcLn, nil, nil
	}
	httpLn, err = net.Listen("tcp", cfg.httpAddr)
	if err != nil {
		_ = grpcLn.Close()
		return nil, nil, fmt.Errorf("listen %s (--http-addr): %w", cfg.httpAddr, err)
	}
	return grpcLn, httpLn, nil
}

func closeListeners(lns ...net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

func serveUntilDone(ctx context.Context, cfg serveConfig, log *slog.Logger, repo *repository.Manager,
	surfaces *recommend.SurfaceStore, srv *server.Server, reg *prometheus.Registry, ln, hln net.Listener, httpTLS *tls.Config) error {
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		if cfg.poll > 0 {
			var wg sync.WaitGroup
			wg.Go(func() { surfaces.Run(pollCtx, cfg.poll) })
			repo.Poll(pollCtx, cfg.poll)
			wg.Wait()
		}
	}()
	// /readyz follows srv, which turns not-ready as soon as Stop begins.
	var handler http.Handler = server.NewHTTPHandler(reg, srv.CheckReady)
	if cfg.pprof {
		handler = withProfiler(handler)
	}
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, TLSConfig: httpTLS}
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		switch {
		case hln == nil:
		case httpTLS != nil:
			_ = httpSrv.ServeTLS(hln, "", "")
		default:
			_ = httpSrv.Serve(hln)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	log.Info("aisle serving", "grpc", ln.Addr().String(), "http", cfg.httpAddr, "tls", httpTLS != nil, "models", cfg.models, "runtime", inference.Version())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	// Shutdown order: stop taking calls, let in-flight ones finish, stop
	// polling, drain the schedulers, then free the sessions.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.drain)
	defer cancel()
	srv.Stop(sctx)
	stopPoll()
	<-pollDone
	_ = httpSrv.Shutdown(sctx)
	<-httpDone
	if err := repo.Close(sctx); err != nil {
		log.Warn("unload at shutdown", "err", err)
	}
	log.Info("aisle stopped")
	return serveErr
}

// newLogger builds the server's logger on a LevelVar, so that the level can
// be changed while it runs (Triton's LogSettings).
func newLogger(level string, asJSON bool) (*slog.Logger, *slog.LevelVar, error) {
	var l slog.LevelVar
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: &l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), &l, nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), &l, nil
}

// logFormat is the log_format LogSettings reports.
func logFormat(asJSON bool) string {
	if asJSON {
		return "json"
	}
	return "text"
}

// newProcessRegistry is the registry serve and aisle aggregate export on
// /metrics: the Go runtime's and the process's collectors, then each
// command's own.
func newProcessRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
