package server

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

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
	// LogLevel is the logger's level, which LogSettings reads and changes;
	// nil leaves the level fixed (LogSettings then only reports it).
	LogLevel *slog.LevelVar
	// LogFormat is reported as LogSettings' log_format ("text" or "json").
	LogFormat string
}

// Server is aisle's gRPC front end.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
	repo   Repository
	cfg    Config
	log    *slog.Logger
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
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recoverUnary(log)),
		grpc.ChainStreamInterceptor(recoverStream(log)),
	}
	if cfg.MaxRecvMsgSize > 0 {
		opts = append(opts, grpc.MaxRecvMsgSize(cfg.MaxRecvMsgSize))
	}
	if cfg.MaxSendMsgSize > 0 {
		opts = append(opts, grpc.MaxSendMsgSize(cfg.MaxSendMsgSize))
	}
	gs := grpc.NewServer(opts...)
	pb.RegisterGRPCInferenceServiceServer(gs, &inferenceService{
		repo: repo, version: cfg.Version, metrics: newMetrics(reg), log: log,
		maxSend: cfg.MaxSendMsgSize, logLevel: cfg.LogLevel, logFormat: cmp.Or(cfg.LogFormat, "text"),
	})
	for _, svc := range extra {
		svc.Register(gs)
	}
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return &Server{grpc: gs, health: hs, repo: repo, cfg: cfg, log: log}
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

// followReadiness reports SERVING only while every model is ready.
func (s *Server) followReadiness(ctx context.Context) {
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	for {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if s.repo.AllReady() {
			st = healthpb.HealthCheckResponse_SERVING
		}
		s.health.SetServingStatus("", st)
		s.health.SetServingStatus(pb.GRPCInferenceService_ServiceDesc.ServiceName, st)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop marks the server NOT_SERVING, lets in-flight calls finish until ctx
// ends, then closes every connection.
func (s *Server) Stop(ctx context.Context) {
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

// recoverUnary turns a handler panic into INTERNAL instead of a crash.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("handler panic", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "internal error in %s", info.FullMethod)
			}
		}()
		return h(ctx, req)
	}
}

// recoverStream turns a streaming handler's panic into INTERNAL instead of
// a crash.
func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("handler panic", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "internal error in %s", info.FullMethod)
			}
		}()
		return h(srv, ss)
	}
}
