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
