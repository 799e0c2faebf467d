package repository

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParseConfig feeds arbitrary bytes to the config.yaml parser, which
// reads files any writer of the repository controls: it must not panic,
// every refusal must wrap ErrConfig, and an accepted config must be
// buildable (its probe and warm-up tensors fit in memory) and survive
// yaml.Marshal and a second ParseConfig unchanged (the YAML written is a fixpoint) (nothing the parser keeps
// is lost or reinterpreted on the way out). Seeds: every config.yaml of the
// default repository and testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("..", "models", "*", ConfigFile))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("max_batch_size: 8\ninputs:\n  - {name: x, data_type: TYPE_FP32, dims: [-1, 4], ragged: true, pad_value: 0}\n" +
		"dynamic_batching: {preferred_batch_size: [4, 8], priority_levels: 2, priority_queue_policy: {1: {max_queue_size: 3}}}\n"))
	f.Add([]byte("version_policy: {specific: {versions: [1, 3]}}\ninstance_group: [{count: 2, kind: KIND_CPU}]\n"))
	f.Add([]byte("inputs: [{name: a, data_type: INT64, dims: [3], range: [0, 9]}, {name: b, data_type: INT64, dims: [-1], index_of: {input: a, dim: 0}}]\n"))
	f.Add([]byte("runtime: {intra_op_threads: 2, graph_optimization_level: basic}\nparameters: {k: v}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("max_batch_size: nope\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("ParseConfig error %v does not wrap ErrConfig", err)
			}
			return
		}
		// Load builds a probe request from the declared dims and the
		// warm-up requests: both must be allocatable.
		for _, ts := range [][]TensorConfig{cfg.Inputs, cfg.Outputs} {
			for _, tc := range ts {
				if n := probeElements(tc.Dims, 1); n < 0 || n > maxProbeElements {
					t.Fatalf("accepted %s with dims %v (%d elements)", tc.Name, tc.Dims, n)
				}
			}
		}
		for _, w := range cfg.ModelWarmup {
			for name, in := range w.Inputs {
				if n := probeElements(in.Dims, w.BatchSize); n < 0 || n > maxProbeElements {
					t.Fatalf("accepted warm-up input %s with dims %v (%d elements)", name, in.Dims, n)
				}
			}
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal an accepted config: %v", err)
		}
		again, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("an accepted config, written back, is refused: %v\n%s", err, out)
		}
		// Compared as YAML: an empty list and an absent one are the same
		// setting, but not the same Go value.
		if out2, err := yaml.Marshal(again); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("config changed on the round trip (%v):\n%s\n---\n%s", err, out, out2)
		}
	})
}
