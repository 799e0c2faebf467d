package server

import (
	"strconv"

	"github.com/aisle-ai/aisle/batching"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

// modelStats converts a version's scheduler statistics to Triton's
// ModelStatistics message.
func modelStats(v *repository.Version) *pb.ModelStatistics {
	s := v.Stats()
	out := &pb.ModelStatistics{
		Name:           v.Name,
		Version:        strconv.FormatInt(v.Number, 10),
		InferenceCount: s.InferenceCount,
		ExecutionCount: s.ExecutionCount,
		InferenceStats: &pb.InferStatistics{
			Success:       duration(s.Success),
			Fail:          duration(s.Fail),
			Queue:         duration(s.Queue),
			ComputeInput:  duration(s.ComputeInput),
			ComputeInfer:  duration(s.ComputeInfer),
			ComputeOutput: duration(s.ComputeOutput),
			CacheHit:      &pb.StatisticDuration{},
			CacheMiss:     &pb.StatisticDuration{},
		},
	}
	// aisle answers every request with exactly one response, so the
	// statistics of response index "0" are the requests' own.
	out.ResponseStats = map[string]*pb.InferResponseStatistics{"0": {
		ComputeInfer:  duration(s.ComputeInfer),
		ComputeOutput: duration(s.ComputeOutput),
		Success:       duration(s.Success),
		Fail:          duration(s.Fail),
		EmptyResponse: &pb.StatisticDuration{},
		Cancel:        &pb.StatisticDuration{},
	}}
	if v.Model != nil {
		// An estimate, as Triton's is: each ONNX Runtime session holds its
		// own copy of the model's weights, which are nearly all of an ONNX
		// file's bytes; activations and arenas grow per request and are
		// not counted.
		out.MemoryUsage = []*pb.MemoryUsage{{
			Type: "CPU", Id: 0, ByteSize: uint64(len(v.Model.Data)) * uint64(v.Config.Instances()),
		}}
	}
	if !s.LastInference.IsZero() {
		out.LastInference = uint64(s.LastInference.UnixMilli())
	}
	for _, b := range s.Batches {
		out.BatchStats = append(out.BatchStats, &pb.InferBatchStatistics{
			BatchSize:     uint64(b.Size),
			ComputeInput:  duration(b.ComputeInput),
			ComputeInfer:  duration(b.ComputeInfer),
			ComputeOutput: duration(b.ComputeOutput),
		})
	}
	return out
}

func duration(d batching.Duration) *pb.StatisticDuration {
	return &pb.StatisticDuration{Count: d.Count, Ns: uint64(d.Total.Nanoseconds())}
}
