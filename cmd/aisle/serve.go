package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/aisle-ai/aisle/inference"
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
	features featureFlags
}

func (c *serveConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.models, "models", "models", "model repository directory (models/<name>/config.yaml, models/<name>/<version>/model.onnx)")
	fs.StringVar(&c.grpcAddr, "grpc-addr", "127.0.0.1:8001", "gRPC listen address (KServe v2 + aisle.v1.Personalization + aisle.v1.Events)")
	fs.StringVar(&c.httpAddr, "http-addr", "127.0.0.1:8002", "HTTP listen address for /metrics, /healthz and /readyz (empty disables)")
	fs.StringVar(&c.ortLib, "ort-lib", "", "path to libonnxruntime.so.1 (default $"+inference.LibraryEnv+", then "+inference.DefaultLibraryPath+")")
	fs.IntVar(&c.session.IntraOpThreads, "intra-op-threads", 1, "ONNX Runtime threads inside one operator per session (0 = one per core); a model's config may override")
	fs.IntVar(&c.session.InterOpThreads, "inter-op-threads", 1, "ONNX Runtime threads across operators per session (0 = runtime default)")
	fs.StringVar(&c.session.GraphOptimization, "graph-optimization", "all", "graph optimisation level: disable, basic, extended or all")
	fs.StringVar(&c.session.ExecutionProvider, "execution-provider", "cpu", "execution provider: cpu, cuda or tensorrt (needs a runtime library built with it)")
	fs.DurationVar(&c.poll, "poll-interval", 5*time.Second, "how often to re-scan the repository for new, changed or removed models (0 disables)")
	fs.DurationVar(&c.drain, "drain-timeout", 30*time.Second, "how long shutdown and unloads wait for in-flight requests")
	fs.IntVar(&c.maxRecv, "max-recv-msg-size", 64<<20, "largest gRPC request in bytes")
	fs.IntVar(&c.maxSend, "max-send-msg-size", 64<<20, "largest gRPC response in bytes")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&c.logJSON, "log-json", false, "write logs as JSON lines")
	c.features.addFlags(fs)
}

func serve(ctx context.Context, args []string) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("aisle serve", flag.ContinueOnError)
	cfg.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(cfg.logLevel, cfg.logJSON)
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	repo, err := repository.New(repository.Options{
		Root: cfg.models, Session: cfg.session, DrainTimeout: cfg.drain,
		Extensions: extensions(), Logger: log, Registerer: reg,
	})
	if err != nil {
		return err
	}
	if err := repo.Load(ctx); err != nil {
		return err
	}
	events, err := startEvents(ctx, &cfg.features, cfg.models, log, reg)
	if err != nil {
		_ = repo.Close(ctx)
		return err
	}
	// Deferred: runs after serveUntilDone has stopped the gRPC server.
	defer events.stop()
	ln, err := net.Listen("tcp", cfg.grpcAddr)
	if err != nil {
		_ = repo.Close(ctx)
		return fmt.Errorf("listen %s: %w", cfg.grpcAddr, err)
	}
	srv := server.New(server.Config{MaxRecvMsgSize: cfg.maxRecv, MaxSendMsgSize: cfg.maxSend, Version: version},
		repo, reg, log, services(repo, events.service)...)
	return serveUntilDone(ctx, cfg, log, repo, srv, reg, ln)
}

func serveUntilDone(ctx context.Context, cfg serveConfig, log *slog.Logger, repo *repository.Manager,
	srv *server.Server, reg *prometheus.Registry, ln net.Listener) error {
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		if cfg.poll > 0 {
			repo.Poll(pollCtx, cfg.poll)
		}
	}()
	httpSrv := &http.Server{Handler: server.NewHTTPHandler(reg, repo), ReadHeaderTimeout: 5 * time.Second}
	if cfg.httpAddr != "" {
		hln, err := net.Listen("tcp", cfg.httpAddr)
		if err != nil {
			stopPoll()
			return fmt.Errorf("listen %s: %w", cfg.httpAddr, err)
		}
		go func() { _ = httpSrv.Serve(hln) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	log.Info("aisle serving", "grpc", ln.Addr().String(), "http", cfg.httpAddr, "models", cfg.models, "runtime", inference.Version())
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
	if err := repo.Close(sctx); err != nil {
		log.Warn("unload at shutdown", "err", err)
	}
	log.Info("aisle stopped")
	return serveErr
}

func newLogger(level string, asJSON bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}
