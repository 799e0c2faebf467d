package server

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/embedding"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// Repository is what the gRPC services need from the model repository.
type Repository interface {
	Get(name, version string) (*repository.Version, error)
	Ready(name, version string) bool
	AllReady() bool
	Versions(name string) []int64
	Index() []repository.IndexEntry
	LoadModel(ctx context.Context, name string) error
	UnloadModel(ctx context.Context, name string) error
}

// inferenceService implements KServe v2's GRPCInferenceService and Triton's
// repository and statistics extensions.
type inferenceService struct {
	pb.UnimplementedGRPCInferenceServiceServer
	repo    Repository
	version string
	metrics *metrics
	ready   func() error // nil while ready, by the server's Readiness
	limits  Limits
	log     *slog.Logger
	// maxSend is the server's max send message size (0: gRPC's default),
	// checked before a streamed response is sent.
	maxSend int
	// logLevel is the level LogSettings reads and changes; nil when the
	// logger's level is fixed. logFormat is reported as log_format.
	logLevel  *slog.LevelVar
	logFormat string

	settingsMu sync.Mutex // guards traces and read-modify-write of logLevel
	traces     traceSettings
}

// Extensions lists the protocol extensions aisle implements.
var Extensions = []string{"model_repository", "model_configuration", "schedule_policy", "statistics", "parameters", "logging"}

func (s *inferenceService) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

func (s *inferenceService) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: s.ready() == nil}, nil
}

func (s *inferenceService) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: "aisle", Version: s.version, Extensions: Extensions}, nil
}

func (s *inferenceService) ModelReady(_ context.Context, req *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	v, err := s.repo.Get(req.Name, req.Version)
	switch {
	case isNotFound(err):
		return nil, toStatus(err)
	case err != nil:
		return &pb.ModelReadyResponse{Ready: false}, nil
	}
	v.Release()
	return &pb.ModelReadyResponse{Ready: true}, nil
}

func (s *inferenceService) ModelMetadata(_ context.Context, req *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	v, err := s.repo.Get(req.Name, req.Version)
	if err != nil {
		return nil, toStatus(err)
	}
	defer v.Release()
	resp := &pb.ModelMetadataResponse{Name: v.Name, Platform: "onnxruntime_onnx"}
	for _, n := range s.repo.Versions(v.Name) {
		resp.Versions = append(resp.Versions, strconv.FormatInt(n, 10))
	}
	batched := v.Config.MaxBatchSize > 0
	for _, in := range v.Config.Inputs {
		resp.Inputs = append(resp.Inputs, tensorMetadata(in, batched))
	}
	for _, out := range v.Config.Outputs {
		resp.Outputs = append(resp.Outputs, tensorMetadata(out, batched))
	}
	return resp, nil
}

func tensorMetadata(t repository.TensorConfig, batched bool) *pb.ModelMetadataResponse_TensorMetadata {
	shape := t.Dims
	if batched {
		shape = append([]int64{-1}, t.Dims...)
	}
	return &pb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.DType().String(), Shape: shape}
}

func (s *inferenceService) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	start := time.Now()
	resp, version, err := s.infer(ctx, req)
	s.metrics.observe(req.ModelName, version, err, time.Since(start))
	return resp, toStatus(err)
}

func (s *inferenceService) infer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, string, error) {
	if err := s.limits.checkInfer(req); err != nil {
		return nil, "", err
	}
	v, err := s.repo.Get(req.ModelName, req.ModelVersion)
	if err != nil {
		return nil, "", err
	}
	defer v.Release()
	version := strconv.FormatInt(v.Number, 10)
	s.metrics.inFlight.WithLabelValues(v.Name).Inc()
	defer s.metrics.inFlight.WithLabelValues(v.Name).Dec()
	rr, raw, err := inferRequest(req)
	if err != nil {
		return nil, version, err
	}
	outs, err := runInfer(ctx, v, rr)
	if err != nil {
		return nil, version, err
	}
	resp := &pb.ModelInferResponse{ModelName: v.Name, ModelVersion: version, Id: req.Id}
	if err := responseTensors(resp, outs, raw); err != nil {
		return nil, version, err
	}
	return resp, version, nil
}

func inferRequest(req *pb.ModelInferRequest) (repository.Request, bool, error) {
	inputs, raw, err := requestTensors(req)
	if err != nil {
		return repository.Request{}, false, err
	}
	rr := repository.Request{Inputs: inputs}
	for _, o := range req.Outputs {
		rr.Outputs = append(rr.Outputs, o.Name)
	}
	if p, ok := req.Parameters["priority"]; ok {
		n, err := intParam(p)
		if err != nil || n < 0 {
			return rr, false, fmt.Errorf("%w: parameter priority must be a non-negative integer", errBadRequest)
		}
		rr.Priority = int(n)
	}
	if p, ok := req.Parameters["timeout"]; ok {
		n, err := intParam(p)
		if err != nil || n < 0 {
			return rr, false, fmt.Errorf("%w: parameter timeout must be non-negative microseconds", errBadRequest)
		}
		rr.Timeout = time.Duration(n) * time.Microsecond
	}
	return rr, raw, nil
}

func intParam(p *pb.InferParameter) (int64, error) {
	switch c := p.ParameterChoice.(type) {
	case *pb.InferParameter_Int64Param:
		return c.Int64Param, nil
	case *pb.InferParameter_Uint64Param:
		if c.Uint64Param > 1<<62 {
			return 0, fmt.Errorf("out of range")
		}
		return int64(c.Uint64Param), nil
	}
	return 0, fmt.Errorf("not an integer")
}

// runInfer sends raw text to a text encoder's pipeline and everything else
// straight to the model.
func runInfer(ctx context.Context, v *repository.Version, rr repository.Request) ([]tensor.Tensor, error) {
	if enc, ok := repository.PipelineOf[*embedding.Encoder](v); ok && embedding.AcceptsText(rr) {
		return enc.InferText(ctx, v, rr)
	}
	return v.Infer(ctx, rr)
}
