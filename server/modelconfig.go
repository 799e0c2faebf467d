package server

import (
	"context"
	"strconv"
	"strings"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

// ModelConfig answers Triton's ModelConfig with the version's resolved
// configuration: inputs and outputs as read from the ONNX file, defaults
// filled in as the server applies them.
func (s *inferenceService) ModelConfig(_ context.Context, req *pb.ModelConfigRequest) (*pb.ModelConfigResponse, error) {
	v, err := s.repo.Get(req.Name, req.Version)
	if err != nil {
		return nil, toStatus(err)
	}
	defer v.Release()
	return &pb.ModelConfigResponse{Config: modelConfig(v.Name, v.Config)}, nil
}

// modelConfig converts aisle's config to Triton's ModelConfig. What aisle
// has no counterpart for (optimization, sequence batching, ensembles,
// response cache) stays unset, as in a Triton config that does not use it;
// aisle's runtime: block (ONNX Runtime thread counts) has no field in
// ModelConfig and is left out.
func modelConfig(name string, c *repository.Config) *pb.ModelConfig {
	out := &pb.ModelConfig{
		Name:                 name,
		Platform:             "onnxruntime_onnx",
		Backend:              "onnxruntime",
		MaxBatchSize:         int32(c.MaxBatchSize),
		VersionPolicy:        versionPolicy(c.VersionPolicy),
		DefaultModelFilename: c.DefaultModelFilename,
	}
	if out.DefaultModelFilename == "" {
		out.DefaultModelFilename = repository.DefaultModelFile
	}
	for _, in := range c.Inputs {
		out.Input = append(out.Input, &pb.ModelInput{
			Name: in.Name, DataType: configDataType(in.DataType), Dims: in.Dims,
			// aisle batches ragged inputs of different lengths together
			// (padding them), which is what allow_ragged_batch tells a
			// Triton client: requests need not share this input's shape.
			AllowRaggedBatch: in.Ragged,
		})
	}
	for _, o := range c.Outputs {
		out.Output = append(out.Output, &pb.ModelOutput{Name: o.Name, DataType: configDataType(o.DataType), Dims: o.Dims})
	}
	if b := c.DynamicBatching; b != nil {
		out.SchedulingChoice = &pb.ModelConfig_DynamicBatching{DynamicBatching: dynamicBatching(b)}
	}
	out.InstanceGroup = instanceGroups(name, c.InstanceGroup)
	if len(c.Parameters) > 0 {
		out.Parameters = make(map[string]*pb.ModelParameter, len(c.Parameters))
		for k, v := range c.Parameters {
			out.Parameters[k] = &pb.ModelParameter{StringValue: v}
		}
	}
	for _, w := range c.ModelWarmup {
		out.ModelWarmup = append(out.ModelWarmup, modelWarmup(w))
	}
	return out
}

// configDataType maps "FP32" or "TYPE_FP32" (and BYTES, which Triton's
// config spells TYPE_STRING) to the DataType enum; unknown names are
// TYPE_INVALID, which a validated config never has.
func configDataType(s string) pb.DataType {
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TYPE_")
	if name == "BYTES" {
		name = "STRING"
	}
	return pb.DataType(pb.DataType_value["TYPE_"+name])
}

func versionPolicy(p repository.VersionPolicy) *pb.ModelVersionPolicy {
	switch {
	case p.All != nil:
		return &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_All_{All: &pb.ModelVersionPolicy_All{}}}
	case p.Specific != nil:
		return &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_Specific_{
			Specific: &pb.ModelVersionPolicy_Specific{Versions: p.Specific.Versions},
		}}
	}
	n := uint32(1) // aisle's default, as Triton's: the latest version
	if p.Latest != nil && p.Latest.NumVersions > 0 {
		n = uint32(p.Latest.NumVersions)
	}
	return &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_Latest_{
		Latest: &pb.ModelVersionPolicy_Latest{NumVersions: n},
	}}
}

func dynamicBatching(b *repository.DynamicBatching) *pb.ModelDynamicBatching {
	out := &pb.ModelDynamicBatching{
		MaxQueueDelayMicroseconds: b.MaxQueueDelayMicroseconds,
		PreserveOrdering:          b.PreserveOrdering,
		PriorityLevels:            uint64(max(b.PriorityLevels, 0)),
		DefaultPriorityLevel:      uint64(max(b.DefaultPriorityLevel, 0)),
		DefaultQueuePolicy:        queuePolicy(b.DefaultQueuePolicy),
	}
	for _, n := range b.PreferredBatchSize {
		out.PreferredBatchSize = append(out.PreferredBatchSize, int32(n))
	}
	if len(b.PriorityQueuePolicy) > 0 {
		out.PriorityQueuePolicy = make(map[uint64]*pb.ModelQueuePolicy, len(b.PriorityQueuePolicy))
		for level, p := range b.PriorityQueuePolicy {
			out.PriorityQueuePolicy[uint64(max(level, 0))] = queuePolicy(p)
		}
	}
	return out
}

func queuePolicy(p repository.QueuePolicy) *pb.ModelQueuePolicy {
	action := pb.ModelQueuePolicy_REJECT
	if strings.EqualFold(p.TimeoutAction, "DELAY") {
		action = pb.ModelQueuePolicy_DELAY
	}
	return &pb.ModelQueuePolicy{
		TimeoutAction:              action,
		DefaultTimeoutMicroseconds: p.DefaultTimeoutMicroseconds,
		AllowTimeoutOverride:       p.AllowTimeoutOverride,
		MaxQueueSize:               uint32(max(p.MaxQueueSize, 0)),
	}
}

// instanceGroups names each group as Triton does (<model>_<index>) and
// fills aisle's default, one CPU session, when the config has none. Every
// kind runs on the CPU in aisle, so KIND_GPU and KIND_AUTO are reported as
// KIND_CPU: that is where the sessions are.
func instanceGroups(model string, groups []repository.InstanceGroup) []*pb.ModelInstanceGroup {
	if len(groups) == 0 {
		groups = []repository.InstanceGroup{{Count: 1}}
	}
	out := make([]*pb.ModelInstanceGroup, 0, len(groups))
	for i, g := range groups {
		out = append(out, &pb.ModelInstanceGroup{
			Name:  model + "_" + strconv.Itoa(i),
			Kind:  pb.ModelInstanceGroup_KIND_CPU,
			Count: int32(g.Count),
		})
	}
	return out
}

func modelWarmup(w repository.Warmup) *pb.ModelWarmup {
	out := &pb.ModelWarmup{Name: w.Name, BatchSize: uint32(max(w.BatchSize, 0)), Count: uint32(max(w.Count, 0))}
	if len(w.Inputs) > 0 {
		out.Inputs = make(map[string]*pb.ModelWarmup_Input, len(w.Inputs))
	}
	for name, in := range w.Inputs {
		wi := &pb.ModelWarmup_Input{DataType: configDataType(in.DataType), Dims: in.Dims}
		if in.RandomData {
			wi.InputDataType = &pb.ModelWarmup_Input_RandomData{RandomData: true}
		} else {
			wi.InputDataType = &pb.ModelWarmup_Input_ZeroData{ZeroData: true}
		}
		out.Inputs[name] = wi
	}
	return out
}
