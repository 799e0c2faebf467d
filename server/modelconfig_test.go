package server

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

// TestModelConfigConversion checks the sections TestTritonClientEveryRPC
// does not reach: other version policies, priority queues, BYTES, ragged
// inputs and the defaults a config leaves out.
func TestModelConfigConversion(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml  string
		check func(*pb.ModelConfig) bool
	}{
		"defaults": {"max_batch_size: 0\n", func(c *pb.ModelConfig) bool {
			return c.GetVersionPolicy().GetLatest().GetNumVersions() == 1 && len(c.InstanceGroup) == 1 &&
				c.InstanceGroup[0].Count == 1 && c.InstanceGroup[0].Name == "m_0" && c.GetDynamicBatching() == nil &&
				c.DefaultModelFilename == "model.onnx"
		}},
		"all versions": {"version_policy: {all: {}}\n", func(c *pb.ModelConfig) bool {
			return c.GetVersionPolicy().GetAll() != nil
		}},
		"specific versions": {"version_policy: {specific: {versions: [1, 3]}}\n", func(c *pb.ModelConfig) bool {
			v := c.GetVersionPolicy().GetSpecific().GetVersions()
			return len(v) == 2 && v[1] == 3
		}},
		"priority queues": {`max_batch_size: 4
dynamic_batching:
  priority_levels: 2
  default_priority_level: 1
  default_queue_policy: {timeout_action: DELAY, default_timeout_microseconds: 50, allow_timeout_override: true}
  priority_queue_policy: {2: {max_queue_size: 3}}
`, func(c *pb.ModelConfig) bool {
			b := c.GetDynamicBatching()
			q := b.GetDefaultQueuePolicy()
			return b.PriorityLevels == 2 && b.DefaultPriorityLevel == 1 && q.TimeoutAction == pb.ModelQueuePolicy_DELAY &&
				q.DefaultTimeoutMicroseconds == 50 && q.AllowTimeoutOverride && b.PriorityQueuePolicy[2].GetMaxQueueSize() == 3
		}},
		"tensors": {`max_batch_size: 4
inputs: [{name: text, data_type: BYTES, dims: [1]}, {name: ids, data_type: TYPE_INT64, dims: [-1], ragged: true}]
outputs: [{name: out, data_type: FP16, dims: [-1, 8]}]
`, func(c *pb.ModelConfig) bool {
			return c.Input[0].DataType == pb.DataType_TYPE_STRING && !c.Input[0].AllowRaggedBatch &&
				c.Input[1].DataType == pb.DataType_TYPE_INT64 && c.Input[1].AllowRaggedBatch &&
				c.Output[0].DataType == pb.DataType_TYPE_FP16 && len(c.Output[0].Dims) == 2
		}},
		"random warm-up": {`max_batch_size: 2
model_warmup: [{name: r, batch_size: 2, count: 3, inputs: {x: {data_type: FP32, dims: [4], random_data: true}}}]
`, func(c *pb.ModelConfig) bool {
			w := c.ModelWarmup[0]
			return w.Count == 3 && w.BatchSize == 2 && w.Inputs["x"].GetRandomData() && w.Inputs["x"].DataType == pb.DataType_TYPE_FP32
		}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := repository.ParseConfig([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := modelConfig("m", cfg)
			if !tc.check(got) {
				t.Errorf("ModelConfig from\n%s=\n%s", tc.yaml, prototext.Format(got))
			}
		})
	}
}
