package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/aisle-ai/aisle/excerpt"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// Config configures the gRPC server.
type Config struct {
	// MaxRecvMsgSize and MaxSendMsgSize bound message sizes in bytes.
	MaxRecvMsgSize int
	MaxSendMsgSize int
	// Version is reported by ServerMetadata.
	Version string
	// HealthInterval is how often health status follows model readiness.
	HealthInterval time.Duration
	// Readiness says what ready means (Triton's --strict-readiness);
	// default ReadyAllModels.
	Readiness Readiness
	// TLS, when set, serves TLS (see NewTLSConfig); nil serves plaintext.
	TLS *tls.Config
	// Auth checks every call (see auth.go). nil refuses every mutating call
	// and leaves scoring and read calls open.
	Auth *Authorizer
	// Limits bound ModelInfer's tensor shapes (see limits.go).
	Limits Limits
	// LogLevel is the logger's level, which LogSettings reads and changes;
	// nil leaves the level fixed (LogSettings then only reports it).
	LogLevel *slog.LevelVar
	// LogFormat is reported as LogSettings' log_format ("text" or "json").
	LogFormat string
	// AccessLogSampleRate is the fraction (0 to 1) of successful calls
	// written to the access log; failed calls are always written. Default 0.
	AccessLogSampleRate float64
	// MaxInFlightPerMethod refuses a unary call with RESOURCE_EXHAUSTED
	// when its method already has this many in flight (health checks
	// excepted); 0: no limit. See DefaultMaxInFlightPerMethod.
	MaxInFlightPerMethod int
	// LatencyTarget turns on the adaptive per-method concurrency limit
	// (adaptive.go): each unary method's limit on calls in flight follows
	// its p99 latency to this target, under MaxInFlightPerMethod. 0: off
	// (the static limit alone). `aisle serve` uses DefaultLatencyTarget.
	LatencyTarget time.Duration
	// Conn are the HTTP/2 connection limits; zero fields keep gRPC's
	// defaults.
	Conn ConnLimits
}

// ConnLimits bound what one client connection may hold or do. The defaults
// (DefaultConnLimits) are what `aisle serve` uses.
type ConnLimits struct {
	// MaxConcurrentStreams caps the calls in flight on one connection; a
	// client past it waits for a stream (HTTP/2 flow control), it is not
	// refused. 0: unlimited (gRPC's default).
	MaxConcurrentStreams uint32
	// KeepaliveMinTime is the shortest interval at which a client may
	// ping; one that pings more often is closed with GOAWAY
	// "too_many_pings". KeepalivePermitWithoutStream lets clients ping on
	// a connection with no call in flight.
	KeepaliveMinTime             time.Duration
	KeepalivePermitWithoutStream bool
	// KeepaliveTime and KeepaliveTimeout: the server pings a connection
	// idle for KeepaliveTime and closes it if no answer comes within
	// KeepaliveTimeout, so dead clients release their streams.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// MaxConnectionAge closes a connection (GOAWAY, with ±10% jitter)
	// after this long, letting in-flight calls finish within
	// MaxConnectionAgeGrace; clients reconnect and re-resolve, so load
	// spreads onto replicas added since. 0: never.
	MaxConnectionAge, MaxConnectionAgeGrace time.Duration
}

// DefaultConnLimits are the connection limits of `aisle serve`.
var DefaultConnLimits = ConnLimits{
	// Above the 512 concurrent calls one load client sends in the
	// benchmarks, so they measure the server, not this cap.
	MaxConcurrentStreams: 1024,
	// gRPC's default minimum is 5 minutes, which closes clients
	// configured with the common 10–30 s keepalive; 10 s still stops a
	// ping flood.
	KeepaliveMinTime:             10 * time.Second,
	KeepalivePermitWithoutStream: true,
	KeepaliveTime:                2 * time.Minute,
	KeepaliveTimeout:             20 * time.Second,
	MaxConnectionAge:             30 * time.Minute,
	MaxConnectionAgeGrace:        30 * time.Second,
}

// serverOptions turns l into gRPC server options.
func (l ConnLimits) serverOptions() []grpc.ServerOption {
	var opts []grpc.ServerOption
	if l.MaxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(l.MaxConcurrentStreams))
	}
	if l.KeepaliveMinTime > 0 || l.KeepalivePermitWithoutStream {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: l.KeepaliveMinTime, PermitWithoutStream: l.KeepalivePermitWithoutStream}))
	}
	if l.KeepaliveTime > 0 || l.KeepaliveTimeout > 0 || l.MaxConnectionAge > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{
			Time: l.KeepaliveTime, Timeout: l.KeepaliveTimeout,
			MaxConnectionAge: l.MaxConnectionAge, MaxConnectionAgeGrace: l.MaxConnectionAgeGrace}))
	}
	return opts
}

// Server is aisle's gRPC front end.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
	repo   Repository
	cfg    Config
	log    *slog.Logger
	ready  *readiness
	// services are the registered service names, each reported by the
	// health service with the server's readiness.
	services []string
}

// Service registers an additional gRPC service (aisle's own API) on the
// server.
type Service interface {
	Register(s grpc.ServiceRegistrar)
}

// New assembles the gRPC server: interceptors, size limits, the KServe
// service, health, reflection and any extra services.
func New(cfg Config, repo Repository, reg prometheus.Registerer, log *slog.Logger, extra ...Service) *Server {
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = time.Second
	}
	m := newMetrics(reg)
	ready := &readiness{mode: cfg.Readiness, repo: repo}
	obs := observer{calls: newCallMetrics(reg), access: accessLog{log: log, rate: cfg.AccessLogSampleRate,
		failures: newLogBudget(DefaultFailureLogsPerSecond, reg, time.Now)}}
	refusals := obs.access.failures.sibling() // auth's "call refused" warnings
	adaptive := newAdaptiveLimit(cfg.LatencyTarget, cfg.MaxInFlightPerMethod, reg, time.Now)
	// recover → metrics and access log → auth → limit (observe.go, auth.go,
	// limit.go, adaptive.go).
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recoverUnary(log, m.panics), obs.unary(), cfg.Auth.unaryInterceptor(refusals),
			limitUnary(cfg.MaxInFlightPerMethod, adaptive)),
		grpc.ChainStreamInterceptor(recoverStream(log, m.panics), obs.stream(), cfg.Auth.streamInterceptor(refusals)),
	}
	if adaptive != nil {
		opts = append(opts, grpc.InTapHandle(adaptive.tapHandle))
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	if cfg.MaxRecvMsgSize > 0 {
		opts = append(opts, grpc.MaxRecvMsgSize(cfg.MaxRecvMsgSize))
	}
	if cfg.MaxSendMsgSize > 0 {
		opts = append(opts, grpc.MaxSendMsgSize(cfg.MaxSendMsgSize))
	}
	opts = append(opts, cfg.Conn.serverOptions()...)
	gs := grpc.NewServer(opts...)
	pb.RegisterGRPCInferenceServiceServer(gs, &inferenceService{
		repo: repo, version: cfg.Version, metrics: m, ready: ready.check, limits: cfg.Limits.withDefaults(), log: log,
		maxSend: cfg.MaxSendMsgSize, logLevel: cfg.LogLevel, logFormat: cmp.Or(cfg.LogFormat, "text"),
	})
	for _, svc := range extra {
		svc.Register(gs)
	}
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	services := []string{""} // "" is the whole server
	for name := range gs.GetServiceInfo() {
		services = append(services, name)
	}
	sort.Strings(services)
	return &Server{grpc: gs, health: hs, repo: repo, cfg: cfg, log: log, ready: ready, services: services}
}

// Serve serves on ln until Stop; it keeps health in step with model
// readiness meanwhile.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.followReadiness(ctx)
	}()
	err := s.grpc.Serve(ln)
	cancel()
	<-done
	return err
}

// followReadiness reports SERVING, for the server ("") and for every
// registered service, only while the server is ready.
func (s *Server) followReadiness(ctx context.Context) {
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	for {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if s.ready.check() == nil {
			st = healthpb.HealthCheckResponse_SERVING
		}
		for _, name := range s.services {
			s.health.SetServingStatus(name, st)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop marks the server not ready (/readyz and gRPC health), lets in-flight
// calls finish until ctx ends, then closes every connection.
func (s *Server) Stop(ctx context.Context) {
	s.ready.stopping.Store(true)
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
}

// recoverUnary turns a handler panic into INTERNAL instead of a crash. The
// panic is logged once, with its stack, and counted; the client's message
// names the method and model but carries no panic text or server paths.
func recoverUnary(log *slog.Logger, panics *prometheus.CounterVec) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				resp, err = nil, recovered(log, panics, info.FullMethod, modelOf(req), r)
			}
		}()
		return h(ctx, req)
	}
}

// recoverStream is recoverUnary for streaming RPCs: the stream ends with
// INTERNAL.
func recoverStream(log *slog.Logger, panics *prometheus.CounterVec) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(log, panics, info.FullMethod, "", r)
			}
		}()
		return h(srv, ss)
	}
}

// recovered logs and counts a recovered panic r and returns the status the
// client gets.
func recovered(log *slog.Logger, panics *prometheus.CounterVec, method, model string, r any) error {
	log.Error("recovered panic in handler", "method", method, "model", excerpt.Text(model, excerpt.MaxBytes),
		"panic", excerpt.Text(fmt.Sprint(r), maxMessage), "stack", string(debug.Stack()))
	panics.WithLabelValues(method).Inc()
	where := method
	if model != "" {
		where += " for model " + excerpt.Quote(model)
	}
	return toStatus(fmt.Errorf("%s: %w", where, errPanic))
}

// modelOf returns the model a request names, if it names one.
func modelOf(req any) string {
	switch r := req.(type) {
	case interface{ GetModelName() string }:
		return r.GetModelName()
	case interface{ GetModel() string }:
		return r.GetModel()
	case interface{ GetName() string }:
		return r.GetName()
	}
	return ""
}
