package repository

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

func TestParseConfigGood(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
name: enc
max_batch_size: 32
inputs:
  - {name: input_ids, data_type: TYPE_INT64, dims: [-1], ragged: true, pad_value: 0}
outputs:
  - {name: last_hidden_state, data_type: FP32, dims: [-1, 128], ragged: true}
version_policy: {latest: {num_versions: 2}}
dynamic_batching:
  preferred_batch_size: [8, 16]
  max_queue_delay_microseconds: 500
  priority_levels: 2
  default_priority_level: 1
  default_queue_policy: {timeout_action: DELAY, default_timeout_microseconds: 1000, max_queue_size: 64}
  priority_queue_policy: {2: {max_queue_size: 8}}
instance_group: [{count: 2, kind: KIND_CPU}]
runtime: {intra_op_threads: 1, graph_optimization_level: extended}
model_warmup:
  - {name: w, batch_size: 4, inputs: {input_ids: {data_type: INT64, dims: [8], zero_data: true}}}
parameters: {tokenizer: tokenizer.json, pooling: mean}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Inputs[0].DType() != tensor.Int64 || !cfg.Inputs[0].Ragged {
		t.Errorf("input = %+v", cfg.Inputs[0])
	}
	if cfg.Instances() != 2 || cfg.DynamicBatching.DefaultQueuePolicy.MaxQueueSize != 64 {
		t.Errorf("config = %+v", cfg)
	}
	if got := cfg.VersionPolicy.choose([]int64{3, 1, 2}); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("latest 2 of [3 1 2] = %v", got)
	}
	obj, err := ParseConfig([]byte("max_batch_size: 8\ndynamic_batching: {latency_objective: {percentile: 99.5, target_microseconds: 50000}}"))
	if err != nil {
		t.Fatal(err)
	}
	if o := schedulerConfig(&Version{Config: obj}).Dynamic.Objective; o == nil || o.Percentile != 99.5 || o.Target != 50*time.Millisecond {
		t.Errorf("latency objective = %+v, want p99.5 within 50ms", o)
	}
	if cfg.Parameters["pooling"] != "mean" {
		t.Errorf("parameters = %v", cfg.Parameters)
	}
}

func TestParseConfigEmpty(t *testing.T) {
	cfg, err := ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Instances() != 1 || cfg.MaxBatchSize != 0 {
		t.Errorf("empty config = %+v", cfg)
	}
}

func TestParseConfigBad(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"yaml syntax":        {"max_batch_size: [", "yaml"},
		"unknown key":        {"max_batch: 4", "max_batch"},
		"negative batch":     {"max_batch_size: -1", "max_batch_size"},
		"bad name":           {"name: ../etc", "name"},
		"platform":           {"platform: tensorflow_savedmodel", "platform"},
		"bad dtype":          {"inputs: [{name: x, data_type: FLOAT128, dims: [4]}]", "FLOAT128"},
		"no tensor name":     {"inputs: [{data_type: FP32, dims: [4]}]", "no name"},
		"duplicate input":    {"inputs: [{name: x, data_type: FP32}, {name: x, data_type: FP32}]", "duplicate"},
		"bad dim":            {"inputs: [{name: x, data_type: FP32, dims: [-2]}]", "dim -2"},
		"two policies":       {"version_policy: {all: {}, latest: {num_versions: 1}}", "only one"},
		"latest zero":        {"version_policy: {latest: {num_versions: 0}}", "num_versions"},
		"specific empty":     {"version_policy: {specific: {versions: []}}", "empty"},
		"batching no batch":  {"dynamic_batching: {}", "max_batch_size > 0"},
		"preferred too big":  {"max_batch_size: 4\ndynamic_batching: {preferred_batch_size: [8]}", "preferred_batch_size"},
		"timeout action":     {"max_batch_size: 4\ndynamic_batching: {default_queue_policy: {timeout_action: DROP}}", "timeout_action"},
		"priority level":     {"max_batch_size: 4\ndynamic_batching: {priority_levels: 1, default_priority_level: 2}", "default_priority_level"},
		"instance kind":      {"instance_group: [{count: 1, kind: KIND_TPU}]", "KIND_TPU"},
		"too many instances": {"instance_group: [{count: 1000}]", "exceed"},
		"runtime level":      {"runtime: {graph_optimization_level: max}", "optimization"},
		"warmup batch":       {"max_batch_size: 2\nmodel_warmup: [{name: w, batch_size: 4}]", "batch_size"},
		"model filename":     {"default_model_filename: ../x.onnx", "default_model_filename"},
		"ragged scalar":      {"inputs: [{name: x, data_type: FP32, dims: [], ragged: true}]", "ragged"},
		"objective percentile": {"max_batch_size: 4\ndynamic_batching: {latency_objective: {percentile: 100, target_microseconds: 5}}",
			"latency_objective.percentile"},
		"objective target": {"max_batch_size: 4\ndynamic_batching: {latency_objective: {percentile: 99}}", "target_microseconds"},
		"objective and delay": {"max_batch_size: 4\ndynamic_batching: {max_queue_delay_microseconds: 5, latency_objective: {percentile: 99, target_microseconds: 5}}",
			"max_queue_delay_microseconds"},
		"objective and preferred": {"max_batch_size: 4\ndynamic_batching: {preferred_batch_size: [2], latency_objective: {percentile: 99, target_microseconds: 5}}",
			"preferred_batch_size"},
		"objective unknown key": {"max_batch_size: 4\ndynamic_batching: {latency_objective: {p: 99, target_microseconds: 5}}", "p"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"mlp": true, "query-encoder": true, "cart_gnn.v2": true,
		"": false, ".hidden": false, "..": false, "a/b": false, `a\b`: false, "a..b": false, "-x": false,
	} {
		if ValidName(name) != ok {
			t.Errorf("ValidName(%q) = %v, want %v", name, !ok, ok)
		}
	}
}

func TestVersionPolicyChoose(t *testing.T) {
	avail := []int64{5, 1, 3}
	cases := []struct {
		name string
		p    VersionPolicy
		want []int64
	}{
		{"default latest", VersionPolicy{}, []int64{5}},
		{"all", VersionPolicy{All: &struct{}{}}, []int64{1, 3, 5}},
		{"specific", VersionPolicy{Specific: &struct {
			Versions []int64 `yaml:"versions"`
		}{Versions: []int64{3, 4}}}, []int64{3}},
	}
	for _, tc := range cases {
		got := tc.p.choose(avail)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestParseVersion(t *testing.T) {
	for s, want := range map[string]int64{"1": 1, "12": 12, "0": 0, "01": 0, "x": 0, "-1": 0, "": 0} {
		got, ok := parseVersion(s)
		if (want > 0) != ok || got != want && ok {
			t.Errorf("parseVersion(%q) = %d, %v", s, got, ok)
		}
	}
}
