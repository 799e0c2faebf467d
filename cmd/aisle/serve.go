package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/server"
)

// serveConfig holds every flag of "aisle serve".
type serveConfig struct {
	models   string
	grpcAddr string
	httpAddr string
	ortLib   string
	session  inference.SessionOptions
	poll     time.Duration
	drain    time.Duration
	maxRecv  int
	maxSend  int
	logLevel string
	logJSON  bool
	strict   bool
	bandits  string
	security securityConfig
	limits   server.Limits

	// level is the running logger's level, which LogSettings changes.
	level *slog.LevelVar
}

func (c *serveConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.models, "models", "models", "model repository directory (models/<name>/config.yaml, models/<name>/<version>/model.onnx)")
	fs.StringVar(&c.grpcAddr, "grpc-addr", "127.0.0.1:8001", "gRPC listen address (KServe v2 + aisle.v1.Personalization)")
	fs.StringVar(&c.httpAddr, "http-addr", "127.0.0.1:8002", "HTTP listen address for /metrics, /healthz and /readyz (empty disables)")
	fs.StringVar(&c.ortLib, "ort-lib", "", "path to libonnxruntime.so.1 (default $"+inference.LibraryEnv+", then "+inference.DefaultLibraryPath+")")
	fs.IntVar(&c.session.IntraOpThreads, "intra-op-threads", 1, "ONNX Runtime threads inside one operator per session (0 = one per core); a model's config may override")
	fs.IntVar(&c.session.InterOpThreads, "inter-op-threads", 1, "ONNX Runtime threads across operators per session (0 = runtime default)")
	fs.StringVar(&c.session.GraphOptimization, "graph-optimization", "all", "graph optimisation level: disable, basic, extended or all")
	fs.StringVar(&c.session.ExecutionProvider, "execution-provider", "cpu", "execution provider: cpu, cuda or tensorrt (needs a runtime library built with it)")
	fs.DurationVar(&c.poll, "poll-interval", 5*time.Second, "how often to re-scan the repository for new, changed or removed models and surfaces.yaml (0 disables)")
	fs.DurationVar(&c.drain, "drain-timeout", 30*time.Second, "how long shutdown and unloads wait for in-flight requests")
	fs.IntVar(&c.maxRecv, "max-recv-msg-size", 64<<20, "largest gRPC request in bytes")
	fs.IntVar(&c.maxSend, "max-send-msg-size", 64<<20, "largest gRPC response in bytes")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&c.logJSON, "log-json", false, "write logs as JSON lines")
	fs.BoolVar(&c.strict, "strict-readiness", true, "ready (ServerReady, health, /readyz) only while every model serves; false: ready while the server serves, as Triton's flag")
	fs.StringVar(&c.bandits, "bandits", "", "bandit surfaces config (YAML, see BANDITS.md); empty = no surfaces")
	c.security.addFlags(fs)
	addLimitFlags(fs, &c.limits)
}

func serve(ctx context.Context, args []string) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("aisle serve", flag.ContinueOnError)
	cfg.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
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
	grpcTLS, httpTLS, auth, err := cfg.security.build(cfg.grpcAddr, log)
	if err != nil {
		return err
	}
	if err := cfg.limits.Validate(); err != nil {
		return err
	}
	// Bind both ports before loading any model: a port in use fails
	// start-up at once, with nothing left open.
	ln, hln, err := listen(cfg)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bandits, err := newBandits(cfg.bandits)
	if err != nil {
		return err
	}
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
	pipe, surfaces, err := newPipeline(cfg.models, repo, reg, log)
	if err != nil {
		_ = repo.Close(ctx)
		closeListeners(ln, hln)
		return err
	}
	srv := server.New(server.Config{MaxRecvMsgSize: cfg.maxRecv, MaxSendMsgSize: cfg.maxSend, Version: version,
		Readiness: server.ParseStrictReadiness(cfg.strict), TLS: grpcTLS, Auth: auth, Limits: cfg.limits,
		LogLevel: cfg.level, LogFormat: logFormat(cfg.logJSON)},
		repo, reg, log, append(services(repo, cfg.limits, pipe), server.NewBandits(bandits, reg))...)
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
	httpSrv := &http.Server{Handler: server.NewHTTPHandler(reg, srv.Ready), ReadHeaderTimeout: 5 * time.Second, TLSConfig: httpTLS}
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
